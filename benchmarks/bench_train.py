#!/usr/bin/env python3
"""Training speed and quality on the 120-student example, against the old system's configuration.

Prints JSON lines:
- train + evaluate with grouped CV of every candidate (library calls, fresh process) vs the old
  configuration (random 80/20 holdout of RF(80 trees, depth 16) and GB defaults, then 5-fold CV of the
  winners), measured side by side; target under 10 s.
- quality: CV RMSE against the generator's noise floor (target within 3%), grade accuracy against the
  simulated Bayes-optimal accuracy, Brier against the naive one.
- optionally (--million) training on 1,000,000 rows, and (--pipeline) the whole `studyrec pipeline`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import f1_score, root_mean_squared_error
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import Pipeline

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation import tables as evaluate
from studyrec_lib.modeling.features import preprocessor
from studyrec_lib.modeling.training import train

ROOT = Path(__file__).resolve().parent.parent


def ours(frame) -> tuple[float, object]:
    started = time.perf_counter()
    result = train(frame)
    evaluate.regression_metrics(result)
    evaluate.classification_metrics(result)
    evaluate.brier_per_grade(result)
    evaluate.errors_by(result, "subject")
    evaluate.permutation_importance_frame(result)
    return time.perf_counter() - started, result


def old_configuration(frame) -> float:
    """What the old system did: holdout of RF and GB, then 5-fold CV of the winners (students leak)."""
    started = time.perf_counter()
    X = frame[STUDENT_TASK.features]
    marks, grades = frame["final_marks"], frame["final_grade"]
    x_train, x_test, m_train, m_test, g_train, g_test = train_test_split(X, marks, grades, test_size=0.2,
                                                                         random_state=42)

    def pipe(model):
        return Pipeline([("features", preprocessor(STUDENT_TASK)), ("model", model)])

    regressors = {"rf": pipe(RandomForestRegressor(n_estimators=80, max_depth=16, random_state=42)),
                  "gb": pipe(GradientBoostingRegressor(random_state=42))}
    classifiers = {"rf": pipe(RandomForestClassifier(n_estimators=80, max_depth=16, random_state=42)),
                   "gb": pipe(GradientBoostingClassifier(random_state=42))}
    rmse = {n: root_mean_squared_error(m_test, m.fit(x_train, m_train).predict(x_test)) for n, m in regressors.items()}
    f1 = {n: f1_score(g_test, m.fit(x_train, g_train).predict(x_test), average="weighted")
          for n, m in classifiers.items()}
    cross_val_score(regressors[min(rmse, key=rmse.get)], X, marks, cv=5)
    cross_val_score(classifiers[max(f1, key=f1.get)], X, grades, cv=5)
    return time.perf_counter() - started


def pipeline_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        data = example_data.write(example_data.generate(120, open_semesters=1), Path(tmp) / "example.csv")
        env = {**os.environ, "STUDYREC_WAREHOUSE": f"{tmp}/w.duckdb", "STUDYREC_RUNS": f"{tmp}/runs"}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "pipeline", str(data), "--json"],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        return seconds


def million_rows() -> dict:
    frame = example_data.generate(students=41_667, seed=3)
    started = time.perf_counter()
    result = train(frame, n_folds=3)
    return {"benchmark": "train_1m_rows", "rows": len(frame), "seconds": round(time.perf_counter() - started, 1),
            "candidates": list(result.regression.candidates), "cv_rmse": round(result.regression.best.mean("rmse"), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="store_true", help="also time `studyrec pipeline` end to end")
    parser.add_argument("--million", action="store_true", help="also train on 1,000,000 rows")
    args = parser.parse_args()

    frame = example_data.generate(120, seed=7, with_expected=True)
    our_seconds, result = ours(frame)
    old_seconds = old_configuration(frame)
    print(json.dumps({"benchmark": "train_evaluate_2880_rows", "seconds": round(our_seconds, 2), "target_s": 10,
                      "old_configuration_s": round(old_seconds, 2), "old_system_reported_s": 58,
                      "ratio_old_over_ours": round(old_seconds / our_seconds, 2),
                      "candidates_cross_validated": len(result.regression.candidates)
                      + len(result.classification.candidates)}))
    clf = result.classification
    rmse = result.regression.best.mean("rmse")
    realised_floor = float(np.sqrt(np.mean((frame["final_marks"] - frame["expected_final_marks"]) ** 2)))
    print(json.dumps({
        "benchmark": "quality_example", "cv_rmse": round(rmse, 3),
        "noise_floor": example_data.FINAL_MARKS_NOISE_SD,
        "rmse_over_floor": round(rmse / example_data.FINAL_MARKS_NOISE_SD, 3), "target_ratio": 1.03,
        # The error of knowing the generator's mean on these very rows (rounding and clipping included).
        "realised_floor": round(realised_floor, 3), "rmse_over_realised_floor": round(rmse / realised_floor, 3),
        "grade_accuracy": round(clf.best.mean("accuracy"), 3),
        "bayes_optimal_accuracy": round(example_data.bayes_optimal_grade_accuracy(frame), 3),
        "brier_macro": round(clf.best.mean("brier_macro"), 4),
        "naive_brier_macro": round(clf.candidates["naive"].mean("brier_macro"), 4),
        "grade_marks_disagreement": round(result.coherence["disagreement_rate"], 4),
        "interval_coverage_90": round(result.interval["coverage"], 3),
        "chosen": {"regression": result.regression.chosen, "classification": clf.chosen},
        "old_system_reported": {"rmse": 5.04, "grade_accuracy": 0.44},
    }))
    if args.pipeline:
        print(json.dumps({"benchmark": "studyrec_pipeline_example", "seconds": round(pipeline_seconds(), 1),
                          "target_s": 45}))
    if args.million:
        print(json.dumps(million_rows()))


if __name__ == "__main__":
    main()
