"""A face's lazy names: offered only from its __all__, and a module imported only when one of its names is used."""

import importlib
import sys
import textwrap

import pytest

from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.core.lazy import type_checking_imports


@pytest.fixture
def face(tmp_path, monkeypatch):
    package = tmp_path / "lazyface"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        from studyrec_lib.core.lazy import lazy_attributes
        if TYPE_CHECKING:
            from lazyface.heavy import offered
            from lazyface.other import elsewhere
        __getattr__ = lazy_attributes(__name__)
        __all__ = ["elsewhere", "offered"]
    """))
    (package / "heavy.py").write_text("import json\noffered = 'from heavy'\n_private = 1\nnot_offered = 2\n")
    (package / "other.py").write_text("elsewhere = 'from other'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("lazyface")
    for name in ("lazyface", "lazyface.heavy", "lazyface.other"):
        sys.modules.pop(name, None)


def test_a_listed_name_loads_its_module_alone_on_first_use(face):
    assert "lazyface.heavy" not in sys.modules
    assert face.elsewhere == "from other"
    assert "lazyface.other" in sys.modules and "lazyface.heavy" not in sys.modules  # not every module in turn
    assert face.offered == "from heavy"
    assert "lazyface.heavy" in sys.modules


@pytest.mark.parametrize("name", ["not_offered", "json", "_private", "nothing"])
def test_a_name_outside_the_face_is_refused_without_importing_anything(face, name):
    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(face, name)
    assert "lazyface.heavy" not in sys.modules


FACES = sorted(path.parent.name for path in (PROJECT_ROOT / "studyrec_lib").glob("*/__init__.py")
               if "__all__" in path.read_text())


@pytest.mark.parametrize("face", FACES)
def test_every_name_of_every_face_is_there(face):
    module = importlib.import_module(f"studyrec_lib.{face}")
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []


@pytest.mark.parametrize("source", [
    "import typing\nif typing.TYPE_CHECKING:\n    from a.b import c\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import c\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\n",
])
def test_a_lazy_name_the_face_does_not_declare_plainly_is_an_error(source):
    with pytest.raises(ImportError, match="face"):
        type_checking_imports(source, "face")
