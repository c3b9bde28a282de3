"""``studyrec security-smoke-test``: the deployment checks an operator runs before opening the API."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
from pathlib import Path

from . import registry, tokens, warehouse
from .api import ApiConfig
from .config import Settings, load_settings
from .errors import StudyRecError

ENV_BEHIND_PROXY = "STUDYREC_BEHIND_PROXY"


def _world_writable(path: Path) -> bool:
    return path.exists() and bool(path.stat().st_mode & stat.S_IWOTH)


def _sidecar_agrees(path: Path, expected: dict) -> bool:
    """A missing file is written from the registry when first read; an unreadable one is a finding."""
    if not path.exists():
        return True
    try:
        return json.loads(path.read_text()) == expected
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smoke_test(host: str = "127.0.0.1", settings: Settings | None = None, config: ApiConfig | None = None) -> dict:
    """Every check with its outcome; ``findings`` lists the failed ones."""
    settings = settings or load_settings()
    config = config or ApiConfig.from_env()
    checks: list[dict] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    behind_proxy = os.environ.get(ENV_BEHIND_PROXY, "") not in ("", "0", "false")
    check("bind", _is_loopback(host) or behind_proxy,
          f"serving on {host}" + ("" if _is_loopback(host) else
                                 (" behind a proxy" if behind_proxy else
                                  f": not loopback and {ENV_BEHIND_PROXY} is not set (no TLS, no proxy)")))
    with warehouse.connect(settings, read_only=True) as con:
        hashes = [r[0] for r in con.execute("SELECT token_sha256 FROM api_tokens").fetchall()]
        active = con.execute("SELECT task, version, artifact_path, artifact_sha256 FROM active_models").fetchall()
    check("tokens_hashed", all(len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in hashes),
          f"{len(hashes)} tokens stored as sha256 hashes only")
    sidecar = tokens.sidecar(settings)
    check("token_sidecar_private", not sidecar.exists() or not (sidecar.stat().st_mode & 0o077),
          f"{sidecar} readable by its owner only")
    artifacts = [Path(path) for _, _, path, _ in active]
    active_file = registry.active_sidecar(settings)  # servers load the artifacts it names, by its sha256
    places = [settings.warehouse, settings.warehouse.parent, active_file, settings.runs_dir,
              *{p.parent for p in artifacts}, *artifacts]
    writable = [str(p) for p in places if _world_writable(p)]
    check("not_world_writable", not writable, "world-writable: " + ", ".join(writable[:5]) if writable
          else "warehouse, its folder, the active-models file, runs and artifacts are not world-writable")
    agrees = _sidecar_agrees(active_file, registry.sidecar_entries(active))
    check("active_sidecar_matches_registry", agrees,
          f"{active_file} matches the registry's active models" if agrees else
          f"{active_file}, which the servers load, differs from the registry's active models: delete it, and "
          "the servers rewrite it from the registry")
    mismatched = []
    for task, version, path, expected in active:
        try:
            registry.load_verified(path, expected, f"{task} {version}")
        except StudyRecError as error:
            mismatched.append(str(error))
    check("artifacts_match_registry", not mismatched,
          "; ".join(mismatched) if mismatched else f"{len(active)} active artifacts match their sha256")
    check("rate_limit_on", config.rate_limit > 0,
          f"{config.rate_limit} requests per {config.rate_window_s:g} s per token")
    check("debug_off", not config.debug, "debug is off" if not config.debug else "STUDYREC_DEBUG is on")
    findings = [c for c in checks if not c["ok"]]
    return {"ok": not findings, "findings": findings, "checks": checks}
