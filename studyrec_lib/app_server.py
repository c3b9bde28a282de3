"""Serve the student app with Voila: loopback by default, a preheated kernel pool, idle kernels culled.

Preheating runs the notebook in ``pool_size`` kernels before anyone asks, so a page opens without waiting
for a kernel start and the model load. Every page holds a kernel (~200 MB with scikit-learn). Voila 0.5's
shutdown request on tab close is refused (no _xsrf token, voila-dashboards/voila#1458), so kernels with no
open page are culled after ``cull_idle_timeout_s``; a page still open keeps its kernel.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, Settings

APP_NOTEBOOK = PROJECT_ROOT / "apps" / "predict_widget.ipynb"


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
        "--show_tracebacks=False", "--strip_sources=True", "--theme=light",
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
    print(f"StudyRec app on http://{options.host}:{options.port}/ "
          f"(preheated kernels: {options.pool_size if options.preheat else 0})", flush=True)
    os.execve(command[0], command, voila_environment(settings))
    return 0  # not reached
