"""Which files the teachers' reports service may read (the service behind the hub: tests/web/test_hub.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studyrec_lib.web.reports_service import report_path


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    (runs / "20260101T000000Z-train" / "artifacts").mkdir(parents=True)
    (runs / "index.html").write_text("index")
    for name in ("report.html", "model_card.md", "at_risk.csv", "at_risk.xlsx", "params.json", ".hidden.html"):
        (runs / "20260101T000000Z-train" / name).write_text(name)
    (runs / "20260101T000000Z-train" / "artifacts" / "model.joblib").write_text("model")
    (tmp_path / "warehouse.duckdb").write_text("warehouse")
    (tmp_path / "secret.html").write_text("outside")
    return runs


@pytest.mark.parametrize("relative", ["", "index.html", "20260101T000000Z-train/report.html",
                                      "20260101T000000Z-train/model_card.md", "20260101T000000Z-train/at_risk.csv",
                                      "20260101T000000Z-train/at_risk.xlsx"])
def test_the_index_and_the_reports_it_links_are_readable(runs_dir: Path, relative: str) -> None:
    path = report_path(runs_dir, relative)
    assert path is not None and path.is_relative_to(runs_dir.resolve())


@pytest.mark.parametrize("relative", [
    "../warehouse.duckdb", "../secret.html", "20260101T000000Z-train/../../secret.html", "/etc/passwd",
    "/secret.html", "20260101T000000Z-train/params.json", "20260101T000000Z-train/artifacts/model.joblib",
    "20260101T000000Z-train/.hidden.html", "20260101T000000Z-train", "20260101T000000Z-train/missing.html",
    "..", ".", "index.html/x", "20260101T000000Z-train/report.html\x00.html", "20260101T000000Z-train/REPORT.HTML",
])
def test_everything_else_is_refused(runs_dir: Path, relative: str) -> None:
    assert report_path(runs_dir, relative) is None


def test_a_symlink_out_of_the_runs_folder_is_refused(runs_dir: Path) -> None:
    (runs_dir / "20260101T000000Z-train" / "leak.html").symlink_to(runs_dir.parent / "secret.html")
    (runs_dir / "elsewhere").symlink_to(runs_dir.parent, target_is_directory=True)
    assert report_path(runs_dir, "20260101T000000Z-train/leak.html") is None
    assert report_path(runs_dir, "elsewhere/secret.html") is None


def test_a_missing_index_is_not_an_error(tmp_path: Path) -> None:
    assert report_path(tmp_path / "no-runs-yet", "") is None  # the service then shows "No run yet"
