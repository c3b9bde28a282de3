"""Load a registered artifact in a test the way the servers do: by the registry's path and sha256, verified."""

from __future__ import annotations

from studyrec_lib import registry
from studyrec_lib.core import Settings
from studyrec_lib.core.warehouse import query_frame


def load_artifact(task: str, version: str | None = None, settings: Settings | None = None) -> tuple[dict, str]:
    """The artifact of ``task`` (the active one, or ``version``) and its version, through ``load_verified``."""
    if version is None:
        entry = registry.read_active_sidecar(settings)[task]
        version, path, sha256 = entry["version"], entry["artifact_path"], entry["artifact_sha256"]
    else:
        row = query_frame("SELECT artifact_path, artifact_sha256 FROM model_versions WHERE task = ? AND version = ?",
                          [task, version], settings=settings)
        path, sha256 = row.iloc[0].tolist()
    return registry.load_verified(path, sha256, f"{task} (version {version})"), version
