"""The summary a reviewer reads first in 02_train and 03_evaluate: the data, the models and why, the figures
beside the active version and the naive baseline, the decision, and what changed.

"The active version" is the one each task had when this training ran (train.json's comparison names it): the
one this training would replace. Activation happens after both notebooks (``runs.jobs``), so the summary says
what the quality gate, the comparison with the active version and a person's pin decide, not what happened.
"""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
from IPython.display import Markdown

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.core.metric_words import metric_words
from studyrec_lib.evaluation.calibration_words import calibration_words
from studyrec_lib.evaluation.candidates import compared_candidates, uncalibrated_name
from studyrec_lib.ingest.summary import semester_span
from studyrec_lib.modeling.candidates import NAIVE
from studyrec_lib.modeling.training import TrainingResult, highest_f1

TASK_WORDS = {"regression": "Final marks", "classification": "Final grade"}
JOB_KINDS = ("train", "pipeline")  # the jobs that activate after their notebooks (runs.jobs)
HEADLINE = ("cv_rmse", "cv_f1_weighted")  # the figures "what changed" repeats in words


def _previous(training: dict, settings: Settings | None) -> dict[str, registry.RegisteredVersion]:
    """Per task, the version that was active when this training ran, if any."""
    found = {task: registry.registered_version(task, (gate.get("challenge") or {}).get("champion"), settings)
             for task, gate in training["quality_gate"].items()}
    return {task: registered for task, registered in found.items() if registered}


def _datasets(ids: list[int], settings: Settings | None) -> str:
    """"dataset 1 `students.csv` (withdrawn), dataset 2 `cohort.csv`"."""
    if not ids:
        return "no dataset"
    found = warehouse.query_frame(
        f"SELECT dataset_id, source_file, status FROM datasets WHERE dataset_id IN ({', '.join('?' for _ in ids)}) "
        "ORDER BY dataset_id", params=list(ids), settings=settings)
    return ", ".join(f"dataset {row.dataset_id} `{PurePath(row.source_file).name}`"
                     + (f" ({row.status})" if row.status != "loaded" else "") for row in found.itertuples())


def _data(result: TrainingResult, training: dict, settings: Settings | None) -> str:
    frame, task = result.frame, result.task
    return (f"**Data.** {len(frame):,} finished rows (the latest per student, semester and subject) of "
            f"{frame[task.group_column].nunique():,} students, {semester_span(frame['semester'])}, from "
            f"{_datasets(training['dataset_ids'], settings)}.")


def _models(result: TrainingResult) -> str:
    reg, clf = result.regression, result.classification
    marks = (f"{TASK_WORDS['regression']}: **{reg.chosen}**, the lowest {metric_words('cv_rmse')} of "
             f"{len(compared_candidates(reg))} candidates ({len(result.folds)}-fold cross-validation, folds grouped "
             "by student).")
    chosen = uncalibrated_name(clf)
    # as modeling.training.best_classifier ranked them, before calibration and the one-standard-error rule
    compared = {name: c for name, c in clf.candidates.items() if name == chosen or name != clf.chosen}
    best = highest_f1(compared)
    f1 = metric_words("cv_f1_weighted")
    if best == chosen:
        why = f"the highest {f1} of {len(compared)} candidates"
    else:
        why = (f"{best} had the highest {f1} ({compared[best].mean('f1_weighted'):.3f} against "
               f"{compared[chosen].mean('f1_weighted'):.3f}), but the difference is within one standard error of "
               "the fold differences, so the simpler model is kept (the one-standard-error rule)")
    grade = (f"{TASK_WORDS['classification']}: **{chosen}**, {why}; "
             f"{calibration_words(clf.extra.get('calibration', {}))}.")
    return f"**Models.** {marks} {grade}"


def _figures(result: TrainingResult) -> list[tuple[str, str, float, float | None]]:
    """(registered metric, task, this training's figure, the naive baseline's or None) of the headline table."""
    reg, clf = result.regression, result.classification
    return [("cv_rmse", "regression", reg.best.mean("rmse"), reg.candidates[NAIVE].mean("rmse")),
            ("interval_half_width", "regression", result.interval["half_width"], None),
            *((f"cv_{metric}", "classification", clf.best.mean(metric), clf.candidates[NAIVE].mean(metric))
              for metric in ("f1_weighted", "accuracy", "brier_macro"))]


def _difference(value: float, other: float | None) -> tuple[str, str]:
    return ("—", "—") if other is None else (f"{other:.3f}", f"{value - other:+.3f}")


def _table(result: TrainingResult, previous: dict[str, registry.RegisteredVersion]) -> list[str]:
    """The headline figures beside the active version's (its own CV, on its own data) and the naive baseline's."""
    active = {registered.version for registered in previous.values()}
    header = f"active version {active.pop()}" if len(active) == 1 else "active version"
    lines = ["| measure | this training | " + (f"{header} | difference | " if previous else "")
             + "naive baseline | difference |", "|---|---|" + ("---|---|" if previous else "") + "---|---|"]
    for metric, task, value, naive in _figures(result):
        before = previous[task].metrics.get(metric) if task in previous else None
        cells = [metric_words(metric, direction=True), f"{value:.3f}"]
        cells += list(_difference(value, before)) if previous else []
        lines.append("| " + " | ".join([*cells, *_difference(value, naive)]) + " |")
    if previous:
        lines += ["", "Each version's figures come from cross-validation on the data it learned from; the fair "
                      "comparison, on finished rows the active version never saw, is in the decision."]
    return lines


def _started_by_job(version: str, settings: Settings | None) -> bool:
    """The version's training runs in a job that activates after its notebooks, and is still running."""
    found = warehouse.query_frame(
        "SELECT r.kind FROM model_versions AS v JOIN runs AS r ON r.run_id = v.run_id "
        "WHERE v.version = ? AND r.status = 'running'", params=[version], settings=settings)
    return bool(found["kind"].isin(JOB_KINDS).any())


def _decision(task: str, training: dict, settings: Settings | None) -> str:
    """What the gate, a pin and the comparison with the active version decide for one task, and why."""
    version, gate = training["versions"][task], training["quality_gate"][task]
    challenge = gate.get("challenge") or {}
    reason = challenge.get("reason", "").removeprefix(f"{task}: ")
    pinned = registry.pinned_versions(settings)
    name = f"- {TASK_WORDS[task]} (version {version})"
    if registry.active_versions(settings).get(task, {}).get("version") == version:
        return f"{name}: **active**."
    if not gate["passed"]:
        return (f"{name}: **held back**: it does not beat the naive baseline ({metric_words(gate['metric'])} "
                f"{gate['model']:.3f} against {gate['naive']:.3f}).")
    if task in pinned:
        return (f"{name}: **held back**: a person pinned version {pinned[task]}, and trainings keep a pinned "
                "version (`studyrec unpin` lets them replace it).")
    if not challenge.get("activate", True):
        return f"{name}: **held back**: {reason}."
    when = ("**will be activated when this run succeeds**" if _started_by_job(version, settings) else
            f"**may be activated** by hand (`studyrec activate --model-version {version}`; a notebook run by hand "
            "activates nothing)")
    return f"{name}: {when}: it beats the naive baseline" + (f"; {reason}." if reason else ".")


def _changes(result: TrainingResult, training: dict, previous: dict[str, registry.RegisteredVersion],
             settings: Settings | None) -> list[str]:
    """Since the active version: its data, each task's model, the headline figures."""
    if not previous:
        return ["**What changed.** No version was active when this training ran: there is nothing to compare with."]
    versions = " and ".join(sorted({registered.version for registered in previous.values()}))
    lines = [f"**What changed since active version {versions}.**", ""]
    data = next(iter(previous.values()))
    if data.dataset_ids is None:
        lines.append(f"- Data: version {data.version} does not record the datasets it learned from.")
    else:
        added = sorted(set(training["dataset_ids"]) - set(data.dataset_ids))
        dropped = sorted(set(data.dataset_ids) - set(training["dataset_ids"]))
        datasets = "the same datasets" if not added + dropped else "; ".join(
            [*([f"added {_datasets(added, settings)}"] if added else []),
             *([f"no longer used: {_datasets(dropped, settings)}"] if dropped else [])])
        lines.append(f"- Data: {data.training_rows:,} → {len(result.frame):,} rows; {datasets}.")
    for task, registered in previous.items():
        chosen = getattr(result, task).chosen
        change = "unchanged" if chosen == registered.algorithm else f"was {registered.algorithm}"
        lines.append(f"- {TASK_WORDS[task]} model: {chosen} ({change}).")
    for metric, task, value, _ in _figures(result):
        before = previous[task].metrics.get(metric) if task in previous else None
        if metric in HEADLINE and before is not None:
            lines.append(f"- {metric_words(metric)}: {before:.3f} → {value:.3f} ({value - before:+.3f}).")
    return lines


def _at_risk(at_risk: pd.DataFrame) -> str:
    if at_risk.empty:
        return "**At risk.** The latest data hold no open rows (without final marks): nobody to flag."
    flagged = at_risk[at_risk["at_risk"]]
    return (f"**At risk.** {len(flagged):,} of {len(at_risk):,} open rows ({flagged['student_id'].nunique():,} "
            "students) are flagged: their predicted grade is D or F, or likely to be. The list is below, and in "
            "at_risk.csv and at_risk.xlsx of the run folder.")


def training_summary(result: TrainingResult, training: dict, settings: Settings | None = None,
                     at_risk: pd.DataFrame | None = None) -> Markdown:
    """The summary of a training, for the top of 02_train's and 03_evaluate's reports (tag its cell ``summary``).

    Args:
        result: the training result.
        training: the summary 02_train wrote (``train.json``: versions, quality gate with the comparison with the
            active version, datasets).
        settings: where the warehouse is (datasets, versions, pins, runs).
        at_risk: 03_evaluate's ``find_at_risk`` table, to say how many open rows are flagged; None: not said.

    Returns:
        Markdown: the data (files, rows, students, semesters), the models and why they were chosen, the headline
        figures beside the active version and the naive baseline with the differences, the decision per task,
        and what changed since the active version.
    """
    previous = _previous(training, settings)
    lines = ["## Summary", "", _data(result, training, settings), "", _models(result), "", *_table(result, previous),
             "", "**Decision.**", "", *(_decision(task, training, settings) for task in training["versions"]), "",
             *_changes(result, training, previous, settings)]
    if at_risk is not None:
        lines += ["", _at_risk(at_risk)]
    return Markdown("\n".join(lines) + "\n")
