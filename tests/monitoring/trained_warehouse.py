"""A warehouse with 40 students' results, trained models active and the upload 60 days old.

Shared by the monitoring tests and the monitoring job's tests (``tests/runs``): each directory's conftest
trains it once per session and hands every test a copy of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file


def backdate_uploads(settings: Settings, days: int = 60) -> None:
    """Make everything loaded so far old news: only later uploads are 'current'."""
    with warehouse.transaction(settings) as con:
        con.execute(f"UPDATE datasets SET uploaded_at = uploaded_at - INTERVAL {days} DAY")


def train_and_activate(settings: Settings, root: Path) -> dict:
    from studyrec_lib.modeling.training import train
    from studyrec_lib.modeling.training_data import load_training_examples

    data = load_training_examples(settings)
    result = train(data.frame, n_folds=3)
    summary = registry.register_training(result, data, root / "runs" / "train-0", "train-0", settings)
    registry.activate(summary["versions"]["regression"], "both", reason="trained", settings=settings)
    return summary["versions"]


def trained_template(root: Path) -> tuple[Settings, dict]:
    """Trained once: 40 students, models active, their upload 60 days old."""
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    cohort = example_data.generate(students=40, seed=5)
    ingest_file(example_data.write(cohort, root / "cohort.csv"), settings=settings, progress=None)
    versions = train_and_activate(settings, root)
    backdate_uploads(settings)
    return settings, versions


def copy_of(template: Settings, folder: Path) -> Settings:
    """A copy of the template warehouse (and its active-models sidecar) that a test may change."""
    settings = load_settings(warehouse=folder / "warehouse.duckdb", runs_dir=folder / "runs")
    shutil.copy(template.warehouse, settings.warehouse)
    shutil.copy(registry.active_sidecar(template), registry.active_sidecar(settings))
    return settings


def upload(settings: Settings, frame: pd.DataFrame, path: Path) -> None:
    result = ingest_file(example_data.write(frame, path), settings=settings, progress=None)
    assert result.summary.rows_loaded == len(frame)


def runs_table(settings: Settings) -> pd.DataFrame:
    return warehouse.query_frame("SELECT run_id, kind, status, parent_run_id FROM runs ORDER BY started_at",
                                 settings=settings)
