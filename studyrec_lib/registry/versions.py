"""Model versions: register artifacts with their sha256 and metrics, activate one, keep the audit trail.

One training registers one version for both tasks; an activation is recorded with who or what did it and
why, and the servers' copy of the active versions (:mod:`active_sidecar`) is rewritten with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import joblib
import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.registry.active_sidecar import write_active_sidecar
from studyrec_lib.registry.artifacts import RegistryError

TASKS = ("regression", "classification")
VERSION_FORMAT = "%Y%m%d%H%M%S"


def _now_to_the_second() -> datetime:
    return utc_now().replace(microsecond=0)


def next_version(con, task: str) -> str:
    """Now in UTC, or one second after the task's newest version, so a version is never reused."""
    newest = con.execute("SELECT max(version) FROM model_versions WHERE task = ?", [task]).fetchone()[0]
    candidate = _now_to_the_second()
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
                 file_sha256(path), run_id, _now_to_the_second(),
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
             settings: Settings | None = None, pinned: bool = False) -> dict[str, str]:
    """Make ``version`` the active one for ``task`` (regression, classification or both), atomically.

    ``pinned``: a person chose it (``studyrec activate``, the console's rollback); trainings then keep it
    (:func:`pinned_versions`) until a person activates another or :func:`unpin` s it.
    """
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
                "INSERT INTO model_activations (task, version, previous_version, reason, run_id, activated_at, "
                "pinned) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [name, version, previous[0] if previous else None, reason, run_id, _now_to_the_second(), pinned],
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


@dataclass
class RegisteredVersion:
    """What the registry recorded of one task's version: the model, its figures and the data it learned from."""

    version: str
    algorithm: str
    metrics: dict
    dataset_ids: list[int] | None  # None: a version made by hand, or before versions recorded their data
    training_rows: int


def registered_version(task: str, version: str | None, settings: Settings | None = None) -> RegisteredVersion | None:
    """The registry's record of ``version`` for ``task``, or None when there is no such version (or no version)."""
    if not version:
        return None
    found = warehouse.query_frame(
        "SELECT algorithm, metrics, dataset_ids, training_rows FROM model_versions WHERE task = ? AND version = ?",
        params=[task, version], settings=settings)
    if found.empty:
        return None
    row = found.iloc[0]
    ids = json.loads(row["dataset_ids"] or "null")
    return RegisteredVersion(version, row["algorithm"], json.loads(row["metrics"] or "null") or {},
                             [int(i) for i in ids] if ids else None, int(row["training_rows"]))


def active_versions(settings: Settings | None = None) -> dict[str, dict]:
    frame = warehouse.query_frame(
        "SELECT task, version, algorithm, artifact_path, artifact_sha256, activated_at, reason, metrics "
        "FROM active_models ORDER BY task",
        settings=settings,
    )
    return {row["task"]: row for row in frame.to_dict("records")}


def list_versions(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame(
        """SELECT v.task, v.version, v.algorithm, v.training_rows, v.run_id, v.created_at, v.artifact_path,
                  v.artifact_sha256,
                  coalesce(a.version = v.version, false) AS active,
                  coalesce(a.version = v.version AND a.pinned, false) AS pinned,
                  json_extract(v.quality_gate, '$.passed')::BOOLEAN AS passes_gate,
                  json_extract_string(v.quality_gate, '$.challenge.verdict') AS challenge,
                  json_extract_string(v.quality_gate, '$.challenge.champion') AS champion,
                  json_extract(v.quality_gate, '$.challenge.difference')::DOUBLE AS challenge_difference,
                  json_extract(v.metrics, '$.cv_rmse')::DOUBLE AS cv_rmse,
                  json_extract(v.metrics, '$.cv_f1_weighted')::DOUBLE AS cv_f1_weighted
           FROM model_versions AS v LEFT JOIN active_models AS a USING (task)
           ORDER BY v.task, v.version""",
        settings=settings,
    )


def pinned_versions(settings: Settings | None = None) -> dict[str, str]:
    """Each task whose active version a person pinned, with that version (trainings must keep it)."""
    rows = warehouse.query_frame("SELECT task, version FROM active_models WHERE pinned", settings=settings)
    return dict(zip(rows["task"], rows["version"], strict=True))


def unpin(task: str = "both", reason: str = "unpinned", settings: Settings | None = None) -> dict[str, str]:
    """Let trainings replace the active version again: the same version, recorded as active and not pinned."""
    pinned = pinned_versions(settings)
    unpinned = {}
    for name in _tasks(task):
        if name in pinned:
            unpinned.update(activate(pinned[name], name, reason=reason, settings=settings, pinned=False))
    return unpinned


def activation_history(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame("SELECT * FROM model_activations ORDER BY activation_id", settings=settings)
