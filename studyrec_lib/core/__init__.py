"""Core: what every stage shares. Settings, errors, the schema's rules, tasks, the warehouse and its files.

Stages import the modules of ``core`` directly; notebooks use this face. ``core.metrics`` (scikit-learn) and
``core.exports`` (openpyxl) are not loaded by it, and the warehouse (DuckDB) and tasks (pandas) only when
first used, so ``studyrec --help`` stays quick.
"""

from typing import TYPE_CHECKING

from studyrec_lib.core import defaults, run_files
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import FileRefused, StudyRecError, WarehouseLocked
from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.core.notebook_config import notebook_settings, settings_parameters
from studyrec_lib.core.schema import (
    COLUMNS,
    FAILING_GRADES,
    FEATURE_COLUMNS,
    FIELDS_BY_NAME,
    GRADE_SCALE,
    GRADES,
    KEY_COLUMNS,
    NUMERIC_FIELDS,
    RISK_PROBABILITY,
    grade_for_total,
    marks_before_final,
    total_marks,
)

if TYPE_CHECKING:
    from studyrec_lib.core.tasks import STUDENT_TASK, Task
    from studyrec_lib.core.warehouse import connect, query_frame, transaction

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "COLUMNS",
    "FAILING_GRADES",
    "FEATURE_COLUMNS",
    "FIELDS_BY_NAME",
    "GRADES",
    "GRADE_SCALE",
    "KEY_COLUMNS",
    "NUMERIC_FIELDS",
    "RISK_PROBABILITY",
    "STUDENT_TASK",
    "FileRefused",
    "Settings",
    "StudyRecError",
    "Task",
    "WarehouseLocked",
    "connect",
    "defaults",
    "grade_for_total",
    "load_settings",
    "marks_before_final",
    "notebook_settings",
    "query_frame",
    "run_files",
    "settings_parameters",
    "total_marks",
    "transaction",
    "utc_now",
]
