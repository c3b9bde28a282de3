"""The HTML a reviewer opens: the summary first, then the outputs; no code, no logs, no parameter cells.

The executed notebook beside it keeps all of that for analysts. A reviewer has neither the time nor the need
to read code, progress logs (stderr) or the kernel's warnings; what a run was given is listed once, at the
end. Cells tagged ``summary`` (any notebook's) move to the top, right after the title. A failed step says so
at the top and where it failed, with the error's name and message, since without the code a traceback
explains nothing to a reader.
"""

from __future__ import annotations

import copy
import json
from html import escape
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output

SUMMARY_TAG = "summary"
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"  # papermill's "An Exception was encountered at In [n]" cells
STDERR_MIME = "application/vnd.jupyter.stderr"
KERNEL_NOISE = ("Kernel is running over TCP without encryption",)
TEMPLATES = Path(__file__).parent / "templates"
REVIEWER_TEMPLATE = "reviewer"  # lab without require.js, MathJax and Mermaid, which load from a CDN
ERROR_STYLE = "border-left:4px solid #c62828;background:#fdecea;padding:0.6em 1em;margin:0.5em 0"


def _tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _is_noise(output: NotebookNode) -> bool:
    """Logs and warnings: stderr streams, rich stderr, and the kernel's own transport warning."""
    if output.output_type == "stream":
        return output.name == "stderr" or any(noise in output.text for noise in KERNEL_NOISE)
    return STDERR_MIME in output.get("data", {})


def _html_cell(html: str, text: str, tag: str) -> NotebookNode:
    """A code cell whose only output is ``html`` (its code is hidden in the reviewer's view)."""
    cell = new_code_cell(metadata={"tags": [tag]})
    cell.outputs = [new_output("display_data", data={"text/html": html, "text/plain": text})]
    return cell


def _error_html(error: NotebookNode, notebook_name: str) -> str:
    """The error's name and message in a block a reader notices; the traceback stays in the executed notebook."""
    return (f'<div class="studyrec-error" style="{ERROR_STYLE}"><strong>This step failed: '
            f'{escape(error.ename)}</strong><p style="white-space:pre-wrap">{escape(error.evalue)}</p>'
            f"<p>The full traceback is in {escape(notebook_name)} in the run folder.</p></div>")


def _error_output(error: NotebookNode, notebook_name: str) -> NotebookNode:
    return new_output("display_data", data={"text/html": _error_html(error, notebook_name),
                                            "text/plain": f"{error.ename}: {error.evalue}"})


def _parameters_cell(notebook: NotebookNode) -> list[NotebookNode]:
    """What papermill gave the notebook, as a small table at the end (none for a notebook run by hand)."""
    parameters = notebook.metadata.get("papermill", {}).get("parameters") or {}
    if not parameters:
        return []
    rows = "".join(f"<tr><th style='text-align:left'>{escape(name)}</th><td style='text-align:left'>"
                   f"{escape(json.dumps(value, default=str))}</td></tr>" for name, value in sorted(parameters.items()))
    html = (f"<details class='studyrec-run-parameters'><summary>Parameters of this run ({len(parameters)})"
            f"</summary><table>{rows}</table></details>")
    return [_html_cell(html, "parameters of this run", "run-parameters")]


def reviewer_notebook(notebook: NotebookNode, notebook_name: str) -> NotebookNode:
    """A copy of an executed notebook arranged for a reviewer; the notebook itself is left as it is.

    Args:
        notebook: the executed notebook (papermill's output).
        notebook_name: its file name, which a failure's block names as where the traceback is.

    Returns:
        The copy: parameter and papermill error cells dropped; stderr and kernel warnings dropped; each error
        output replaced by its name and message (and the first one repeated at the top); the cells tagged
        ``summary`` right after the title; the parameters the notebook got in a table at the end.
    """
    view = copy.deepcopy(notebook)
    cells = [cell for cell in view.cells if not _tags(cell) & (PARAMETER_TAGS | {PAPERMILL_ERROR_TAG})]
    failures = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        outputs = [output for output in cell.outputs if not _is_noise(output)]
        failures += [output for output in outputs if output.output_type == "error"]
        cell.outputs = [_error_output(output, notebook_name) if output.output_type == "error" else output
                        for output in outputs]
    summary = [cell for cell in cells if SUMMARY_TAG in _tags(cell)]
    rest = [cell for cell in cells if SUMMARY_TAG not in _tags(cell)]
    title = rest[:1] if rest and rest[0].cell_type == "markdown" else []
    failed = [_html_cell(_error_html(failures[0], notebook_name), "this step failed", "failure")] if failures else []
    view.cells = [*title, *failed, *summary, *rest[len(title):], *_parameters_cell(notebook)]
    return view


def reviewer_html(notebook_path: Path) -> str:
    """The reviewer's HTML of an executed notebook: :func:`reviewer_notebook` exported without code or prompts.

    Args:
        notebook_path: the executed notebook in the run folder.

    Returns:
        The HTML page (nbconvert's lab template without its CDN scripts, titled with the notebook's name).
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            template_name=REVIEWER_TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(reviewer_notebook(notebook, notebook_path.name),
                                          resources={"metadata": {"name": notebook_path.stem}})
    return body
