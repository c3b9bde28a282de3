#!/usr/bin/env python3
"""The prediction log under steady load while `studyrec train` writes the warehouse from another process.

Target (issue 18): 120 students, each with their own token, concurrency 10, steady load for at least 120 s
against `studyrec serve` (default settings) while `studyrec train` runs twice in another process: every
200 answer is in prediction_log exactly once and no answer is a 500. Prints answered / logged / lost.
(Before the fix the same kind of trial lost 5.1% of the answers and answered 500 sixteen times.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_predict import free_port, trained_warehouse  # this folder is on sys.path when a benchmark runs

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.serving.spool import spool_dir
from studyrec_lib.web import tokens

ROOT = Path(__file__).resolve().parent.parent
LOG_CATCH_UP_S = 60


def _trainings(env: dict, times: int, finished: list[dict]) -> None:
    """`studyrec train` ``times`` times, one after the other, as a scheduled retrain would."""
    for _ in range(times):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "train", "--json"], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        finished.append({"exit": done.returncode, "seconds": round(time.perf_counter() - started, 1),
                         "ended_at": time.monotonic()})


def _wait_for_server(url: str) -> None:
    import httpx

    for _ in range(240):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the server did not start")


def _logged(settings: Settings, request_ids: list[str]) -> int:
    with warehouse.connect(settings, read_only=True) as con:
        con.execute("CREATE TEMP TABLE answered (request_id VARCHAR)")
        con.executemany("INSERT INTO answered VALUES (?)", [[request_id] for request_id in request_ids])
        return con.execute("SELECT count(*) FROM prediction_log JOIN answered USING (request_id)").fetchone()[0]


def run(root: Path, students: int, seconds: float, concurrency: int, trainings: int, rate_limit: int | None) -> dict:
    settings = trained_warehouse(root, students=students, n_folds=3)
    tokens_file = root / "tokens.txt"
    tokens_file.write_text("\n".join(tokens.create_token(f"S{i:05d}", "bench", settings)[1]
                                     for i in range(1, students + 1)))
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    if rate_limit is not None:
        env["STUDYREC_RATE_LIMIT"] = str(rate_limit)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    answered_file = root / "answered.txt"
    server = subprocess.Popen([sys.executable, "-m", "studyrec_lib.cli", "serve", "--port", str(port)], env=env,
                              cwd=ROOT)
    finished: list[dict] = []
    try:
        _wait_for_server(url)
        training = threading.Thread(target=_trainings, args=(env, trainings, finished))
        load_started = time.monotonic()
        training.start()
        done = subprocess.run([sys.executable, "scripts/load_test_predict.py", "--url", url, "--tokens-file",
                               str(tokens_file), "--seconds", str(seconds), "--concurrency", str(concurrency),
                               "--ids-out", str(answered_file)], capture_output=True, text=True, cwd=ROOT,
                              check=True)
        load_ended = time.monotonic()
        training.join()
        report = json.loads(done.stdout)
        answered = answered_file.read_text().split()
        deadline = time.monotonic() + LOG_CATCH_UP_S
        while _logged(settings, answered) < len(answered) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=60)
    logged = _logged(settings, answered)
    with warehouse.connect(settings, read_only=True) as con:
        api_rows = con.execute("SELECT count(*) FROM prediction_log WHERE source = 'api'").fetchone()[0]
    errors = report["errors"]
    trainings_ended = max((t["ended_at"] for t in finished), default=load_started)
    return {
        "benchmark": "prediction_log_under_training", "students_tokens": students, "concurrency": concurrency,
        "seconds": report["seconds"], "rate_limit": rate_limit or "default (30 per 60 s)",
        "requests": report["total"], "answered_200": len(answered), "logged": logged, "lost": len(answered) - logged,
        "logged_twice_or_unanswered": api_rows - logged, "answers_500": errors.get("500", 0),
        "other_answers": {k: v for k, v in errors.items() if k != "500"},
        "spool_files_left": len(list(spool_dir(settings).glob("*.jsonl"))),
        "trainings": [{"exit": t["exit"], "seconds": t["seconds"], "ended_during_load": t["ended_at"] <= load_ended}
                      for t in finished],
        "load_seconds_before_trainings_ended": round(trainings_ended - load_started, 1),
        "latency_ms": report["latency_ms"], "requests_per_s": report["requests_per_s"],
        "target": "lost 0, answers_500 0, logged_twice_or_unanswered 0",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=120, help="students, each with their own token")
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--trainings", type=int, default=2, help="`studyrec train` runs, one after the other")
    parser.add_argument("--rate-limit", type=int, default=None, help="STUDYREC_RATE_LIMIT (default: the API's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), args.students, args.seconds, args.concurrency, args.trainings,
                             args.rate_limit)), flush=True)


if __name__ == "__main__":
    main()
