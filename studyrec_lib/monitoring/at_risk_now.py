"""The at-risk list a teacher sees now: today's open rows, scored with the models active now.

An evaluate run writes the list of the models it has just trained, for the rows open then; a teacher needs the
rows open now (a later upload or a withdrawal changes them) scored with the models serving students now. The
at-risk rule is evaluation's and the active models are serving's, and those two must not import each other, so
the list is made here, above both.
"""

from __future__ import annotations

import pandas as pd

from studyrec_lib.core.config import Settings
from studyrec_lib.core.schema import RISK_PROBABILITY
from studyrec_lib.evaluation.at_risk import find_at_risk
from studyrec_lib.modeling.training_data import load_open_rows
from studyrec_lib.serving.models import ActiveModels, load_active_models


def current_at_risk(settings: Settings, models: ActiveModels | None = None,
                    threshold: float = RISK_PROBABILITY) -> pd.DataFrame:
    """Every open row (no final marks yet) of the loaded uploads, scored with the active models, at risk first.

    The open rows are the ones 03_evaluate scores (``load_open_rows``: the latest loaded upload that has any,
    less those a later upload finished), so a withdrawn upload's rows are never among them.

    Args:
        settings: where the warehouse and the runs folder are.
        models: the active models already loaded (a ``Predictor``'s ``models()``); loaded and checked when None.
        threshold: the chance of D or F at or above which a student is flagged.

    Returns:
        ``find_at_risk``'s table: student, semester, subject, the marks, predicted final marks and total, grade,
        chance of D or F, the ``at_risk`` flag and the weak signals in words; no rows when nothing is open.

    Raises:
        NoActiveModel: nothing has been trained and activated yet.
    """
    models = models or load_active_models(settings)
    return find_at_risk(load_open_rows(settings), models.regressor, models.classifier, models.task, threshold)
