"""The whole configuration reaches every notebook: what a job passes and what a notebook builds from it."""

import dataclasses

import papermill
import pytest

from studyrec_lib.core.config import NOTEBOOKS_DIR, Settings, load_settings
from studyrec_lib.core.notebook_config import SETTINGS_FIELDS, notebook_settings, settings_parameters


def test_every_setting_is_a_parameter_and_comes_back_unchanged(tmp_path):
    settings = dataclasses.replace(load_settings(warehouse=tmp_path / "w.duckdb", runs_dir=tmp_path / "elsewhere"),
                                   max_upload_mb=7.5, lock_timeout_s=2.0)
    parameters = settings_parameters(settings)
    assert set(parameters) == {field.name for field in dataclasses.fields(Settings)}
    assert parameters["runs_dir"] == str(tmp_path / "elsewhere")  # text: papermill parameters are JSON
    assert notebook_settings(**parameters) == settings


def test_parameters_left_none_keep_the_environments_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDYREC_RUNS", str(tmp_path / "env-runs"))
    monkeypatch.setenv("STUDYREC_LOCK_TIMEOUT_S", "4")
    built = notebook_settings(warehouse=str(tmp_path / "w.duckdb"), runs_dir=None, max_upload_mb=None,
                              lock_timeout_s=None)
    assert built == dataclasses.replace(load_settings(), warehouse=tmp_path / "w.duckdb")
    assert built.runs_dir == tmp_path / "env-runs" and built.lock_timeout_s == 4.0


def test_an_unknown_setting_is_refused_by_name():
    with pytest.raises(TypeError, match="not a setting: runs_folder"):
        notebook_settings(runs_folder="x")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda path: path.name)
def test_every_notebook_takes_every_setting_as_a_parameter(path):
    declared = set(papermill.inspect_notebook(str(path)))
    assert set(SETTINGS_FIELDS) <= declared, f"{path.name} lacks {set(SETTINGS_FIELDS) - declared}"
    assert "notebook_settings(" in path.read_text()
