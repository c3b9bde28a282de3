import itertools
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.serving.spool import PredictionSpool, new_record, spool_dir

# Writes records through a spool, then waits without closing it (until it is killed).
WRITER = """
import json, sys
from studyrec_lib.core.config import load_settings
from studyrec_lib.serving.spool import PredictionSpool, new_record
spool = PredictionSpool(load_settings(warehouse=sys.argv[1], runs_dir=sys.argv[2]), source="api")
ids = []
for i in range(int(sys.argv[3])):
    record = new_record("api", f"S{i}", {"quiz_marks": i}, {"predicted_grade": "B"}, 1.0)
    spool.append(record)
    ids.append(record["request_id"])
print(json.dumps(ids), flush=True)
sys.stdin.readline()
"""

PAYLOAD = {"semester": 3, "subject": "Mathematics", "assignment_marks": 3.0, "quiz_marks": 6.0,
           "attendance_percentage": 80.0, "midterm_marks": 18.0, "previous_cgpa": 3.0}
RESULT = {"predicted_final_marks": 25.5, "predicted_grade": "C+",
          "model_versions": {"regression": "20260101000000", "classification": "20260101000000"}}




def _logged(settings) -> list[tuple]:
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("SELECT request_id, source, student_id, inputs, result, model_versions, response_ms, "
                           "status FROM prediction_log ORDER BY logged_at, request_id").fetchall()


def _ids(settings) -> list[str]:
    return sorted(row[0] for row in _logged(settings))


def _records(n: int, source: str = "api") -> list[dict]:
    return [new_record(source, f"S{i}", {**PAYLOAD, "quiz_marks": float(i)}, RESULT, 1.25 + i) for i in range(n)]


def _pending(spool: PredictionSpool) -> int:
    """Records still in the spool's files (not yet in prediction_log)."""
    return sum(1 for path in spool.directory.glob("*.jsonl") for _ in path.open(encoding="utf-8"))


@pytest.fixture
def spool(settings):
    spool = PredictionSpool(settings, source="api")
    yield spool
    spool.close()


def test_appended_records_are_logged_after_flush(settings, spool):
    records = _records(3)
    for record in records:
        spool.append(record)
    assert _pending(spool) == 3
    assert spool.flush() == 3
    assert _pending(spool) == 0
    rows = {row[0]: row for row in _logged(settings)}
    assert set(rows) == {r["request_id"] for r in records}
    for record in records:
        _, source, student, inputs, result, versions, response_ms, status = rows[record["request_id"]]
        assert (source, student, status) == ("api", record["student_id"], "ok")
        assert json.loads(inputs) == record["inputs"]
        assert json.loads(result) == RESULT
        assert json.loads(versions) == RESULT["model_versions"]
        assert response_ms == pytest.approx(record["response_ms"])
    assert spool.flush() == 0  # nothing new
    assert len(_logged(settings)) == 3


def test_new_record_fields():
    record = new_record("cli", None, PAYLOAD, None, 3.0, status="error")
    assert len(record["request_id"]) == 32
    assert record["model_versions"] is None
    assert (record["source"], record["student_id"], record["status"]) == ("cli", None, "error")
    assert new_record("cli", None, PAYLOAD, None, 3.0)["request_id"] != record["request_id"]


def test_close_flushes_and_leaves_no_files(settings):
    spool = PredictionSpool(settings, source="app").start()
    records = _records(4, source="app")
    for record in records:
        spool.append(record)
    spool.close()
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    assert list(spool_dir(settings).glob("*.jsonl")) == []


def test_flush_while_the_warehouse_is_held_keeps_the_files(settings, spool, hold_warehouse):
    records = _records(5)
    for record in records[:3]:
        spool.append(record)
    with warehouse.connect(settings):
        pass  # create and migrate the file first (the holder would create an empty one)
    with hold_warehouse(settings.warehouse):
        assert spool.flush() == 0
        for record in records[3:]:
            spool.append(record)
        assert spool.flush() == 0
        assert _pending(spool) == 5
    assert _logged(settings) == []  # nothing went in while it was held
    assert spool.flush() == 5
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    assert _pending(spool) == 0
    assert spool.flush() == 0
    assert len(_logged(settings)) == 5


def test_a_killed_writers_file_is_picked_up_by_another_process(settings, spool):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(settings.warehouse), str(settings.runs_dir), "4"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        ids = json.loads(writer.stdout.readline())
        assert len(ids) == 4
        # While the writer lives, its file is its own.
        assert spool.flush() == 0
        assert _logged(settings) == []
        assert len(list(spool_dir(settings).glob("api-*.current.jsonl"))) == 2  # the writer's and this one's
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert spool.flush() == 4
    assert _ids(settings) == sorted(ids)
    assert {row[1] for row in _logged(settings)} == {"api"}
    assert _pending(spool) == 0


def _write_ready(settings, name: str, records: list[dict], tail: str = "") -> Path:
    directory = spool_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.ready.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)
    return path


def test_a_truncated_last_line_is_skipped(settings, spool):
    records = _records(3)
    cut = json.dumps(_records(1)[0])[:40]
    _write_ready(settings, "api-999-dead", records[:2], tail=cut)
    assert spool.flush() == 2
    assert _ids(settings) == sorted(r["request_id"] for r in records[:2])
    assert _pending(spool) == 0


def test_a_file_flushed_twice_is_logged_once(settings, spool):
    records = _records(3)
    first = _write_ready(settings, "api-1-aaaa", records)
    shutil.copy(first, first.with_name("api-1-bbbb.ready.jsonl"))
    assert spool.flush() == 6  # inserted or already there
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    _write_ready(settings, "api-1-cccc", records)  # as after a crash between commit and delete
    assert spool.flush() == 3
    assert len(_logged(settings)) == 3


def test_a_record_without_its_fields_is_skipped_and_does_not_block_the_log(settings):
    from studyrec_lib.serving.spool import PredictionSpool, new_record, spool_dir

    spool = PredictionSpool(settings, source="api")
    (spool_dir(settings) / "junk.ready.jsonl").write_text('{"foo": 1}\n[1, 2]\n')
    spool.append(new_record("api", "S1", {"semester": 1}, {"model_versions": {}}, 1.0))
    assert spool.flush() == 1
    spool.close()
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM prediction_log").fetchone()[0] == 1


FLUSH_ONCE = """
import os, sys
from studyrec_lib.core.config import load_settings
from studyrec_lib.serving.spool import PredictionSpool
settings = load_settings(warehouse=sys.argv[1], runs_dir=sys.argv[2])
settings = settings.__class__(settings.warehouse, settings.runs_dir, settings.max_upload_mb, 60.0)
spool = PredictionSpool(settings, source="worker")
moved = spool.flush()
while any(spool.directory.glob("*.ready.jsonl")) or any(spool.directory.glob(f"*.claimed-{os.getpid()}.jsonl")):
    moved += spool.flush()  # the other worker held the file past the flush's lock timeout: try again
spool.close()
print(moved)
"""


def test_two_processes_flushing_the_same_files_log_each_record_once_without_errors(settings):
    """API workers each run a flusher: a file is claimed (renamed) by one of them, never processed twice."""
    import subprocess
    import sys

    records = _records(60)
    for i in range(12):
        _write_ready(settings, f"api-{i}-dead", records[i * 5:(i + 1) * 5])
    command = [sys.executable, "-c", FLUSH_ONCE, str(settings.warehouse), str(settings.runs_dir)]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert all("set aside" not in err and "Error" not in err for _, err in outputs)
    assert sum(int(out.strip()) for out, _ in outputs) == 60  # each file moved by exactly one of them
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    assert not list(spool_dir(settings).glob("*.jsonl"))


def test_a_claim_left_by_a_dead_flusher_is_taken_over(settings, spool):
    records = _records(4)
    _write_ready(settings, "api-7-x", records).rename(spool_dir(settings) / "api-7-x.ready.claimed-999999.jsonl")
    assert spool.flush() == 4
    assert _ids(settings) == sorted(r["request_id"] for r in records)


def test_a_new_spool_file_cannot_be_taken_between_its_creation_and_its_lock(settings, monkeypatch):
    """Another worker's flush runs just before the writer locks its new file: not one line may be lost."""
    import fcntl

    writer = PredictionSpool(settings, source="api")
    other_worker = PredictionSpool(settings, source="api")
    real_flock = fcntl.flock
    armed = [True]

    def flock_after_another_flush(handle, operation):
        if armed:  # the first lock taken after arming is the writer's, on the file its rotation just made
            armed.clear()
            other_worker.flush()
        return real_flock(handle, operation)

    first = _records(1)
    writer.append(first[0])
    monkeypatch.setattr(fcntl, "flock", flock_after_another_flush)
    writer.flush()  # rotates: a new current file is made, then locked
    assert not armed
    monkeypatch.undo()
    records = _records(50)
    for record in records:
        writer.append(record)
    writer.flush()
    other_worker.close()
    writer.close()
    assert _ids(settings) == sorted(r["request_id"] for r in first + records)
    assert list(spool_dir(settings).iterdir()) == []


def test_a_file_whose_insert_fails_is_kept_and_logged_later_while_the_others_go_in(settings, monkeypatch, capsys):
    import duckdb

    from studyrec_lib.serving import spool as spool_module

    spool = PredictionSpool(settings, source="api", flush_interval_s=0)  # no pause before a retry
    records = _records(6)
    _write_ready(settings, "api-1-first", records[:3])
    _write_ready(settings, "api-1-second", records[3:])
    real_insert = spool_module._insert_file
    failures = []

    def insert_failing_once(path, settings):
        if "first" in path.name and not failures:
            failures.append(path.name)
            raise duckdb.IOException("IO Error: disk hiccup")
        return real_insert(path, settings)

    monkeypatch.setattr(spool_module, "_insert_file", insert_failing_once)
    assert spool.flush() == 3  # the second file went in although the first failed
    assert _ids(settings) == sorted(r["request_id"] for r in records[3:])
    assert "not logged yet (IO Error: disk hiccup); kept" in capsys.readouterr().err
    assert _pending(spool) == 3  # still in the spool, never set aside
    assert spool.flush() == 3  # retried
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    spool.close()
    assert list(spool_dir(settings).glob("*.jsonl")) == []


def test_a_failing_file_waits_a_growing_pause_before_each_retry(settings, monkeypatch, capsys):
    import time

    from studyrec_lib.serving import spool as spool_module

    # A whole number of seconds (so 0.25 s steps stay exact) well before the real clock, which must have passed
    # every retry's due time once the patch is undone (a fixed 1000.0 failed on a machine up for less than that).
    now = [float(int(time.monotonic()) - 100)]
    monkeypatch.setattr(spool_module.time, "monotonic", lambda: now[0])
    spool = PredictionSpool(settings, source="api", flush_interval_s=0.5)
    _write_ready(settings, "api-1-bad", _records(2))
    tries = []

    def insert_failing(path, settings):
        tries.append(now[0])
        raise RuntimeError("still broken")

    monkeypatch.setattr(spool_module, "_insert_file", insert_failing)
    for _ in range(200):  # steps of 0.25 s (exact in binary) for 50 s
        spool.flush()
        now[0] += 0.25
    pauses = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert capsys.readouterr().err.count("still broken") == len(tries)
    monkeypatch.undo()
    spool.close()  # the monkeypatched clock is gone: the file is due again and goes in
    assert len(_logged(settings)) == 2


def test_files_set_aside_by_older_versions_are_logged(settings, spool):
    records = _records(5)
    directory = spool_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "api-12-ab.ready.failed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    (directory / "api-13-cd.current.failed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[3:]))
    assert spool.flush() == 5
    assert _ids(settings) == sorted(r["request_id"] for r in records)
    assert not list(directory.glob("*.failed.jsonl"))
