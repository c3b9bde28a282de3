"""A console's warehouse: the trained models active, and one upload of 10 students with their last semester open."""

from __future__ import annotations

from pathlib import Path

import pytest

from studyrec_lib.core.config import Settings
from studyrec_lib.demo.example import generate
from studyrec_lib.ingest import ingest_file


@pytest.fixture
def console_settings(copy_of_trained: Settings, tmp_path: Path) -> Settings:
    source = tmp_path / "class_of_10.csv"
    generate(students=10, seed=3, open_semesters=1).to_csv(source, index=False)
    ingest_file(source, settings=copy_of_trained, uploaded_by="first-teacher", progress=None)
    return copy_of_trained
