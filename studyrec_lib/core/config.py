"""The one place that says where things live and how large an upload may be.

Defaults work out of the box from a checkout; environment variables override them, and CLI flags
override the environment (the CLI passes its flags into :func:`load_settings`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from studyrec_lib.core.errors import StudyRecError

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # studyrec_lib/core/config.py -> the checkout
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

ENV_WAREHOUSE = "STUDYREC_WAREHOUSE"
ENV_RUNS = "STUDYREC_RUNS"
ENV_MAX_UPLOAD_MB = "STUDYREC_MAX_UPLOAD_MB"
ENV_LOCK_TIMEOUT = "STUDYREC_LOCK_TIMEOUT_S"
ENV_UMASK = "STUDYREC_UMASK"

DEFAULT_MAX_UPLOAD_MB = 1024.0
DEFAULT_LOCK_TIMEOUT_S = 30.0
# The files hold every student's marks. 077: owner only (files 0600, folders 0700). The documented
# alternative 027 lets one group (service accounts sharing the warehouse) read, never write.
DEFAULT_UMASK = 0o077
GROUP_READ_UMASK = 0o027
REQUIRED_UMASK_BITS = 0o027  # a umask must at least keep group writes and every other user out


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    runs_dir: Path
    max_upload_mb: float
    lock_timeout_s: float

    def resolved(self) -> Settings:
        return replace(
            self, warehouse=self.warehouse.expanduser().resolve(), runs_dir=self.runs_dir.expanduser().resolve()
        )


def load_settings(
    warehouse: str | Path | None = None,
    runs_dir: str | Path | None = None,
    max_upload_mb: float | None = None,
) -> Settings:
    """Resolve settings: explicit argument, then environment variable, then default.

    The runs folder defaults to ``runs`` beside the warehouse in use (the project's ``runs/`` beside its
    ``warehouse.duckdb``), so whatever is opened with only a warehouse path finds that warehouse's models,
    which are loaded only from inside the runs folder.
    """
    env = os.environ
    if warehouse is None:
        warehouse = env.get(ENV_WAREHOUSE, PROJECT_ROOT / "warehouse.duckdb")
    settings = Settings(
        warehouse=Path(warehouse),
        runs_dir=Path(env.get(ENV_RUNS, Path(warehouse).parent / "runs")),
        max_upload_mb=float(env.get(ENV_MAX_UPLOAD_MB, DEFAULT_MAX_UPLOAD_MB)),
        lock_timeout_s=float(env.get(ENV_LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT_S)),
    )
    overrides = {
        key: value
        for key, value in {
            "runs_dir": Path(runs_dir) if runs_dir is not None else None,
            "max_upload_mb": max_upload_mb,
        }.items()
        if value is not None
    }
    return replace(settings, **overrides).resolved()


def configured_umask(environ: dict[str, str] | None = None) -> int:
    """The umask every entry point applies (``STUDYREC_UMASK``, octal), refused if it would share the data."""
    text = (os.environ if environ is None else environ).get(ENV_UMASK, "").strip()
    if not text:
        return DEFAULT_UMASK
    try:
        umask = int(text, 8)
    except ValueError:
        umask = -1
    if not 0 <= umask <= 0o077 or umask & REQUIRED_UMASK_BITS != REQUIRED_UMASK_BITS:  # owner keeps rwx
        raise StudyRecError(
            f"{ENV_UMASK}={text[:20]!r} is not allowed: give an octal umask that keeps group writes and other "
            f"users out, {DEFAULT_UMASK:03o} (owner only, the default) or {GROUP_READ_UMASK:03o} (the owner's "
            "group may read).")
    return umask


EXAMPLE_DATASET = PROJECT_ROOT / "data" / "example" / "students.csv"
