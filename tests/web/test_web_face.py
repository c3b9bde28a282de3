"""The web package's public face: every name it lists, and what importing it costs."""

import subprocess
import sys

import pytest

import studyrec_lib.web as web
from studyrec_lib.core.config import PROJECT_ROOT


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """The ``modules`` loaded once ``code`` has run in a fresh interpreter."""
    probe = f"{code}; import sys; print(','.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


def test_importing_the_face_loads_no_web_framework():
    assert _loaded_after("import studyrec_lib.web", ("fastapi", "uvicorn", "ipywidgets", "sklearn", "pandas")) == []


def test_the_app_kernels_import_does_not_pay_for_fastapi():
    assert _loaded_after("from studyrec_lib.web import build_app", ("fastapi", "uvicorn")) == []


def test_create_app_is_found_on_first_use():
    assert _loaded_after("from studyrec_lib.web import create_app", ("fastapi",)) == ["fastapi"]


@pytest.mark.parametrize("name", web.__all__)
def test_every_listed_name_is_there(name):
    assert getattr(web, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        web.nothing_here  # noqa: B018
