import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from studyrec_lib.evaluation import tables as evaluate
from studyrec_lib.modeling.training import CandidateResult


def _mean(cell: str) -> float:
    """The mean of a "0.123 ± 0.004" cell."""
    return float(cell.split(" ± ")[0])


def test_metric_tables_agree_with_the_training_result_in_words(result):
    regression = evaluate.regression_metrics(result)
    reg = result.regression
    assert regression.loc["model"].tolist() == [reg.chosen, "naive"]
    rmse = regression.loc["typical error of the final mark (CV RMSE)"]
    assert rmse["chosen model"] == f"{reg.best.mean('rmse'):.3f} ± {reg.best.std('rmse'):.3f}"
    assert _mean(rmse["chosen model"]) < _mean(rmse["naive baseline"])
    assert regression.loc["marks either side of a prediction (90% interval half-width)", "chosen model"] == (
        f"± {result.interval['half_width']:.2f} marks")
    classification = evaluate.classification_metrics(result)
    assert classification.loc["model", "chosen model"] == result.classification.chosen
    brier = classification.loc["error of the grade probabilities (CV Brier score)"]
    assert _mean(brier["chosen model"]) < _mean(brier["naive baseline"])
    assert all(" ± " in cell for cell in classification.loc["grade agreement (CV weighted F1)"])


def _calibrated(result):
    """A copy of the result as training leaves it when calibration is applied: the chosen model twice, once
    calibrated (temperature scaling keeps the grades, so only the Brier score and log loss differ)."""
    calibrated = copy.deepcopy(result)
    clf = calibrated.classification
    base = clf.best
    scores = {**base.fold_scores, "brier_macro": [score - 1e-6 for score in base.fold_scores["brier_macro"]]}
    name = f"{clf.chosen}+temperature"
    clf.candidates[name] = CandidateResult(name, scores, base.out_of_fold, base.seconds)
    before = base.mean("brier_macro")
    clf.extra["calibration"] = {"considered": True, "applied": True, "method": "temperature",
                                "brier_before": before, "brier_after": before - 1e-6}
    clf.chosen = name
    return calibrated


def test_candidates_are_listed_once_best_first_and_a_calibrated_model_replaces_its_base(result):
    calibrated = _calibrated(result)
    clf = calibrated.classification
    base = result.classification.chosen
    table = evaluate.cv_comparison(clf)
    assert clf.chosen in table.index and base not in table.index
    assert len(table) == len(clf.candidates) - 1 == len(set(table.index))
    assert table.loc[clf.chosen, "chosen"] == "yes"
    means = [_mean(cell) for cell in table["grade agreement (CV weighted F1)"]]
    assert means == sorted(means, reverse=True)
    regression = evaluate.cv_comparison(result.regression)
    assert len(regression) == len(result.regression.candidates)
    assert [label.get_text() for label in evaluate.plot_cv_comparison(calibrated).axes[1].get_yticklabels()] == list(
        table.index)
    assert evaluate.classification_metrics(calibrated).loc["model", "chosen model"] == clf.chosen
    plt.close("all")


def test_confusion_matrix_and_report_cover_every_row(result):
    figure = evaluate.plot_confusion_matrix(result)
    cells = [int(t.get_text()) for t in figure.axes[0].texts]
    assert sum(cells) == len(result.frame)
    report = evaluate.classification_report_frame(result)
    assert report.loc["weighted avg", "support"] == len(result.frame)


def test_brier_per_grade_and_imbalance_are_in_grade_order(result):
    brier = evaluate.brier_per_grade(result)
    order = [g for g in result.task.grades if g in set(result.classes)]
    assert list(brier.index) == order
    assert (brier["chosen model"] <= brier["naive baseline"] + 0.02).all()
    imbalance = evaluate.imbalance_table(result)
    assert imbalance["share (%)"].sum() == pytest.approx(100, abs=0.5)


def test_errors_by_subject_and_semester_count_every_row(result):
    by_subject = evaluate.errors_by(result, "subject")
    assert by_subject["rows"].sum() == len(result.frame)
    assert set(by_subject.index) == set(result.frame["subject"])
    assert evaluate.errors_by(result, "semester")["rows"].sum() == len(result.frame)


def test_permutation_importance_ranks_the_midterm_first(result):
    importance = evaluate.permutation_importance_frame(result, repeats=3)
    assert set(importance.index) == set(result.task.features)
    assert importance.index[0] == "midterm_marks"  # the generator's strongest driver of final marks


def test_interval_coverage_table_ends_with_the_mean(result):
    table = evaluate.interval_coverage(result)
    assert table.index[-1] == "mean"
    assert table.iloc[-1]["coverage (%)"] == pytest.approx(np.mean(table.iloc[:-1]["coverage (%)"]), abs=0.1)
    assert (table["target (%)"] == 90.0).all()


def test_every_plot_has_a_title_and_labelled_axes(result, backtest):
    figures = [evaluate.plot_cv_comparison(result), evaluate.plot_confusion_matrix(result),
               evaluate.plot_reliability(result), evaluate.plot_backtest(backtest),
               evaluate.plot_permutation_importance(pd.DataFrame(  # the frame's shape: no shuffles needed
                   {"final marks": [0.3, 0.1], "final grade": [0.2, 0.05]}, index=["midterm_marks", "quiz_marks"]))]
    for figure in figures:
        panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
        for axis in panels:
            assert axis.get_title() or figure.get_suptitle(), figure
            assert axis.get_xlabel() and axis.get_ylabel(), axis.get_title()
    assert "ECE" in figures[2].axes[0].get_title()
    plt.close("all")


def test_backtest_table_reads_each_figure_beside_the_naive_ones_and_every_note_in_full(backtest):
    table = evaluate.backtest_table(backtest).data
    scored, skipped = backtest["note"] == "", backtest["note"] != ""
    row = backtest[scored].iloc[0]
    assert table[scored]["typical error of the final mark (RMSE): model (naive)"].iloc[0] == (
        f"{row.rmse_model:.3f} ({row.rmse_naive:.3f})")
    assert table[skipped]["note"].tolist() == backtest[skipped]["note"].tolist()  # in full, however long
    assert (table[skipped]["grade agreement (weighted F1): model (naive)"] == "").all()


def _warned(result, candidate: str, text: str):
    """A copy of the result whose classification ``candidate`` recorded ``text`` while fitting."""
    warned = copy.deepcopy(result)
    warned.classification.candidates[candidate].warnings = [text]
    return warned


def test_fit_warnings_table_lists_what_each_candidate_warned(result):
    assert evaluate.fit_warnings_table(result).data.empty  # the example data fits cleanly
    chosen = result.classification.chosen
    table = evaluate.fit_warnings_table(_warned(result, chosen, "ConvergenceWarning: lbfgs failed to converge"))
    assert table.data.to_dict("records") == [{"task": "classification", "candidate": chosen, "chosen": True,
                                              "warning": "ConvergenceWarning: lbfgs failed to converge"}]
    other = evaluate.fit_warnings_table(_warned(result, "naive", "UserWarning: x"))
    assert other.data["chosen"].tolist() == [chosen == "naive"]
