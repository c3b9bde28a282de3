import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import ENV_UMASK, PROJECT_ROOT, Settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.serving.spool import spool_dir
from studyrec_lib.web import security
from studyrec_lib.web.api_config import ApiConfig
from studyrec_lib.web.rate_limit import rate_limit_dir
from studyrec_lib.web.security import ENV_BEHIND_PROXY, smoke_test
from studyrec_lib.web.tokens import create_token, sidecar

CHECKS = {"bind", "tokens_hashed", "files_private", "active_sidecar_matches_registry", "artifacts_match_registry",
          "rate_limit_on", "debug_off"}
ENV_TO_CLEAR = (ENV_BEHIND_PROXY, "STUDYREC_RATE_LIMIT", "STUDYREC_RATE_WINDOW_S", "STUDYREC_DEBUG", ENV_UMASK)


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
    active["classification"].update(artifact_path=str(elsewhere), artifact_sha256=file_sha256(elsewhere))
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


def _open_to_others(settings: Settings) -> str:
    """The files_private finding's detail (the check must have failed)."""
    report = smoke_test("127.0.0.1", settings, ApiConfig())
    assert _findings(report) == ["files_private"], report["checks"]
    return report["findings"][0]["detail"]


def _first_run_file(settings: Settings) -> Path:
    return next(path for path in sorted(settings.runs_dir.rglob("*")) if path.is_file())


# (what to loosen, its mode): world-readable, group-readable, group- or world-writable files and folders.
LOOSE = [
    ("warehouse", 0o644), ("warehouse", 0o640), ("warehouse", 0o620), ("warehouse", 0o666),
    ("wal", 0o604), ("tokens", 0o644), ("active", 0o646), ("spool", 0o755), ("spool_file", 0o644),
    ("ratelimit", 0o770), ("runs", 0o755), ("run_folder", 0o750), ("run_file", 0o644), ("artifact", 0o646),
]


def _loosen(settings: Settings, what: str, mode: int) -> Path:
    """Give one real path of the warehouse's family ``mode``; returns it."""
    if what == "wal":
        path = settings.warehouse.with_name(settings.warehouse.name + ".wal")
        path.write_bytes(b"")
    elif what == "spool_file":
        path = spool_dir(settings) / "api-1-abcd.ready.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("{}\n")
    else:
        path = {"warehouse": settings.warehouse, "tokens": sidecar(settings),
                "active": registry.active_sidecar(settings), "spool": spool_dir(settings),
                "ratelimit": rate_limit_dir(settings), "runs": settings.runs_dir,
                "run_folder": settings.runs_dir / "run-1", "run_file": _first_run_file(settings),
                "artifact": Path(registry.active_versions(settings)["regression"]["artifact_path"])}[what]
        if what in ("spool", "ratelimit"):
            path.mkdir(exist_ok=True)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(("what", "mode"), LOOSE)
def test_a_data_path_open_to_others_is_a_finding(own, what, mode):
    registry.read_active_sidecar(own)
    path = _loosen(own, what, mode)
    detail = _open_to_others(own)
    assert f"{path} ({stat.filemode(path.stat().st_mode)})" in detail
    assert "chmod go-rwx" in detail
    os.chmod(path, 0o700 if path.is_dir() else 0o600)
    assert smoke_test("127.0.0.1", own, ApiConfig())["ok"] is True


@pytest.mark.parametrize("mode", [0o770, 0o757, 0o1777])
def test_a_warehouse_folder_others_can_write_to_is_a_finding(own, mode):
    os.chmod(own.warehouse.parent, mode)
    try:
        assert f"{own.warehouse.parent} (" in _open_to_others(own)
    finally:
        os.chmod(own.warehouse.parent, 0o700)


def test_a_readable_warehouse_folder_is_not_a_finding(own):
    os.chmod(own.warehouse.parent, 0o755)  # e.g. the project folder: it lists names, the files are private
    assert smoke_test("127.0.0.1", own, ApiConfig())["ok"] is True


def test_group_read_is_allowed_only_when_the_umask_allows_it(own, monkeypatch):
    folder = own.runs_dir / "run-1"
    os.chmod(folder, 0o750)
    os.chmod(own.warehouse, 0o640)
    assert "group to read" not in _open_to_others(own)
    monkeypatch.setenv(ENV_UMASK, "027")
    report = smoke_test("127.0.0.1", own, ApiConfig())
    assert report["ok"] is True, report["findings"]
    assert "the owner, and the group to read" in next(c for c in report["checks"] if c["check"] == "files_private"
                                                       )["detail"]
    os.chmod(own.warehouse, 0o660)  # never group-writable
    detail = _open_to_others(own)
    assert f"{own.warehouse} (-rw-rw----)" in detail and "chmod g-w,o-rwx" in detail
    assert str(folder) not in detail


def test_links_in_the_runs_folder_are_not_followed(own, tmp_path):
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    os.chmod(outside, 0o755)
    (own.runs_dir / "link").symlink_to(outside, target_is_directory=True)
    assert smoke_test("127.0.0.1", own, ApiConfig())["ok"] is True


def test_the_walk_is_bounded_and_says_so(own, monkeypatch):
    folder = own.runs_dir / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"f{i:02d}").write_text("")
    monkeypatch.setattr(security, "MAX_PATHS_CHECKED", 10)
    detail = next(c for c in smoke_test("127.0.0.1", own, ApiConfig())["checks"] if c["check"] == "files_private"
                  )["detail"]
    assert detail.startswith("10 data paths (stopped at 10 paths)")


def test_many_open_paths_are_listed_five_and_counted(own):
    loose = [own.runs_dir / "run-1" / f"report-{i}.html" for i in range(8)]
    for path in loose:
        path.write_text("")
        os.chmod(path, 0o644)
    detail = _open_to_others(own)
    assert sum(str(path) in detail for path in loose) == 5
    assert " and 3 more" in detail


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


def _cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ENV_TO_CLEAR}, **(env or {})}
    env.update(STUDYREC_WAREHOUSE=str(settings.warehouse), STUDYREC_RUNS=str(settings.runs_dir))
    return subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "security-smoke-test", *args], env=env,
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)


def test_cli_strict_exits_1_on_a_public_bind(own):
    done = _cli(own, "--strict", "--host", "0.0.0.0")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert _findings(report) == ["bind"]


def test_cli_strict_exits_1_on_a_world_readable_warehouse(own):
    os.chmod(own.warehouse, 0o644)
    done = _cli(own, "--strict")
    assert done.returncode == 1, done.stderr
    assert _findings(json.loads(done.stdout)) == ["files_private"]


def test_cli_refuses_a_umask_that_would_share_the_data(own):
    done = _cli(own, "--strict", env={ENV_UMASK: "022"})
    assert done.returncode == 2
    assert "STUDYREC_UMASK='022' is not allowed" in done.stderr and "Traceback" not in done.stderr


def test_cli_strict_exits_0_on_loopback(own):
    done = _cli(own, "--strict")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_the_smoke_test_loads_neither_fastapi_nor_scikit_learn():
    """It reads the API's configuration from web.api_config, not from the API itself."""
    code = ("import sys, studyrec_lib.web.security; "
            "print(sorted(m for m in ('fastapi', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
