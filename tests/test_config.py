from pathlib import Path

from studyrec_lib.config import PROJECT_ROOT, load_settings


def test_defaults_live_in_the_project(monkeypatch):
    monkeypatch.delenv("STUDYREC_WAREHOUSE", raising=False)
    monkeypatch.delenv("STUDYREC_RUNS", raising=False)
    settings = load_settings()
    assert settings.warehouse == PROJECT_ROOT / "warehouse.duckdb"
    assert settings.runs_dir == PROJECT_ROOT / "runs"


def test_environment_overrides_defaults_and_flags_override_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDYREC_WAREHOUSE", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("STUDYREC_RUNS", str(tmp_path / "env-runs"))
    monkeypatch.setenv("STUDYREC_MAX_UPLOAD_MB", "12")
    from_env = load_settings()
    assert from_env.warehouse == tmp_path / "env.duckdb"
    assert from_env.runs_dir == tmp_path / "env-runs"
    assert from_env.max_upload_mb == 12
    from_flags = load_settings(warehouse=tmp_path / "flag.duckdb", runs_dir="rel-runs", max_upload_mb=3)
    assert from_flags.warehouse == tmp_path / "flag.duckdb"
    assert from_flags.runs_dir == Path("rel-runs").resolve()
    assert from_flags.max_upload_mb == 3
