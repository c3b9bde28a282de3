import numpy as np
import pandas as pd

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.modeling.features import preprocessor


def test_numbers_are_standardised_and_subjects_one_hot_with_unknown_ones_all_zero():
    frame = generate(students=10, seed=2)
    features = preprocessor(STUDENT_TASK).fit(frame[STUDENT_TASK.features])
    out = pd.DataFrame(features.transform(frame[STUDENT_TASK.features]), columns=features.get_feature_names_out())
    numeric = out[list(STUDENT_TASK.numeric_features)]
    np.testing.assert_allclose(numeric.mean(), 0.0, atol=1e-9)
    np.testing.assert_allclose(numeric.std(ddof=0), 1.0)
    subjects = sorted(frame["subject"].unique())
    assert [c for c in out.columns if c.startswith("subject_")] == [f"subject_{s}" for s in subjects]
    assert (out[[f"subject_{s}" for s in subjects]].sum(axis=1) == 1).all()
    unseen = frame[STUDENT_TASK.features].head(1).assign(subject="Astrology")
    row = pd.DataFrame(features.transform(unseen), columns=out.columns)
    assert (row[[f"subject_{s}" for s in subjects]] == 0).all(axis=None)
