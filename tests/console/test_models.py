"""Model versions in the console: the active marker, artifacts with their sha256, rollback for admins only."""

from __future__ import annotations

import base64
import hashlib
import re

from studyrec_lib import registry
from studyrec_lib.console.models import ModelsPanel
from studyrec_lib.core.config import Settings

REPORTS = "/services/reports/"


def _second_version(settings: Settings) -> str:
    """Register the active artifacts again as a newer version (not active)."""
    from tests.artifacts import load_artifact

    entries = {task: {"artifact": load_artifact(task, settings=settings)[0], "algorithm": "again",
                      "training_rows": 1, "data_sha256": "1" * 64} for task in registry.TASKS}
    return registry.register(entries, settings.runs_dir / "run-2" / "artifacts", "run-2", settings)["regression"]


def test_a_teacher_sees_the_versions_and_downloads_an_artifact_whose_sha256_matches(console_settings: Settings):
    panel = ModelsPanel(console_settings, "tea", admin=False, reports_url=REPORTS)
    active = registry.active_versions(console_settings)["regression"]
    assert active["version"] in panel.table.value and "regression and classification" in panel.table.value
    panel.version.value = active["version"]
    links = re.findall(r'href="data:application/octet-stream;base64,([^"]+)"', panel.details.value)
    assert len(links) == 2
    digests = {hashlib.sha256(base64.b64decode(link)).hexdigest() for link in links}
    assert active["artifact_sha256"] in digests
    assert f"sha256 {active['artifact_sha256']}" in panel.details.value
    assert "model_card.md" in panel.details.value


def test_only_an_admin_rolls_back_and_the_activation_names_them(console_settings: Settings):
    newer = _second_version(console_settings)
    older = registry.active_versions(console_settings)["regression"]["version"]
    teacher = ModelsPanel(console_settings, "tea", admin=False, reports_url=REPORTS)
    assert teacher.rollback_button not in teacher.widget.children
    teacher.version.value, teacher.confirm.value = newer, True
    assert not teacher.roll_back()
    assert registry.active_versions(console_settings)["regression"]["version"] == older
    admin = ModelsPanel(console_settings, "boss", admin=True, reports_url=REPORTS)
    admin.version.value = newer
    assert not admin.roll_back()  # not confirmed
    admin.confirm.value = True
    assert admin.roll_back()
    active = registry.active_versions(console_settings)
    assert {task: entry["version"] for task, entry in active.items()} == dict.fromkeys(registry.TASKS, newer)
    assert "rolled back by boss" in active["regression"]["reason"]
    assert registry.pinned_versions(console_settings) == dict.fromkeys(registry.TASKS, newer)  # trainings keep it
