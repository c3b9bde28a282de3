from studyrec_lib.core.metric_words import METRICS, metric_words


def test_words_first_the_technical_name_beside_and_which_way_is_better():
    assert metric_words("rmse") == "typical error of the final mark (RMSE)"
    assert metric_words("cv_rmse", direction=True) == "typical error of the final mark (CV RMSE, lower is better)"
    assert metric_words("cv_f1_weighted", direction=True) == "grade agreement (CV weighted F1, higher is better)"
    assert metric_words("interval_coverage", direction=True) == "true marks inside the 90% interval (coverage)"


def test_the_interval_named_is_the_one_training_measures():
    from studyrec_lib.modeling.training import INTERVAL_LEVEL

    level = f"{INTERVAL_LEVEL:.0%}"
    assert level in METRICS["interval_half_width"].technical and level in METRICS["interval_coverage"].words


def test_every_metric_training_scores_has_words():
    import numpy as np

    from studyrec_lib.core import metrics

    grades = np.array(["A", "B", "A"])
    scored = {*metrics.regression_scores(np.ones(3), np.ones(3) * 2),
              *metrics.classification_scores(grades, np.eye(2)[[0, 1, 0]], np.array(["A", "B"]))}
    assert scored <= set(METRICS)
