"""The training summary against a warehouse holding uploads and an active version (no papermill: fast)."""

import copy

import pytest

from studyrec_lib import registry
from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation.summary import training_summary
from studyrec_lib.ingest import ingest_file, withdraw_dataset
from studyrec_lib.registry.registration import quality_gate
from studyrec_lib.runs.folders import start_run

NEW = "20991231000000"
PREVIOUS_RMSE, PREVIOUS_F1 = 4.5, 0.41


def _upload(settings, tmp_path, name: str, seed: int) -> None:
    cohort = example_data.generate(students=3, seed=seed)
    cohort["student_id"] = f"{name}-" + cohort["student_id"]
    ingest_file(example_data.write(cohort, tmp_path / f"{name}.csv"), settings=settings, progress=None)


def _register(settings, algorithms: dict[str, str], dataset_ids: list[int], run_id: str | None = None) -> str:
    metrics = {"regression": {"cv_rmse": PREVIOUS_RMSE, "interval_half_width": 7.0},
               "classification": {"cv_f1_weighted": PREVIOUS_F1, "cv_accuracy": 0.4, "cv_brier_macro": 0.08}}
    entries = {task: {"artifact": {"made": "by hand"}, "algorithm": algorithm, "training_rows": 72,
                      "data_sha256": "0" * 64, "metrics": metrics[task], "dataset_ids": dataset_ids,
                      "quality_gate": {"passed": True}} for task, algorithm in algorithms.items()}
    return registry.register(entries, settings.runs_dir / "artifacts", run_id, settings)["regression"]


def _training(result, previous: str | None, dataset_ids: list[int], verdict: str = "within_noise",
              version: str = NEW) -> dict:
    challenges = {task: {"verdict": verdict, "activate": verdict != "challenger_worse", "champion": previous,
                         "reason": f"{task}: the new version is {verdict.replace('_', ' ')}"}
                  for task in registry.TASKS}
    return {"versions": dict.fromkeys(registry.TASKS, version), "dataset_ids": dataset_ids,
            "quality_gate": quality_gate(result, challenges)}


@pytest.fixture
def history(settings, tmp_path) -> str:
    """Uploads 1 (withdrawn since) and 2; the active version learned from 1 alone."""
    _upload(settings, tmp_path, "first", seed=1)
    _upload(settings, tmp_path, "second", seed=2)
    previous = _register(settings, {"regression": "ridge", "classification": "logistic_regression"}, [1])
    registry.activate(previous, "both", reason="trained", settings=settings)
    withdraw_dataset(1, "teacher", "wrong class", settings=settings)
    return previous


def test_the_summary_names_the_files_the_models_and_the_figures_beside_the_active_version(result, settings,
                                                                                         history):
    text = training_summary(result, _training(result, history, [2]), settings).data
    reg, clf = result.regression, result.classification
    assert text.startswith("## Summary\n")
    assert ("**Data.** 480 finished rows (the latest per student, semester and subject) of 20 students, semesters "
            "1 to 8, from dataset 2 `second.csv`.") in text
    assert f"Final marks: **{reg.chosen}**, the lowest typical error of the final mark (CV RMSE) of 7 candidates" \
        in text
    assert f"Final grade: **{clf.chosen}**, the highest grade agreement (CV weighted F1) of" in text
    rmse = reg.best.mean("rmse")
    assert (f"| typical error of the final mark (CV RMSE, lower is better) | {rmse:.3f} | {PREVIOUS_RMSE:.3f} | "
            f"{rmse - PREVIOUS_RMSE:+.3f} | {reg.candidates['naive'].mean('rmse'):.3f} |") in text
    assert f"| active version {history} | difference | naive baseline | difference |" in text
    changed = text.split(f"**What changed since active version {history}.**", 1)[1]
    assert ("- Data: 72 → 480 rows; added dataset 2 `second.csv`; no longer used: dataset 1 `first.csv` "
            "(withdrawn).") in changed
    assert f"- Final marks model: {reg.chosen} (was ridge)." in changed
    f1 = clf.best.mean("f1_weighted")
    assert f"- grade agreement (CV weighted F1): {PREVIOUS_F1:.3f} → {f1:.3f} ({f1 - PREVIOUS_F1:+.3f})." in changed


def test_a_first_training_has_nothing_to_compare_with_and_run_by_hand_activates_nothing(result, settings):
    text = training_summary(result, _training(result, None, [1]), settings).data
    assert "No version was active when this training ran: there is nothing to compare with." in text
    assert "| measure | this training | naive baseline | difference |" in text
    assert (f"- Final marks (version {NEW}): **may be activated** by hand (`studyrec activate --model-version "
            f"{NEW}`; a notebook run by hand activates nothing): it beats the naive baseline; the new version is "
            "within noise.") in text


def test_the_decision_says_what_will_happen_and_why(result, settings, history):
    run = start_run("train", {}, settings)  # a job that activates after its notebooks, still running
    version = _register(settings, {"regression": "ridge", "classification": "logistic_regression"}, [2], run.run_id)
    will = training_summary(result, _training(result, history, [2], version=version), settings).data
    assert (f"- Final grade (version {version}): **will be activated when this run succeeds**: it beats the naive "
            "baseline; the new version is within noise.") in will
    worse = training_summary(result, _training(result, history, [2], "challenger_worse", version), settings).data
    assert f"- Final marks (version {version}): **held back**: the new version is challenger worse." in worse
    failed = _training(result, history, [2], version=version)
    failed["quality_gate"]["classification"]["passed"] = False
    held = training_summary(result, failed, settings).data
    assert f"- Final grade (version {version}): **held back**: it does not beat the naive baseline (grade " in held
    registry.activate(history, "regression", settings=settings, pinned=True)
    pinned = training_summary(result, _training(result, history, [2], version=version), settings).data
    assert (f"- Final marks (version {version}): **held back**: a person pinned version {history}, and trainings "
            "keep a pinned version") in pinned
    registry.activate(version, "classification", settings=settings)
    active = training_summary(result, _training(result, history, [2], version=version), settings).data
    assert f"- Final grade (version {version}): **active**." in active


def test_the_one_standard_error_rule_is_named_when_it_kept_a_simpler_model(result, settings):
    within_noise = copy.deepcopy(result)
    clf = within_noise.classification
    rival = next(name for name in clf.candidates if name not in (clf.chosen, "naive"))
    chosen_f1 = clf.best.fold_scores["f1_weighted"]
    clf.candidates[rival].fold_scores["f1_weighted"] = [score + 0.001 for score in chosen_f1]
    text = training_summary(within_noise, _training(within_noise, None, [1]), settings).data
    assert (f"Final grade: **{clf.chosen}**, {rival} had the highest grade agreement (CV weighted F1) "
            f"({clf.candidates[rival].mean('f1_weighted'):.3f} against {clf.best.mean('f1_weighted'):.3f}), but the "
            "difference is within one standard error") in text
    assert "(the one-standard-error rule)" in text


def test_the_at_risk_count_is_said_in_03_evaluate(result, settings):
    import pandas as pd

    at_risk = pd.DataFrame({"student_id": ["S1", "S1", "S2", "S3"], "at_risk": [True, True, False, True]})
    text = training_summary(result, _training(result, None, [1]), settings, at_risk=at_risk).data
    assert "**At risk.** 3 of 4 open rows (2 students) are flagged" in text
    empty = training_summary(result, _training(result, None, [1]), settings, at_risk=at_risk.iloc[:0]).data
    assert "The latest data hold no open rows" in empty


def test_an_active_version_that_recorded_neither_figures_nor_datasets_is_still_named(result, settings):
    entries = {task: {"artifact": {"made": "by hand"}, "algorithm": "ridge", "training_rows": 456,
                      "data_sha256": "0" * 64} for task in registry.TASKS}  # as made by hand, or by an old version
    old = registry.register(entries, settings.runs_dir / "artifacts", None, settings)["regression"]
    text = training_summary(result, _training(result, old, [1]), settings).data
    assert f"- Data: version {old} does not record the datasets it learned from." in text
    assert f"| {result.regression.best.mean('rmse'):.3f} | — | — |" in text
