import csv
import html
import json

from studyrec_lib.core import exports
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from studyrec_lib.ingest import report as ingest_report


def _ingest(settings, tmp_path, text: str | None = None):
    if text is None:
        path = example_data.write(example_data.generate(students=4), tmp_path / "four.csv")
    else:
        path = tmp_path / "bad.csv"
        path.write_text(text)
    return ingest_file(path, settings=settings, progress=None)


def test_summary_counts_add_up(settings, tmp_path):
    frame = example_data.generate(students=2)
    text = frame.to_csv(index=False) + "S9,1,Math,9,1,1,1,1,1,F\nS9,2,Math,1,1,1,1,1,1,Q\n"
    result = _ingest(settings, tmp_path, text)
    table = ingest_report.summary_table(result).data["value"]
    assert table["data rows"] == "50"
    assert table["rows loaded"] == "48"
    assert table["rows rejected"] == "2"
    by_rule = ingest_report.rejects_by_rule(result).data
    assert set(zip(by_rule["column_name"], by_rule["rows"], strict=True)) == {("assignment_marks", 1),
                                                                              ("final_grade", 1)}
    assert list(ingest_report.rejects_sample(result).data["source_row"]) == [50, 51]
    assert "2 rows rejected" in ingest_report.warnings_markdown(result).data


def test_refusal_is_explained(settings, tmp_path):
    result = _ingest(settings, tmp_path, "")
    assert "warehouse is unchanged" in ingest_report.warnings_markdown(result).data
    assert ingest_report.plot_distributions(result) is None


def test_distribution_plot_has_a_titled_and_labelled_panel_per_column(settings, tmp_path):
    figure = ingest_report.plot_distributions(_ingest(settings, tmp_path))
    titles = [axis.get_title() for axis in figure.axes]
    assert "Final grade" in titles
    assert any(title.startswith("Midterm marks (0-30)") for title in titles)
    assert len(figure.axes) == 9
    assert all(axis.get_title() and axis.get_xlabel() and axis.get_ylabel() for axis in figure.axes)


def test_rejected_rows_csv_cannot_run_a_formula_when_opened(settings, tmp_path):
    """rejected_rows.csv goes to teachers: a formula a student typed into a cell reaches it as text."""
    hyperlink = '=HYPERLINK("http://evil.example/reject","r")'
    frame = example_data.generate(students=1).head(3).astype(object)
    frame.loc[1, "assignment_marks"] = hyperlink
    frame.loc[2, "quiz_marks"] = "=1+1"
    path = tmp_path / "formulas.csv"
    frame.to_csv(path, index=False)
    run_dir = tmp_path / "run"
    result = ingest_file(path, settings=settings, run_dir=run_dir, progress=None)
    assert (result.summary.rows_loaded, result.summary.rows_rejected) == (1, 2)

    with (run_dir / "rejected_rows.csv").open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [(r["source_row"], r["column_name"], r["raw_value"]) for r in written] == [
        ("3", "assignment_marks", "'" + hyperlink), ("4", "quiz_marks", "'=1+1")]
    cells = [cell for row in written for cell in [*row, *row.values()]]
    assert not [cell for cell in cells if cell.startswith(exports.FORMULA_PREFIXES)]
    assert hyperlink in json.loads(written[0]["raw_row"]).values()  # the row as written is still all there


def test_tables_show_every_rule_in_full_and_escaped_whatever_the_display_options(settings, tmp_path):
    """pandas cuts a DataFrame's cells at 50 characters ("is not uni..."); the report's tables never do."""
    import pandas as pd

    frame = example_data.generate(students=1).head(2).astype(object)
    frame.loc[1, "student_id"] = frame.loc[0, "student_id"]
    frame.loc[1, "subject"] = frame.loc[0, "subject"]
    frame.loc[1, "semester"] = frame.loc[0, "semester"]
    frame = pd.concat([frame, frame.head(1).assign(student_id="X9", quiz_marks="<b>11</b>")])
    result = _ingest(settings, tmp_path, frame.to_csv(index=False))
    rule = "key (student_id, semester, subject) is not unique in the file"
    with pd.option_context("display.max_colwidth", 10):
        by_rule = ingest_report.rejects_by_rule(result).to_html()
        sample = ingest_report.rejects_sample(result).to_html()
        summary = ingest_report.summary_table(result).to_html()
    assert f">{rule}<" in by_rule
    assert f"{rule}: rows 2, 3" in sample
    assert "&lt;b&gt;11&lt;/b&gt;" in sample and "<b>11</b>" not in sample
    assert result.summary.status == "refused"  # the long message of a refusal, in full too
    assert result.summary.message in html.unescape(summary) and "<b>11</b>" not in summary
