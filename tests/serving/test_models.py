"""Loading the active models: only registered, unchanged artifacts from inside the runs folder are unpickled."""

import json
from pathlib import Path

import pytest

from studyrec_lib import registry
from studyrec_lib.core.config import load_settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.serving.models import NoActiveModel, load_active_models


class _RunsCodeWhenUnpickled:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


@pytest.mark.parametrize(("where", "refusal"), [
    ("outside", "not inside the runs folder"),  # a pickle elsewhere, with that file's own sha256
    ("inside", "not the one the registry activated"),  # inside the runs folder, but the registry never recorded it
])
def test_a_pickle_the_registry_did_not_activate_is_never_unpickled(copy_of_trained, tmp_path, where, refusal):
    import joblib

    marker = tmp_path / "code-ran"
    planted = (tmp_path / "elsewhere" if where == "outside" else copy_of_trained.runs_dir / "planted") / "r.joblib"
    planted.parent.mkdir()
    joblib.dump(_RunsCodeWhenUnpickled(marker), planted)
    sidecar = registry.active_sidecar(copy_of_trained)
    active = json.loads(sidecar.read_text())
    active["regression"].update(artifact_path=str(planted), artifact_sha256=file_sha256(planted))
    sidecar.write_text(json.dumps(active))
    with pytest.raises(registry.RegistryError, match=refusal):
        load_active_models(copy_of_trained)
    assert not marker.exists()


def test_a_link_inside_the_runs_folder_to_a_pickle_outside_is_refused(copy_of_trained, tmp_path):
    sidecar = registry.active_sidecar(copy_of_trained)
    active = json.loads(sidecar.read_text())
    real = active["classification"]["artifact_path"]
    outside = tmp_path / "outside.joblib"
    outside.write_bytes(Path(real).read_bytes())
    link = copy_of_trained.runs_dir / "link.joblib"
    link.symlink_to(outside)
    active["classification"]["artifact_path"] = str(link)
    sidecar.write_text(json.dumps(active))
    with pytest.raises(registry.RegistryError, match="not inside the runs folder"):
        load_active_models(copy_of_trained)


def test_a_predictor_given_only_the_warehouse_finds_its_models(trained_settings, monkeypatch):
    """The runs folder defaults to the one beside the warehouse, where its models were trained."""
    monkeypatch.delenv("STUDYREC_RUNS", raising=False)
    monkeypatch.delenv("STUDYREC_WAREHOUSE", raising=False)
    only_warehouse = load_settings(warehouse=trained_settings.warehouse)
    assert only_warehouse.runs_dir == trained_settings.runs_dir
    models = load_active_models(only_warehouse)
    assert set(models.versions) == {"regression", "classification"}


def test_no_active_model_before_the_first_activation(settings):
    with pytest.raises(NoActiveModel, match="no trained model is active yet"):
        load_active_models(settings)
