"""Withdrawing an upload against a real DuckDB file: its rows stop counting, nothing is deleted, refusals change
nothing, and what it had superseded is the latest again."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import WithdrawalRefused, ingest_file, list_datasets, with_withdrawals, withdraw_dataset
from studyrec_lib.ingest import withdraw as withdraw_module
from studyrec_lib.modeling.training_data import load_open_rows

TABLES = ("datasets", "student_performance", "rejected_rows", "dataset_withdrawals")
KEY = ["student_id", "semester", "subject"]


def upload(settings: Settings, frame: pd.DataFrame, path) -> int:
    result = ingest_file(example_data.write(frame, path), progress=None, settings=settings)
    assert result.summary.status == "loaded", result.summary.message
    return result.summary.dataset_id


def rows(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with warehouse.connect(settings) as con:
        return con.execute(sql, params or []).fetchall()


def counts(settings: Settings) -> dict[str, int]:
    return {table: rows(settings, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def training(settings: Settings) -> pd.DataFrame:
    return warehouse.query_frame("SELECT * FROM training_examples ORDER BY student_id, semester, subject",
                                 settings=settings)


@pytest.fixture
def first_and_correction(settings, tmp_path) -> tuple[int, int, pd.DataFrame, pd.DataFrame]:
    """A cohort, then an upload that corrects one student's first semester and adds a new student."""
    cohort = example_data.generate(students=3, seed=1)
    first = upload(settings, cohort, tmp_path / "cohort.csv")
    corrected = cohort[(cohort["student_id"] == "S00001") & (cohort["semester"] == 1)].assign(previous_cgpa=0.25)
    other = example_data.generate(students=3, seed=2)
    newcomer = other[other["student_id"] == "S00002"].assign(student_id="T00001")
    correction = pd.concat([corrected, newcomer], ignore_index=True)
    second = upload(settings, correction, tmp_path / "correction.csv")
    return first, second, cohort, correction


def test_withdrawing_removes_exactly_its_rows_and_the_rows_it_superseded_come_back(settings, first_and_correction):
    first, second, cohort, correction = first_and_correction
    before = training(settings)
    assert len(before) == len(cohort) - 3 + len(correction)  # 3 rows of the cohort superseded
    assert (before["dataset_id"] == second).sum() == len(correction)
    assert (before.loc[before["student_id"] == "S00001", "previous_cgpa"] == 0.25).sum() == 3
    stored = counts(settings)

    done = withdraw_dataset(second, "teacher-ann", "  wrong class's file  ", settings)

    after = training(settings)
    assert set(after["dataset_id"]) == {first}
    expected = cohort.sort_values(KEY, ignore_index=True)
    assert after[KEY].to_dict("records") == expected[KEY].to_dict("records")
    for column in ("previous_cgpa", "final_marks"):
        pd.testing.assert_series_equal(after[column], expected[column], check_dtype=False)
    assert done["training_rows_removed"] == len(correction)
    assert done["training_rows_restored"] == 3
    assert done["rows_loaded"] == len(correction)
    assert {key: done[key] for key in ("dataset_id", "status", "withdrawn_by", "reason", "source_file")} == {
        "dataset_id": second, "status": "withdrawn", "withdrawn_by": "teacher-ann", "reason": "wrong class's file",
        "source_file": "correction.csv"}
    assert done["active_models_trained_on_it"] == {}
    # Nothing is deleted: only the status changes, and the withdrawal is recorded.
    assert counts(settings) == {**stored, "dataset_withdrawals": 1}
    assert rows(settings, "SELECT dataset_id, status FROM datasets ORDER BY dataset_id") == [
        (first, "loaded"), (second, "withdrawn")]
    (record,) = rows(settings, "SELECT dataset_id, withdrawn_by, reason, withdrawn_at FROM dataset_withdrawals")
    assert record[:3] == (second, "teacher-ann", "wrong class's file")
    assert abs(utc_now() - record[3]) < timedelta(minutes=1)


def test_a_withdrawn_uploads_open_rows_leave_and_the_earlier_open_rows_are_current_again(settings, tmp_path):
    earlier = upload(settings, example_data.generate(students=2, seed=1, open_semesters=1), tmp_path / "a.csv")
    mistaken = example_data.generate(students=2, seed=2, open_semesters=1).assign(
        student_id=lambda f: f["student_id"].str.replace("S", "X"))
    later = upload(settings, mistaken, tmp_path / "b.csv")
    assert set(load_open_rows(settings)["dataset_id"]) == {later}
    withdraw_dataset(later, "ann", "another school's students", settings)
    open_rows = load_open_rows(settings)
    assert set(open_rows["dataset_id"]) == {earlier}
    assert not open_rows["student_id"].str.startswith("X").any()


def test_the_withdrawn_file_can_be_uploaded_again_without_force(settings, tmp_path):
    """Ingest skips a file loaded before; a withdrawn one no longer counts as loaded."""
    path = example_data.write(example_data.generate(students=2, seed=1), tmp_path / "again.csv")
    first = ingest_file(path, progress=None, settings=settings).summary.dataset_id
    withdraw_dataset(first, "ann", "uploaded before the corrections", settings)
    again = ingest_file(path, progress=None, settings=settings).summary
    assert again.status == "loaded" and again.dataset_id != first


@pytest.mark.parametrize(("who", "reason", "words"), [
    ("ann", "", "give a reason"),
    ("ann", "   \n ", "give a reason"),
    ("ann", "x" * (withdraw_module.MAX_REASON_CHARS + 1), "keep it to 500"),
    ("", "mistake", "give who withdraws it"),
    ("a" * (withdraw_module.MAX_NAME_CHARS + 1), "mistake", "keep it to 100"),
])
def test_a_withdrawal_without_a_reason_or_name_is_refused_and_changes_nothing(settings, first_and_correction, who,
                                                                             reason, words):
    second = first_and_correction[1]
    stored = counts(settings)
    with pytest.raises(WithdrawalRefused, match=words):
        withdraw_dataset(second, who, reason, settings)
    assert counts(settings) == stored
    assert rows(settings, "SELECT status FROM datasets WHERE dataset_id = ?", [second]) == [("loaded",)]


def test_the_longest_reason_allowed_is_kept_whole(settings, first_and_correction):
    reason = "y" * withdraw_module.MAX_REASON_CHARS
    assert withdraw_dataset(first_and_correction[1], "ann", reason, settings)["reason"] == reason


def test_an_unknown_dataset_is_refused(settings, first_and_correction):
    stored = counts(settings)
    with pytest.raises(WithdrawalRefused, match="there is no dataset 99"):
        withdraw_dataset(99, "ann", "mistake", settings)
    assert counts(settings) == stored


def test_a_second_withdrawal_is_refused_naming_the_first(settings, first_and_correction):
    second = first_and_correction[1]
    withdraw_dataset(second, "ann", "wrong file", settings)
    stored = counts(settings)
    with pytest.raises(WithdrawalRefused, match=r"already withdrawn by ann on .* UTC \(reason: 'wrong file'\)"):
        withdraw_dataset(second, "bob", "also wrong", settings)
    assert counts(settings) == stored


def test_a_failed_withdrawal_leaves_the_dataset_loaded(settings, first_and_correction):
    """Status and record are one transaction: when recording fails, the status change is rolled back too."""
    second = first_and_correction[1]
    with warehouse.connect(settings) as con:  # a stray record (say, restored from a backup) blocks the insert
        con.execute("INSERT INTO dataset_withdrawals VALUES (?, 'someone', 'stray', now()::TIMESTAMP)", [second])
    with pytest.raises(duckdb.ConstraintException):
        withdraw_dataset(second, "ann", "wrong file", settings)
    assert rows(settings, "SELECT status FROM datasets WHERE dataset_id = ?", [second]) == [("loaded",)]
    assert (training(settings)["dataset_id"] == second).any()


def test_the_result_names_the_active_models_that_learned_from_it(settings, first_and_correction):
    first, second = first_and_correction[:2]
    with warehouse.connect(settings) as con:
        for task in ("regression", "classification"):
            con.execute(
                "INSERT INTO model_versions (task, version, algorithm, training_rows, dataset_ids, data_sha256, "
                "artifact_path, artifact_sha256, created_at) VALUES (?, '20260101000000', 'ridge', 1, ?, '0', 'a', "
                "'0', now()::TIMESTAMP)", [task, f"[{first}, {second}]"])
            con.execute("INSERT INTO model_activations (task, version, reason, activated_at) "
                        "VALUES (?, '20260101000000', 'trained', now()::TIMESTAMP)", [task])
    done = withdraw_dataset(second, "ann", "wrong file", settings)
    assert done["active_models_trained_on_it"] == {"classification": "20260101000000",
                                                   "regression": "20260101000000"}


def test_datasets_listed_with_their_withdrawals(settings, first_and_correction):
    first, second = first_and_correction[:2]
    withdraw_dataset(second, "ann", "wrong file", settings)
    listed = with_withdrawals(list_datasets(settings), settings).set_index("dataset_id")
    assert listed.loc[second, ["status", "withdrawn_by", "withdrawal_reason"]].tolist() == [
        "withdrawn", "ann", "wrong file"]
    assert listed.loc[first, "status"] == "loaded"
    assert listed.loc[[first], ["withdrawn_by", "withdrawal_reason", "withdrawn_at"]].isna().all(axis=None)
