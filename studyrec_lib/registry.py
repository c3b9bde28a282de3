"""The model registry: versioned artifacts with their sha256, metrics, and an activation audit trail.

Artifacts are joblib pickles, and unpickling runs code, so an artifact is loaded only when it is
registered and its bytes still hash to the registered sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import joblib
import pandas as pd

from . import warehouse
from .config import Settings, load_settings
from .errors import StudyRecError, WarehouseLocked
from .files import write_private_atomically
from .ingest import file_sha256 as sha256_of  # one implementation of a file's sha256

logger = logging.getLogger(__name__)

TASKS = ("regression", "classification")
VERSION_FORMAT = "%Y%m%d%H%M%S"


class RegistryError(StudyRecError):
    """Unknown version, or an artifact that must not be loaded."""


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def next_version(con, task: str) -> str:
    """Now in UTC, or one second after the task's newest version, so a version is never reused."""
    newest = con.execute("SELECT max(version) FROM model_versions WHERE task = ?", [task]).fetchone()[0]
    candidate = _utc_now()
    if newest is not None:
        candidate = max(candidate, datetime.strptime(newest, VERSION_FORMAT) + timedelta(seconds=1))
    return candidate.strftime(VERSION_FORMAT)


def register(entries: dict[str, dict], artifacts_dir: Path, run_id: str | None,
             settings: Settings | None = None) -> dict[str, str]:
    """Save each task's artifact and insert them in one transaction under one version; task -> version.

    ``entries[task]`` holds ``artifact`` (the object to pickle) and the registry columns.
    """
    settings = settings or load_settings()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    with warehouse.transaction(settings) as con:
        # One version for all tasks of a training, so `activate --task both` finds each of them.
        version = max(next_version(con, task) for task in entries)
        for task, entry in entries.items():
            path = artifacts_dir / f"{task}-{version}.joblib"
            joblib.dump(entry["artifact"], path)
            json_columns = ("hyperparameters", "metrics", "confusion_matrix", "classification_report", "cv_scores",
                            "brier_per_grade", "imbalance", "feature_baseline", "quality_gate", "dataset_ids")
            con.execute(
                f"""INSERT INTO model_versions (task, version, algorithm, training_rows, data_sha256, artifact_path,
                    artifact_sha256, run_id, created_at, {", ".join(json_columns)})
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {", ".join("?" for _ in json_columns)})""",
                [task, version, entry["algorithm"], entry["training_rows"], entry["data_sha256"], str(path),
                 sha256_of(path), run_id, _utc_now(),
                 *[json.dumps(entry.get(column), default=_jsonable) for column in json_columns]],
            )
            versions[task] = version
    return versions


def _jsonable(value: object) -> object:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _tasks(task: str) -> tuple[str, ...]:
    if task == "both":
        return TASKS
    if task not in TASKS:
        raise RegistryError(f"unknown task {task!r}: use regression, classification or both.")
    return (task,)


def activate(version: str, task: str = "both", reason: str = "manual", run_id: str | None = None,
             settings: Settings | None = None) -> dict[str, str]:
    """Make ``version`` the active one for ``task`` (regression, classification or both), atomically."""
    settings = settings or load_settings()
    tasks = _tasks(task)
    with warehouse.transaction(settings) as con:
        for name in tasks:
            found = con.execute("SELECT quality_gate FROM model_versions WHERE task = ? AND version = ?",
                                [name, version]).fetchone()
            if found is None:
                known = [r[0] for r in con.execute(
                    "SELECT version FROM model_versions WHERE task = ? ORDER BY version DESC LIMIT 5", [name]
                ).fetchall()]
                raise RegistryError(
                    f"no {name} model has version {version!r}; nothing was activated. "
                    f"Newest {name} versions: {known or 'none'} (see `studyrec models`)."
                )
            _refuse_failed_gate(name, version, json.loads(found[0] or "null"))
        for name in tasks:
            previous = con.execute("SELECT version FROM active_models WHERE task = ?", [name]).fetchone()
            con.execute(
                "INSERT INTO model_activations (task, version, previous_version, reason, run_id, activated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [name, version, previous[0] if previous else None, reason, run_id, _utc_now()],
            )
    write_active_sidecar(settings)
    return dict.fromkeys(tasks, version)


def _refuse_failed_gate(task: str, version: str, gate: dict | None) -> None:
    """A model that does not beat its naive baseline is never activated, by hand or by a run."""
    if gate and gate.get("passed") is False:
        raise RegistryError(
            f"the {task} model {version} does not beat its naive baseline ({gate['metric']} {gate['model']:.4f}, "
            f"naive {gate['naive']:.4f}), and such a model is never activated; nothing was activated. "
            "Activate a version that passed (`studyrec models` shows passes_gate), or retrain on more data."
        )


def version_metrics(version: str, settings: Settings | None = None) -> dict[str, dict]:
    """Each task's registered metrics of ``version``: what a run reports next to the versions it made."""
    rows = warehouse.query_frame("SELECT task, metrics FROM model_versions WHERE version = ?", params=[version],
                                 settings=settings)
    return {row["task"]: json.loads(row["metrics"]) for row in rows.to_dict("records")}


def active_versions(settings: Settings | None = None) -> dict[str, dict]:
    frame = warehouse.query_frame(
        "SELECT task, version, algorithm, artifact_path, artifact_sha256, activated_at, reason, metrics "
        "FROM active_models ORDER BY task",
        settings=settings,
    )
    return {row["task"]: row for row in frame.to_dict("records")}


def list_versions(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame(
        """SELECT v.task, v.version, v.algorithm, v.training_rows, v.run_id, v.created_at,
                  coalesce(a.version = v.version, false) AS active,
                  json_extract(v.quality_gate, '$.passed')::BOOLEAN AS passes_gate,
                  json_extract(v.metrics, '$.cv_rmse')::DOUBLE AS cv_rmse,
                  json_extract(v.metrics, '$.cv_f1_weighted')::DOUBLE AS cv_f1_weighted
           FROM model_versions AS v LEFT JOIN active_models AS a USING (task)
           ORDER BY v.task, v.version""",
        settings=settings,
    )


def activation_history(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame("SELECT * FROM model_activations ORDER BY activation_id", settings=settings)


def active_sidecar(settings: Settings) -> Path:
    """A JSON copy of the active versions beside the warehouse, so servers never wait on its lock."""
    return settings.warehouse.with_name(settings.warehouse.name + ".active.json")


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


def load_verified(path: str | Path, expected_sha256: str, label: str) -> object:
    """Unpickle ``path`` only if its bytes hash to the registered sha256 (hash and load the same bytes)."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"the {label} artifact is missing: {path}.")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise RegistryError(
            f"refusing to load {path}: its sha256 {actual[:12]}... does not match the registered "
            f"{expected_sha256[:12]}... (the file changed after registration). Retrain, or activate another version."
        )
    return joblib.load(io.BytesIO(data))


def register_training_state(path: Path, run_id: str | None, settings: Settings | None = None) -> None:
    """Record a run's training state (a pickle too) so 03_evaluate may load it; a retrain replaces it."""
    with warehouse.transaction(settings) as con:
        con.execute("INSERT OR REPLACE INTO training_states VALUES (?, ?, ?, ?)",
                    [str(path), sha256_of(path), run_id, _utc_now()])


def load_registered_state(path: Path, settings: Settings | None = None) -> object:
    """Unpickle a training state only if the warehouse registered these exact bytes at this path."""
    with warehouse.connect(settings, read_only=True) as con:
        row = con.execute("SELECT sha256 FROM training_states WHERE path = ?", [str(path)]).fetchone()
    if row is None:
        raise RegistryError(
            f"refusing to load {path}: no training registered it in the warehouse (a pickle runs code). "
            "Run `studyrec train` to train and evaluate afresh."
        )
    return load_verified(path, row[0], "training state")


def load_artifact(task: str, version: str | None = None, settings: Settings | None = None) -> tuple[dict, str]:
    """The registered artifact of ``task`` (active one by default), verified by sha256; and its version."""
    settings = settings or load_settings()
    with warehouse.connect(settings, read_only=True) as con:
        if version is None:
            row = con.execute("SELECT version, artifact_path, artifact_sha256 FROM active_models WHERE task = ?",
                              [task]).fetchone()
            if row is None:
                raise RegistryError(f"no active {task} model. Train one with `make run` or `studyrec train`.")
        else:
            row = con.execute(
                "SELECT version, artifact_path, artifact_sha256 FROM model_versions WHERE task = ? AND version = ?",
                [task, version],
            ).fetchone()
            if row is None:
                raise RegistryError(f"no registered {task} model has version {version!r}.")
    version, path, expected = row
    return load_verified(path, expected, f"{task} (version {version})"), version
