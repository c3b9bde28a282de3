"""``studyrec security-smoke-test``: the deployment checks an operator runs before opening the API."""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import ENV_UMASK, Settings, configured_umask, load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import chmod_hint, excess_bits
from studyrec_lib.web.api_config import ApiConfig

ENV_BEHIND_PROXY = "STUDYREC_BEHIND_PROXY"
MAX_PATHS_CHECKED = 50_000  # bounds the walk of the runs folder (a run holds ~20 files)
PATHS_SHOWN = 5
OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _walk(root: Path) -> Iterator[Path]:
    """``root`` and, for a folder, everything under it; links are neither followed nor judged."""
    if not root.exists():
        return
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, folders, files in os.walk(root):
            for name in (*folders, *files):
                yield Path(folder, name)


def _data_paths(settings: Settings, artifacts: Iterable[Path]) -> Iterator[Path]:
    """The warehouse and everything named after it beside it (.wal, token and active-models sidecars,
    .spool/, .ratelimit/), the runs folder and the active artifacts, each path once."""
    beside = sorted(settings.warehouse.parent.glob(glob.escape(settings.warehouse.name) + "*"))
    seen: set[Path] = set()
    for root in (*beside, settings.runs_dir, *artifacts):
        for path in _walk(root):
            if path not in seen:
                seen.add(path)
                yield path


def _open_paths(settings: Settings, artifacts: list[Path], umask: int) -> tuple[list[str], int, bool]:
    """Paths others may use beyond what ``umask`` allows, how many paths were checked, and whether the walk
    stopped at its bound. The warehouse's folder must not let others create or replace files in it."""
    found, checked = [], 0
    folder = settings.warehouse.parent
    if folder.exists() and folder.stat().st_mode & OTHERS_WRITE:
        found.append(f"{folder} ({stat.filemode(folder.stat().st_mode)}, the warehouse's folder)")
    for path in _data_paths(settings, artifacts):
        if checked == MAX_PATHS_CHECKED:
            return found, checked, True
        checked += 1
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # e.g. a spool file flushed meanwhile
            continue
        if not stat.S_ISLNK(mode) and excess_bits(mode, umask):
            found.append(f"{path} ({stat.filemode(mode)})")
    return found, checked, False


def _files_detail(found: list[str], checked: int, truncated: bool, umask: int) -> str:
    bound = f" (stopped at {MAX_PATHS_CHECKED:,} paths)" if truncated else ""
    allowed = "the owner only" if umask & 0o040 else "the owner, and the group to read"
    if not found:
        return f"{checked} data paths{bound} (warehouse, sidecars, spool, runs, artifacts) open to {allowed}"
    more = f" and {len(found) - PATHS_SHOWN} more" if len(found) > PATHS_SHOWN else ""
    return (f"open to other users ({ENV_UMASK} {umask:03o} allows {allowed}): {', '.join(found[:PATHS_SHOWN])}"
            f"{more}{bound}. Remove that access with `chmod {chmod_hint(umask)} PATH` (`-R` for a data folder).")


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
    umask = configured_umask()
    found, checked, truncated = _open_paths(settings, [Path(path) for _, _, path, _ in active], umask)
    check("files_private", not found, _files_detail(found, checked, truncated, umask))
    active_file = registry.active_sidecar(settings)  # servers load the artifacts it names, by its sha256
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
