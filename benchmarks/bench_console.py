#!/usr/bin/env python3
"""The teacher console behind the hub (issue 21): sign-in to usable, and the 2,880-row example uploaded in Chromium.

Targets (issue 21): "Upload of the 2,880-row example to the result on screen under 5 s; the console usable under
3 s after sign-in." The hub is the project's JupyterHub (``deploy/jupyterhub_config.py``, started as
``tests/web/test_hub.py`` starts it, with JupyterHub's DummyAuthenticator and one shared password); the hub user
``teacher`` is in the ``teachers`` group and lands on the ``teacher-console`` service (Voila, one kernel per page).
Each repetition, in a fresh browser context (no cookie, no cache):

  sign-in -> usable   the login form's submit click -> the Upload tab's file picker visible (the hub's OAuth
                      redirects, Voila's page, a new kernel running apps/teacher_console.ipynb, the widgets shown);
                      "page answered" is when Voila's page response began (its headers; Voila then streams
                      the page while the new kernel runs the notebook): the hub's part is before it
  pick -> ready       the file chosen in the browser's file chooser -> "Check and load" enabled (the bytes sent
                      to the kernel over the widget comm, saved, the header found)
  click -> result     the "Check and load" click -> the outcome ("Loaded 2,880 of 2,880 rows ...") on screen
  click -> done       the same click -> "Done in" (the ingest report written too, the uploads and at-risk
                      tabs refreshed)

The file is ``data/example/students.csv`` (``studyrec_lib.demo.ensure_example_dataset``), 2,880 rows; each
repetition uploads a copy with one more trailing newline (a blank line the ingest skips), so that its sha256
differs: ``studyrec ingest`` refuses a file already loaded, and the console has no --force. Every upload after
the first replaces the rows of the one before (the same students, semesters and subjects), as a corrected
file would.

Baseline, same run, before the hub starts: ``studyrec ingest FILE`` from the command line (today's way for a
teacher with a shell), the wall time of the subprocess, on a copy of the same warehouse with the same files in
the same order. It ends once its report is written: compare it with click -> done.

Before each repetition the hub's process tree is quiet (the previous page's refreshes and report are over).
One uncounted sign-in first (its time is printed) warms the disk cache for the kernel's imports.

Exit status: 0 when every repetition got its outcome (targets met or not: it is a benchmark); 1 when one did
not (the error on stderr). Trains its own small warehouse in a temporary folder; needs /usr/bin/chromium
(`make browser`) and the hub's proxy (`make setup`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import process_tree
import psutil
from bench_predict import free_port, trained_warehouse  # this folder is on sys.path when a benchmark runs
from playwright.sync_api import Browser, Page, expect, sync_playwright

from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, Settings
from studyrec_lib.demo import ensure_example_dataset

sys.path.insert(0, str(PROJECT_ROOT))  # the hub as the tests start it (tests/web/test_hub.py)
from tests.web.test_hub import _descendants, _running_hub, _wait_until, fill_login_form, hub_config

CONSOLE = "/services/teacher-console/"
TEACHER = "teacher"
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/ensure_chromium.sh); never a downloaded browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 120_000  # a page: the hub's OAuth, a kernel start and the console's notebook
UPLOAD_TIMEOUT_MS = 120_000
CLI_TIMEOUT_S = 300
QUIET_TIMEOUT_S = 120
CLOSE_TIMEOUT_S = 10  # a closed page's kernel: Voila's beforeunload beacon asks the server to stop it
OUTCOME = re.compile(r"Loaded ([\d,]+) of ([\d,]+) rows \(([\d,]+) rejected, ([\d,]+) blank rows skipped\)")
TARGETS_S = {"usable": 3.0, "upload": 5.0}
METRICS = ("usable_s", "page_answered_s", "pick_to_ready_s", "upload_s", "done_s")


def progress(message: str) -> None:
    print(f"[bench_console {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def variants(example: Path, folder: Path, count: int) -> list[Path]:
    """``count`` copies of the example, the i-th with i extra trailing newlines (each its own sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    content = example.read_bytes()
    paths = []
    for number in range(1, count + 1):
        path = folder / f"students-{number}.csv"
        path.write_bytes(content + b"\n" * number)
        paths.append(path)
    return paths


def copy_warehouse(settings: Settings, folder: Path) -> Path:
    """A copy of the warehouse file (and its sidecars) for the command line's runs; its path."""
    folder.mkdir(parents=True)
    for path in settings.warehouse.parent.glob(f"{settings.warehouse.name}*"):
        if path.is_file():
            shutil.copy2(path, folder / path.name)
    return folder / settings.warehouse.name


# --- the baseline: the command line --------------------------------------------------------------------------
def cli_ingest(path: Path, warehouse: Path, runs: Path) -> dict:
    studyrec = Path(sys.executable).with_name("studyrec")
    command = ([str(studyrec)] if studyrec.exists() else [sys.executable, "-m", "studyrec_lib.cli"])
    started = time.perf_counter()
    done = subprocess.run([*command, "ingest", str(path), "--json", "--warehouse", str(warehouse),
                           "--runs-dir", str(runs)], capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"studyrec ingest exited {done.returncode}: {done.stderr[-1000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(seconds, 2), "ingest_status": summary["ingest_status"],
            "rows_total": summary["rows_total"], "rows_loaded": summary["rows_loaded"],
            "rows_superseding": summary.get("rows_superseding")}


# --- the hub ----------------------------------------------------------------------------------------------------
def wait_quiet(tree: Callable[[], list[psutil.Process]]) -> None:
    """Until the hub's process tree is quiet (bounded: then it measures anyway, and says so)."""
    if not process_tree.wait_quiet(tree, QUIET_TIMEOUT_S):
        progress(f"the hub's processes were still busy after {QUIET_TIMEOUT_S:.0f} s; measuring anyway")


def sign_in(browser: Browser, url: str):
    """A fresh context signed in as the teacher: (context, page, seconds from the login click to usable, and to
    the start of Voila's answer for the console page: the sign-in and the hub's OAuth redirects are before it)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    fill_login_form(page, url, TEACHER, CONSOLE)
    answered: list[float] = []  # when Voila's response for the console page began
    page.on("response", lambda response: answered.append(time.perf_counter())
            if response.status == 200 and response.url.split("?")[0].endswith(CONSOLE) else None)
    started = time.perf_counter()
    page.locator("#login_submit").click()
    page.locator(".studyrec-upload-file").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    usable = time.perf_counter() - started
    return context, page, usable, (answered[0] - started if answered else None)


def upload(page: Page, path: Path) -> dict:
    """Pick ``path`` (the picker button opens the browser's file chooser), click "Check and load"; the times."""
    load = page.locator(".studyrec-upload-load")
    with page.expect_file_chooser() as chooser:
        page.locator(".studyrec-upload-file").click()
    started = time.perf_counter()
    chooser.value.set_files(str(path))
    expect(page.locator(".studyrec-upload-preview")).to_contain_text(path.name, timeout=UPLOAD_TIMEOUT_MS)
    expect(load).to_be_enabled(timeout=UPLOAD_TIMEOUT_MS)
    ready_s = time.perf_counter() - started
    started = time.perf_counter()
    load.click()
    outcome = page.locator(".studyrec-upload-outcome")
    outcome.wait_for(state="visible", timeout=UPLOAD_TIMEOUT_MS)
    upload_s = time.perf_counter() - started
    page.locator(".studyrec-upload-done").wait_for(state="visible", timeout=UPLOAD_TIMEOUT_MS)
    done_s = time.perf_counter() - started
    text = outcome.inner_text()
    counts = OUTCOME.search(text)
    if outcome.get_attribute("data-status") != "loaded" or not counts:
        raise RuntimeError(f"the upload of {path.name} was not loaded: {text[:300]}")
    loaded, total = (int(counts[i].replace(",", "")) for i in (1, 2))
    return {"pick_to_ready_s": round(ready_s, 2), "upload_s": round(upload_s, 2), "done_s": round(done_s, 2),
            "rows_loaded": loaded, "rows_total": total}


def kernels(tree) -> int:
    count = 0
    for process in tree():
        with contextlib.suppress(psutil.Error):
            count += "ipykernel" in " ".join(process.cmdline())
    return count


def wait_fewer_kernels(tree, before: int, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """Whether the console's kernels went below ``before`` within ``timeout_s`` (the closed page's one stopped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if kernels(tree) < before:
            return True
        time.sleep(0.2)
    return False


def run_hub(root: Path, settings: Settings, files: list[Path], warmup: bool) -> tuple[list[dict], dict]:
    config = root / "bench_console_config.py"
    config.write_text(hub_config({"teachers": [TEACHER]}))
    env = {ENV_WAREHOUSE: str(settings.warehouse), ENV_RUNS: str(settings.runs_dir)}
    port = free_port()
    progress(f"hub: starting on 127.0.0.1:{port}")
    results: list[dict] = []
    extra: dict = {}
    with _running_hub(root, config, port, env) as hub:
        _wait_until(lambda: httpx.get(f"{hub.url}{CONSOLE}", timeout=2).status_code == 302, START_TIMEOUT_S,
                    "the teacher console answered", hub.process)
        extra["hub_start_s"] = round(hub.started_s, 1)
        progress(f"hub: up in {hub.started_s:.1f} s")

        def tree() -> list[psutil.Process]:
            with contextlib.suppress(psutil.Error):
                return [psutil.Process(hub.process.pid), *_descendants(hub.process)]
            return []

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                if warmup:
                    wait_quiet(tree)
                    context, page, seconds, _ = sign_in(browser, hub.url)
                    page.close(run_before_unload=True)
                    context.close()
                    extra["warmup_usable_s"] = round(seconds, 2)
                    progress(f"warm-up sign-in (not counted): usable in {seconds:.1f} s")
                for number, path in enumerate(files, start=1):
                    wait_quiet(tree)
                    result: dict = {"repetition": number}
                    try:
                        context, page, seconds, answered = sign_in(browser, hub.url)
                        try:
                            result["usable_s"] = round(seconds, 2)
                            result["page_answered_s"] = None if answered is None else round(answered, 2)
                            result |= upload(page, path)
                            open_kernels = kernels(tree)
                            page.close(run_before_unload=True)  # as a closed tab: Voila's page asks for a shutdown
                            result["kernel_closed_with_page"] = wait_fewer_kernels(tree, open_kernels)
                        finally:
                            context.close()
                    except Exception as error:  # a failed repetition is reported, the others run
                        result["error"] = f"{type(error).__name__}: {str(error)[:300]}"
                    result["kernels_after"] = kernels(tree)
                    results.append(result)
                    progress(f"repetition {number}/{len(files)}: " + (
                        result["error"] if "error" in result else
                        f"usable {result['usable_s']:.2f} s (page answered {result['page_answered_s']} s), "
                        f"pick -> ready {result['pick_to_ready_s']:.2f} s, "
                        f"click -> result {result['upload_s']:.2f} s, click -> done {result['done_s']:.2f} s "
                        f"({result['rows_loaded']:,} of {result['rows_total']:,} rows); kernel stopped with "
                        f"its page {result['kernel_closed_with_page']}, kernels alive {result['kernels_after']}"))
            finally:
                browser.close()
        log = hub.log.read_text(encoding="utf-8", errors="replace")
        extra["log_tracebacks"] = log.count("Traceback")
        progress("hub: stopping")
    return results, extra


# --- report -------------------------------------------------------------------------------------------------
def summarise(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "max": round(float(np.max(values)), 2), "n": len(values)}


def report(args: argparse.Namespace, example: Path, rows: int, results: list[dict], cli: list[dict],
           extra: dict) -> dict:
    ok = [r for r in results if "error" not in r]
    figures = {metric: summarise([r[metric] for r in ok if r.get(metric) is not None]) for metric in METRICS}
    figures["cli_ingest_s"] = summarise([r["wall_s"] for r in cli])
    met = {"usable_p95": bool(figures["usable_s"]) and figures["usable_s"]["p95"] < TARGETS_S["usable"],
           "upload_p95": bool(figures["upload_s"]) and figures["upload_s"]["p95"] < TARGETS_S["upload"]}
    print(f"teacher console behind the hub, {args.repetitions} repetitions (fresh browser context each), "
          f"{os.cpu_count()} cores; file {example.name} ({rows:,} rows) + i trailing newlines; "
          f"baseline = `studyrec ingest FILE` (subprocess wall time), same files, same order")
    print(f"{'metric':<40} {'p50':>8} {'p95':>8} {'max':>8}  target")
    labels = (("usable_s", "sign-in -> usable (s)", f"< {TARGETS_S['usable']:g} s"),
              ("page_answered_s", "  of which: until Voila's page began (s)", ""),
              ("pick_to_ready_s", "file picked -> Check and load ready (s)", ""),
              ("upload_s", "click -> result on screen (s)", f"< {TARGETS_S['upload']:g} s"),
              ("done_s", "click -> done, report written (s)", ""),
              ("cli_ingest_s", "baseline: studyrec ingest, wall (s)", ""))
    for key, label, target in labels:
        s = figures[key]
        cells = (f"{s['p50']:>8.2f} {s['p95']:>8.2f} {s['max']:>8.2f}" if s else f"{'-':>8} {'-':>8} {'-':>8}")
        print(f"{label:<40} {cells}  {target}")
    if figures["upload_s"] and figures["cli_ingest_s"]:
        print(f"click -> done p50 / command line p50: "
              f"{figures['done_s']['p50'] / figures['cli_ingest_s']['p50']:.2f}")
    print(f"repetitions ok / failed: {len(ok)} / {len(results) - len(ok)}; hub start {extra.get('hub_start_s')} s; "
          f"warm-up sign-in {extra.get('warmup_usable_s', '-')} s; tracebacks in the hub's log "
          f"{extra.get('log_tracebacks')}; console kernels alive at the end {results[-1].get('kernels_after')}")
    print("targets: " + ", ".join(f"{name} {'ok' if good else 'MISSED'}" for name, good in met.items()))
    summary = {"benchmark": "teacher_console", "repetitions": args.repetitions, "cpus": os.cpu_count(),
               "file_rows": rows, "targets_s": TARGETS_S, "figures": figures, "targets_met": met,
               "baseline": "studyrec ingest FILE (subprocess wall time)", "hub": extra,
               "samples": results, "cli_samples": cli}
    print(json.dumps(summary), flush=True)
    return summary


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that every finally stops what it started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=5, help="sign-ins and uploads, each in a new context")
    parser.add_argument("--students", type=int, default=60, help="students of the trained warehouse")
    parser.add_argument("--no-warmup", action="store_true", help="no uncounted sign-in first")
    parser.add_argument("--skip-baseline", action="store_true", help="no `studyrec ingest` runs")
    args = parser.parse_args()
    if args.repetitions < 1 or args.students < 10:
        parser.error("--repetitions must be at least 1, --students at least 10")
    signal.signal(signal.SIGTERM, _interrupted)

    example = ensure_example_dataset()
    rows = sum(1 for _ in example.open(encoding="utf-8")) - 1
    with tempfile.TemporaryDirectory(prefix="bench_console-") as tmp:
        root = Path(tmp)
        progress(f"training a small warehouse ({args.students} students)")
        settings = trained_warehouse(root / "warehouse", students=args.students, n_folds=3, open_semesters=1)
        files = variants(example, root / "files", args.repetitions)
        cli: list[dict] = []
        if not args.skip_baseline:
            cli_warehouse = copy_warehouse(settings, root / "cli")
            for number, path in enumerate(files, start=1):
                cli.append(cli_ingest(path, cli_warehouse, root / "cli" / "runs"))
                progress(f"baseline {number}/{len(files)}: studyrec ingest {cli[-1]['wall_s']:.2f} s "
                         f"({cli[-1]['ingest_status']}, {cli[-1]['rows_loaded']:,} of {cli[-1]['rows_total']:,})")
        (root / "hub").mkdir()
        results, extra = run_hub(root / "hub", settings, files, warmup=not args.no_warmup)
    summary = report(args, example, rows, results, cli, extra)
    failed = [r for r in summary["samples"] if "error" in r]
    for result in failed:
        print(f"repetition {result['repetition']} failed: {result['error']}", file=sys.stderr)
    mismatched = [(r["rows_loaded"], c["rows_loaded"]) for r, c in zip(results, cli, strict=False)
                  if "error" not in r and r["rows_loaded"] != c["rows_loaded"]]
    if mismatched:
        print(f"rows loaded differ between the console and the command line: {mismatched}", file=sys.stderr)
    return 1 if failed or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
