"""Whose account a hub user is, for the API: cached, and kept while another process holds the warehouse."""

from __future__ import annotations

import dataclasses
import time

import pytest

from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.web.accounts import link_account, unlink_account
from studyrec_lib.web.api_callers import HubAccounts, is_service_token


def test_a_known_account_keeps_its_last_link_while_the_warehouse_is_held(settings, hold_warehouse):
    link_account("ada", "S00001", settings)
    quick = dataclasses.replace(settings, lock_timeout_s=0.2)
    accounts = HubAccounts(quick, fresh_s=0.05)
    assert accounts.caller("Ada").student_id == "S00001"
    time.sleep(0.1)  # the fresh answer has expired: the next call reads the warehouse
    with hold_warehouse(settings.warehouse):
        assert accounts.caller("ada").student_id == "S00001"
        with pytest.raises(WarehouseLocked):
            accounts.caller("never-seen")  # nothing to stand in for it


def test_an_unlinked_account_has_no_student_and_no_stale_link(settings):
    link_account("bob", "S00002", settings)
    accounts = HubAccounts(settings, fresh_s=0.05)
    assert accounts.caller("bob").student_id == "S00002"
    unlink_account("bob", settings)
    time.sleep(0.1)
    caller = accounts.caller("bob")
    assert caller.student_id is None and "not linked" in caller.note
    assert caller.rate_key == "hub-user:bob"


@pytest.mark.parametrize(("token", "expected"), [("s3cret", True), ("s3cre", False), ("s3crett", False),
                                                 ("", False)])
def test_only_the_service_token_itself_is_the_service_token(token, expected):
    assert is_service_token(token, "s3cret") is expected
    assert is_service_token(token, "") is False  # no service token configured: nobody speaks for hub users
