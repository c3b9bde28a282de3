"""Fixtures of the evaluation tests: one small training, and its forward-in-time backtest, shared by the modules."""

import pandas as pd
import pytest

from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation.backtest import forward_backtest
from studyrec_lib.modeling.training import TrainingResult, train


@pytest.fixture(scope="package")
def result() -> TrainingResult:
    """20 students x 8 semesters, 3 folds (calibration needs 3 students a grade); trained once for the package."""
    return train(example_data.generate(students=20, seed=1), n_folds=3)


@pytest.fixture(scope="package")
def backtest(result: TrainingResult) -> pd.DataFrame:
    return forward_backtest(result)
