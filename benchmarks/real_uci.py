#!/usr/bin/env python3
"""The library's automatic model selection on the UCI "Student Performance" data, with the paper's protocol.

Cortez & Silva (2008): ``repeats`` runs of ``folds``-fold cross-validation (KFold shuffled, seed = run
number) on three input setups (A = all columns except G3, B = A without G2, C = B without G1) and three
tasks (regression of G3: RMSE; pass if G3 >= 10: accuracy %; five levels I-V: accuracy %).

Nested: in every outer fold, ``studyrec_lib.train.train`` runs its whole selection (grouped inner CV of
all candidates, best regressor by RMSE, best classifier by weighted F1, optional calibration) on
the outer training part only, and the models it returns predict the outer test fold. The procedure is the
same for every cell; nothing is tuned per setup or task. Two train() calls per outer fold and setup (one
per grade target); the regression figure comes from the five-level call.

Figures are computed per run on the pooled out-of-fold predictions of all rows, then averaged over runs
(mean and std over runs), as in the paper. "NV (ours)" recomputes the paper's naive predictor on the same
folds (G2 for A, G1 for B, training mean / most common class for C) as a check of the protocol.

Speed: the full protocol is 20 x 10 x 3 = 600 outer folds, i.e. 1,200 train() calls. Outer folds run in
parallel (``--jobs`` processes, default 2) and train() then runs its candidate fits sequentially inside
each process, so the 2 cores are not oversubscribed (``--jobs 1`` runs the outer folds one by one and lets
train() use its own 2 jobs). train()'s inner CV has the library's own number of folds (5): on an otherwise
idle 2-core machine one run of all three setups takes about 450 s, the full 20 runs about 2.5 hours.
``--inner-folds 3`` takes about half as long (82 min) and selects less reliably: over the same 8 runs it
did worse in 7 of 9 cells (A five-level 75.83% against 76.29%).

Prints progress to stderr, then a table and JSON lines to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from collections import Counter, defaultdict
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.model_selection import KFold

from studyrec_lib.core.defaults import CV_FOLDS
from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling.training import train

NUMERIC = ("age", "Medu", "Fedu", "traveltime", "studytime", "failures", "famrel", "freetime", "goout", "Dalc",
           "Walc", "health", "absences")
CATEGORICAL = ("school", "sex", "address", "famsize", "Pstatus", "Mjob", "Fjob", "reason", "guardian", "schoolsup",
               "famsup", "paid", "activities", "nursery", "higher", "internet", "romantic")
TARGET = "G3"
MARKS_RANGE = (0.0, 20.0)
SETUPS: dict[str, dict] = {
    "A": {"numeric": (*NUMERIC, "G1", "G2"), "naive": "G2"},
    "B": {"numeric": (*NUMERIC, "G1"), "naive": "G1"},
    "C": {"numeric": NUMERIC, "naive": None},
}
BANDS: dict[str, tuple[tuple[str, float], ...]] = {
    "binary": (("pass", 10.0), ("fail", 0.0)),
    "five_level": (("I", 16.0), ("II", 14.0), ("III", 12.0), ("IV", 10.0), ("V", 0.0)),
}
TASKS = ("regression", "binary", "five_level")
METRIC = {"regression": "rmse", "binary": "accuracy_pct", "five_level": "accuracy_pct"}
ROW_ID = "_row_id"  # each row its own student
GRADE_COLUMN = {"binary": "_grade_binary", "five_level": "_grade_five_level"}

# Published results for uci-student-por.csv (README table): NV, RF and best (model) per setup and task.
PAPER_MD5 = "5252caab3920531cb9f109f208d4ed73"
PAPER: dict[tuple[str, str], tuple[float, float, float, str]] = {
    ("A", "binary"): (89.7, 92.6, 93.0, "DT"),
    ("A", "five_level"): (72.9, 73.5, 76.1, "DT"),
    ("A", "regression"): (1.32, 1.32, 1.32, "NV, RF"),
    ("B", "binary"): (87.5, 90.1, 90.1, "RF"),
    ("B", "five_level"): (58.7, 55.3, 62.9, "DT"),
    ("B", "regression"): (1.89, 1.79, 1.78, "DT"),
    ("C", "binary"): (84.6, 85.0, 85.0, "RF"),
    ("C", "five_level"): (31.0, 36.7, 36.7, "RF"),
    ("C", "regression"): (3.23, 2.67, 2.67, "RF"),
}
PAPER_DECIMALS = {"regression": 2, "binary": 1, "five_level": 1}


def _no_known_marks(frame: pd.DataFrame) -> np.ndarray:
    """The grade depends on G3 alone: nothing else counts towards the total."""
    return np.zeros(len(frame))


def make_task(setup: str, kind: str) -> Task:
    """The Task of one setup and grade target (``binary`` or ``five_level``)."""
    spec = SETUPS[setup]
    return Task(
        name=f"uci_{setup}_{kind}", numeric_features=spec["numeric"], categorical_features=CATEGORICAL,
        marks_target=TARGET, marks_range=MARKS_RANGE, grade_bands=BANDS[kind], known_total=_no_known_marks,
        naive_marks_feature=spec["naive"], group_column=ROW_ID, grade_target=GRADE_COLUMN[kind],
    )


def load(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=";")
    needed = [*NUMERIC, "G1", "G2", TARGET, *CATEGORICAL]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        sys.exit(f"{path}: missing columns {missing}; expected the UCI student-performance format (';'-separated)")
    frame = frame[needed].copy()
    for column in [*NUMERIC, "G1", "G2", TARGET]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
        if frame[column].isna().any():
            sys.exit(f"{path}: empty or non-numeric values in column {column}")
    for column in CATEGORICAL:
        frame[column] = frame[column].astype(str)
    frame[ROW_ID] = np.arange(len(frame))
    marks = frame[TARGET].to_numpy(dtype=float)
    for kind in BANDS:
        frame[GRADE_COLUMN[kind]] = make_task("C", kind).grade_of_marks(frame, marks)
    return frame


def naive_predictions(frame: pd.DataFrame, setup: str, train_rows: np.ndarray, test_rows: np.ndarray) -> dict:
    """The paper's NV: the earlier period grade as G3 (A: G2, B: G1), or training mean / mode (C)."""
    test = frame.iloc[test_rows]
    feature = SETUPS[setup]["naive"]
    out: dict[str, np.ndarray] = {}
    if feature is not None:
        marks = test[feature].to_numpy(dtype=float)
        out["regression"] = marks
        for kind in BANDS:
            out[kind] = make_task(setup, kind).grade_of_marks(test, marks)
    else:
        fit = frame.iloc[train_rows]
        out["regression"] = np.full(len(test), fit[TARGET].mean())
        for kind in BANDS:
            out[kind] = np.full(len(test), fit[GRADE_COLUMN[kind]].mode().iloc[0], dtype=object)
    return out


def outer_fold(frame: pd.DataFrame, setup: str, repeat: int, fold: int, train_rows: np.ndarray,
               test_rows: np.ndarray, inner_folds: int, sequential: bool) -> dict:
    """Run train() on the outer training part for both grade targets; predict the outer test fold."""
    started = time.perf_counter()
    fit, test = frame.iloc[train_rows], frame.iloc[test_rows]
    predictions: dict[str, np.ndarray] = {}
    chosen: dict[str, str] = {}
    for kind in ("binary", "five_level"):
        task = make_task(setup, kind)
        with warnings.catch_warnings(), parallel_config(backend="sequential") if sequential else nullcontext():
            warnings.simplefilter("ignore")
            result = train(fit, task, n_folds=inner_folds)
            X = test[task.features]
            classifier = result.classification.model
            proba = classifier.predict_proba(X)
            predictions[kind] = np.asarray(classifier.classes_)[np.argmax(proba, axis=1)].astype(str)
            marks = np.clip(result.regression.model.predict(X), *task.marks_range)
        chosen[kind] = result.classification.chosen
        chosen[f"regression_in_{kind}_call"] = result.regression.chosen
        if kind == "five_level":
            predictions["regression"] = marks
            chosen["regression"] = result.regression.chosen
    return {"setup": setup, "repeat": repeat, "fold": fold, "test_rows": test_rows, "predictions": predictions,
            "naive": naive_predictions(frame, setup, train_rows, test_rows), "chosen": chosen,
            "seconds": time.perf_counter() - started}


def score(kind: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    if kind == "regression":
        return float(np.sqrt(np.mean((truth.astype(float) - predicted.astype(float)) ** 2)))
    return float(100 * np.mean(truth.astype(str) == predicted.astype(str)))


def truth_of(frame: pd.DataFrame, kind: str) -> np.ndarray:
    return frame[TARGET].to_numpy(dtype=float) if kind == "regression" else frame[GRADE_COLUMN[kind]].to_numpy()


def reaches(kind: str, ours: float, best: float) -> bool:
    """Compared at the paper's printed precision: accuracy at least, RMSE at most the paper's best."""
    ours = round(ours, PAPER_DECIMALS[kind])
    return ours <= best if kind == "regression" else ours >= best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="';'-separated UCI student-performance file")
    parser.add_argument("--repeats", type=int, default=20, help="runs of outer CV (KFold seeds first..first+repeats-1)")
    parser.add_argument("--first-repeat", type=int, default=0,
                        help="seed of the first run: splits the protocol over sessions (--first-repeat 8 --repeats 12 "
                             "runs seeds 8..19); the mean and std of 20 runs come from both outputs' per_run lists")
    parser.add_argument("--folds", type=int, default=10, help="outer folds per run")
    parser.add_argument("--inner-folds", type=int, default=CV_FOLDS,
                        help="train()'s grouped CV folds for selection (default: the library's own; 3 halves the time)")
    parser.add_argument("--setups", default="A,B,C", help="comma-separated subset of A,B,C")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="outer folds run in parallel (train() runs sequentially inside when > 1)")
    args = parser.parse_args()
    setups = [s.strip().upper() for s in args.setups.split(",") if s.strip()]
    unknown = sorted(set(setups) - set(SETUPS))
    if unknown:
        parser.error(f"unknown setups {unknown}; choose from A, B, C")
    if args.first_repeat < 0 or args.repeats < 1:
        parser.error("--first-repeat must be >= 0 and --repeats >= 1")

    frame = load(args.data)
    md5 = hashlib.md5(args.data.read_bytes()).hexdigest()
    started = time.perf_counter()
    jobs = []
    for repeat in range(args.first_repeat, args.first_repeat + args.repeats):
        splits = list(KFold(args.folds, shuffle=True, random_state=repeat).split(frame))
        for setup in setups:
            for fold, (train_rows, test_rows) in enumerate(splits):
                jobs.append((setup, repeat, fold, train_rows, test_rows))
    print(f"{args.data.name}: {len(frame)} rows, md5 {md5}{' (the paper file)' if md5 == PAPER_MD5 else ''}; "
          f"{args.repeats} x {args.folds}-fold outer CV (seeds {args.first_repeat}..{repeat}), "
          f"{args.inner_folds} inner folds, setups {','.join(setups)}, "
          f"{len(jobs)} outer folds x 2 train() calls on {args.jobs} process(es)", file=sys.stderr)

    n = len(frame)
    pooled: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    remaining: Counter = Counter()
    for setup, repeat, *_ in jobs:
        remaining[(setup, repeat)] += 1
    per_repeat: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)  # (setup, task, ours|nv) -> seed
    chosen_counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    fold_seconds: list[float] = []
    runner = Parallel(n_jobs=args.jobs, return_as="generator_unordered")
    done_runs = 0
    outputs = runner(
        delayed(outer_fold)(frame, setup, repeat, fold, train_rows, test_rows, args.inner_folds, args.jobs > 1)
        for setup, repeat, fold, train_rows, test_rows in jobs
    )
    for out in outputs:
        key = (out["setup"], out["repeat"])
        store = pooled.setdefault(key, {f"{w}:{k}": np.empty(n, dtype=object) for w in ("ours", "nv") for k in TASKS})
        for kind in TASKS:
            store[f"ours:{kind}"][out["test_rows"]] = out["predictions"][kind]
            store[f"nv:{kind}"][out["test_rows"]] = out["naive"][kind]
        for name, model in out["chosen"].items():
            chosen_counts[(out["setup"], name)][model] += 1
        fold_seconds.append(out["seconds"])
        remaining[key] -= 1
        if remaining[key] == 0:
            figures = []
            for kind in TASKS:
                for who in ("ours", "nv"):
                    per_repeat[(out["setup"], kind, who)][out["repeat"]] = score(kind, truth_of(frame, kind),
                                                                                 store[f"{who}:{kind}"])
                figures.append(f"{kind} {per_repeat[(out['setup'], kind, 'ours')][out['repeat']]:.3f}")
            del pooled[key]
            done_runs += 1
            elapsed = time.perf_counter() - started
            eta = elapsed / done_runs * (len(remaining) - done_runs)
            print(f"[{elapsed:7.0f}s] setup {out['setup']} run seed {out['repeat']} done: "
                  f"{', '.join(figures)}  ({done_runs}/{len(remaining)} runs, eta {eta:.0f}s)", file=sys.stderr)
    wall = time.perf_counter() - started

    rows = []
    for setup in setups:
        for kind in TASKS:
            seeds = sorted(per_repeat[(setup, kind, "ours")])
            ours = np.array([per_repeat[(setup, kind, "ours")][seed] for seed in seeds])
            nv = np.array([per_repeat[(setup, kind, "nv")][seed] for seed in seeds])
            paper_nv, paper_rf, paper_best, paper_best_model = PAPER[(setup, kind)]
            mean = float(ours.mean())
            gap = paper_best - mean if kind == "regression" else mean - paper_best
            rows.append({
                "setup": setup, "task": kind, "metric": METRIC[kind], "ours_mean": round(mean, 3),
                "ours_std": round(float(ours.std()), 3), "nv_ours": round(float(nv.mean()), 3),
                "paper_nv": paper_nv, "paper_rf": paper_rf, "paper_best": paper_best,
                "paper_best_model": paper_best_model, "reaches_paper_best": reaches(kind, mean, paper_best),
                "margin_vs_best": round(gap, 3), "seeds": seeds, "per_run": [round(float(v), 3) for v in ours],
                "selected": dict(chosen_counts[(setup, "regression" if kind == "regression" else kind)]
                                 .most_common()),
            })

    header = (f"{'setup':<5} {'task':<10} {'metric':<12} {'ours':>7} {'std':>6} {'NV ours':>8} {'NV pap':>7} "
              f"{'RF pap':>7} {'best pap':>8} {'(model)':<8} {'reach':<5} {'margin':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['setup']:<5} {row['task']:<10} {row['metric']:<12} {row['ours_mean']:>7.3f} "
              f"{row['ours_std']:>6.3f} "
              f"{row['nv_ours']:>8.3f} {row['paper_nv']:>7} {row['paper_rf']:>7} {row['paper_best']:>8} "
              f"{row['paper_best_model']:<8} {'yes' if row['reaches_paper_best'] else 'NO':<5} "
              f"{row['margin_vs_best']:>+7.3f}")
    print("(margin: ours minus paper best for accuracy %, paper best minus ours for RMSE; >= 0 is at least as good;"
          " reach compares at the paper's printed precision)")
    print()
    print("selected candidates (count over outer folds):")
    for setup in setups:
        for name in ("regression", "binary", "five_level", "regression_in_binary_call"):
            counts = chosen_counts[(setup, name)]
            print(f"  {setup} {name:<26} " + ", ".join(f"{m} {c}" for m, c in counts.most_common()))
    print()
    for row in rows:
        print(json.dumps({"benchmark": "real_uci", **row}))
    print(json.dumps({
        "benchmark": "real_uci_run", "data": str(args.data), "md5": md5, "paper_file": md5 == PAPER_MD5,
        "rows": n, "first_repeat": args.first_repeat, "repeats": args.repeats, "folds": args.folds,
        "inner_folds": args.inner_folds,
        "setups": setups, "jobs": args.jobs, "train_calls": 2 * len(jobs), "wall_s": round(wall, 1),
        "mean_outer_fold_s": round(float(np.mean(fold_seconds)), 2),
        "selected": {f"{s}:{name}": dict(c.most_common()) for (s, name), c in sorted(chosen_counts.items())},
    }))


if __name__ == "__main__":
    main()
