"""Serve the student app with Voila: loopback by default, a preheated kernel pool, idle kernels culled.

Preheating runs the notebook in ``pool_size`` kernels before anyone asks, so a page opens without waiting
for a kernel start and the model load. Every page holds a kernel (~200 MB with scikit-learn). Voila 0.5's
shutdown request on tab close is refused (no _xsrf token, voila-dashboards/voila#1458), so kernels with no
open page are culled after ``cull_idle_timeout_s``; a page still open keeps its kernel.

Visitors never see a traceback: Voila strips cell errors and stderr (``show_tracebacks=False``) and shows
``CELL_ERROR_MESSAGE`` instead of its advice to developers; the app itself catches what its widgets raise
(:mod:`studyrec_lib.app`). The details are in Voila's log. The server runs under the configured umask
(:mod:`studyrec_lib.files`), and its kernels inherit it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, Settings, configured_umask
from studyrec_lib.core.files import apply_umask

APP_NOTEBOOK = PROJECT_ROOT / "apps" / "predict_widget.ipynb"
POOL_FILLED = "is filled with"  # Voila's log line once the preheated pool is full
CELL_ERROR_MESSAGE = "The app could not start. Please try again in a few minutes; if it keeps happening, tell " \
                     "your teacher."


@dataclass(frozen=True)
class AppServerOptions:
    host: str = "127.0.0.1"
    port: int = 8866
    pool_size: int = 2
    preheat: bool = True
    cull_interval_s: int = 60
    cull_idle_timeout_s: int = 120


def voila_command(options: AppServerOptions, notebook: Path = APP_NOTEBOOK) -> list[str]:
    voila = Path(sys.executable).with_name("voila")
    executable = str(voila) if voila.exists() else (shutil.which("voila") or "voila")
    command = [
        executable, str(notebook), "--no-browser", f"--Voila.ip={options.host}", f"--Voila.port={options.port}",
        "--show_tracebacks=False", f"--VoilaExecutor.cell_error_instruction={CELL_ERROR_MESSAGE}",
        "--strip_sources=True", "--theme=light",
        f"--MappingKernelManager.cull_interval={options.cull_interval_s}",
        f"--MappingKernelManager.cull_idle_timeout={options.cull_idle_timeout_s}",
        "--MappingKernelManager.cull_connected=False",
    ]
    if options.preheat and options.pool_size > 0:
        command += ["--preheat_kernel=True", f"--pool_size={options.pool_size}"]
    else:
        command += ["--preheat_kernel=False"]
    return command


def voila_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: kernels inherit it, so they use this warehouse whatever their folder."""
    env = dict(os.environ if base is None else base)
    env[ENV_WAREHOUSE] = str(settings.warehouse)
    env[ENV_RUNS] = str(settings.runs_dir)
    return env


def serve_app(settings: Settings, options: AppServerOptions) -> int:
    """Replace this process with Voila (signals such as Ctrl-C go straight to it)."""
    command = voila_command(options)
    apply_umask()
    print(f"StudyRec app on http://{options.host}:{options.port}/ "
          f"(preheated kernels: {options.pool_size if options.preheat else 0})", flush=True)
    os.execve(command[0], command, voila_environment(settings))
    return 0  # not reached


class VoilaProcess:
    """Voila as a managed child (tests, benchmarks): its own session, its log in a file, Jupyter's folders
    under ``root`` so secrets and runtime files stay there; ``stop()`` leaves no kernel behind."""

    def __init__(self, settings: Settings, options: AppServerOptions, root: Path, start_timeout_s: float = 300):
        self.options, self.start_timeout_s = options, start_timeout_s
        self.url = f"http://{options.host}:{options.port}/"
        root.mkdir(parents=True, exist_ok=True)
        env = voila_environment(settings)
        for name in ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR"):
            (root / name.lower()).mkdir(exist_ok=True)
            env[name] = str(root / name.lower())
        self.log_path = root / "voila.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(voila_command(options), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            umask=configured_umask())

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def filled_count(self) -> int:
        """How often Voila said its kernel pool is full (once at start, again after each refill)."""
        return self.log().count(POOL_FILLED)

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"voila: {what} not within {self.start_timeout_s:.0f} s:\n{self.log()[-3000:]}")

    def wait_ready(self) -> None:
        """Until the port answers and, with preheating, the pool is filled (its kernels started)."""
        def listening() -> bool:
            with socket.socket() as sock:
                sock.settimeout(1)
                return sock.connect_ex((self.options.host, self.options.port)) == 0

        self._wait(listening, "port open")
        if self.options.preheat and self.options.pool_size > 0:
            self.wait_filled()

    def wait_filled(self, more_than: int = 0) -> None:
        self._wait(lambda: self.filled_count() > more_than, "kernel pool filled")

    def tree(self) -> list[psutil.Process]:
        """Voila and its descendants (kernels run in sessions of their own, so only this finds them)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """SIGTERM to Voila's process group (Voila shuts its kernels down), then SIGKILL whatever is left."""
        kernels = self.tree()[1:]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        _, alive = psutil.wait_procs(kernels, timeout=10)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=10)
