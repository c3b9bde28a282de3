"""Public faces that load a heavy module only when one of its names is used (PEP 562).

``studyrec --help``, ``studyrec runs`` and the student app's kernel import stage packages; a face that
imported its plotting or scikit-learn modules eagerly would make each of them pay for matplotlib or
scikit-learn. A face imports its light modules as usual and its heavy ones under ``TYPE_CHECKING`` only:
that block is the one list of which name comes from which module (linters and the import contract read it
too), and using a name imports that module alone.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def type_checking_imports(source: str, package: str) -> dict[str, str]:
    """Each name imported under ``if TYPE_CHECKING:`` in a face's source, with the module it comes from.

    Only the two forms the faces use are read (``if TYPE_CHECKING:`` and ``from absolute.module import name``);
    any other form under that ``if`` is an error here, not a name silently missing later.
    """
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                raise ImportError(f"{package}: write `if TYPE_CHECKING:` for its lazy names (core.lazy)")
            for statement in node.body:
                if not (isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module):
                    raise ImportError(f"{package}: only `from absolute.module import name` under TYPE_CHECKING "
                                      "(core.lazy reads them)")
                found.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return found


def lazy_attributes(package: str) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: a name of its ``__all__`` imports its module on first use.

    Only the face's own names are offered (not whatever a module happens to import), and an unknown name is an
    AttributeError at once, without importing anything.
    """
    sources: dict[str, str] | None = None  # read once, on the first lookup

    def __getattr__(name: str) -> object:
        nonlocal sources
        face = sys.modules[package]
        if name in getattr(face, "__all__", ()):
            if sources is None:
                sources = type_checking_imports(Path(face.__file__).read_text(encoding="utf-8"), package)
            if name in sources:
                return getattr(importlib.import_module(sources[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
