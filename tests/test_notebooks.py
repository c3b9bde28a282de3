"""Every notebook of the workspace is thin, parameterised and committed without outputs (DESIGN.md)."""

import ast
import importlib
import inspect

import nbformat
import pytest

from studyrec_lib.core.config import NOTEBOOKS_DIR, PROJECT_ROOT

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


STAGES = ("core", "ingest", "modeling", "registry", "evaluation", "serving", "web", "monitoring", "runs", "demo",
          "console")


def _library_imports(path) -> list[tuple[str, str]]:
    """(module, name) of every import of studyrec_lib in the notebook's code cells."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("studyrec_lib"):
                found += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(alias.name, "") for alias in node.names if alias.name.startswith("studyrec_lib")]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_import_only_the_stages_public_faces(path):
    """A notebook imports a stage package, or a name its ``__all__`` offers: never a module inside a stage."""
    imports = _library_imports(path)
    assert imports, f"{path.name} calls no library function"
    for module, name in imports:
        if module == "studyrec_lib":
            assert name in STAGES, f"{path.name}: `from studyrec_lib import {name}` is not a stage"
            continue
        assert module.count(".") == 1 and module.split(".")[1] in STAGES, f"{path.name}: imports {module}"
        face = importlib.import_module(module)
        assert name in face.__all__, f"{path.name}: {name} is not in {module}.__all__"
        getattr(face, name)  # the face really provides it


@pytest.mark.parametrize("stage", STAGES)
def test_every_name_a_face_offers_is_there(stage):
    face = importlib.import_module(f"studyrec_lib.{stage}")
    missing = [name for name in face.__all__ if not hasattr(face, name)]
    assert not missing, f"studyrec_lib.{stage}.__all__ names {missing}, which it does not provide"


def _library_calls(path) -> set[tuple[str, str]]:
    """(face, name) of every library function a notebook calls: imported by name, or as ``stage.name(...)``."""
    imported = {}
    for module, name in _library_imports(path):
        if module == "studyrec_lib":
            imported[name] = (f"studyrec_lib.{name}", None)
        else:
            imported[name] = (module, name)
    calls = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Name) and function.id in imported and imported[function.id][1]:
                calls.add(imported[function.id])
            elif (isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
                  and function.value.id in imported and imported[function.value.id][1] is None):
                calls.add((imported[function.value.id][0], function.attr))
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_functions_notebooks_call_document_their_arguments_and_result(path):
    calls = _library_calls(path)
    assert calls, f"{path.name} calls no library function"
    for module, name in sorted(calls):
        function = getattr(importlib.import_module(module), name)
        doc = function.__doc__ or ""
        assert "Returns:" in doc, f"{module}.{name}: its docstring says not what it returns"
        if inspect.signature(function).parameters:
            assert "Args:" in doc, f"{module}.{name}: its docstring names not its arguments"
