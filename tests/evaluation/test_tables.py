import copy

import numpy as np
import pytest

from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation import tables as evaluate
from studyrec_lib.modeling.training import train


@pytest.fixture(scope="module")
def result():
    return train(example_data.generate(students=20, seed=6), n_folds=3)


def test_metric_tables_agree_with_the_training_result(result):
    regression = evaluate.regression_metrics(result)["value"]
    assert regression["model"] == result.regression.chosen
    assert regression["cv_rmse_mean"] == pytest.approx(result.regression.best.mean("rmse"), abs=1e-4)
    assert regression["rmse"] < regression["naive_cv_rmse"]
    classification = evaluate.classification_metrics(result)["value"]
    assert classification["model"] == result.classification.chosen
    assert float(classification["brier_macro"]) < float(classification["naive_brier_macro"])


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
    assert (brier["brier"] <= brier["naive_brier"] + 0.02).all()
    imbalance = evaluate.imbalance_table(result)
    assert imbalance["share"].sum() == pytest.approx(1, abs=1e-3)


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
    assert table.iloc[-1]["fold"] == "mean"
    assert table.iloc[-1]["coverage"] == pytest.approx(np.mean(table.iloc[:-1]["coverage"]), abs=1e-3)


def test_plots_have_their_panels(result):
    assert len(evaluate.plot_cv_comparison(result).axes) == 2
    assert "ECE" in evaluate.plot_reliability(result).axes[0].get_title()


def _warned(result, candidate: str, text: str):
    """A copy of the result whose classification ``candidate`` recorded ``text`` while fitting."""
    warned = copy.deepcopy(result)
    warned.classification.candidates[candidate].warnings = [text]
    return warned


def test_fit_warnings_table_lists_what_each_candidate_warned(result):
    assert evaluate.fit_warnings_table(result).empty  # the example data fits cleanly
    chosen = result.classification.chosen
    table = evaluate.fit_warnings_table(_warned(result, chosen, "ConvergenceWarning: lbfgs failed to converge"))
    assert table.to_dict("records") == [{"task": "classification", "candidate": chosen, "chosen": True,
                                         "warning": "ConvergenceWarning: lbfgs failed to converge"}]
    other = evaluate.fit_warnings_table(_warned(result, "naive", "UserWarning: x"))
    assert other["chosen"].tolist() == [chosen == "naive"]
