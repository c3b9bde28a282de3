"""Old module paths that artifacts pickled before the stage layout (issue 19) name, mapped to today's names.

A pickle refers to a class or function by module and name; the move into stage packages renamed the
modules. These are the only names the pickles of that time hold (read off the fixtures in
``tests/fixtures/legacy_artifacts``): the Task and its course-total function, the grade-from-marks model,
the student folds a calibrated model keeps, and the training result 03_evaluate loads. While an artifact is
unpickled, each old module path is a stand-in module that forwards these names; nothing else can be
reached through it, and it is removed again afterwards.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

# old module -> {old name: (module now, name now)}
OLD_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "studyrec_lib.tasks": {
        "Task": ("studyrec_lib.core.tasks", "Task"),
        "_student_known_total": ("studyrec_lib.core.schema", "marks_before_final"),
    },
    "studyrec_lib.grade_from_marks": {
        "MarksGradeClassifier": ("studyrec_lib.modeling.grade_from_marks", "MarksGradeClassifier"),
    },
    "studyrec_lib.student_folds": {
        "StudentFolds": ("studyrec_lib.modeling.student_folds", "StudentFolds"),
    },
    "studyrec_lib.train": {
        name: ("studyrec_lib.modeling.training", name) for name in ("TrainingResult", "TaskResult", "CandidateResult")
    },
}

_lock = threading.RLock()


def _stand_in(old: str, names: dict[str, tuple[str, str]]) -> ModuleType:
    module = ModuleType(old, f"stand-in for {old} while an old pickle loads")
    for name, (now, attribute) in names.items():
        setattr(module, name, getattr(importlib.import_module(now), attribute))
    return module


@contextmanager
def old_module_paths() -> Iterator[None]:
    """Let pickles that name the old module paths load inside this block."""
    with _lock:
        added = [old for old in OLD_NAMES if old not in sys.modules]
        for old in added:
            sys.modules[old] = _stand_in(old, OLD_NAMES[old])
        try:
            yield
        finally:
            for old in added:
                sys.modules.pop(old, None)
