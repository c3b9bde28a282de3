"""What the student app's page needs from the server side, whichever process answers it.

Two answers: :class:`~studyrec_lib.web.local_backend.LocalBackend` reads the warehouse and the active models in
the app's own kernel (``make app``, an analyst's JupyterLab); :class:`~studyrec_lib.web.api_client.ApiBackend`
asks the API, which holds the models once for every student (the hub's student app: each kernel then holds only
widgets). The page is the same; a test drives both.
"""

from __future__ import annotations

from typing import Protocol


class AppBackend(Protocol):
    student_id: str | None  # the student the server identified, or None (anonymous)
    note: str | None  # a sentence for the page when the identity could not be established

    def subjects(self) -> list[str]:
        """The active models' subjects; raises ``NoActiveModel`` before any training."""

    def predict(self, payload: dict) -> dict:
        """One prediction of checked inputs, with this student's weak subjects, logged under this student."""

    def courses(self) -> list[dict]:
        """This student's recorded courses, latest semester first, open rows first."""

    def tokens(self) -> list[dict]:
        """This student's API tokens that still work: ``token_id``, ``created``, ``ends`` (dates, or None)."""

    def create_token(self) -> tuple[int, str]:
        """A new API token for this student: (id, token); the token is never shown again."""

    def revoke_token(self, token_id: int) -> None:
        """Revoke one of this student's own tokens."""

    def close(self) -> None:
        """Flush what is logged and release connections."""
