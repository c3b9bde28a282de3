"""Modeling: features, candidates, the custom estimators, student-grouped folds, training and its data."""

from studyrec_lib.modeling.candidates import classification_candidates, regression_candidates
from studyrec_lib.modeling.feature_baseline import feature_baseline
from studyrec_lib.modeling.features import preprocessor
from studyrec_lib.modeling.grade_from_marks import MarksGradeClassifier
from studyrec_lib.modeling.scoring import Scores, score_rows
from studyrec_lib.modeling.student_folds import StudentFolds, by_student
from studyrec_lib.modeling.training import CandidateResult, TaskResult, TrainingRefused, TrainingResult, train
from studyrec_lib.modeling.training_data import TrainingData, load_open_rows, load_training_examples

__all__ = [
    "CandidateResult",
    "MarksGradeClassifier",
    "Scores",
    "StudentFolds",
    "TaskResult",
    "TrainingData",
    "TrainingRefused",
    "TrainingResult",
    "by_student",
    "classification_candidates",
    "feature_baseline",
    "load_open_rows",
    "load_training_examples",
    "preprocessor",
    "regression_candidates",
    "score_rows",
    "train",
]
