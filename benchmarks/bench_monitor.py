#!/usr/bin/env python3
"""Drift monitoring: false alarms, detection power and speed (targets of the monitoring issue).

- False alarms: ``--seeds`` samples of ``--rows`` unshifted rows (drawn across many students of a new
  cohort) against the baseline of a model trained on the example cohort; alerts must be at most 5%.
- Detection: the same samples with one feature shifted by 0.5 of its standard deviation (each shiftable
  feature in turn, both directions) or a new subject at 20% of rows; detected in at least 95% of seeds.
- Speed: ``compute_drift`` on 1,000,000 current rows (library call, data already in memory); under 3 s.
Also prints what the PSI alone would do (a fixed PSI > 0.1 rule) at the same sample size, for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from studyrec_lib.core import STUDENT_TASK, defaults
from studyrec_lib.demo import SHIFTABLE, generate, shift_frame
from studyrec_lib.modeling.feature_baseline import feature_baseline
from studyrec_lib.monitoring import DEFAULT_ALPHA, compute_drift

THRESHOLD, MIN_SAMPLES = defaults.DRIFT_THRESHOLD, defaults.DRIFT_MIN_SAMPLES


def sample(seed: int, rows: int):
    cohort = generate(students=max(rows, 50), seed=1000 + seed)
    return cohort.sample(n=rows, random_state=seed).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="significance before Bonferroni")
    parser.add_argument("--baseline-students", type=int, default=1000,
                        help="students (24 rows each) in the training data the baseline comes from")
    args = parser.parse_args()
    training = generate(students=args.baseline_students, seed=7)
    baseline = feature_baseline(training, STUDENT_TASK)
    scenarios: dict[str, dict] = {"unshifted": {}}
    for column in SHIFTABLE:
        for sign in (+1, -1):
            scenarios[f"{column} {sign * 0.5:+.1f} SD"] = {"shifts": {column: sign * 0.5}}
    scenarios["new subject at 20%"] = {"new_subject": "Robotics", "new_subject_share": 0.2}
    results = {}
    for name, shift in scenarios.items():
        alerts = psi_alerts = 0
        scores = []
        for seed in range(args.seeds):
            current = sample(seed, args.rows)
            if shift:
                # Shift by the baseline's SD, on the whole cohort the sample comes from.
                current = shift_frame(current, seed=seed, **shift)
            report = compute_drift(baseline, current, THRESHOLD, MIN_SAMPLES, args.alpha)
            alerts += report.status == "drift"
            psi_alerts += any(f.psi > 0.1 for f in report.features if not f.informational)
            scores.append(report.score)
        results[name] = {"alert_rate": alerts / args.seeds, "psi_over_0.1_rate": psi_alerts / args.seeds,
                         "median_score": float(np.median(scores))}
        print(f"[{name}] alerts {alerts}/{args.seeds}", file=sys.stderr, flush=True)
    big = generate(students=args.million // 24 + 1, seed=99).head(args.million)
    started = time.perf_counter()
    report = compute_drift(baseline, big, THRESHOLD, MIN_SAMPLES)
    seconds = time.perf_counter() - started
    print(f"\n{'scenario':34} {'alert rate':>10} {'target':>12} {'PSI>0.1 rule':>13} {'median score':>13}")
    for name, figures in results.items():
        target = "<= 5%" if name == "unshifted" else ">= 95%"
        met = figures["alert_rate"] <= 0.05 if name == "unshifted" else figures["alert_rate"] >= 0.95
        print(f"{name:34} {figures['alert_rate']:>10.1%} {target:>8} {'ok' if met else 'MISS':>3} "
              f"{figures['psi_over_0.1_rate']:>13.1%} {figures['median_score']:>13.3f}")
    print(f"\ncompute_drift on {len(big):,} rows: {seconds:.3f} s (target < 3 s); status {report.status}")
    print(json.dumps({"benchmark": "monitor_drift", "seeds": args.seeds, "alpha": args.alpha, "rows": args.rows,
                      "baseline_students": args.baseline_students, "threshold": THRESHOLD,
                      "scenarios": results, "million_rows": len(big), "million_rows_s": round(seconds, 3)}))


if __name__ == "__main__":
    main()
