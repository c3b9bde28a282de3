from pathlib import Path

import pytest

from studyrec_lib.core.config import ENV_UMASK, PROJECT_ROOT, configured_umask, load_settings
from studyrec_lib.core.errors import StudyRecError


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


@pytest.mark.parametrize(("text", "umask"), [(None, 0o077), ("", 0o077), ("077", 0o077), ("0077", 0o077),
                                             ("027", 0o027), ("0o037", 0o037), (" 067 ", 0o067)])
def test_the_umask_is_octal_owner_only_by_default(text, umask):
    assert configured_umask({} if text is None else {ENV_UMASK: text}) == umask


@pytest.mark.parametrize("text", ["022", "007", "070", "0", "177", "777", "1000", "-1", "abc",
                                  "9" * 5000])
def test_a_umask_that_would_share_the_data_is_refused_with_the_rule(text):
    with pytest.raises(StudyRecError) as refused:
        configured_umask({ENV_UMASK: text})
    message = str(refused.value)
    assert message.startswith(f"{ENV_UMASK}={text[:20]!r} is not allowed")
    assert "077 (owner only, the default) or 027" in message and len(message) < 300
