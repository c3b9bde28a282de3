"""Serving: one prediction core for the API, the student app and batch scoring, and the prediction log.

:class:`Predictor` scores one student (with advice: weak signals, a study plan, the change that helps most)
or a table; :func:`score_file` scores a teacher's file; every prediction is logged through the
:class:`PredictionSpool`; :func:`log_at_risk_predictions` logs the at-risk list's. The names of the
modules are imported on first use (``core.lazy``) except the input rules: the student app's kernel checks a
form with them and pays for no pandas, DuckDB or scikit-learn, and a process that only logs or reads
resources pays for no scikit-learn.
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.serving.inputs import InputError, check_features

if TYPE_CHECKING:  # imported on first use (core.lazy)
    from studyrec_lib.serving.advice import GRADE_RANK, IMPROVEMENTS
    from studyrec_lib.serving.at_risk_log import log_at_risk_predictions
    from studyrec_lib.serving.batch_scoring import NothingScored, score_file
    from studyrec_lib.serving.models import ActiveModels, NoActiveModel, load_active_models
    from studyrec_lib.serving.predictor import InvalidInput, Predictor
    from studyrec_lib.serving.spool import PredictionSpool, new_record, spool_dir
    from studyrec_lib.serving.student_history import WeakSubjectsCache, weak_subjects
    from studyrec_lib.serving.study_plan import current_resources, load_resources, packaged_resources, read_resources

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "GRADE_RANK",
    "IMPROVEMENTS",
    "ActiveModels",
    "InputError",
    "InvalidInput",
    "NoActiveModel",
    "NothingScored",
    "PredictionSpool",
    "Predictor",
    "WeakSubjectsCache",
    "check_features",
    "current_resources",
    "load_active_models",
    "load_resources",
    "log_at_risk_predictions",
    "new_record",
    "packaged_resources",
    "read_resources",
    "score_file",
    "spool_dir",
    "weak_subjects",
]
