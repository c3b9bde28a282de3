"""A signed-in student's own API tokens, in the student app: make one (shown once), see them, revoke one.

Only the student the server identified gets this panel, and it acts on that student's tokens only: the
student comes from the app's backend (the hub sign-in), never from the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

import ipywidgets as widgets

from studyrec_lib.core.defaults import TOKEN_DAYS
from studyrec_lib.web.app_backend import AppBackend

INTRO = ("<h4>Your API token</h4><p>A token lets a program ask for your predictions (<code>POST "
         "/api/predict/</code> with <code>Authorization: Bearer TOKEN</code>). It is shown once, ends after "
         f"{TOKEN_DAYS} days, and you can revoke it here at any time.</p>")
UNAVAILABLE = "Your tokens cannot be listed just now. Reload the page in a minute."
NOT_NOW = "That did not work just now (the server is busy). Please try again in a minute."

log = logging.getLogger(__name__)


class TokenPanel:
    """The panel's widgets; ``guarded`` wraps each button's action so a failure shows a plain message."""

    def __init__(self, backend: AppBackend, guarded: Callable[[Callable[[], object]], Callable[..., None]]):
        self.backend, self._guarded = backend, guarded
        self.create_button = widgets.Button(description="Create an API token")
        self.create_button.add_class("studyrec-token-create")
        self.create_button.on_click(guarded(self.create))
        self.shown = widgets.HTML()
        self.shown.add_class("studyrec-token-new")
        self.listing = widgets.VBox([])
        self.listing.add_class("studyrec-token-list")
        self.widget = widgets.VBox([widgets.HTML(INTRO), self.create_button, self.shown, self.listing])
        self.widget.add_class("studyrec-tokens")
        self.refresh()

    def create(self) -> str | None:
        """Make a token for this student and show it once; returns it (None when it could not be made)."""
        try:
            token_id, token = self.backend.create_token()
        except Exception:
            log.exception("student app: no token made for %s", self.backend.student_id)
            self.shown.value = f"<p>{NOT_NOW}</p>"
            return None
        self.shown.value = (f'<p>Your new token {token_id} (copy it now: it is not shown again): '
                            f'<code class="studyrec-token-value">{escape(token)}</code></p>')
        self.refresh()
        return token

    def revoke(self, token_id: int) -> bool:
        """Revoke one of this student's tokens (another student's is refused by the backend)."""
        try:
            self.backend.revoke_token(token_id)
        except Exception:
            log.exception("student app: token %s of %s not revoked", token_id, self.backend.student_id)
            self.shown.value = f"<p>{NOT_NOW}</p>"
            return False
        self.shown.value = f"<p>Token {token_id} is revoked.</p>"
        self.refresh()
        return True

    def refresh(self) -> None:
        try:
            tokens = self.backend.tokens()
        except Exception:  # the rest of the page still works
            log.exception("student app: the tokens of %s could not be listed", self.backend.student_id)
            self.listing.children = [widgets.HTML(f"<p>{UNAVAILABLE}</p>")]
            return
        rows = []
        for token in tokens:
            token_id = int(token["token_id"])
            revoke = widgets.Button(description="Revoke")
            revoke.add_class(f"studyrec-token-revoke-{token_id}")
            revoke.on_click(self._guarded(lambda token_id=token_id: self.revoke(token_id)))
            label = widgets.HTML(f"Token {token_id}, made {escape(token['created'])}, "
                                 f"ends {escape(token['ends'] or 'never')}")
            rows.append(widgets.HBox([label, revoke], layout=widgets.Layout(flex_flow="row wrap")))
        self.listing.children = rows or [widgets.HTML("<p>You have no API token.</p>")]
