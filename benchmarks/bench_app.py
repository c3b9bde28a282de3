#!/usr/bin/env python3
"""Student app in Chromium: a preheated Voila kernel pool beside plain Voila (the baseline), same run.

For each sample a new browser context opens the app and we measure:
  navigation_to_usable_ms  goto start -> the Predict button visible and enabled (target < 3000 ms)
  click_to_result_ms       click Predict (after a new quiz mark) -> the grade visible (target < 300 ms)
Before each sample the pool is full again (a new "is filled with" line in Voila's log) and Voila's process
tree is quiet (the new kernel has run the notebook), so every sample finds the server as a student
arriving at a warm server would: a refill in progress would slow the next page down on a small machine.
Playwright's own round trips (a few ms) are included in both figures.

Trains its own small warehouse in a temporary folder; needs /usr/bin/chromium (`make browser`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Browser, expect, sync_playwright

from studyrec_lib import example_data, registry
from studyrec_lib.app_server import AppServerOptions, voila_command, voila_environment
from studyrec_lib.config import Settings, load_settings
from studyrec_lib.ingest import ingest_file
from studyrec_lib.registration import register_training
from studyrec_lib.train import train
from studyrec_lib.training_data import load_training_examples

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
POOL_FILLED = "is filled with"
START_TIMEOUT_S = 300
PAGE_TIMEOUT_MS = 180_000
TARGETS_MS = {"navigation_to_usable_ms": 3000, "click_to_result_ms": 300}
METRICS = tuple(TARGETS_MS)


def progress(message: str) -> None:
    print(f"[bench_app {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def trained_warehouse(root: Path) -> Settings:
    """As tests/conftest.py's trained_settings, with 60 students."""
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    cohort = example_data.write(example_data.generate(students=60, seed=5, open_semesters=1), root / "cohort.csv")
    ingest_file(cohort, settings=settings, progress=None)
    data = load_training_examples(settings)
    summary = register_training(train(data.frame, n_folds=3), data, root / "runs" / "train-1", "train-1", settings)
    registry.activate(summary["versions"]["regression"], "both", reason="trained", settings=settings)
    return settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Voila:
    """Voila in a session of its own, its output in a log file; Jupyter's folders in ``root``."""

    def __init__(self, settings: Settings, options: AppServerOptions, root: Path):
        self.options = options
        self.url = f"http://{options.host}:{options.port}/"
        root.mkdir(parents=True, exist_ok=True)
        env = voila_environment(settings)
        for name in ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR"):
            (root / name.lower()).mkdir(exist_ok=True)
            env[name] = str(root / name.lower())
        self.log_path = root / "voila.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(voila_command(options), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def filled_count(self) -> int:
        return self.log().count(POOL_FILLED)

    def _wait(self, ready, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"voila: {what} not within {timeout_s:.0f} s:\n{self.log()[-3000:]}")

    def wait_listening(self) -> None:
        def listening() -> bool:
            with socket.socket() as sock:
                sock.settimeout(1)
                return sock.connect_ex((self.options.host, self.options.port)) == 0

        self._wait(listening, "port open")

    def wait_filled(self, more_than: int = 0) -> None:
        self._wait(lambda: self.filled_count() > more_than, "kernel pool filled")

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu_s(self, processes: list[psutil.Process]) -> float:
        total = 0.0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def wait_quiet(self, window_s: float = 1.0, max_cores: float = 0.1, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until Voila and its kernels use under ``max_cores`` over ``window_s``: preheated kernels have run
        the notebook (the "filled" line comes when they have started, before the imports and the model load)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            processes = self._tree()
            before = self._cpu_s(processes)
            time.sleep(window_s)
            if self._cpu_s(processes) - before < max_cores * window_s and len(self._tree()) == len(processes):
                return
        raise RuntimeError(f"voila: still busy after {timeout_s:.0f} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        try:
            tree = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        _, alive = psutil.wait_procs(tree, timeout=10)
        for child in alive:  # kernels run in sessions of their own
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=10)


def sample(browser: Browser, url: str, quiz: float) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        button = page.locator(".studyrec-predict")
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        button.wait_for(state="visible")
        expect(button).to_be_enabled(timeout=PAGE_TIMEOUT_MS)
        navigation_ms = (time.perf_counter() - started) * 1000

        box = page.locator(".studyrec-input-quiz_marks input")
        box.fill(f"{quiz:g}")
        box.press("Tab")
        grade = page.locator(".studyrec-grade[data-grade]")
        if grade.count():
            raise RuntimeError("a result is shown before the first click")
        started = time.perf_counter()
        button.click()
        grade.wait_for(state="visible")
        click_ms = (time.perf_counter() - started) * 1000
        return {"navigation_to_usable_ms": round(navigation_ms, 1), "click_to_result_ms": round(click_ms, 1),
                "grade": grade.get_attribute("data-grade")}
    finally:
        context.close()


def run_configuration(browser: Browser, settings: Settings, name: str, options: AppServerOptions, root: Path,
                      samples: int, settle_s: float) -> list[dict]:
    progress(f"{name}: starting voila on port {options.port} (preheat={options.preheat}, "
             f"pool_size={options.pool_size if options.preheat else 0})")
    server = Voila(settings, options, root / name)
    try:
        server.wait_listening()
        if options.preheat:
            server.wait_filled()
        server.wait_quiet()
        time.sleep(settle_s)
        progress(f"{name}: ready")
        results = []
        for i in range(samples):
            filled = server.filled_count()
            result = sample(browser, server.url, quiz=5 + 0.5 * (i % 10))
            results.append(result)
            progress(f"{name}: sample {i + 1}/{samples}: navigation {result['navigation_to_usable_ms']:.0f} ms, "
                     f"click -> result {result['click_to_result_ms']:.0f} ms (grade {result['grade']})")
            if i + 1 < samples:
                if options.preheat:
                    server.wait_filled(more_than=filled)  # the kernel this page took is replaced
                server.wait_quiet()
                time.sleep(settle_s)
        return results
    finally:
        server.stop()
        progress(f"{name}: stopped")


def summarise(values: list[float]) -> dict:
    return {"median": round(float(np.median(values)), 1), "p90": round(float(np.percentile(values, 90)), 1),
            "max": round(float(np.max(values)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5, help="page openings per configuration")
    parser.add_argument("--pool-size", type=int, default=2, help="preheated kernels in the preheated configuration")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to wait once Voila and its kernels are quiet, before each sample")
    args = parser.parse_args()
    if args.samples < 1 or args.pool_size < 1:
        parser.error("--samples and --pool-size must be at least 1")

    configurations = {
        "preheated": lambda: AppServerOptions(port=_free_port(), pool_size=args.pool_size, preheat=True),
        "plain": lambda: AppServerOptions(port=_free_port(), preheat=False),
    }
    with tempfile.TemporaryDirectory(prefix="bench_app-") as tmp:
        root = Path(tmp)
        progress("training a small warehouse (60 students)")
        settings = trained_warehouse(root)
        figures: dict[str, dict] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for name, options in configurations.items():
                    results = run_configuration(browser, settings, name, options(), root, args.samples,
                                                args.settle)
                    figures[name] = {metric: summarise([r[metric] for r in results]) for metric in METRICS}
                    figures[name]["samples_ms"] = {metric: [r[metric] for r in results] for metric in METRICS}
            finally:
                browser.close()

    print(f"{'configuration':<12} {'metric':<26} {'median':>8} {'p90':>8} {'max':>8}  target")
    for name, figure in figures.items():
        for metric in METRICS:
            s = figure[metric]
            verdict = "ok" if s["median"] < TARGETS_MS[metric] else "MISSED"
            print(f"{name:<12} {metric:<26} {s['median']:>8.0f} {s['p90']:>8.0f} {s['max']:>8.0f}  "
                  f"< {TARGETS_MS[metric]} ms (median {verdict})")
    ratio = figures["plain"]["navigation_to_usable_ms"]["median"] / figures["preheated"]["navigation_to_usable_ms"][
        "median"]
    print(f"navigation median, plain / preheated: {ratio:.1f}x")
    print(json.dumps({"benchmark": "app_page", "samples": args.samples, "pool_size": args.pool_size,
                      "settle_s": args.settle, "cpus": os.cpu_count(), "targets_ms": TARGETS_MS,
                      "preheated": figures["preheated"], "baseline": "plain voila (no preheated kernels)",
                      "plain": figures["plain"], "ratio_navigation_median_plain_over_preheated": round(ratio, 1)}),
          flush=True)


if __name__ == "__main__":
    main()
