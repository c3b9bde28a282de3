"""Who may read what StudyRec writes: the warehouse, sidecars, spools and run folders hold students' marks.

The rule is the process umask (``config.configured_umask``), applied once by every entry point, so it covers
every writer alike: DuckDB's own files (the .wal), papermill and nbconvert outputs, the library's writes and
every child process (kernels, workers). Files meant to be opened by people get their mode set explicitly too,
in case the library runs in a process no entry point prepared (an analyst's kernel).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from studyrec_lib.core.config import Settings, configured_umask

SHARED_BITS = 0o077  # what the group and other users may do; the owner's bits are never judged


def apply_umask(umask: int | None = None) -> int:
    """Set the process umask (default: the configured one) and return it; children inherit it."""
    umask = configured_umask() if umask is None else umask
    os.umask(umask)
    return umask


def file_mode(umask: int) -> int:
    """The mode a new file gets under ``umask`` (0600 under 077)."""
    return 0o666 & ~umask


def make_private(path: Path, umask: int | None = None) -> Path:
    """Give an existing file the mode a new one gets under the configured umask."""
    os.chmod(path, file_mode(configured_umask() if umask is None else umask))
    return path


def write_private_atomically(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` at once: readers see the old or the new file, never a part.

    The temporary name is unique, so two processes rewriting the same sidecar never rename each other's file.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        make_private(Path(temporary))  # the configured mode: the API may run as another account of the group
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in blocks (uploads, artifacts, training states)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def beside_warehouse(settings: Settings, suffix: str) -> Path:
    """A file or folder named after the warehouse (``warehouse.duckdb<suffix>``): sidecars, spool, locks.

    They hold the same students' data, so they sit with it, and the smoke test finds them by that name.
    """
    return settings.warehouse.with_name(settings.warehouse.name + suffix)


def file_stamp(path: Path) -> tuple[int, int]:
    """What changes whenever a sidecar is rewritten: a rewrite is a rename, so a new inode even within one tick."""
    info = os.stat(path)
    return info.st_ino, info.st_mtime_ns


def excess_bits(mode: int, umask: int) -> int:
    """Permission bits for the group or others that ``umask`` would have removed (0: as private as required)."""
    return stat.S_IMODE(mode) & umask & SHARED_BITS


def _symbolic(bits: int) -> str:
    return "".join(letter for letter, bit in zip("rwx", (4, 2, 1), strict=True) if bits & bit)


def chmod_hint(umask: int) -> str:
    """The ``chmod`` symbolic mode that removes what ``umask`` forbids: ``go-rwx`` (077), ``g-w,o-rwx`` (027)."""
    group, other = _symbolic(umask >> 3 & 7), _symbolic(umask & 7)
    return f"go-{group}" if group == other else ",".join(f"{who}-{bits}" for who, bits in (("g", group),
                                                                                          ("o", other)) if bits)
