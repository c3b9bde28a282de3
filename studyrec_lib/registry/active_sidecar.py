"""A JSON copy of the active versions beside the warehouse, so servers never wait on the warehouse's lock.

The servers read it; before anything it names is unpickled, its entries are confirmed against the registry.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.core.files import beside_warehouse, write_private_atomically
from studyrec_lib.registry.artifacts import RegistryError

logger = logging.getLogger(__name__)

def active_sidecar(settings: Settings) -> Path:
    """Where the servers read the active versions from."""
    return beside_warehouse(settings, ".active.json")


SIDECAR_KEYS = ("version", "artifact_path", "artifact_sha256")
CONFIRM_LOCK_TIMEOUT_S = 0.5


def sidecar_entries(rows: list[tuple]) -> dict:
    """The sidecar's content for ``active_models`` rows (task, version, artifact_path, artifact_sha256)."""
    return {task: dict(zip(SIDECAR_KEYS, values, strict=True)) for task, *values in rows}


def write_active_sidecar(settings: Settings | None = None) -> dict:
    """Rewrite the sidecar from the registry (atomically: write, then rename)."""
    settings = settings or load_settings()
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT task, version, artifact_path, artifact_sha256 FROM active_models").fetchall()
    active = sidecar_entries(rows)
    write_private_atomically(active_sidecar(settings), json.dumps(active, indent=2))
    return active


def confirm_sidecar(active: dict, settings: Settings) -> bool:
    """Refuse sidecar entries the registry did not record (path and sha256), before anything is unpickled.

    The servers read the sidecar so as never to wait on the warehouse; this check waits at most a moment
    (once per activation). While another process holds the file it cannot be made: False, and the caller
    relies on the runs-folder and sha256 checks alone until the next load.
    """
    try:
        with warehouse.connect(dataclasses.replace(settings, lock_timeout_s=CONFIRM_LOCK_TIMEOUT_S),
                               read_only=True) as con:
            rows = con.execute("SELECT task, version, artifact_path, artifact_sha256 FROM active_models").fetchall()
    except WarehouseLocked:
        logger.warning("active models not confirmed against the registry: the warehouse is busy")
        return False
    recorded = sidecar_entries(rows)
    for task, entry in active.items():
        if recorded.get(task) != {key: entry[key] for key in SIDECAR_KEYS}:
            logger.error("active-models file: %s=%s, the registry: %s", task, entry, recorded.get(task))
            raise RegistryError(f"the active {task} model named by {active_sidecar(settings).name} is not the one the "
                                "registry activated; run `studyrec activate` to rewrite the file from the registry.")
    return True


def read_active_sidecar(settings: Settings | None = None) -> dict:
    """The active models' entries; a file that is not what the registry writes is a RegistryError."""
    settings = settings or load_settings()
    path = active_sidecar(settings)
    if not path.exists():
        return write_active_sidecar(settings)
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        entries = error
    if not isinstance(entries, dict) or not all(
        isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in SIDECAR_KEYS)
        for entry in entries.values()
    ):
        raise RegistryError(f"the active-models file {path.name} is damaged; run `studyrec activate` to rewrite it "
                            "from the registry.")
    return entries


