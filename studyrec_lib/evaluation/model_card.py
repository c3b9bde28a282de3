"""A model card per training run: what the models learned from, how good they are, and their limits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studyrec_lib.core import run_files
from studyrec_lib.evaluation.backtest import forward_backtest
from studyrec_lib.evaluation.calibration_words import calibration_words
from studyrec_lib.modeling.training import TrainingResult


def model_card(result: TrainingResult, training: dict, backtest: pd.DataFrame | None = None) -> str:
    """The model card in Markdown: data, models, cross-validated and forward-in-time figures, calibration, limits.

    Args:
        result: the training result.
        training: the summary 02_train wrote (versions, data sha256, quality gate).
        backtest: ``forward_backtest(result)`` when the caller has it already; None computes it.

    Returns:
        The card's Markdown text.
    """
    reg, clf, task = result.regression, result.classification, result.task
    interval = result.interval
    calibration = clf.extra.get("calibration", {})
    gate = training["quality_gate"]
    imbalance = result.imbalance
    lines = [
        f"# Model card: versions {training['versions'].get('regression')} (final marks) and "
        f"{training['versions'].get('classification')} (final grade)",
        "",
        "## Data",
        f"- {len(result.frame):,} training rows (the latest finished row per student, semester and subject) from "
        f"datasets {training['dataset_ids']}; {result.frame[task.group_column].nunique():,} students.",
        f"- Content sha256 `{training['data_sha256']}`.",
        f"- Features: numeric {list(task.numeric_features)}; categorical {list(task.categorical_features)} "
        "(one-hot, unknown categories ignored: a subject never seen adds nothing to a prediction).",
        "",
        "## Models",
        f"- Final marks: **{reg.chosen}**, chosen among {list(reg.candidates)} by {len(result.folds)}-fold CV RMSE, "
        "folds grouped by student.",
        f"- Final grade: **{clf.chosen}**, chosen among {list(clf.candidates)} by CV weighted F1.",
        "- `naive` is the teacher's hand rule: final marks scaled from the midterm, and the grade those marks "
        "imply with the marks already known. Of the grade models within one standard error (of the paired fold "
        "differences) of the best, the simplest is chosen, the hand rule first.",
        "",
        "## Cross-validated performance (out-of-fold, grouped by student)",
        f"- Final marks RMSE {reg.best.mean('rmse'):.3f} ± {reg.best.std('rmse'):.3f} "
        f"(naive, scaled midterm: {reg.candidates['naive'].mean('rmse'):.3f}); MAE {reg.best.mean('mae'):.3f}; "
        f"R² {reg.best.mean('r2'):.3f}.",
        f"- Grade accuracy {clf.best.mean('accuracy'):.3f}, weighted F1 {clf.best.mean('f1_weighted'):.3f} ± "
        f"{clf.best.std('f1_weighted'):.3f} (naive {clf.candidates['naive'].mean('f1_weighted'):.3f}), "
        f"Brier (macro) {clf.best.mean('brier_macro'):.4f} (naive {clf.candidates['naive'].mean('brier_macro'):.4f}).",
        f"- {int(interval['level'] * 100)}% prediction interval: ± {interval['half_width']:.2f} marks, measured "
        f"coverage {interval['coverage']:.3f}.",
        f"- Calibration: {calibration_words(calibration)}.",
        f"- Grade/marks coherence: the most probable grade differs from the grade of the predicted total in "
        f"{result.coherence['disagreement_rate']:.1%} of rows.",
        f"- Quality gate (beat the naive baseline): marks {'passed' if gate['regression']['passed'] else 'FAILED'}, "
        f"grade {'passed' if gate['classification']['passed'] else 'FAILED'}.",
        *[f"- Against the active version: {task_gate['challenge']['reason']}." for task_gate in gate.values()
          if task_gate.get("challenge")],
        "",
        *_backtest_lines(forward_backtest(result) if backtest is None else backtest),
        "",
        "## Limits",
        f"- Smallest grade class {imbalance['smallest_class']} has {imbalance['smallest_share']:.1%} of rows"
        + (" (severe imbalance: its scores are unreliable)." if imbalance["severe"] else "."),
        *_warning_lines(result),
        "- The models know only the listed features; they cannot see illness, workload or teaching changes.",
        "- Predictions for subjects or mark ranges outside the training data are extrapolations.",
        "- Figures come from cross-validation on past students; monitor drift and feedback before trusting "
        "them on a new cohort.",
    ]
    return "\n".join(lines) + "\n"


def _backtest_lines(backtest: pd.DataFrame) -> list[str]:
    """The forward-in-time section: why a semester was not scored, then the scored ones (naive in brackets)."""
    lines = ["## Forward in time (trained on earlier semesters, scored on the next)",
             "Each semester scored by the chosen models refitted on the semesters before it alone, as a deployed "
             "model meets the next cohort (which model was chosen still comes from the CV on every semester)."]
    if backtest.empty:
        return [*lines, "", "- The training data hold a single semester: there is no later one to score."]
    scored, skipped = backtest[backtest["note"] == ""], backtest[backtest["note"] != ""]
    if len(skipped):
        lines += ["", *(f"- Semester {row.semester} {row.note}." for row in skipped.itertuples())]
    if len(scored):
        lines += ["", "| semester | trained on rows | scored rows | students | RMSE (naive) | MAE "
                  "| weighted F1 (naive) | accuracy (naive) |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {row.semester} | {row.training_rows:,} | {row.scored_rows:,} | {row.students_scored:,} | "
                  f"{row.rmse_model:.3f} ({row.rmse_naive:.3f}) | {row.mae_model:.3f} | "
                  f"{row.f1_weighted_model:.3f} ({row.f1_weighted_naive:.3f}) | "
                  f"{row.accuracy_model:.3f} ({row.accuracy_naive:.3f}) |" for row in scored.itertuples()]
    return lines


def _warning_lines(result: TrainingResult) -> list[str]:
    """The chosen models' own fit warnings: a reader must know when a chosen fit did not converge."""
    return [f"- Fitting the chosen {task_result.kind} model warned: {text}"
            for task_result in (result.regression, result.classification) for text in task_result.best.warnings]


def write_model_card(result: TrainingResult, training: dict, run_dir: Path,
                     backtest: pd.DataFrame | None = None) -> Path:
    """Write ``model_card.md`` into the run folder.

    Args:
        result: the training result.
        training: the summary 02_train wrote.
        run_dir: the run folder.
        backtest: ``forward_backtest(result)`` when the caller has it already (03_evaluate shows it); None
            computes it.

    Returns:
        The card's path.
    """
    path = Path(run_dir) / run_files.MODEL_CARD
    path.write_text(model_card(result, training, backtest), encoding="utf-8")
    return path
