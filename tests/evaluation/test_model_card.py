import copy

import pandas as pd
import pytest

from studyrec_lib.evaluation import model_card
from studyrec_lib.evaluation.backtest import COLUMNS
from studyrec_lib.evaluation.calibration_words import calibration_words
from studyrec_lib.registry import registration

TRAINING = {
    "versions": {"regression": "20250101120000", "classification": "20250101120001"},
    "dataset_ids": [3, 4],
    "data_sha256": "ab" * 32,
}


@pytest.fixture(scope="module")
def card(result, backtest):
    return model_card.model_card(result, {**TRAINING, "quality_gate": registration.quality_gate(result)}, backtest)


def test_card_names_the_versions_and_the_data(result, card):
    assert card.startswith("# Model card: versions 20250101120000 (final marks) and 20250101120001 (final grade)")
    assert "480 training rows" in card
    assert "datasets [3, 4]; 20 students." in card
    assert f"`{'ab' * 32}`" in card


def test_card_reports_cv_figures_against_naive(result, card):
    reg, clf = result.regression, result.classification
    assert f"**{reg.chosen}**" in card and f"**{clf.chosen}**" in card
    assert "3-fold CV RMSE" in card
    assert f"Final marks RMSE {reg.best.mean('rmse'):.3f} ± {reg.best.std('rmse'):.3f}" in card
    assert f"(naive, scaled midterm: {reg.candidates['naive'].mean('rmse'):.3f})" in card
    assert f"weighted F1 {clf.best.mean('f1_weighted'):.3f}" in card
    assert f"(naive {clf.candidates['naive'].mean('f1_weighted'):.3f})" in card
    assert "Quality gate (beat the naive baseline): marks passed, grade passed." in card


def test_card_reports_the_interval_calibration_and_coherence(result, card):
    interval = result.interval
    assert (f"90% prediction interval: ± {interval['half_width']:.2f} marks, measured coverage "
            f"{interval['coverage']:.3f}.") in card
    calibration = result.classification.extra["calibration"]
    assert f"- Calibration: {calibration_words(calibration)}.\n" in card
    assert f"{result.coherence['disagreement_rate']:.1%} of rows" in card


def test_card_states_its_limits(result, card):
    limits = card.split("## Limits", 1)[1]
    imbalance = result.imbalance
    assert f"Smallest grade class {imbalance['smallest_class']} has {imbalance['smallest_share']:.1%}" in limits
    assert imbalance["severe"] == ("severe imbalance" in limits)
    assert "cannot see illness" in limits
    assert "extrapolations" in limits
    assert "monitor drift" in limits


def test_a_failed_gate_is_shown(result, backtest):
    gate = registration.quality_gate(result)
    gate["classification"] = {**gate["classification"], "passed": False}
    card = model_card.model_card(result, {**TRAINING, "quality_gate": gate}, backtest)
    assert "marks passed, grade FAILED." in card
    assert "Against the active version" not in card  # no comparison was made


def test_the_comparison_with_the_active_version_is_shown(result, backtest):
    held_back = {"verdict": "challenger_worse",
                 "reason": "classification: the new version is worse than the active one"}
    gate = registration.quality_gate(result, {"classification": held_back})
    card = model_card.model_card(result, {**TRAINING, "quality_gate": gate}, backtest)
    assert "- Against the active version: classification: the new version is worse than the active one." in card


def test_write_model_card(result, backtest, card, tmp_path):
    path = model_card.write_model_card(result, {**TRAINING, "quality_gate": registration.quality_gate(result)},
                                       tmp_path, backtest=backtest)
    assert path == tmp_path / "model_card.md"
    assert path.read_text(encoding="utf-8") == card


def test_card_names_the_warnings_of_the_chosen_models_fits(result, backtest, card):
    assert "warned" not in card
    warned = copy.deepcopy(result)
    warned.classification.best.warnings = ["ConvergenceWarning: lbfgs failed to converge"]
    warned.classification.candidates["naive"].warnings = ["UserWarning: not chosen, not on the card"]
    text = model_card.model_card(warned, {**TRAINING, "quality_gate": registration.quality_gate(warned)}, backtest)
    assert "- Fitting the chosen classification model warned: ConvergenceWarning: lbfgs failed to converge" in text
    assert "not chosen" not in text


def test_card_shows_the_forward_backtest_and_why_semesters_were_skipped(backtest, card):
    section = card.split("## Forward in time", 1)[1].split("## Limits", 1)[0]
    scored, skipped = backtest[backtest["note"] == ""], backtest[backtest["note"] != ""]
    assert len(scored) and len(skipped)  # 20 students: the first semesters are too few rows to fit
    for row in scored.itertuples():
        assert (f"| {row.semester} | {row.training_rows:,} | {row.scored_rows:,} | {row.students_scored:,} | "
                f"{row.rmse_model:.3f} ({row.rmse_naive:.3f}) | {row.mae_model:.3f} | "
                f"{row.f1_weighted_model:.3f} ({row.f1_weighted_naive:.3f}) | "
                f"{row.accuracy_model:.3f} ({row.accuracy_naive:.3f}) |") in section
    for row in skipped.itertuples():
        assert f"- Semester {row.semester} skipped: {row.training_rows} earlier rows" in section


@pytest.mark.parametrize("passed", [True, False], ids=["given", "computed"])
def test_card_shows_the_backtest_it_is_given_or_computes_it(result, backtest, monkeypatch, passed):
    doctored = backtest.assign(rmse_model=backtest["rmse_model"].where(backtest["note"] != "", 12.345))
    monkeypatch.setattr(model_card, "forward_backtest", lambda _result: backtest if passed else doctored)
    card = model_card.model_card(result, {**TRAINING, "quality_gate": registration.quality_gate(result)},
                                 doctored if passed else None)
    assert "| 12.345 (" in card


def test_card_of_a_single_semester_says_there_is_nothing_later(result):
    card = model_card.model_card(result, {**TRAINING, "quality_gate": registration.quality_gate(result)},
                                 pd.DataFrame(columns=COLUMNS))
    assert "- The training data hold a single semester: there is no later one to score." in card
