"""Fixtures of the serving tests: a predictor over the shared trained warehouse, and its subjects."""

import pytest

from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.serving.study_plan import packaged_resources


@pytest.fixture(scope="module")
def predictor(trained_settings) -> Predictor:
    # Resources passed in, so the shared warehouse is only read.
    return Predictor(trained_settings, resources=packaged_resources().to_dict("records"))


@pytest.fixture(scope="module")
def subjects(predictor) -> list[str]:
    return sorted(predictor.models().subjects)
