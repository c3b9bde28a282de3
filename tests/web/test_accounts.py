"""Hub accounts linked to student ids, as the CLI links them and the app reads them."""

import json
import os
import subprocess
import sys

import pytest

from studyrec_lib.web.accounts import AccountError, link_account, list_accounts, student_of, unlink_account
from studyrec_lib.web.local_backend import app_identity


def test_a_linked_hub_account_is_its_student_whatever_the_case_of_its_name(settings):
    link_account("Alice", "S00016", settings)
    assert student_of("alice", settings) == "S00016" == student_of(" ALICE ", settings)
    link_account("alice", "S00017", settings)  # re-linked, not doubled
    assert list_accounts(settings)[["hub_user", "student_id"]].values.tolist() == [["alice", "S00017"]]
    unlink_account("alice", settings)
    assert student_of("alice", settings) is None
    with pytest.raises(AccountError, match="no linked hub account 'alice'"):
        unlink_account("alice", settings)


def test_the_app_speaks_for_the_linked_student_only(settings):
    link_account("bob", "S00002", settings)
    assert app_identity(settings, environ={}, student="bob") == ("S00002", None)
    student, note = app_identity(settings, environ={}, student="mallory")
    assert student is None and "not linked" in note
    # the hub's name in the notebook wins over anything in the environment
    assert app_identity(settings, environ={"JUPYTERHUB_USER": "S00009"}, student="bob")[0] == "S00002"


def test_studyrec_accounts_links_and_lists(settings):
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "accounts", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    linked = run("link", "--hub-user", "Carol", "--student-id", "S00003")
    assert linked.returncode == 0, linked.stderr
    listed = run("list", "--json")
    assert [(a["hub_user"], a["student_id"]) for a in json.loads(listed.stdout)] == [("carol", "S00003")]
    missing = run("link", "--hub-user", "dave")
    assert missing.returncode == 2 and "give both --hub-user and --student-id" in missing.stderr
