import dataclasses
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file


def _hold_warehouse(path, seconds: float) -> subprocess.Popen:
    """A real second process that opens the DuckDB file and keeps it for ``seconds``.

    Just before letting go it creates ``<path>.letting-go``, so a waiter that got in can tell it waited.
    """
    code = textwrap.dedent(f"""
        import duckdb, pathlib, sys, time
        con = duckdb.connect({str(path)!r})
        print("held", flush=True)
        time.sleep({seconds})
        pathlib.Path({str(path) + ".letting-go"!r}).touch()
        con.close()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_migrations_run_once_and_record_their_version(settings):
    latest = max(number for number, _, _ in warehouse.migrations())
    with warehouse.connect(settings) as con:
        assert warehouse.schema_version(con) == latest
    with warehouse.connect(settings) as con:  # reopening applies nothing twice
        rows = con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, latest + 1))


def test_transaction_rolls_back_on_error(settings):
    with pytest.raises(RuntimeError), warehouse.transaction(settings) as con:
        con.execute("INSERT INTO runs (run_id, kind, status, started_at, folder) VALUES ('r', 'x', 'y', now(), 'f')")
        raise RuntimeError("boom")
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_connect_waits_for_a_lock_held_by_another_process(settings):
    with warehouse.connect(settings):
        pass
    child = _hold_warehouse(settings.warehouse, seconds=1.0)
    with warehouse.connect(settings) as con:
        # We only got in after the other process let go (its process may take a moment longer to exit).
        assert settings.warehouse.with_name(settings.warehouse.name + ".letting-go").exists()
        assert con.execute("SELECT 1").fetchone() == (1,)
    child.wait()


def test_lock_timeout_gives_a_clear_error(settings):
    with warehouse.connect(settings):
        pass
    child = _hold_warehouse(settings.warehouse, seconds=20)
    try:
        impatient = dataclasses.replace(settings, lock_timeout_s=0.3)
        with pytest.raises(WarehouseLocked, match="held by another process"), warehouse.connect(impatient):
            pass
    finally:
        child.kill()
        child.wait()


def test_killed_ingest_leaves_no_partial_dataset_and_the_file_loads_afterwards(settings, tmp_path):
    path = example_data.write(example_data.generate(students=42_000, seed=5), tmp_path / "big.csv")
    code = textwrap.dedent(f"""
        from studyrec_lib.core.config import load_settings
        from studyrec_lib.ingest import ingest_file
        ingest_file({str(path)!r}, settings=load_settings(warehouse={str(settings.warehouse)!r}))
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    for line in child.stderr:
        if line.startswith("loaded 100,000/"):  # inside the transaction, more chunks to come
            child.send_signal(signal.SIGKILL)
            break
    assert child.wait() == -signal.SIGKILL
    with warehouse.connect(settings) as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM student_performance").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM rejected_rows").fetchone()[0] == 0
    result = ingest_file(path, settings=settings, progress=None)
    assert result.summary.status == "loaded"
    assert result.summary.rows_loaded == 42_000 * 24
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM student_performance").fetchone()[0] == 42_000 * 24


def test_an_empty_duckdb_file_made_elsewhere_is_migrated(settings):
    import duckdb

    duckdb.connect(str(settings.warehouse)).close()
    assert warehouse.query_frame("SELECT count(*) AS n FROM datasets", settings=settings)["n"][0] == 0


def _connect_in_a_loop(settings, read_only: bool, times: int, errors: list) -> None:
    for _ in range(times):
        try:
            with warehouse.connect(settings, read_only=read_only) as con:
                con.execute("SELECT count(*) FROM prediction_log").fetchone()
        except Exception as error:  # collected: the test reports every kind seen
            errors.append(repr(error)[:200])


def test_read_only_and_read_write_connections_from_two_threads_never_collide(settings):
    """DuckDB refuses a second configuration for an open file in one process: connect() takes turns."""
    with warehouse.connect(settings):
        pass
    errors: list[str] = []
    threads = [threading.Thread(target=_connect_in_a_loop, args=(settings, read_only, 25, errors))
               for read_only in (True, False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_read_nested_in_a_write_shares_its_connection_configuration(settings):
    with warehouse.transaction(settings) as outer:
        outer.execute("INSERT INTO runs (run_id, kind, status, started_at, folder) VALUES ('r', 'x', 'y', now(), 'f')")
        with warehouse.connect(settings, read_only=True) as inner:
            assert inner.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # not committed yet
    assert warehouse.query_frame("SELECT count(*) AS n FROM runs", settings=settings)["n"][0] == 1
    with warehouse.connect(settings, read_only=True), \
            pytest.raises(RuntimeError, match="read-write connection cannot be opened inside a read-only"), \
            warehouse.connect(settings):
        pass


def test_a_thread_waits_its_turn_and_gives_up_at_the_lock_timeout(settings):
    with warehouse.connect(settings):
        pass
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with warehouse.connect(settings):
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        impatient = dataclasses.replace(settings, lock_timeout_s=0.2)
        with pytest.raises(WarehouseLocked, match="busy in this process"), \
                warehouse.connect(impatient, read_only=True):
            pass
        threading.Timer(0.3, release.set).start()
        with warehouse.connect(settings, read_only=True) as con:  # waits for the holder, then reads
            assert release.is_set()
            assert con.execute("SELECT 1").fetchone() == (1,)
    finally:
        release.set()
        holder.join()


def test_a_connection_with_another_configuration_opened_outside_connect_is_waited_for(settings):
    """Code that opens the file directly (not through connect) makes the error transient: retry until closed."""
    import duckdb

    with warehouse.connect(settings):
        pass
    direct = duckdb.connect(str(settings.warehouse), read_only=True, config=warehouse.DUCKDB_CONFIG)
    threading.Timer(0.3, direct.close).start()
    with warehouse.connect(settings) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
