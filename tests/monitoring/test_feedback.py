"""Feedback: logged predictions joined with later outcomes give exactly the hand-computed metrics."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.core.schema import GRADES
from studyrec_lib.demo.example import generate, write
from studyrec_lib.ingest import ingest_file
from studyrec_lib.monitoring.feedback import PAIR_COLUMNS, compute_feedback, feedback_report, load_feedback_pairs

# Six outcomes of S00001. Every row's other marks are fixed to a known total of 30 (assignment 4, attendance
# 80 % = 4, quiz 6, midterm 16), so the grade is the scale's letter for 30 + final marks.
OUTCOMES = [  # (final marks, grade)
    (40.0, "A-"),  # 70
    (25.0, "C+"),  # 55
    (15.0, "D"),  # 45
    (5.0, "F"),  # 35
    (22.0, "C"),  # 52
    (8.0, "F"),  # 38
]
# The last prediction per key (source api), 10 days before the upload.
PREDICTIONS = [  # (marks, grade, probabilities)         error  grade   fail signal (P(D or F) >= 0.4)
    (42.0, "A-", {"A-": 0.6, "A": 0.4}),  # +2  right   no flag,  passed
    (21.0, "C", {"C": 0.5, "D": 0.4, "C+": 0.1}),  # -4  wrong   flagged,  passed  (P = 0.4: at the threshold)
    (15.0, "D", {"D": 0.7, "F": 0.3}),  # 0   right   flagged,  failed
    (11.0, "C", {"C": 0.55, "D": 0.25, "F": 0.2}),  # +6  wrong   flagged,  failed  (P = 0.45)
    (20.0, "D", {"D": 0.5, "C": 0.5}),  # -2  wrong   flagged,  passed
    (18.0, "C", {"C": 0.9, "F": 0.1}),  # +10 wrong   no flag,  failed
]
# By hand: |errors| 2+4+0+6+2+10 = 24 -> MAE 4; squares 4+16+0+36+4+100 = 160 -> RMSE sqrt(160/6);
# 2 of 6 grades right; flagged 4, of which 2 failed -> precision 0.5; 3 failed, 2 flagged -> recall 2/3.
# Brier per row, sum over grades of (p - [actual]) ** 2:
#   (0.4^2 + 0.4^2) = 0.32; (0.9^2 + 0.5^2 + 0.4^2) = 1.22; (0.3^2 + 0.3^2) = 0.18;
#   (0.55^2 + 0.25^2 + 0.8^2) = 1.005; (0.5^2 + 0.5^2) = 0.5; (0.9^2 + 0.9^2) = 1.62 -> mean 4.845 / 6 = 0.8075.
EXPECTED = {"samples": 6, "mae": 4.0, "rmse": round(math.sqrt(160 / 6), 4), "grade_accuracy": round(2 / 6, 4),
            "fail_precision": 0.5, "fail_recall": round(2 / 3, 4), "brier": 0.8075}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _log(settings: Settings, request_id: str, key: tuple[str, int, str], logged_at: datetime, marks: float,
         grade: str, probabilities: dict | None, source: str = "api", student_id: str | None = "from key",
         status: str = "ok", semester: object = None, subject: str | None = None) -> None:
    """One prediction_log row as the spool writes it."""
    student, sem, subj = key
    inputs = {"semester": sem if semester is None else semester, "subject": subj if subject is None else subject,
              "assignment_marks": 4.0, "quiz_marks": 6.0, "attendance_percentage": 80.0, "midterm_marks": 16.0,
              "previous_cgpa": 3.0}
    result = {"predicted_final_marks": marks, "predicted_grade": grade,
              "model_versions": {"regression": "v-reg", "classification": "v-cls"}}
    if probabilities is not None:
        result["grade_probabilities"] = probabilities
    with warehouse.transaction(settings) as con:
        con.execute("INSERT INTO prediction_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            request_id, logged_at, source, student if student_id == "from key" else student_id, json.dumps(inputs),
            json.dumps(result), json.dumps(result["model_versions"]), 12.5, status])


def _upload(settings: Settings, path: Path, changes: dict[int, tuple[float, str]]) -> pd.DataFrame:
    """Ingest a 3-student cohort whose rows ``changes`` get the fixed known marks and the given outcome."""
    frame = generate(students=3)
    for row, (final_marks, grade) in changes.items():
        frame.loc[row, ["assignment_marks", "attendance_percentage", "quiz_marks", "midterm_marks"]] = [4, 80, 6, 16]
        frame.loc[row, ["final_marks", "final_grade"]] = [final_marks, grade]
    result = ingest_file(write(frame, path), settings=settings, progress=None)
    assert result.summary.status == "loaded" and result.summary.grade_mismatches == 0
    return frame


@pytest.fixture
def scenario(settings: Settings, tmp_path: Path) -> dict:
    """The six counted predictions, the ones that must not count, then the upload that brings the outcomes."""
    frame = generate(students=3)
    keys = [(str(r.student_id), int(r.semester), str(r.subject)) for r in frame.head(len(OUTCOMES)).itertuples()]
    before = _utcnow() - timedelta(days=10)
    for i, (key, (marks, grade, proba)) in enumerate(zip(keys, PREDICTIONS, strict=True)):
        _log(settings, f"counted-{i}", key, before, marks, grade, proba)
    # An earlier what-if of key 0 from the same source: wildly off, superseded by counted-0.
    _log(settings, "what-if", keys[0], before - timedelta(days=2), 0.0, "F", {"F": 1.0})
    # Older than the 180-day lookback: a batch row (semester as text, messy subject, no probabilities).
    _log(settings, "too-old", keys[2], _utcnow() - timedelta(days=200), 17.0, "D", None, source="batch",
         semester=str(keys[2][1]), subject=f"  {keys[2][2]} ")
    _log(settings, "anonymous", keys[1], before, 49.0, "A+", {"A+": 1.0}, source="cli", student_id=None)
    _log(settings, "failed", keys[1], before, 49.0, "A+", {"A+": 1.0}, status="error")
    _upload(settings, tmp_path / "outcomes.csv", dict(enumerate(OUTCOMES)))
    # After the upload the outcome is known: not a prediction any more.
    _log(settings, "after-upload", keys[3], _utcnow(), 0.0, "F", {"F": 1.0})
    return {"settings": settings, "keys": keys}


def test_metrics_equal_the_hand_computed_values(scenario: dict) -> None:
    report, pairs = feedback_report(scenario["settings"], lookback_days=180, min_samples=6)
    assert sorted(pairs["request_id"]) == [f"counted-{i}" for i in range(6)]
    assert {key: report[key] for key in EXPECTED} == EXPECTED
    assert report["status"] == "warning"  # accuracy 0.3333 <= 0.55
    assert report["per_source"] == [{"source": "api", "samples": 6, "mae": 4.0, "rmse": EXPECTED["rmse"],
                                     "grade_accuracy": EXPECTED["grade_accuracy"]}]
    json.dumps(report)


def test_per_subject_scores_are_hand_computed(scenario: dict) -> None:
    report, _ = feedback_report(scenario["settings"], min_samples=6)
    expected: dict[str, list[tuple[float, bool]]] = {}
    for (_, _, subject), (marks, grade, _), (actual, actual_grade) in zip(
            scenario["keys"], PREDICTIONS, OUTCOMES, strict=True):
        expected.setdefault(subject, []).append((marks - actual, grade == actual_grade))
    for entry in report["per_subject"]:
        rows = expected.pop(entry["subject"])
        assert entry["samples"] == len(rows)
        assert entry["mae"] == round(sum(abs(e) for e, _ in rows) / len(rows), 4)
        assert entry["rmse"] == round(math.sqrt(sum(e * e for e, _ in rows) / len(rows)), 4)
        assert entry["grade_accuracy"] == round(sum(r for _, r in rows) / len(rows), 4)
    assert expected == {}


def test_pair_columns_carry_prediction_outcome_and_every_grade_probability(scenario: dict) -> None:
    pairs = load_feedback_pairs(scenario["settings"], lookback_days=180)
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    assert all(f"p_{grade}" in pairs.columns for grade in GRADES)
    first = pairs.set_index("request_id").loc["counted-0"]
    assert (first["student_id"], first["semester"], first["subject"]) == scenario["keys"][0]
    assert (first["predicted_final_marks"], first["actual_final_marks"], first["actual_grade"]) == (42.0, 40.0, "A-")
    assert (first["p_A-"], first["p_A"]) == (0.6, 0.4)
    assert all(first[f"p_{grade}"] == 0 for grade in GRADES if grade not in ("A-", "A"))
    assert first["model_version"] == "v-reg"


def test_only_the_latest_prediction_per_key_and_source_counts(scenario: dict) -> None:
    pairs = load_feedback_pairs(scenario["settings"], lookback_days=180)
    assert "what-if" not in set(pairs["request_id"])
    assert len(pairs[pairs["student_id"].eq(scenario["keys"][0][0]) & pairs["semester"].eq(scenario["keys"][0][1])
                     & pairs["subject"].eq(scenario["keys"][0][2])]) == 1


def test_predictions_after_the_upload_without_student_or_failed_are_not_paired(scenario: dict) -> None:
    ids = set(load_feedback_pairs(scenario["settings"], lookback_days=180)["request_id"])
    assert not ids & {"after-upload", "anonymous", "failed"}


def test_lookback_excludes_old_predictions_and_a_longer_one_pairs_them(scenario: dict) -> None:
    assert "too-old" not in set(load_feedback_pairs(scenario["settings"], lookback_days=180)["request_id"])
    report, pairs = feedback_report(scenario["settings"], lookback_days=365, min_samples=1)
    old = pairs.set_index("request_id").loc["too-old"]  # text semester and messy subject still match the key
    assert (old["source"], old["subject"], old["actual_grade"]) == ("batch", scenario["keys"][2][2], "D")
    assert all(old[f"p_{grade}"] == 0 for grade in GRADES)
    assert report["samples"] == 7 and report["brier_samples"] == 6  # no probabilities logged: not in the Brier
    assert report["brier"] == EXPECTED["brier"]
    assert [entry["source"] for entry in report["per_source"]] == ["api", "batch"]
    assert report["per_source"][1] == {"source": "batch", "samples": 1, "mae": 2.0, "rmse": 2.0, "grade_accuracy": 1.0}


def test_a_corrected_upload_is_the_outcome_and_predictions_between_uploads_do_not_count(
        scenario: dict, tmp_path: Path) -> None:
    settings, keys = scenario["settings"], scenario["keys"]
    _log(settings, "between", keys[0], _utcnow(), 39.0, "A-", {"A-": 1.0})
    _upload(settings, tmp_path / "corrected.csv", {**dict(enumerate(OUTCOMES)), 0: (42.0, "A-")})  # total 72
    pairs = load_feedback_pairs(settings, lookback_days=180).set_index("request_id")
    assert "between" not in pairs.index
    assert pairs.loc["counted-0", "actual_final_marks"] == 42.0


def test_fewer_pairs_than_min_samples_is_insufficient(scenario: dict) -> None:
    report, _ = feedback_report(scenario["settings"])
    assert report["status"] == "insufficient_samples" and report["min_samples"] == 30
    assert report["mae"] == EXPECTED["mae"]  # still shown
    assert len(report["alerts"]) == 1 and "only 6" in report["alerts"][0]


def _pairs(errors: list[float], right: list[bool]) -> pd.DataFrame:
    """Pairs without the warehouse: actual 30 marks, grade B, and the given errors and grade hits."""
    rows = []
    for i, (error, hit) in enumerate(zip(errors, right, strict=True)):
        rows.append({"request_id": f"r{i}", "source": "api", "student_id": f"S{i}", "semester": 1,
                     "subject": "Physics" if i % 2 else "English", "logged_at": datetime(2025, 1, 1),
                     "predicted_final_marks": 30.0 + error, "predicted_grade": "B" if hit else "C",
                     **{f"p_{g}": 0.0 for g in GRADES}, "actual_final_marks": 30.0, "actual_grade": "B",
                     "model_version": "v"})
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def test_mae_at_the_alert_level_warns_naming_mae() -> None:
    report = compute_feedback(_pairs([8.0, -8.0] * 15, [True] * 30))
    assert report["status"] == "warning" and report["mae"] == 8.0 and report["grade_accuracy"] == 1.0
    assert len(report["alerts"]) == 1 and "MAE" in report["alerts"][0]


def test_accuracy_at_or_below_the_alert_level_warns() -> None:
    report = compute_feedback(_pairs([1.0] * 30, [True] * 16 + [False] * 14))  # 16/30 = 0.5333
    assert report["status"] == "warning" and report["grade_accuracy"] == 0.5333
    assert len(report["alerts"]) == 1 and "grade accuracy" in report["alerts"][0]
    assert compute_feedback(_pairs([1.0] * 20, [True] * 11 + [False] * 9), min_samples=20,
                            accuracy_alert=0.55)["status"] == "warning"  # exactly 0.55


def test_good_predictions_are_ok_and_undefined_fail_scores_are_none() -> None:
    report = compute_feedback(_pairs([1.0, -1.0] * 15, [True] * 30))
    assert report["status"] == "ok" and report["alerts"] == []
    assert (report["mae"], report["rmse"], report["grade_accuracy"]) == (1.0, 1.0, 1.0)
    assert report["fail_precision"] is None and report["fail_recall"] is None  # nothing flagged, nobody failed
    assert report["brier"] is None and report["brier_samples"] == 0  # no probabilities logged
    assert [e["subject"] for e in report["per_subject"]] == ["English", "Physics"]


def test_no_pairs_is_insufficient_with_empty_metrics(settings: Settings) -> None:
    report, pairs = feedback_report(settings)
    assert pairs.empty and list(pairs.columns) == list(PAIR_COLUMNS)
    assert report["status"] == "insufficient_samples" and report["samples"] == 0
    assert all(report[k] is None for k in ("mae", "rmse", "grade_accuracy", "fail_precision", "fail_recall", "brier"))
    assert report["per_subject"] == [] and report["per_source"] == []
    json.dumps(report)
