import re

from studyrec_lib.runs import folders as runs
from studyrec_lib.runs import index as run_index


def _page(settings) -> str:
    path = run_index.write_index(settings)
    assert path == settings.runs_dir / "index.html"
    return path.read_text(encoding="utf-8")


def _row(page: str, run_id: str) -> str:
    rows = [row for row in re.findall(r"<tr class=.*?</tr>", page) if run_id in row]
    assert len(rows) == 1, rows
    return rows[0]


def test_index_lists_runs_newest_first_with_status_figures_and_links(settings):
    ingest = runs.start_run("ingest", {}, settings)
    (ingest.folder / "01_ingest.html").write_text("<html></html>")
    (ingest.folder / "ingest_report.md").write_text("# report")
    (ingest.folder / "at_risk.csv").write_text("student_id\nS00001\n")
    (ingest.folder / "at_risk.xlsx").write_bytes(b"")
    runs.finish_run(ingest, "succeeded", {"rows_loaded": 72, "rows_rejected": 3, "cv_rmse": 4.123456,
                                          "cv_accuracy": 0.51234, "at_risk_rows": 1})
    training = runs.start_run("train", {}, settings)  # still running

    page = _page(settings)
    assert page.index(training.run_id) < page.index(ingest.run_id)
    done = _row(page, ingest.run_id)
    assert done.startswith("<tr class='succeeded'>")
    assert "<td>succeeded</td>" in done
    assert "<td>ingest</td>" in done
    assert "rows_loaded: 72; rows_rejected: 3; cv_rmse: 4.123; cv_accuracy: 0.5123; at_risk_rows: 1" in done
    assert f'<a href="{ingest.run_id}/at_risk.csv">at_risk.csv</a>' in done
    assert f'<a href="{ingest.run_id}/at_risk.xlsx">at_risk.xlsx</a>' in done
    assert f'<a href="{ingest.run_id}/01_ingest.html">01_ingest.html</a>' in done
    assert f'<a href="{ingest.run_id}/ingest_report.md">ingest_report.md</a>' in done
    assert f"<code>{ingest.run_id}</code>" in done
    running = _row(page, training.run_id)
    assert running.startswith("<tr class='running'>")
    assert "<a href" not in running


def test_error_messages_are_escaped(settings):
    run = runs.start_run("train", {}, settings)
    runs.finish_run(run, "failed", {}, error="ValueError: bad <script>alert('x')</script> & more")
    page = _page(settings)
    row = _row(page, run.run_id)
    assert row.startswith("<tr class='failed'>")
    assert "<script>" not in page
    assert "bad &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in row


def test_an_empty_runs_table_still_writes_a_page(settings):
    page = _page(settings)
    assert "<h1>StudyRec runs</h1>" in page
    assert "<tr class=" not in page


def test_long_errors_are_cut_before_escaping(settings):
    run = runs.start_run("train", {}, settings)
    runs.finish_run(run, "failed", {}, error="x" * 296 + "<script>alert(1)</script>")
    row = _row(_page(settings), run.run_id)
    assert "x" * 296 + "&lt;scr</td>" in row
