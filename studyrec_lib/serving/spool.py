"""The prediction audit log: a durable spool file first, the warehouse in batches.

A request appends one JSON line to this process's spool file (written through to the OS at once, so a
killed process loses nothing; fsynced every ``fsync_interval_s``). A background thread moves complete
files into ``prediction_log`` in one transaction each. A file whose insert fails for any reason (the
warehouse held by another process, a DuckDB error) stays claimed and is tried again later, with a growing
pause; it is never set aside. Each record has a unique request_id and is inserted with INSERT OR IGNORE,
so a file flushed twice (after a crash between commit and delete) is still logged once.

File names say who may take a file: ``*.current.jsonl`` (a writer's, taken only once its flock is free),
``*.ready.jsonl`` (rotated), ``*.claimed-<pid>.jsonl`` (being flushed) and ``*.failed.jsonl`` (set aside by
older versions; flushed like ready files). A new file is created as ``*.opening`` (no claimer looks at it),
locked, and only then renamed into place, so no other process can take it before its writer holds it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.core.files import beside_warehouse

REQUIRED_FIELDS = {"request_id", "logged_at", "source", "inputs", "status"}
FLUSH_LOCK_TIMEOUT_S = 0.5
MAX_RETRY_PAUSE_S = 60.0  # a file that keeps failing is tried at least this often (and reported each time)
CLAIMED = re.compile(r"\.claimed-(\d+)(?=\.)")


def spool_dir(settings: Settings) -> Path:
    """The folder of spool files, beside the warehouse (``warehouse.duckdb.spool``)."""
    return beside_warehouse(settings, ".spool")


def new_record(source: str, student_id: str | None, inputs: dict, result: dict | None, response_ms: float,
               status: str = "ok") -> dict:
    """One prediction_log line: a new request_id and the time now (UTC) with what was asked and answered."""
    return {
        "request_id": uuid.uuid4().hex, "logged_at": utc_now().isoformat(),
        "source": source, "student_id": student_id, "inputs": inputs, "result": result,
        "model_versions": (result or {}).get("model_versions"), "response_ms": response_ms, "status": status,
    }


class PredictionSpool:
    def __init__(self, settings: Settings, source: str, flush_interval_s: float = 0.5,
                 fsync_interval_s: float = 0.1):
        self.settings = dataclasses.replace(settings, lock_timeout_s=FLUSH_LOCK_TIMEOUT_S)
        self.source = source
        self.directory = spool_dir(settings)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        self._write_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retries: dict[str, tuple[float, float]] = {}  # claimed file name -> (next try, pause)
        self._open_current()

    def _open_current(self) -> None:
        stem = f"{self.source}-{os.getpid()}-{secrets.token_hex(4)}"
        opening = self.directory / f"{stem}.opening"
        self._file = opening.open("a", encoding="utf-8")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # tells other processes this writer is alive
        self._path = opening.rename(self.directory / f"{stem}.current.jsonl")  # the lock follows the inode
        self._dirty = False  # the file holds records
        self._unsynced = False

    def append(self, record: dict) -> None:
        line = json.dumps(record, default=str, separators=(",", ":")) + "\n"
        with self._write_lock:
            self._file.write(line)
            self._file.flush()
            self._dirty = self._unsynced = True

    def _rotate(self) -> None:
        """Mark the current file ready to flush and start a new one; requests wait only for the swap."""
        with self._write_lock:
            if not self._dirty:
                return
            old_file, old_path = self._file, self._path
            self._open_current()
        old_path.rename(old_path.with_name(old_path.name.replace(".current.", ".ready.")))
        os.fsync(old_file.fileno())
        old_file.close()

    def _claimable(self) -> list[Path]:
        """Ready and set-aside files, current files whose writer died, claimed files whose claimer died (or is us)."""
        found = sorted([*self.directory.glob("*.ready.jsonl"), *self.directory.glob("*.failed.jsonl")])
        for path in sorted(self.directory.glob("*.current.jsonl")):
            if path == self._path:
                continue
            try:
                with path.open("a") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    found.append(path)
            except (BlockingIOError, FileNotFoundError):
                continue
        for path in sorted(self.directory.glob("*.claimed-*.jsonl")):
            owner = int(CLAIMED.search(path.name).group(1))
            if owner == os.getpid() or not psutil.pid_exists(owner):
                found.append(path)
        return found

    def _claim(self, path: Path) -> Path | None:
        """Rename the file to this process's claim (atomic): of several flushing processes one wins."""
        stem = CLAIMED.sub("", path.name).removesuffix(".jsonl")
        claimed = path.with_name(f"{stem}.claimed-{os.getpid()}.jsonl")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None  # another process claimed it first
        return claimed

    def flush(self) -> int:
        """Move every complete spool file into prediction_log; returns the records inserted or already there."""
        with self._flush_lock:
            self._rotate()
            moved = 0
            for path in self._claimable():
                if not self._due(path):
                    continue
                claimed = self._claim(path)
                if claimed is None:
                    continue
                try:
                    moved += _insert_file(claimed, self.settings)
                except WarehouseLocked:
                    return moved  # every file would wait the same: retried at the next interval, still ours
                except Exception as error:  # whatever failed, the file stays ours and is tried again later
                    self._retry_later(claimed, error)
                    continue
                self._retries.pop(claimed.name, None)
                claimed.unlink(missing_ok=True)
            return moved

    def _due(self, path: Path) -> bool:
        """False while a file of ours that failed waits out its pause (the others go on)."""
        retry = self._retries.get(path.name)
        return retry is None or time.monotonic() >= retry[0]

    def _retry_later(self, claimed: Path, error: Exception) -> None:
        _, pause = self._retries.get(claimed.name, (0.0, self.flush_interval_s / 2))
        pause = min(pause * 2, MAX_RETRY_PAUSE_S)
        self._retries[claimed.name] = (time.monotonic() + pause, pause)
        print(f"prediction spool: {claimed.name} not logged yet ({str(error)[:300]}); kept, next try in "
              f"{pause:.1f} s", file=sys.stderr)

    def _run(self) -> None:
        last_flush = time.monotonic()
        while not self._stop.wait(self.fsync_interval_s):
            # fsync outside the write lock (a slow disk must not stall requests); the flush lock keeps
            # a rotation from closing the file meanwhile.
            with self._flush_lock:
                if self._unsynced:
                    self._unsynced = False
                    os.fsync(self._file.fileno())
            if time.monotonic() - last_flush >= self.flush_interval_s:
                try:
                    self.flush()
                except Exception as error:  # keep logging; the records stay in the spool for the next try
                    print(f"prediction spool: flush failed ({error}); will retry", file=sys.stderr)
                last_flush = time.monotonic()

    def start(self) -> PredictionSpool:
        self._thread = threading.Thread(target=self._run, name="prediction-spool", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and flush what can be flushed; anything left is picked up by the next process."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        with self._write_lock:
            self._file.close()
            if self._path.exists() and self._path.stat().st_size == 0:
                self._path.unlink()


SPOOL_COLUMNS = ("{request_id: 'VARCHAR', logged_at: 'TIMESTAMP', source: 'VARCHAR', student_id: 'VARCHAR', "
                 "inputs: 'JSON', result: 'JSON', model_versions: 'JSON', response_ms: 'DOUBLE', status: 'VARCHAR'}")


def _insert_file(path: Path, settings: Settings) -> int:
    """Insert one spool file's complete records; returns how many (inserted now or already there).

    DuckDB parses the file itself (no Python JSON work holding the GIL while requests are served); lines
    cut short by a crash, and records missing a required field, are skipped.
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0
    required = " AND ".join(f"{field} IS NOT NULL" for field in sorted(REQUIRED_FIELDS))
    with warehouse.transaction(settings) as con:
        con.execute(
            f"""CREATE TEMP TABLE spooled AS SELECT * FROM read_json(?, format = 'newline_delimited',
                    ignore_errors = true, columns = {SPOOL_COLUMNS}) WHERE {required}""",
            [str(path)],
        )
        count = con.execute("SELECT count(*) FROM spooled").fetchone()[0]
        con.execute("INSERT OR IGNORE INTO prediction_log BY NAME SELECT * FROM spooled")
        con.execute("DROP TABLE spooled")
    return int(count)
