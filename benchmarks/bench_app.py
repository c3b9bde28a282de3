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
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import process_tree
from bench_predict import free_port, trained_warehouse  # this folder is on sys.path when a benchmark runs
from playwright.sync_api import Browser, expect, sync_playwright

from studyrec_lib.core.config import Settings
from studyrec_lib.web.app_server import AppServerOptions, VoilaProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 300
PAGE_TIMEOUT_MS = 180_000
TARGETS_MS = {"navigation_to_usable_ms": 3000, "click_to_result_ms": 300}
METRICS = tuple(TARGETS_MS)


def progress(message: str) -> None:
    print(f"[bench_app {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_quiet(server: VoilaProcess) -> None:
    """Until Voila and its kernels are quiet: preheated kernels have run the notebook (the "filled" line comes
    when they have started, before the imports and the model load)."""
    if not process_tree.wait_quiet(server.tree, START_TIMEOUT_S):
        raise RuntimeError(f"voila: still busy after {START_TIMEOUT_S:.0f} s:\n{server.log()[-3000:]}")


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
    server = VoilaProcess(settings, options, root / name, START_TIMEOUT_S)
    try:
        server.wait_ready()
        wait_quiet(server)
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
                wait_quiet(server)
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
        "preheated": lambda: AppServerOptions(port=free_port(), pool_size=args.pool_size, preheat=True),
        "plain": lambda: AppServerOptions(port=free_port(), preheat=False),
    }
    with tempfile.TemporaryDirectory(prefix="bench_app-") as tmp:
        root = Path(tmp)
        progress("training a small warehouse (60 students)")
        settings = trained_warehouse(root, students=60, n_folds=3, open_semesters=1)
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
