"""Public faces that load a heavy module only when one of its names is used (PEP 562).

``studyrec --help``, ``studyrec runs`` and the student app's kernel import stage packages; a face that
imported its plotting or scikit-learn modules eagerly would make each of them pay for matplotlib or
scikit-learn. A face imports its light modules as usual, names the heavy ones here, and imports them under
``TYPE_CHECKING`` too, so linters and the import contract still see every name and edge.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_attributes(package: str, *modules: str) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: a name of its ``__all__`` is found in ``modules`` on first use.

    Only the face's own names are offered (not whatever a module happens to import), and an unknown name is an
    AttributeError at once, without importing anything.
    """

    def __getattr__(name: str) -> object:
        if name in getattr(sys.modules[package], "__all__", ()):
            for module_name in modules:
                module = importlib.import_module(module_name)
                if hasattr(module, name):
                    return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
