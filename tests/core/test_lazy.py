"""A face's lazy names: offered only from its __all__, and a module imported only when one of its names is used."""

import sys
import textwrap

import pytest


@pytest.fixture
def face(tmp_path, monkeypatch):
    package = tmp_path / "lazyface"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from studyrec_lib.core.lazy import lazy_attributes
        __getattr__ = lazy_attributes(__name__, "lazyface.heavy")
        __all__ = ["offered"]
    """))
    (package / "heavy.py").write_text("import json\noffered = 'from heavy'\n_private = 1\nnot_offered = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("lazyface")
    for name in ("lazyface", "lazyface.heavy"):
        sys.modules.pop(name, None)


def test_a_listed_name_loads_its_module_on_first_use(face):
    assert "lazyface.heavy" not in sys.modules
    assert face.offered == "from heavy"
    assert "lazyface.heavy" in sys.modules


@pytest.mark.parametrize("name", ["not_offered", "json", "_private", "nothing"])
def test_a_name_outside_the_face_is_refused_without_importing_anything(face, name):
    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(face, name)
    assert "lazyface.heavy" not in sys.modules
