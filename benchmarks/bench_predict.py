#!/usr/bin/env python3
"""Prediction latency in process and over HTTP, each beside a baseline measured in the same run.

Targets (issue 4): in process p50 < 1 ms and p99 < 5 ms (the old system: 88 ms, 19 ms with models
preloaded); over loopback at concurrency 10, p50 < 5 ms, p99 < 25 ms and >= 500 requests/s with
every request logged (the old API: ~150 ms). Baseline: the same API loading the artifacts from disk
for every request, as the old system did.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import load_settings
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from studyrec_lib.modeling.training import train
from studyrec_lib.modeling.training_data import load_training_examples
from studyrec_lib.registry import versions as registry
from studyrec_lib.registry.registration import register_training
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.web import tokens

ROOT = Path(__file__).resolve().parent.parent
INPUT = {"semester": 3, "subject": "Mathematics", "assignment_marks": 3.5, "quiz_marks": 6,
         "attendance_percentage": 85, "midterm_marks": 18.5, "previous_cgpa": 2.9}
BASELINE_SERVER = """
import sys, joblib, pandas as pd, uvicorn
from fastapi import FastAPI, Request
from studyrec_lib.registry import versions as registry
from studyrec_lib.core.config import load_settings
app = FastAPI()
settings = load_settings()
@app.post("/api/predict/")
async def predict(request: Request):
    body = await request.json()
    active = registry.read_active_sidecar(settings)
    reg = joblib.load(active["regression"]["artifact_path"])  # per request, as the old system
    clf = joblib.load(active["classification"]["artifact_path"])
    row = pd.DataFrame([body])[reg["task"].features]
    marks = float(reg["model"].predict(row)[0])
    proba = clf["model"].predict_proba(row)[0]
    return {"predicted_final_marks": marks, "grade_probabilities": dict(zip(clf["classes"], proba.tolist()))}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def trained_warehouse(root: Path, students: int = 120, n_folds: int = 5, open_semesters: int = 0):
    """A warehouse in ``root`` with the example cohort trained and its models active (also for bench_app)."""
    settings = load_settings(warehouse=root / "w.duckdb", runs_dir=root / "runs")
    cohort = example_data.generate(students, open_semesters=open_semesters)
    ingest_file(example_data.write(cohort, root / "example.csv"), settings=settings, progress=None)
    data = load_training_examples(settings)
    summary = register_training(train(data.frame, n_folds=n_folds), data, root / "runs" / "bench", "bench", settings)
    registry.activate(summary["versions"]["regression"], "both", settings=settings)
    return settings


def in_process(settings, calls: int) -> dict:
    predictor = Predictor(settings)
    predictor.predict(INPUT)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        predictor.predict(INPUT)
        times.append((time.perf_counter() - started) * 1000)
    active = registry.read_active_sidecar(settings)
    import joblib
    import pandas as pd

    baseline = []
    for _ in range(max(20, calls // 100)):
        started = time.perf_counter()
        reg = joblib.load(active["regression"]["artifact_path"])
        clf = joblib.load(active["classification"]["artifact_path"])
        row = pd.DataFrame([INPUT])[reg["task"].features]
        reg["model"].predict(row)
        clf["model"].predict_proba(row)
        baseline.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(times, 50), np.percentile(times, 99)
    return {"benchmark": "predict_in_process", "calls": calls, "fast_path": predictor.models().fast is not None,
            "p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "target_p50_ms": 1, "target_p99_ms": 5,
            "baseline": "load artifacts + one-row DataFrame per call",
            "baseline_p50_ms": round(statistics.median(baseline), 3),
            "ratio_baseline_over_ours_p50": round(statistics.median(baseline) / p50, 1), "old_system_ms": 88}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load(command: list[str], env: dict, url: str, token: str, requests: int, after=None) -> dict:
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                httpx.post(f"{url}/api/predict/", json=INPUT, headers={"Authorization": f"Bearer {token}"}, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        done = subprocess.run([sys.executable, "scripts/load_test_predict.py", "--url", url, "--requests",
                               str(requests), "--concurrency", "10", "--token", token],
                              capture_output=True, text=True, cwd=ROOT, check=True)
        if after is not None:
            after()
        return json.loads(done.stdout)
    finally:
        server.terminate()
        server.wait()


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def _duration_ms(text: str) -> float:
    """wrk's '850.00us', '7.06ms' or '1.20s' in milliseconds."""
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return round(float(text[: -len(suffix)]) * factor, 3)
    raise ValueError(text)


def _wrk(url: str, token: str, seconds: int) -> dict:
    """The server's capacity measured with wrk (a C client that leaves the CPU to the server)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(INPUT), token=token))
    done = subprocess.run(["wrk", "-t1", "-c10", f"-d{seconds}s", "--latency", "-s", script.name,
                           f"{url}/api/predict/"], capture_output=True, text=True, check=True)
    figures = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            figures[f"p{parts[0][:-1]}_ms"] = _duration_ms(parts[1])
        if line.startswith("Requests/sec:"):
            figures["requests_per_s"] = float(parts[1])
        if "requests in" in line:
            figures["requests"] = int(parts[0])
        if line.strip().startswith("Non-2xx"):
            figures["non_2xx"] = int(parts[-1])
    return figures


def over_http(settings, requests: int) -> dict:
    token = tokens.create_token("BENCH", "bench", settings)[1]
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir),
           "STUDYREC_RATE_LIMIT": "100000000"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    wrk = {}
    ours = _load([sys.executable, "-m", "studyrec_lib.cli", "serve", "--port", str(port)], env, url, token,
                 requests, after=lambda: wrk.update(_wrk(url, token, 10) if shutil.which("wrk") else {}))
    time.sleep(2)  # let the spool flush
    with warehouse.connect(settings, read_only=True) as con:
        logged = con.execute("SELECT count(*) FROM prediction_log WHERE student_id = 'BENCH'").fetchone()[0]
    # wrk counts the requests completed inside its window; a few more are answered (and logged) after it.
    sent = 1 + ours["total"] + wrk.get("requests", 0)
    port = free_port()
    baseline = _load([sys.executable, "-c", BASELINE_SERVER, str(port)], env, f"http://127.0.0.1:{port}", token,
                     max(200, requests // 10))
    return {"benchmark": "predict_http_concurrency_10", "requests": requests, "success": ours["success"],
            "requests_sent": sent, "logged": logged, "all_logged": logged >= sent,
            "latency_ms": ours["latency_ms"], "requests_per_s": ours["requests_per_s"],
            "wrk": wrk or "not installed (apt-get install wrk)",
            "targets": {"p50_ms": 5, "p99_ms": 25, "requests_per_s": 500},
            "baseline": "artifacts loaded per request", "baseline_latency_ms": baseline["latency_ms"],
            "baseline_requests_per_s": baseline["requests_per_s"],
            "ratio_rps_ours_over_baseline": round(ours["requests_per_s"] / baseline["requests_per_s"], 1),
            "old_system_round_trip_ms": 150}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = trained_warehouse(Path(tmp))
        print(json.dumps(in_process(settings, args.calls)), flush=True)
        print(json.dumps(over_http(settings, args.requests)), flush=True)


if __name__ == "__main__":
    main()
