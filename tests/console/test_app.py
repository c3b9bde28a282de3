"""The console as a whole: who is signed in, the tabs, and a plain message when it cannot start."""

from __future__ import annotations

import logging
import subprocess
import sys

from studyrec_lib.console import app as console_app
from studyrec_lib.console.app import TABS, build_console
from studyrec_lib.core.config import PROJECT_ROOT, Settings


def test_the_console_names_the_teacher_and_shows_every_tab(console_settings: Settings):
    widget = build_console(warehouse=str(console_settings.warehouse), teacher="tea", admin=False)
    console = widget.console
    assert "Signed in as <b>tea</b> (teacher)" in widget.children[0].value
    assert [console.tabs.get_title(i) for i in range(len(TABS))] == list(TABS)
    console.tabs.selected_index = TABS.index("Models")  # a tab is built when it is opened
    models = console.panel("Models")
    assert console.tabs.children[TABS.index("Models")] is models.widget
    assert models.rollback_button not in models.widget.children
    admin = build_console(warehouse=str(console_settings.warehouse), teacher="boss", admin=True).console
    assert admin.panel("Models").rollback_button in admin.panel("Models").widget.children


def test_signing_in_builds_only_the_upload_tab_and_loads_no_scikit_learn(console_settings: Settings):
    code = (f"import sys; from studyrec_lib.console import build_console; "
            f"w = build_console(warehouse={str(console_settings.warehouse)!r}, teacher='tea'); "
            "print(sorted(w.console._panels), 'sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['Upload'] False"


def test_a_console_that_cannot_start_shows_a_plain_message(monkeypatch, caplog, tmp_path):
    def broken(*_args, **_kwargs):
        raise OSError(f"{tmp_path}/warehouse.duckdb: Permission denied")

    monkeypatch.setattr(console_app, "TeacherConsole", broken)
    with caplog.at_level(logging.ERROR, logger="studyrec_lib.console.app"):
        widget = build_console(warehouse=str(tmp_path / "warehouse.duckdb"), teacher="tea")
    assert not hasattr(widget, "console") and "cannot start" in widget.value and str(tmp_path) not in widget.value
    assert "Permission denied" in caplog.text
