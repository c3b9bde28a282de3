import json
import os
import shutil
import subprocess
import sys
from datetime import datetime

import pytest

from studyrec_lib import registry, warehouse
from studyrec_lib.api import ApiConfig
from studyrec_lib.config import PROJECT_ROOT, Settings
from studyrec_lib.security import ENV_BEHIND_PROXY, smoke_test
from studyrec_lib.tokens import create_token, sidecar

CHECKS = {"bind", "tokens_hashed", "token_sidecar_private", "not_world_writable", "active_sidecar_matches_registry",
          "artifacts_match_registry", "rate_limit_on", "debug_off"}
ENV_TO_CLEAR = (ENV_BEHIND_PROXY, "STUDYREC_RATE_LIMIT", "STUDYREC_RATE_WINDOW_S", "STUDYREC_DEBUG")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def own(copy_of_trained: Settings) -> Settings:
    create_token("S1", None, copy_of_trained)
    return copy_of_trained


def _findings(report: dict) -> list[str]:
    return [finding["check"] for finding in report["findings"]]


def test_trained_warehouse_on_loopback_passes(trained_settings):
    report = smoke_test("127.0.0.1", trained_settings, ApiConfig())
    assert report["ok"] is True, report["findings"]
    assert report["findings"] == []
    assert {c["check"] for c in report["checks"]} == CHECKS
    assert all(c["ok"] and c["detail"] for c in report["checks"])


def test_own_warehouse_passes(own):
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert report["ok"] is True, report["findings"]
    artifacts = next(c for c in report["checks"] if c["check"] == "artifacts_match_registry")
    assert artifacts["detail"] == "2 active artifacts match their sha256"


@pytest.mark.parametrize("host", ["localhost", "::1", "127.0.0.2"])
def test_other_loopback_hosts_pass(own, host):
    assert smoke_test(host, own, ApiConfig())["ok"] is True


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_public_bind_is_a_finding_unless_behind_a_proxy(own, monkeypatch, host):
    report = smoke_test(host, own, ApiConfig())
    assert report["ok"] is False
    assert _findings(report) == ["bind"]
    assert ENV_BEHIND_PROXY in report["findings"][0]["detail"]
    monkeypatch.setenv(ENV_BEHIND_PROXY, "0")
    assert _findings(smoke_test(host, own, ApiConfig())) == ["bind"]
    monkeypatch.setenv(ENV_BEHIND_PROXY, "1")
    report = smoke_test(host, own, ApiConfig())
    assert report["ok"] is True
    assert "behind a proxy" in next(c for c in report["checks"] if c["check"] == "bind")["detail"]


def test_tampered_active_artifact_is_a_finding(own):
    path = registry.active_versions(own)["classification"]["artifact_path"]
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["artifacts_match_registry"]
    assert "does not match" in report["findings"][0]["detail"]


def test_missing_active_artifact_is_a_finding(own):
    os.remove(registry.active_versions(own)["regression"]["artifact_path"])
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["artifacts_match_registry"]
    assert "missing" in report["findings"][0]["detail"]


def test_an_active_models_sidecar_naming_another_pickle_is_a_finding(own, tmp_path):
    # What an attacker would write: another file, with that file's own sha256, so it would load.
    path = registry.active_sidecar(own)
    active = registry.read_active_sidecar(own)
    elsewhere = tmp_path / "elsewhere.joblib"
    shutil.copy(active["classification"]["artifact_path"], elsewhere)
    elsewhere.write_bytes(elsewhere.read_bytes() + b"\0")
    active["classification"].update(artifact_path=str(elsewhere), artifact_sha256=registry.sha256_of(elsewhere))
    path.write_text(json.dumps(active))
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["active_sidecar_matches_registry"]
    assert str(path) in report["findings"][0]["detail"]
    path.write_text("{not json")
    assert _findings(smoke_test("127.0.0.1", own, ApiConfig())) == ["active_sidecar_matches_registry"]
    path.unlink()  # the servers rewrite it from the registry
    assert smoke_test("127.0.0.1", own, ApiConfig())["ok"] is True
    assert registry.read_active_sidecar(own) == registry.sidecar_entries(
        [(t, e["version"], e["artifact_path"], e["artifact_sha256"]) for t, e in registry.active_versions(own).items()])


def test_a_world_writable_active_models_sidecar_is_a_finding(own):
    path = registry.active_sidecar(own)
    registry.read_active_sidecar(own)
    os.chmod(path, 0o646)
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["not_world_writable"]
    assert str(path) in report["findings"][0]["detail"]


def test_world_writable_warehouse_is_a_finding(own):
    os.chmod(own.warehouse, 0o666)
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["not_world_writable"]
    assert str(own.warehouse) in report["findings"][0]["detail"]


def test_world_writable_artifact_is_a_finding(own):
    path = registry.active_versions(own)["regression"]["artifact_path"]
    os.chmod(path, 0o646)
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert _findings(report) == ["not_world_writable"]
    assert path in report["findings"][0]["detail"]


def test_readable_token_sidecar_is_a_finding(own):
    os.chmod(sidecar(own), 0o644)
    assert _findings(smoke_test("127.0.0.1", own, ApiConfig())) == ["token_sidecar_private"]


def test_a_raw_token_in_the_table_is_a_finding(own):
    with warehouse.transaction(own) as con:
        con.execute("INSERT INTO api_tokens (token_sha256, student_id, created_at) VALUES (?, ?, ?)",
                    ["raw-token-stored-in-clear", "S2", datetime(2026, 1, 1)])
    assert _findings(smoke_test("127.0.0.1", own, ApiConfig())) == ["tokens_hashed"]


def test_rate_limit_off_is_a_finding(own):
    assert _findings(smoke_test("127.0.0.1", own, ApiConfig(rate_limit=0))) == ["rate_limit_on"]


def test_debug_on_is_a_finding(own):
    assert _findings(smoke_test("127.0.0.1", own, ApiConfig(debug=True))) == ["debug_off"]


def test_configuration_comes_from_the_environment(own, monkeypatch):
    monkeypatch.setenv("STUDYREC_RATE_LIMIT", "0")
    monkeypatch.setenv("STUDYREC_DEBUG", "1")
    assert _findings(smoke_test("127.0.0.1", own)) == ["rate_limit_on", "debug_off"]


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ENV_TO_CLEAR}
    env.update(STUDYREC_WAREHOUSE=str(settings.warehouse), STUDYREC_RUNS=str(settings.runs_dir))
    return subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "security-smoke-test", *args], env=env,
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)


def test_cli_strict_exits_1_on_a_public_bind(own):
    done = _cli(own, "--strict", "--host", "0.0.0.0")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert _findings(report) == ["bind"]


def test_cli_strict_exits_0_on_loopback(own):
    done = _cli(own, "--strict")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
