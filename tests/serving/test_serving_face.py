"""The serving package's public face: every name it lists, and what importing it costs."""

import subprocess
import sys

import pytest

import studyrec_lib.serving as serving
from studyrec_lib.core.config import PROJECT_ROOT


def test_importing_the_face_and_the_spool_loads_no_scikit_learn():
    code = ("import sys, studyrec_lib.serving, studyrec_lib.serving.spool; "
            "print('sklearn' in sys.modules, end=' '); "
            "from studyrec_lib.serving import Predictor; print('sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False True"  # the predictor's modules are imported on first use


@pytest.mark.parametrize("name", serving.__all__)
def test_every_listed_name_is_there(name):
    assert getattr(serving, name) is not None
