"""Where the console keeps what teachers send: each uploaded file, and each teacher's column mapping.

Both sit beside the warehouse (``warehouse.duckdb.uploads/`` and ``warehouse.duckdb.column_maps/``), private like
it: an uploaded file holds students' marks, and the dataset records its path (``source_file``). A teacher's
mapping ({"header in their files": "our column"}) is the JSON the CLI takes with ``--column-map``, so the
console's ingest is the CLI's.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.files import beside_warehouse, make_private, write_private_atomically

UPLOADS, COLUMN_MAPS = ".uploads", ".column_maps"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_CHARS = 100


def _folder(settings: Settings, suffix: str) -> Path:
    folder = beside_warehouse(settings, suffix)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def save_upload(settings: Settings, file_name: str, content: bytes) -> Path:
    """The uploaded bytes in a new private file whose name keeps the teacher's (made safe) after a timestamp."""
    safe = SAFE_NAME.sub("_", Path(file_name).name).strip("._")[-MAX_NAME_CHARS:] or "upload"
    path = _folder(settings, UPLOADS) / f"{utc_now():%Y%m%dT%H%M%S%f}-{safe}"
    with path.open("xb") as handle:
        handle.write(content)
    return make_private(path)


def teacher_map_path(settings: Settings, teacher: str) -> Path:
    """A teacher's mapping file (named by a hash: a hub name may hold any character)."""
    return _folder(settings, COLUMN_MAPS) / f"{hashlib.sha256(teacher.encode()).hexdigest()[:24]}.json"


def load_teacher_map(settings: Settings, teacher: str) -> dict[str, str]:
    path = teacher_map_path(settings, teacher)
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {}


def save_teacher_map(settings: Settings, teacher: str, mapping: dict[str, str]) -> Path:
    """Remember these headers for next time (merged into what the teacher mapped before)."""
    merged = {**load_teacher_map(settings, teacher), **mapping}
    return write_private_atomically(teacher_map_path(settings, teacher), json.dumps(merged, indent=2))
