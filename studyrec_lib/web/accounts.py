"""Hub accounts linked to student ids: who a signed-in hub user is in the teachers' files.

A hub admin (or operator) links each student's hub account once (``studyrec accounts link``); the student
app asks here which student a signed-in hub user is, and shows nothing of anyone while the link is missing.
"""

from __future__ import annotations

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import StudyRecError


class AccountError(StudyRecError):
    pass


def hub_name(user: str) -> str:
    """A hub user's name as JupyterHub stores it (lower case, trimmed)."""
    return user.strip().lower()


def not_linked_note(hub_user: str) -> str:
    """What a signed-in student reads while their hub account has no student record."""
    return (f"Your account {hub_user} is not linked to a student record yet, so no marks or weak subjects of "
            "yours are shown. Ask your teacher to link it.")


def link_account(hub_user: str, student_id: str, settings: Settings | None = None) -> None:
    """Link (or re-link) a hub account to a student id."""
    if not hub_name(hub_user) or not student_id.strip():
        raise AccountError("give both --hub-user and --student-id.")
    with warehouse.transaction(settings) as con:
        con.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)",
                    [hub_name(hub_user), student_id.strip(), utc_now()])


def unlink_account(hub_user: str, settings: Settings | None = None) -> None:
    with warehouse.transaction(settings) as con:
        if not con.execute("DELETE FROM accounts WHERE hub_user = ? RETURNING 1", [hub_name(hub_user)]).fetchall():
            raise AccountError(f"no linked hub account {hub_name(hub_user)!r}; see `studyrec accounts list`.")


def student_of(hub_user: str, settings: Settings | None = None) -> str | None:
    """The student id a hub account is linked to, or None."""
    with warehouse.connect(settings, read_only=True) as con:
        row = con.execute("SELECT student_id FROM accounts WHERE hub_user = ?", [hub_name(hub_user)]).fetchone()
    return row[0] if row else None


def list_accounts(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame("SELECT hub_user, student_id, linked_at FROM accounts ORDER BY hub_user",
                                 settings=settings)
