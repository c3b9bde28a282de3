"""Shifted example data: shifts, scales and a new subject do what they say, and the file still loads."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.core.schema import FIELDS_BY_NAME, KEY_COLUMNS, grade_for_total, total_marks
from studyrec_lib.demo.example import generate
from studyrec_lib.demo.shifted import SHIFTABLE, parse_assignments, shift_frame

SCRIPT = PROJECT_ROOT / "scripts" / "generate_example_dataset.py"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """300 students x 24 rows; the last two semesters are still open (no final marks or grade)."""
    return generate(students=300, seed=3, open_semesters=2)


def expected_grades(frame: pd.DataFrame) -> np.ndarray:
    totals = total_marks({column: frame[column].to_numpy() for column in (
        "assignment_marks", "attendance_percentage", "quiz_marks", "midterm_marks", "final_marks")})
    return grade_for_total(totals)


def test_shift_moves_the_mean_by_the_requested_sds(cohort):
    before = cohort["midterm_marks"]
    assert (before - 0.5 * before.std() < 0).mean() < 0.001  # clipping at 0 is negligible here
    shifted = shift_frame(cohort, {"midterm_marks": -0.5})
    moved = shifted["midterm_marks"].mean() - before.mean()
    assert moved == pytest.approx(-0.5 * before.std(), abs=0.05)  # rounding to 0.1 marks at most
    # Every row moved by the same amount (before rounding), not only the mean.
    per_row = shifted["midterm_marks"] - before
    unclipped = before - 0.5 * before.std() >= 0
    assert per_row[unclipped].between(-0.5 * before.std() - 0.051, -0.5 * before.std() + 0.051).all()
    # Other features are untouched.
    for column in SHIFTABLE:
        if column != "midterm_marks":
            assert shifted[column].equals(cohort[column]), column


def test_shift_does_not_change_its_input(cohort):
    copy = cohort.copy()
    shift_frame(cohort, {"attendance_percentage": -1}, {"quiz_marks": 0.5}, new_subject="Robotics")
    pd.testing.assert_frame_equal(cohort, copy)


@pytest.mark.parametrize("column", SHIFTABLE)
@pytest.mark.parametrize("sds", [3.0, -3.0])
def test_big_shifts_stay_within_the_schema_ranges(cohort, column, sds):
    shifted = shift_frame(cohort, {column: sds})
    spec = FIELDS_BY_NAME[column]
    assert shifted[column].between(spec.low, spec.high).all()
    # Rows the shift carried past a bound sit on it: the range was enforced, not merely respected.
    raw = cohort[column] + sds * cohort[column].std()
    beyond = raw > spec.high if sds > 0 else raw < spec.low
    assert (shifted.loc[beyond, column] == (spec.high if sds > 0 else spec.low)).all()
    if sds > 0:
        assert beyond.mean() > 0.01  # every shiftable feature has rows within 3 SD of its maximum


def test_attendance_stays_whole_and_cgpa_keeps_two_decimals(cohort):
    shifted = shift_frame(cohort, {"attendance_percentage": 0.37, "previous_cgpa": -0.37})
    attendance = shifted["attendance_percentage"].to_numpy()
    assert np.array_equal(attendance, np.round(attendance))
    cgpa = shifted["previous_cgpa"].to_numpy()
    assert np.allclose(cgpa * 100, np.round(cgpa * 100))


def test_scale_multiplies(cohort):
    shifted = shift_frame(cohort, scales={"quiz_marks": 0.8})
    difference = shifted["quiz_marks"] - 0.8 * cohort["quiz_marks"]
    assert difference.abs().max() <= 0.05 + 1e-9  # rounded to one decimal, as the marks are
    assert shifted["quiz_marks"].mean() == pytest.approx(0.8 * cohort["quiz_marks"].mean(), abs=0.01)


def test_scale_up_is_clipped_to_the_range(cohort):
    shifted = shift_frame(cohort, scales={"quiz_marks": 2.0})
    assert shifted["quiz_marks"].max() == FIELDS_BY_NAME["quiz_marks"].high
    assert shifted["quiz_marks"].min() >= 0


def test_grades_follow_the_shifted_totals(cohort):
    shifted = shift_frame(cohort, {"midterm_marks": -0.5, "attendance_percentage": -1}, {"quiz_marks": 0.8})
    finished = shifted["final_marks"].notna().to_numpy()
    grades = shifted["final_grade"].to_numpy()
    assert (grades[finished] == expected_grades(shifted)[finished]).all()
    # Lower marks: many grades changed, and none improved.
    before = cohort["final_grade"].to_numpy()
    assert (grades[finished] != before[finished]).mean() > 0.3
    order = {g: i for i, g in enumerate(["A+", "A", "A-", "B+", "B", "C+", "C", "D", "F"])}
    assert all(order[new] >= order[old] for new, old in zip(grades[finished], before[finished], strict=True))


def test_open_rows_keep_no_grade(cohort):
    open_rows = cohort["final_marks"].isna()
    assert open_rows.sum() == 300 * 6
    shifted = shift_frame(cohort, {"midterm_marks": 1.0}, new_subject="Robotics")
    assert shifted.loc[open_rows, "final_marks"].isna().all()
    assert shifted.loc[open_rows, "final_grade"].isna().all()
    assert shifted.loc[~open_rows, "final_grade"].notna().all()


def test_new_subject_share_and_unique_keys(cohort):
    shifted = shift_frame(cohort, new_subject="Robotics", new_subject_share=0.2, seed=1)
    share = (shifted["subject"] == "Robotics").mean()
    assert share == pytest.approx(0.2, abs=0.02)
    assert not shifted.duplicated(list(KEY_COLUMNS)).any()
    # At most one Robotics row per student and semester, and only the subject column changed.
    assert shifted[shifted["subject"] == "Robotics"].groupby(["student_id", "semester"]).size().max() == 1
    others = [c for c in cohort.columns if c != "subject"]
    pd.testing.assert_frame_equal(shifted[others], cohort[others])


def test_new_subject_at_the_largest_share(cohort):
    # Three subjects per student and semester: at most one in three rows can take the new subject.
    shifted = shift_frame(cohort, new_subject="Robotics", new_subject_share=1 / 3)
    assert (shifted["subject"] == "Robotics").mean() == pytest.approx(1 / 3)
    assert not shifted.duplicated(list(KEY_COLUMNS)).any()


@pytest.mark.parametrize("share", [0.5, 0.34, 0.0, -0.1])
def test_new_subject_share_out_of_range_raises(cohort, share):
    with pytest.raises(ValueError, match="new_subject_share"):
        shift_frame(cohort, new_subject="Robotics", new_subject_share=share)


@pytest.mark.parametrize("kind", ["shifts", "scales"])
def test_unshiftable_column_raises_naming_the_choices(cohort, kind):
    with pytest.raises(ValueError, match="semester") as error:
        shift_frame(cohort, **{kind: {"semester": 1.0}})
    for column in SHIFTABLE:
        assert column in str(error.value)


def test_parse_assignments():
    assert parse_assignments(["attendance_percentage=-0.5"], "--shift") == {"attendance_percentage": -0.5}
    assert parse_assignments([" quiz_marks = 0.8", "midterm_marks=1e-1"], "--scale") == {
        "quiz_marks": 0.8, "midterm_marks": 0.1}
    assert parse_assignments(None, "--shift") == {}
    assert parse_assignments([], "--shift") == {}


@pytest.mark.parametrize(("item", "message"), [
    ("attendance_percentage", "--shift 'attendance_percentage' must look like FIELD=NUMBER"),
    ("quiz_marks=x", "--shift 'quiz_marks=x' must look like FIELD=NUMBER"),
    ("quiz_marks=", "--shift 'quiz_marks=' must look like FIELD=NUMBER"),
    ("=0.5", "cannot shift ''"),
])
def test_parse_assignments_rejects_malformed_items(item, message):
    with pytest.raises(ValueError) as error:
        parse_assignments([item], "--shift")
    assert message in str(error.value)


def test_parse_assignments_rejects_unknown_fields():
    with pytest.raises(ValueError, match="cannot shift 'final_marks'"):
        parse_assignments(["final_marks=1"], "--shift")


def test_parse_assignments_message_names_the_option():
    with pytest.raises(ValueError, match=r"--scale 'quiz_marks=x' must look like FIELD=NUMBER"):
        parse_assignments(["quiz_marks=x"], "--scale")


# --- the generator script --------------------------------------------------------------------------------------


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_script_writes_shifted_data(tmp_path):
    output = tmp_path / "x.csv"
    result = run_script("--students", "5", "--output", str(output), "--shift", "attendance_percentage=-0.5",
                        "--new-subject", "Robotics")
    assert result.returncode == 0, result.stderr
    assert "wrote 120 rows" in result.stdout
    written = pd.read_csv(output)
    plain = generate(students=5, seed=7)  # the script's default seed
    assert len(written) == 5 * 24
    assert list(written.columns) == list(plain.columns)
    assert (written["subject"] == "Robotics").any()
    assert not written.duplicated(list(KEY_COLUMNS)).any()
    assert written["attendance_percentage"].mean() < plain["attendance_percentage"].mean() - 2
    assert (written["final_grade"].to_numpy() == expected_grades(written)).all()
    pd.testing.assert_series_equal(written["midterm_marks"], plain["midterm_marks"])


def test_script_rejects_a_bad_shift(tmp_path):
    output = tmp_path / "x.csv"
    result = run_script("--students", "5", "--output", str(output), "--shift", "attendance_percentage")
    assert result.returncode == 2
    assert "--shift 'attendance_percentage' must look like FIELD=NUMBER" in result.stderr
    assert not output.exists()


def test_script_rejects_an_unshiftable_field(tmp_path):
    result = run_script("--students", "5", "--output", str(tmp_path / "x.csv"), "--shift", "semester=1")
    assert result.returncode == 2
    assert "cannot shift 'semester'" in result.stderr
