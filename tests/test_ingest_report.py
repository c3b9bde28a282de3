from studyrec_lib import example_data, ingest_report
from studyrec_lib.ingest import ingest_file


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
    table = ingest_report.summary_table(result)["value"]
    assert table["data rows"] == "50"
    assert table["rows loaded"] == "48"
    assert table["rows rejected"] == "2"
    by_rule = ingest_report.rejects_by_rule(result)
    assert set(zip(by_rule["column_name"], by_rule["rows"], strict=True)) == {("assignment_marks", 1),
                                                                              ("final_grade", 1)}
    assert list(ingest_report.rejects_sample(result)["source_row"]) == [50, 51]
    assert "2 rows rejected" in ingest_report.warnings_markdown(result).data


def test_refusal_is_explained(settings, tmp_path):
    result = _ingest(settings, tmp_path, "")
    assert "warehouse is unchanged" in ingest_report.warnings_markdown(result).data
    assert ingest_report.plot_distributions(result) is None


def test_distribution_plot_has_a_panel_per_column(settings, tmp_path):
    figure = ingest_report.plot_distributions(_ingest(settings, tmp_path))
    titles = [axis.get_title() for axis in figure.axes]
    assert "Final grade" in titles
    assert any(title.startswith("Midterm marks (0-30)") for title in titles)
    assert len(figure.axes) == 9
