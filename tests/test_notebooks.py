"""Every notebook of the workspace is thin, parameterised and committed without outputs (DESIGN.md)."""

import nbformat
import pytest

from studyrec_lib.config import NOTEBOOKS_DIR, PROJECT_ROOT

NOTEBOOKS = sorted([*NOTEBOOKS_DIR.glob("*.ipynb"), *(PROJECT_ROOT / "apps").glob("*.ipynb")])
MAX_CELL_LINES = 15  # a cell calls the library and shows the result


def test_the_workspace_has_its_notebooks():
    names = {path.name for path in NOTEBOOKS}
    assert {"01_ingest.ipynb", "02_train.ipynb", "03_evaluate.ipynb", "04_monitor.ipynb",
            "predict_widget.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_thin_parameterised_and_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert max(len(cell.source.splitlines()) for cell in code[1:]) <= MAX_CELL_LINES
    assert notebook.metadata["kernelspec"]["name"] == "python3"
