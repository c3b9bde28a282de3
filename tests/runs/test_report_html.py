"""The reviewer's view of an executed notebook, on notebooks built here (no kernel): what goes, what moves."""

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from studyrec_lib.runs.report_html import reviewer_html, reviewer_notebook
from tests.reports import CODE_MARKERS, NOISE

TCP_WARNING = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication ... "
               "is sent in plain text\n")


def _result(text: str) -> dict:
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


def _executed(error: bool = False) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: parameters, injected parameters, logs, a summary cell at the end."""
    work = new_code_cell("result = work()", outputs=[
        new_output("stream", name="stderr", text="reading the file ...\n"),
        new_output("stream", name="stdout", text=TCP_WARNING),
        _result("the table")])
    if error:
        work.outputs.append(new_output("error", ename="TrainingRefused", evalue="only 96 rows; at least 200 <needed>",
                                       traceback=["Traceback (most recent call last)", "  File ..."]))
    notebook = new_notebook(cells=[
        new_markdown_cell("# Train the models\n\nWhat this notebook does."),
        new_code_cell("n_folds = 5", metadata={"tags": ["parameters"]}),
        new_code_cell("# Parameters\nn_folds = 3\n", metadata={"tags": ["injected-parameters"]}),
        work,
        new_markdown_cell("## Details"),
        new_code_cell("details()", outputs=[_result("the details")]),
        new_code_cell("summary(result)", metadata={"tags": ["summary"]}, outputs=[_result("THE SUMMARY")]),
    ])
    notebook.metadata["papermill"] = {"parameters": {"n_folds": 3, "run_dir": "/runs/r1"}}
    if error:  # papermill's own notice and anchor, which point at input prompts a reviewer no longer sees
        for at in (3, 0):
            notebook.cells.insert(at, new_markdown_cell("An Exception was encountered at 'In [3]'",
                                                        metadata={"tags": ["papermill-error-cell-tag"]}))
    return notebook


def _texts(cell) -> list[str]:
    return [output.get("text") or output.get("data", {}).get("text/plain", "") for output in cell.get("outputs", [])]


def test_the_summary_comes_right_after_the_title_and_the_parameters_and_logs_go():
    original = _executed()
    view = reviewer_notebook(original, "02_train.ipynb")
    assert view.cells[0].source.startswith("# Train the models")
    assert _texts(view.cells[1]) == ["THE SUMMARY"]
    assert [_texts(cell) for cell in view.cells[2:-1]] == [["the table"], [], ["the details"]]  # ("## Details")
    assert not any({"parameters", "injected-parameters"} & set(cell.metadata.get("tags", [])) for cell in view.cells)
    parameters = view.cells[-1].outputs[0].data["text/html"]
    assert "Parameters of this run (2)" in parameters and "/runs/r1" in parameters and "n_folds" in parameters
    assert len(original.cells) == 7 and len(original.cells[3].outputs) == 3  # the executed notebook is untouched


def test_an_error_is_named_at_the_top_and_where_it_happened_without_its_traceback():
    view = reviewer_notebook(_executed(error=True), "02_train.ipynb")
    assert not any("An Exception was encountered" in cell.source for cell in view.cells)
    failure, summary, work = view.cells[1:4]
    assert "failure" in failure.metadata["tags"] and "summary" in summary.metadata["tags"]
    for block in (failure.outputs[0].data["text/html"], work.outputs[-1].data["text/html"]):
        assert "This step failed: TrainingRefused" in block
        assert "only 96 rows; at least 200 &lt;needed&gt;" in block  # escaped
        assert "The full traceback is in 02_train.ipynb" in block
        assert "Traceback" not in block
    assert all(output.output_type != "error" for cell in view.cells for output in cell.get("outputs", []))


def test_the_html_has_no_code_no_prompts_no_logs_and_the_summary_first(tmp_path):
    path = tmp_path / "02_train.ipynb"
    nbformat.write(_executed(error=True), path)
    html = reviewer_html(path)
    assert "<title>02_train</title>" in html
    for absent in (*CODE_MARKERS, *NOISE, "result = work()", "n_folds = 3", "reading the file"):
        assert absent not in html, absent
    assert html.index("Train the models") < html.index("celltag_failure") < html.index("THE SUMMARY") < html.index(
        "the table") < html.index("Parameters of this run")


def test_the_html_loads_nothing_from_outside_the_file(tmp_path):
    """A report holds student marks: opening it must not ask a CDN for require.js, MathJax or Mermaid."""
    path = tmp_path / "03_evaluate.ipynb"
    nbformat.write(_executed(), path)
    html = reviewer_html(path)
    assert not re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html)
    assert not re.findall(r"""import\(["']https?://""", html)
    assert "cdnjs" not in html
