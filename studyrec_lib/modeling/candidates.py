"""The candidate models of each task: the old system's two, stronger and simpler ones, and the hand rules.

Every candidate is a scikit-learn Pipeline on the same preprocessing. Seeds are fixed so the same data
and parameters give the same metrics. On large data only the candidates that scale are tried.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling.features import preprocessor
from studyrec_lib.modeling.grade_from_marks import MarksGradeClassifier
from studyrec_lib.modeling.naive_rules import NaiveGradeClassifier, naive_regressor

SEED = 0
LARGE_DATA_ROWS = 200_000  # above this, only candidates that scale (linear, small trees, HistGradientBoosting)
NAIVE = "naive"
AVERAGE = "average"
# Small trees, like rpart's defaults (minsplit 20, minbucket 7): the published best on the UCI data where
# one earlier mark decides the band; cheap enough to always try. The classifier is pruned by cost
# complexity on Gini impurity, which is scale-free like rpart's cp; the regressor's impurity is in squared
# marks, so its size is bounded by depth instead.
_TREE = {"min_samples_split": 20, "min_samples_leaf": 7, "random_state": SEED}
_CLASSIFICATION_TREE = {**_TREE, "ccp_alpha": 0.01, "max_depth": 8}  # depth bounds the unpruned tree on large data
_REGRESSION_TREE = {**_TREE, "max_depth": 4}


def _pipe(task: Task, model: BaseEstimator) -> Pipeline:
    return Pipeline([("features", preprocessor(task)), ("model", model)])


def regression_candidates(task: Task, rows: int) -> dict[str, BaseEstimator]:
    candidates: dict[str, BaseEstimator] = {
        NAIVE: naive_regressor(task),
        "ridge": _pipe(task, Ridge(alpha=1.0)),
        "decision_tree": _pipe(task, DecisionTreeRegressor(**_REGRESSION_TREE)),
        "hist_gradient_boosting": _pipe(task, HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False,
            random_state=SEED)),
    }
    if rows <= LARGE_DATA_ROWS:
        # A third of the features per split, as Breiman's regression forests (R's randomForest) default to:
        # less alike trees where no one feature dominates (UCI setup C, 20 x 10 folds: RMSE 2.665 against
        # 2.677 with half of them). Where an earlier mark dominates (setups A, B) the forest alone is worse,
        # but the average it belongs to, which is chosen there, moves by only 0.001-0.004.
        candidates["random_forest"] = _pipe(task, RandomForestRegressor(
            n_estimators=60, min_samples_leaf=5, max_features=1 / 3, n_jobs=1, random_state=SEED))
        candidates["gradient_boosting"] = _pipe(task, GradientBoostingRegressor(
            n_estimators=80, learning_rate=0.1, max_depth=3, subsample=0.8, random_state=SEED))
    return candidates


def average_regressor(candidates: dict[str, BaseEstimator]) -> VotingRegressor:
    """The mean of every candidate but the naive one.

    Averaging unlike models cancels part of their separate errors; on the UCI data it beat every single
    candidate on the setups without the second-period grade. train() scores it from its members' fold
    models, so it costs no cross-validation fits of its own.
    """
    return VotingRegressor([(name, model) for name, model in candidates.items() if name != NAIVE])


def classification_candidates(task: Task, rows: int, marks_model: BaseEstimator) -> dict[str, BaseEstimator]:
    """``marks_model``: the chosen regressor, which the marks-derived classifier builds on."""
    candidates: dict[str, BaseEstimator] = {
        NAIVE: NaiveGradeClassifier(task),
        "logistic_regression": _pipe(task, LogisticRegression(C=1.0, max_iter=2000)),
        "decision_tree": _pipe(task, DecisionTreeClassifier(**_CLASSIFICATION_TREE)),
        "hist_gradient_boosting": _pipe(task, HistGradientBoostingClassifier(
            max_iter=30, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False,
            random_state=SEED)),
        "grade_from_marks": MarksGradeClassifier(marks_model, task, random_state=SEED),
    }
    if rows <= LARGE_DATA_ROWS:
        candidates["random_forest"] = _pipe(task, RandomForestClassifier(
            n_estimators=60, min_samples_leaf=3, max_features=0.5, n_jobs=1, random_state=SEED))
        candidates["gradient_boosting"] = _pipe(task, GradientBoostingClassifier(
            n_estimators=24, learning_rate=0.18, max_depth=3, subsample=0.8, random_state=SEED))
    return candidates
