#!/usr/bin/env python3
"""CLI start: ``studyrec --help`` and ``studyrec runs``, this checkout against the code before the stage layout.

Issue 19: neither command may import scikit-learn, matplotlib (pandas' plotting backend) or FastAPI. Each
command runs in a fresh process (``python -c``, the library found through PYTHONPATH), alternating between
this checkout and the baseline commit (exported with ``git archive`` into a temporary folder), ``--repeats``
times each; prints one JSON line per command: median seconds of both, their ratio, and the heavy modules each
loaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "fdfb04f"  # the last commit before the stage layout
HEAVY = ("sklearn", "matplotlib", "fastapi", "scipy")
PROBE = """
import contextlib, io, json, sys, time
started = time.perf_counter()
from studyrec_lib.cli import main
try:
    with contextlib.redirect_stdout(io.StringIO()):
        main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps({"seconds": time.perf_counter() - started, "file": __import__("studyrec_lib").__file__,
                  "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def _export(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "studyrec_lib"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _probe(tree: Path, args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True,
                          cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(str(tree)), f"imported {result['file']}, not the tree under test"
    result["heavy"] = [name for name in HEAVY if name in result["modules"]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit to compare with")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        baseline = _export(options.baseline, Path(scratch) / "baseline")
        warehouse = Path(scratch) / "w" / "warehouse.duckdb"
        commands = {"--help": ["--help"], "runs": ["runs", "--warehouse", str(warehouse)]}
        for name, args in commands.items():
            times: dict[str, list[float]] = {"now": [], "baseline": []}
            heavy: dict[str, list[str]] = {}
            for _ in range(options.repeats):
                for label, tree in (("now", ROOT), ("baseline", baseline)):
                    result = _probe(tree, args)
                    times[label].append(result["seconds"])
                    heavy[label] = result["heavy"]
            now, before = statistics.median(times["now"]), statistics.median(times["baseline"])
            print(json.dumps({"command": f"studyrec {name}", "median_s": round(now, 3),
                              "baseline_median_s": round(before, 3), "ratio": round(now / before, 3),
                              "heavy_modules": heavy["now"], "baseline_heavy_modules": heavy["baseline"],
                              "repeats": options.repeats, "baseline_commit": options.baseline}))


if __name__ == "__main__":
    main()
