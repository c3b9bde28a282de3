"""``studyrec runs`` and the runs face start without scikit-learn, FastAPI or matplotlib (issue 19)."""

import json
import subprocess
import sys

HEAVY = ("sklearn", "fastapi", "matplotlib")

LIST_RUNS = """
import json, sys
import studyrec_lib.runs
after_face = sorted(m for m in {heavy} if m in sys.modules)
from studyrec_lib.cli import main
code = main(["runs", "--warehouse", sys.argv[1]])
print(json.dumps({{"code": code, "after_face": after_face,
                   "after_runs": sorted(m for m in {heavy} if m in sys.modules)}}))
"""


def test_the_runs_face_and_studyrec_runs_load_no_heavy_library(tmp_path):
    done = subprocess.run([sys.executable, "-c", LIST_RUNS.format(heavy=HEAVY), str(tmp_path / "w.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "after_face": [], "after_runs": []}
