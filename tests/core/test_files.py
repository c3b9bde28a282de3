"""Private files: the entry points' umask makes everything StudyRec writes readable by its owner only (or a group).

The end-to-end tests run the real console script from a process whose umask is the usual login one (022), as an
operator's shell would, and look at the modes of what it wrote.
"""

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from studyrec_lib.core.config import DEFAULT_UMASK, ENV_UMASK, GROUP_READ_UMASK, PROJECT_ROOT, Settings
from studyrec_lib.core.files import apply_umask, chmod_hint, excess_bits, file_mode, make_private
from studyrec_lib.demo import example as example_data

LOGIN_UMASK = 0o022
STUDYREC = [sys.executable, "-m", "studyrec_lib.cli"]


def _studyrec(settings: Settings, *args: str, umask: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV_UMASK}
    env.update(STUDYREC_WAREHOUSE=str(settings.warehouse), STUDYREC_RUNS=str(settings.runs_dir))
    if umask is not None:
        env[ENV_UMASK] = umask
    done = subprocess.run([*STUDYREC, *args], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=600, umask=LOGIN_UMASK)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _written(settings: Settings) -> Iterator[Path]:
    """Everything the commands wrote: the warehouse's family beside it and the runs folder, recursively."""
    for root in [*settings.warehouse.parent.glob(settings.warehouse.name + "*"), settings.runs_dir]:
        if not root.exists():
            continue
        yield root
        if root.is_dir():
            yield from root.rglob("*")


def _modes(settings: Settings) -> dict[str, int]:
    return {str(path.relative_to(settings.warehouse.parent)): stat.S_IMODE(path.lstat().st_mode)
            for path in _written(settings)}


def _cohort_with_a_bad_row(tmp_path: Path, students: int) -> Path:
    frame = example_data.generate(students=students, seed=9, open_semesters=1)
    frame.loc[0, "attendance_percentage"] = 130  # one rejected row: rejected_rows.csv is written
    return example_data.write(frame, tmp_path / "cohort.csv")


def _loose(settings: Settings, modes: dict[str, int], file: int, folder: int) -> dict[str, str]:
    return {name: f"{mode:04o}" for name, mode in modes.items()
            if mode != (folder if (settings.warehouse.parent / name).is_dir() else file)}


def test_an_ingest_run_from_a_login_shell_leaves_only_private_files(settings, tmp_path):
    _studyrec(settings, "ingest", str(_cohort_with_a_bad_row(tmp_path, 3)))
    _studyrec(settings, "tokens", "create", "--student-id", "S00001")
    modes = _modes(settings)
    names = {Path(name).name for name in modes}
    for expected in ("warehouse.duckdb", "warehouse.duckdb.tokens.json", "runs", "rejected_rows.csv",
                     "ingest.json", "01_ingest.ipynb", "01_ingest.html", "params.json", "artifacts"):
        assert expected in names, sorted(names)
    assert _loose(settings, modes, file=0o600, folder=0o700) == {}
    smoke = _studyrec(settings, "security-smoke-test", "--strict")
    assert json.loads(smoke.stdout)["ok"] is True


def test_the_group_umask_lets_the_group_read_and_nobody_else(settings):
    _studyrec(settings, "tokens", "create", "--student-id", "S00001", umask="027")
    modes = _modes(settings)
    assert {"warehouse.duckdb", "warehouse.duckdb.tokens.json"} <= set(modes)
    assert _loose(settings, modes, file=0o640, folder=0o750) == {}
    smoke = _studyrec(settings, "security-smoke-test", "--strict", umask="027")
    assert json.loads(smoke.stdout)["ok"] is True


@pytest.fixture
def restore_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    os.umask(previous)
    yield
    os.umask(previous)


def test_apply_umask_sets_the_configured_one_for_this_process_and_its_children(restore_umask, monkeypatch):
    os.umask(LOGIN_UMASK)
    monkeypatch.setenv(ENV_UMASK, "027")
    assert apply_umask() == GROUP_READ_UMASK
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True, check=True).stdout
    assert "Umask:\t0027" in status.splitlines()
    monkeypatch.delenv(ENV_UMASK)
    assert apply_umask() == DEFAULT_UMASK
    assert os.umask(DEFAULT_UMASK) == DEFAULT_UMASK


def test_make_private_gives_a_file_the_configured_mode(tmp_path, monkeypatch):
    path = tmp_path / "at_risk.csv"
    path.write_text("student_id\n")
    os.chmod(path, 0o666)
    assert make_private(path) == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv(ENV_UMASK, "027")
    make_private(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize(("mode", "umask", "excess"), [
    (0o600, 0o077, 0), (0o700, 0o077, 0), (0o644, 0o077, 0o044), (0o640, 0o077, 0o040), (0o660, 0o027, 0o020),
    (0o640, 0o027, 0), (0o750, 0o027, 0), (0o604, 0o027, 0o004), (0o1777, 0o077, 0o077), (0o4755, 0o027, 0o005),
])
def test_excess_bits_are_the_group_and_other_bits_the_umask_removes(mode, umask, excess):
    assert excess_bits(stat.S_IFREG | mode, umask) == excess


def test_file_mode_and_the_chmod_hint_follow_the_umask():
    assert (file_mode(0o077), file_mode(0o027)) == (0o600, 0o640)
    assert (chmod_hint(0o077), chmod_hint(0o027), chmod_hint(0o037)) == ("go-rwx", "g-w,o-rwx", "g-wx,o-rwx")


def test_concurrent_atomic_writes_of_one_file_never_fail_or_leave_a_part(tmp_path):
    """Two API workers rewriting a missing sidecar at once used one '.tmp' name: the second rename failed."""
    import threading

    from studyrec_lib.core.files import write_private_atomically

    target = tmp_path / "w.duckdb.tokens.json"
    texts = [str(i) * 1000 for i in range(8)]
    errors: list[BaseException] = []

    def write(text: str) -> None:
        try:
            for _ in range(50):
                write_private_atomically(target, text)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_text() in texts
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert target.stat().st_mode & 0o077 == 0
