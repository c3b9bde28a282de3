import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.files import file_sha256
from studyrec_lib.registry.versions import VERSION_FORMAT, RegistryError
from tests.artifacts import load_artifact


def _entry(slope: float = 1.0) -> dict:
    """A registry entry whose artifact is a tiny fitted model: y = slope * x."""
    model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), slope * np.array([0.0, 1.0, 2.0]))
    return {
        "artifact": {"kind": "regression", "model": model, "algorithm": "linear"},
        "algorithm": "linear",
        "training_rows": 3,
        "data_sha256": "0" * 64,
        "metrics": {"cv_rmse": 1.25 * slope, "cv_f1_weighted": 0.5},
        "hyperparameters": {"fit_intercept": True},
        "dataset_ids": [1],
    }


def _register(settings, tasks=("regression", "classification"), slope: float = 1.0, run_id: str | None = "run-a",
              failing: tuple[str, ...] = ()):
    """``failing``: the tasks whose model did not beat its naive baseline."""
    entries = {task: {**_entry(slope), "quality_gate": {"metric": "cv_rmse", "model": 4.5, "naive": 4.25,
                                                         "passed": task not in failing}} for task in tasks}
    return registry.register(entries, settings.runs_dir / "artifacts", run_id, settings=settings)


def _parse(version: str) -> datetime:
    return datetime.strptime(version, VERSION_FORMAT)


def test_register_saves_artifacts_and_lists_versions_inactive(settings):
    versions = _register(settings, slope=2.0)
    assert set(versions) == {"regression", "classification"}
    listed = registry.list_versions(settings)
    assert listed["task"].tolist() == ["classification", "regression"]
    assert listed["version"].tolist() == [versions["classification"], versions["regression"]]
    assert not listed["active"].any()
    assert listed["training_rows"].tolist() == [3, 3]
    assert listed["run_id"].tolist() == ["run-a", "run-a"]
    assert listed["cv_rmse"].tolist() == [2.5, 2.5]
    assert listed["cv_f1_weighted"].tolist() == [0.5, 0.5]
    assert listed["passes_gate"].tolist() == [True, True]
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT task, artifact_path, artifact_sha256 FROM model_versions ORDER BY task").fetchall()
    for task, path, sha in rows:
        assert path.endswith(f"{task}-{versions[task]}.joblib")
        assert file_sha256(path) == sha
    assert registry.active_versions(settings) == {}


def test_versions_are_utc_timestamps_unique_per_task_and_never_reused(settings):
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    first = _register(settings, tasks=("regression",))["regression"]
    second = _register(settings, tasks=("regression",))["regression"]
    third = _register(settings, tasks=("regression",))["regression"]
    after = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    for version in (first, second, third):
        assert len(version) == 14
        assert _parse(version).strftime(VERSION_FORMAT) == version
    # Three registrations usually land in the same second: each one moves on by a second.
    assert first < second < third
    assert before <= _parse(first) <= after
    assert _parse(third) <= max(after, _parse(first)) + timedelta(seconds=2)
    listed = registry.list_versions(settings)
    assert listed["version"].tolist() == [first, second, third]
    assert listed["version"].is_unique


def _register_both_in_one_second(settings, slope: float = 1.0, run_id: str | None = "run-a") -> str:
    versions = _register(settings, slope=slope, run_id=run_id)
    assert versions["regression"] == versions["classification"]
    return versions["regression"]


class _SlowToSave:
    """An artifact whose pickling takes longer than a second."""

    def __getstate__(self) -> dict:
        time.sleep(1.1)
        return {}


def test_both_tasks_of_one_registration_share_a_version_even_when_saving_is_slow(settings):
    entries = {"regression": {**_entry(), "artifact": _SlowToSave()}, "classification": _entry()}
    versions = registry.register(entries, settings.runs_dir / "artifacts", "run-slow", settings=settings)
    assert versions["regression"] == versions["classification"]
    assert registry.activate(versions["regression"], "both", settings=settings) == versions


def test_activate_one_task_then_both_and_history_records_the_trail(settings):
    v1 = _register_both_in_one_second(settings, run_id="run-a")
    v2 = _register_both_in_one_second(settings, slope=3.0, run_id="run-b")
    assert v2 > v1

    assert registry.activate(v1, task="regression", reason="trained", run_id="run-a",
                             settings=settings) == {"regression": v1}
    active = registry.active_versions(settings)
    assert set(active) == {"regression"}
    assert active["regression"]["version"] == v1
    assert active["regression"]["reason"] == "trained"
    assert active["regression"]["algorithm"] == "linear"

    assert registry.activate(v2, task="both", reason="retrain", run_id="run-b", settings=settings) == {
        "regression": v2, "classification": v2}
    active = registry.active_versions(settings)
    assert {task: row["version"] for task, row in active.items()} == {"regression": v2, "classification": v2}
    assert {row["reason"] for row in active.values()} == {"retrain"}

    history = registry.activation_history(settings)
    assert history[["task", "version", "reason", "run_id"]].to_dict("records") == [
        {"task": "regression", "version": v1, "reason": "trained", "run_id": "run-a"},
        {"task": "regression", "version": v2, "reason": "retrain", "run_id": "run-b"},
        {"task": "classification", "version": v2, "reason": "retrain", "run_id": "run-b"},
    ]
    assert history["previous_version"].isna().tolist() == [True, False, True]
    assert history.loc[1, "previous_version"] == v1
    assert history["activated_at"].notna().all()
    listed = registry.list_versions(settings)
    assert listed.loc[listed["active"], "version"].tolist() == [v2, v2]
    assert not listed.loc[listed["version"] == v1, "active"].any()


def test_activating_an_unknown_version_raises_and_changes_nothing(settings):
    shared = _register_both_in_one_second(settings)
    registry.activate(shared, task="both", reason="trained", settings=settings)
    regression_only = _register(settings, tasks=("regression",))["regression"]
    assert regression_only not in registry.list_versions(settings).query("task == 'classification'")["version"].tolist()
    history_before = registry.activation_history(settings)
    active_before = {t: r["version"] for t, r in registry.active_versions(settings).items()}

    with pytest.raises(RegistryError, match="19990101000000"):
        registry.activate("19990101000000", task="regression", settings=settings)
    with pytest.raises(RegistryError, match="nothing was activated"):
        registry.activate("19990101000000", task="both", settings=settings)
    # The regression task has this version, the classification task has not: neither is activated.
    with pytest.raises(RegistryError, match="no classification model has version"):
        registry.activate(regression_only, task="both", settings=settings)
    with pytest.raises(RegistryError, match="unknown task"):
        registry.activate(regression_only, task="marks", settings=settings)

    assert registry.activation_history(settings).equals(history_before)
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == active_before


def test_a_model_that_does_not_beat_naive_is_never_activated(settings):
    good = _register(settings)["regression"]
    registry.activate(good, task="both", reason="trained", settings=settings)
    history_before = registry.activation_history(settings)
    weak = _register(settings, failing=("classification",))["regression"]
    listed = registry.list_versions(settings).query("version == @weak").set_index("task")["passes_gate"]
    assert listed.to_dict() == {"classification": False, "regression": True}

    for task in ("classification", "both"):  # "both" activates neither: the regression one passed
        with pytest.raises(RegistryError) as refused:
            registry.activate(weak, task=task, settings=settings)
        message = str(refused.value)
        assert f"classification model {weak} does not beat its naive baseline" in message
        assert "cv_rmse 4.5000, naive 4.2500" in message and "nothing was activated" in message
    assert registry.activation_history(settings).equals(history_before)
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == dict.fromkeys(
        registry.TASKS, good)
    assert registry.activate(weak, task="regression", settings=settings) == {"regression": weak}


def test_rollback_makes_the_earlier_version_active_again(settings):
    v1 = _register(settings, tasks=("regression",), slope=1.0)["regression"]
    v2 = _register(settings, tasks=("regression",), slope=2.0)["regression"]
    registry.activate(v1, task="regression", reason="trained", settings=settings)
    registry.activate(v2, task="regression", reason="retrain", settings=settings)
    assert registry.active_versions(settings)["regression"]["version"] == v2
    registry.activate(v1, task="regression", reason="rollback", settings=settings)

    assert registry.active_versions(settings)["regression"]["version"] == v1
    history = registry.activation_history(settings)
    assert history["version"].tolist() == [v1, v2, v1]
    assert history["reason"].tolist() == ["trained", "retrain", "rollback"]
    assert history["previous_version"].tolist()[1:] == [v1, v2]
    model, version = load_artifact("regression", settings=settings)
    assert version == v1
    assert model["model"].predict(np.array([[5.0]]))[0] == pytest.approx(5.0)
    listed = registry.list_versions(settings).set_index("version")
    assert bool(listed.loc[v1, "active"]) and not bool(listed.loc[v2, "active"])


def test_a_verified_artifact_loads_and_predicts(settings):
    versions = _register(settings, slope=2.0)
    registry.activate(versions["regression"], task="regression", settings=settings)
    artifact, version = load_artifact("regression", settings=settings)
    assert version == versions["regression"]
    assert artifact["algorithm"] == "linear"
    np.testing.assert_allclose(artifact["model"].predict(np.array([[1.0], [4.0]])), [2.0, 8.0])
    # A specific version loads even when it is not active.
    artifact, version = load_artifact("classification", versions["classification"], settings=settings)
    assert version == versions["classification"]


def test_a_tampered_artifact_is_refused_unloaded(settings):
    version = _register(settings, tasks=("regression",))["regression"]
    registry.activate(version, task="regression", settings=settings)
    path = settings.runs_dir / "artifacts" / f"regression-{version}.joblib"
    assert path.is_file()
    with path.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RegistryError, match="sha256") as refused:
        load_artifact("regression", settings=settings)
    assert str(path) in str(refused.value)
    with pytest.raises(RegistryError, match="refusing to load"):
        load_artifact("regression", version, settings=settings)


def test_a_deleted_artifact_is_said_to_be_missing(settings):
    version = _register(settings, tasks=("regression",))["regression"]
    registry.activate(version, task="regression", settings=settings)
    path = settings.runs_dir / "artifacts" / f"regression-{version}.joblib"
    path.unlink()
    with pytest.raises(RegistryError, match="missing") as missing:
        load_artifact("regression", settings=settings)
    assert str(path) in str(missing.value)
    assert version in str(missing.value)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"regression": {"version": "1"}}', '{"regression": 3}'])
def test_a_damaged_active_models_file_is_a_registry_error_not_a_crash(settings, content):
    registry.active_sidecar(settings).parent.mkdir(parents=True, exist_ok=True)
    registry.active_sidecar(settings).write_text(content)
    with pytest.raises(registry.RegistryError, match="damaged; run `studyrec activate`"):
        registry.read_active_sidecar(settings)


def test_a_version_activated_by_hand_is_pinned_until_unpinned_or_replaced_by_hand(settings):
    first = _register(settings)["regression"]
    registry.activate(first, "both", reason="trained", settings=settings)
    assert registry.pinned_versions(settings) == {}  # a training's activation pins nothing
    second = _register(settings, slope=2.0)["regression"]
    registry.activate(second, "regression", reason="rollback", settings=settings, pinned=True)
    assert registry.pinned_versions(settings) == {"regression": second}
    registry.activate(first, "regression", reason="rollback", settings=settings, pinned=True)  # another, by hand
    assert registry.pinned_versions(settings) == {"regression": first}
    listed = registry.list_versions(settings).set_index(["task", "version"])["pinned"]
    assert listed[("regression", first)] and not listed[("regression", second)]
    assert not listed[("classification", first)]
    assert registry.unpin("both", settings=settings) == {"regression": first}
    assert registry.pinned_versions(settings) == {}
    assert registry.active_versions(settings)["regression"]["version"] == first  # still active, just not pinned
    history = registry.activation_history(settings)
    assert history["pinned"].tolist() == [False, False, True, True, False]
    assert history["reason"].iloc[-1] == "unpinned"
    assert registry.unpin("both", settings=settings) == {}  # nothing pinned: nothing recorded
    assert len(registry.activation_history(settings)) == len(history)
