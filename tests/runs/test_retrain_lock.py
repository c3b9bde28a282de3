"""One retrain at a time: the lock beside the warehouse that the job runner takes before it trains."""

import pytest

from studyrec_lib import registry
from studyrec_lib.demo import example as example_data
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.monitoring.decision import decide
from studyrec_lib.monitoring.drift import compute_drift
from studyrec_lib.monitoring.recent import active_baseline
from studyrec_lib.runs.jobs import run_retrain
from studyrec_lib.runs.retrain_lock import RetrainBusy, retrain_lock
from tests.monitoring.trained_warehouse import runs_table as _runs


def test_a_held_retrain_lock_skips_the_second_retrain(monitored, tmp_path):
    settings, versions = monitored
    _, baseline, _ = active_baseline(settings)
    shifted = shift_frame(example_data.generate(students=12, seed=24), {"midterm_marks": -2.0})
    report = compute_drift(baseline, shifted)
    assert report.status == "drift"
    with retrain_lock(settings):
        with pytest.raises(RetrainBusy), retrain_lock(settings):
            pass
        assert decide(report, None, auto_retrain=True)["retrain"] is True
        outcome = run_retrain(settings, parent_run_id="monitor-x")
    assert outcome["retrain_skipped"] is True and "retrain_run" not in outcome
    assert "another retrain is running" in outcome["reasons"][-1]
    assert _runs(settings).empty  # no training run was started
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions
    with retrain_lock(settings):  # released again
        pass


def test_the_lock_is_a_file_beside_the_warehouse_released_on_error(settings):
    with pytest.raises(ValueError), retrain_lock(settings) as path:
        assert path == settings.warehouse.with_name("warehouse.duckdb.retrain.lock")
        with pytest.raises(RetrainBusy, match="another retrain is running"), retrain_lock(settings):
            pass
        raise ValueError("the training failed")
    with retrain_lock(settings) as again:  # the failure released it
        assert again == path
