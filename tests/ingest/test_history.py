"""The uploads' history: every upload newest first, its counts and report, and who withdrew it, why and when."""

from __future__ import annotations

import pandas as pd

from studyrec_lib.core import run_files
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file, upload_history, withdraw_dataset
from studyrec_lib.ingest.history import HISTORY_COLUMNS


def upload(settings, path, frame: pd.DataFrame, run_id: str | None = None, by: str | None = None) -> int:
    summary = ingest_file(example_data.write(frame, path), progress=None, settings=settings, run_id=run_id,
                          uploaded_by=by).summary
    assert summary.status == "loaded", summary.message
    return summary.dataset_id


def test_no_uploads_give_an_empty_history_with_its_columns(settings):
    history = upload_history(settings)
    assert history.empty
    assert history.columns.tolist() == list(HISTORY_COLUMNS)


def test_every_upload_newest_first_with_its_report_and_withdrawal(settings, tmp_path):
    report = settings.runs_dir / "run-a" / run_files.INGEST_REPORT
    report.parent.mkdir(parents=True)
    report.write_text("<html></html>")
    bad = example_data.generate(students=2, seed=1, open_semesters=1)
    bad.loc[0, "quiz_marks"] = 99  # one rejected row
    first = upload(settings, tmp_path / "uploads" / "term1.csv", bad, run_id="run-a", by="bob")
    second = upload(settings, tmp_path / "term2.xlsx", example_data.generate(students=1, seed=2), run_id="run-b",
                    by="carol")
    third = upload(settings, tmp_path / "term3.csv", example_data.generate(students=1, seed=3))
    withdraw_dataset(second, "ann", "the wrong class", settings)

    history = upload_history(settings)
    assert history.columns.tolist() == list(HISTORY_COLUMNS)
    assert history["dataset_id"].tolist() == [third, second, first]
    assert history["file_name"].tolist() == ["term3.csv", "term2.xlsx", "term1.csv"]
    assert history["status"].tolist() == ["loaded", "withdrawn", "loaded"]
    assert history["uploaded_by"].fillna("none").tolist() == ["none", "carol", "bob"]
    assert history["run_id"].fillna("none").tolist() == ["none", "run-b", "run-a"]
    # run-b has no folder; the third upload ran outside a run.
    assert history["report"].fillna("none").tolist() == ["none", "none", str(report.resolve())]
    assert history["uploaded_at"].is_monotonic_decreasing
    by_id = history.set_index("dataset_id")
    assert by_id.loc[first, ["rows_loaded", "rows_rejected", "rows_open"]].tolist() == [47, 1, 6]
    assert by_id.loc[second, ["withdrawn_by", "withdrawal_reason"]].tolist() == ["ann", "the wrong class"]
    assert by_id.loc[second, "withdrawn_at"] >= by_id.loc[second, "uploaded_at"]
    assert by_id.loc[[first, third], ["withdrawn_by", "withdrawal_reason", "withdrawn_at"]].isna().all(axis=None)


def test_a_report_outside_the_runs_folder_is_not_offered(settings, tmp_path):
    """A run id is text in the warehouse: one that climbs out of the runs folder names no report."""
    outside = tmp_path / "elsewhere" / run_files.INGEST_REPORT
    outside.parent.mkdir()
    outside.write_text("<html></html>")
    upload(settings, tmp_path / "x.csv", example_data.generate(students=1), run_id="../elsewhere")
    assert upload_history(settings)["report"].isna().all()
