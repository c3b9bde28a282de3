#!/usr/bin/env python3
"""Ingest throughput: validate + load as a library call (no kernel start), against a row-wise baseline.

Prints JSON lines. Targets (issue 2): 2,880 rows under 0.3 s; 1,000,000 rows under 5 s on 2 cores.
Issue 18: each hostile file (``hostile_files.py``) is refused in under 10 s with under 1 GB peak memory,
measured in a fresh process per file (time and peak RSS of that process, which imports the library).
The baseline is what the old system did in spirit: pandas row-wise validation (iterrows) and one
sqlite INSERT per row, measured on the same file in the same run (on a prefix, reported as rows/s).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from studyrec_lib.core.config import load_settings
from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADES
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file

DATA_DIR = Path(__file__).resolve().parent / ".data"


def dataset(rows: int) -> Path:
    path = DATA_DIR / f"students_{rows}.csv"
    if not path.exists():
        frame = example_data.generate(students=-(-rows // 24), seed=11).head(rows)
        example_data.write(frame, path)
    return path


def time_ingest(path: Path, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(warehouse=Path(tmp) / "w.duckdb", runs_dir=Path(tmp) / "runs")
            started = time.perf_counter()
            result = ingest_file(path, settings=settings, progress=None)
            times.append(time.perf_counter() - started)
            assert result.summary.status == "loaded", result.summary.message
    return times


def baseline_rowwise(path: Path, rows: int) -> float:
    """Seconds for pandas iterrows validation + one sqlite INSERT per row, on the first ``rows`` rows."""
    started = time.perf_counter()
    frame = pd.read_csv(path, nrows=rows, dtype=str, keep_default_na=False)
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "baseline.sqlite")
        con.execute(
            "CREATE TABLE sp (student_id TEXT, semester INT, subject TEXT, assignment_marks REAL, quiz_marks REAL, "
            "attendance_percentage REAL, midterm_marks REAL, previous_cgpa REAL, final_marks REAL, final_grade TEXT)"
        )
        for _, row in frame.iterrows():
            values = {}
            for name, spec in FIELDS_BY_NAME.items():
                value = float(row[name])
                if not spec.low <= value <= spec.high:
                    raise ValueError(name)
                values[name] = value
            if row["final_grade"].strip().upper() not in GRADES:
                raise ValueError("grade")
            con.execute(
                "INSERT INTO sp VALUES (?,?,?,?,?,?,?,?,?,?)",
                (row["student_id"], int(values["semester"]), row["subject"], values["assignment_marks"],
                 values["quiz_marks"], values["attendance_percentage"], values["midterm_marks"],
                 values["previous_cgpa"], values["final_marks"], row["final_grade"]),
            )
        con.commit()
        con.close()
    return time.perf_counter() - started


HOSTILE_RUNNER = """
import json, resource, sys, time
from pathlib import Path
from studyrec_lib.core.config import load_settings
from studyrec_lib.ingest import ingest_file
folder = Path(sys.argv[2])
settings = load_settings(warehouse=folder / "w.duckdb", runs_dir=folder / "runs")
started = time.perf_counter()
result = ingest_file(sys.argv[1], settings=settings, run_dir=folder / "run", progress=None)
seconds = time.perf_counter() - started
report = sum(p.stat().st_size for p in (folder / "run").iterdir())
print(json.dumps({"status": result.summary.status, "seconds": round(seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "report_bytes": report, "message": result.summary.message[:160]}))
"""


EXPECTED_STATUS = {"declared_dimension": "loaded"}  # its one row is valid once the declared size is ignored


def hostile_files() -> None:
    """Each hostile file ingested in its own process: status, seconds, peak RSS, the report's size."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hostile_files as hostile

    for name in hostile.BUILDERS:
        path = hostile.build(name, DATA_DIR / "hostile")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", HOSTILE_RUNNER, str(path), tmp], capture_output=True,
                                  text=True, timeout=600)
            wall = time.perf_counter() - started
        figures = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}
        print(json.dumps({"benchmark": f"hostile_{name}", "file_mb": round(path.stat().st_size / 2**20, 2),
                          **figures, "process_wall_s": round(wall, 2), "target_s": 10, "target_rss_mb": 1024,
                          "met": done.returncode == 0 and figures["status"] == EXPECTED_STATUS.get(name, "refused")
                          and figures["seconds"] < 10 and figures["peak_rss_mb"] < 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--hostile-only", action="store_true", help="only the hostile files of issue 18")
    args = parser.parse_args()
    hostile_files()
    if args.hostile_only:
        return

    small = time_ingest(dataset(2_880), repeats=7)
    print(json.dumps({
        "benchmark": "ingest_2880_rows", "median_s": round(statistics.median(small), 4),
        "min_s": round(min(small), 4), "target_s": 0.3, "old_system_s": 3.4,
        "speedup_vs_old_system": round(3.4 / statistics.median(small), 1),
    }))

    big_path = dataset(args.rows)
    big = time_ingest(big_path, repeats=3)
    big_median = statistics.median(big)
    baseline_s = baseline_rowwise(big_path, args.baseline_rows)
    ours_rate = args.rows / big_median
    base_rate = args.baseline_rows / baseline_s
    print(json.dumps({
        "benchmark": f"ingest_{args.rows}_rows", "file_mb": round(big_path.stat().st_size / 2**20, 1),
        "median_s": round(big_median, 3), "target_s": 5.0, "rows_per_s": round(ours_rate),
        "baseline": "pandas iterrows validation + sqlite row inserts",
        "baseline_rows": args.baseline_rows, "baseline_s": round(baseline_s, 2),
        "baseline_rows_per_s": round(base_rate), "ratio": round(ours_rate / base_rate, 1),
    }))


if __name__ == "__main__":
    main()
