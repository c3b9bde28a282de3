"""Withdraw an upload (a teacher's mistaken file): its rows stop counting, and the record says who, why and when.

Nothing is deleted, so a withdrawal can be audited and its file's rows still read. The dataset's status becomes
``withdrawn``: ``training_examples`` and the open rows of the at-risk lists read loaded datasets only, so its rows
leave both at once, and where it had superseded an earlier upload's row (same student, semester and subject) that
row is the latest again. Models already trained on it keep what they learned until the next training; the result
names the active versions that did.
"""

from __future__ import annotations

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.input_limits import echo

LOADED, WITHDRAWN = "loaded", "withdrawn"  # datasets.status
MAX_REASON_CHARS = 500  # a sentence or two; the reason is shown in the uploads' history
MAX_NAME_CHARS = 100  # who withdrew it: a hub or OS user name
WITHDRAWAL_COLUMNS = ("withdrawn_by", "withdrawal_reason", "withdrawn_at")


class WithdrawalRefused(StudyRecError):
    """The withdrawal was refused (unknown dataset, already withdrawn, no reason); nothing changed."""


def _required_text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise WithdrawalRefused(f"give {what}: a withdrawal is recorded with who withdrew the upload and why.")
    if len(text) > limit:
        raise WithdrawalRefused(f"{what} is {len(text):,} characters long; keep it to {limit:,}.")
    return text


def withdraw_dataset(dataset_id: int, withdrawn_by: str, reason: str, settings: Settings | None = None) -> dict:
    """Withdraw a loaded dataset and record who withdrew it, why and when, in one transaction.

    Args:
        dataset_id: the upload to withdraw (``studyrec datasets`` lists them).
        withdrawn_by: who withdraws it (a hub or OS user name).
        reason: why, in words the uploads' history shows.
        settings: where the warehouse is.

    Returns:
        The dataset's id, name, file and new status; who, why and when; how many of its rows it loaded; how
        many training rows left with it and how many earlier rows it had superseded are the latest again; and
        the active model versions trained on it (task -> version), which a new training would replace.

    Raises:
        WithdrawalRefused: no such dataset, already withdrawn (or not loaded), or no reason or name given, or
            one too long. The warehouse is unchanged.
    """
    reason = _required_text(reason, "a reason", MAX_REASON_CHARS)
    withdrawn_by = _required_text(withdrawn_by, "who withdraws it", MAX_NAME_CHARS)
    with warehouse.transaction(settings or load_settings()) as con:
        row = con.execute("SELECT name, source_file, status, rows_loaded FROM datasets WHERE dataset_id = ?",
                          [dataset_id]).fetchone()
        if row is None:
            raise WithdrawalRefused(f"there is no dataset {dataset_id} (`studyrec datasets` lists them).")
        name, source_file, status, rows_loaded = row
        if status != LOADED:
            raise WithdrawalRefused(_not_loaded(con, dataset_id, status))
        training_before = _training_rows(con)
        own_training_rows = _training_rows(con, dataset_id)
        withdrawn_at = utc_now()
        con.execute("UPDATE datasets SET status = ? WHERE dataset_id = ?", [WITHDRAWN, dataset_id])
        con.execute("INSERT INTO dataset_withdrawals (dataset_id, withdrawn_by, reason, withdrawn_at) "
                    "VALUES (?, ?, ?, ?)", [dataset_id, withdrawn_by, reason, withdrawn_at])
        restored = _training_rows(con) - (training_before - own_training_rows)
        trained_on_it = dict(con.execute(
            "SELECT a.task, a.version FROM active_models AS a JOIN model_versions AS v USING (task, version) "
            "WHERE coalesce(list_contains(CAST(v.dataset_ids AS INTEGER[]), ?), false) ORDER BY a.task",
            [dataset_id]).fetchall())
    return {"dataset_id": dataset_id, "name": name, "source_file": source_file, "status": WITHDRAWN,
            "withdrawn_by": withdrawn_by, "reason": reason, "withdrawn_at": withdrawn_at, "rows_loaded": rows_loaded,
            "training_rows_removed": own_training_rows, "training_rows_restored": restored,
            "active_models_trained_on_it": trained_on_it}


def _training_rows(con, dataset_id: int | None = None) -> int:
    if dataset_id is None:
        return int(con.execute("SELECT count(*) FROM training_examples").fetchone()[0])
    return int(con.execute("SELECT count(*) FROM training_examples WHERE dataset_id = ?", [dataset_id]).fetchone()[0])


def _not_loaded(con, dataset_id: int, status: str) -> str:
    """Why a dataset that is not loaded cannot be withdrawn: by whom, when and why it already was."""
    earlier = con.execute("SELECT withdrawn_by, reason, withdrawn_at FROM dataset_withdrawals WHERE dataset_id = ?",
                          [dataset_id]).fetchone()
    if earlier is None:
        return f"dataset {dataset_id} is {status}, not loaded: only a loaded dataset can be withdrawn."
    by, why, at = earlier
    return (f"dataset {dataset_id} was already withdrawn by {echo(by)} on {at:%Y-%m-%d %H:%M} UTC "
            f"(reason: {echo(why)!r}).")


def list_withdrawals(settings: Settings | None = None) -> pd.DataFrame:
    """Every withdrawal: ``dataset_id`` and :data:`WITHDRAWAL_COLUMNS`, oldest dataset first."""
    return warehouse.query_frame(
        "SELECT dataset_id, withdrawn_by, reason AS withdrawal_reason, withdrawn_at FROM dataset_withdrawals "
        "ORDER BY dataset_id", settings=settings)


def with_withdrawals(datasets: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """``datasets`` (with a ``dataset_id`` column) with who withdrew each, why and when (empty where none did)."""
    return datasets.merge(list_withdrawals(settings), on="dataset_id", how="left")
