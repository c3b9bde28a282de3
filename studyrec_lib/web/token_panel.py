"""A signed-in student's own API tokens, in the student app: make one (shown once), see them, revoke one.

Only the student the server identified gets this panel, and it acts on that student's tokens only: the
student id comes from the app, never from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import ipywidgets as widgets
import pandas as pd

from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.defaults import TOKEN_DAYS
from studyrec_lib.web.tokens import create_token, list_tokens, revoke_token

TOKEN_NAME = "made in the student app"
INTRO = ("<h4>Your API token</h4><p>A token lets a program ask for your predictions (<code>POST "
         "/api/predict/</code> with <code>Authorization: Bearer TOKEN</code>). It is shown once, ends after "
         f"{TOKEN_DAYS} days, and you can revoke it here at any time.</p>")


class TokenPanel:
    """The panel's widgets; ``guarded`` wraps each button's action so a failure shows a plain message."""

    def __init__(self, settings: Settings, student_id: str,
                 guarded: Callable[[Callable[[], object]], Callable[..., None]]):
        self.settings, self.student_id, self._guarded = settings, student_id, guarded
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

    def create(self) -> str:
        """Make a token for this student and show it once; returns it."""
        token_id, token = create_token(self.student_id, TOKEN_NAME, self.settings)
        self.shown.value = (f'<p>Your new token {token_id} (copy it now: it is not shown again): '
                            f'<code class="studyrec-token-value">{escape(token)}</code></p>')
        self.refresh()
        return token

    def revoke(self, token_id: int) -> None:
        """Revoke one of this student's tokens (another student's id is refused by the library)."""
        revoke_token(token_id=token_id, settings=self.settings, student_id=self.student_id)
        self.shown.value = f"<p>Token {token_id} is revoked.</p>"
        self.refresh()

    def active(self) -> pd.DataFrame:
        """This student's tokens that still work."""
        tokens = list_tokens(self.settings, student_id=self.student_id)
        live = tokens["revoked_at"].isna() & (tokens["expires_at"].isna() | (tokens["expires_at"] > utc_now()))
        return tokens[live]

    def refresh(self) -> None:
        rows = []
        for token in self.active().itertuples():
            ends = "never" if pd.isna(token.expires_at) else f"{token.expires_at:%Y-%m-%d}"
            revoke = widgets.Button(description="Revoke")
            revoke.add_class(f"studyrec-token-revoke-{token.token_id}")
            revoke.on_click(self._guarded(lambda token_id=int(token.token_id): self.revoke(token_id)))
            label = widgets.HTML(f"Token {token.token_id}, made {token.created_at:%Y-%m-%d}, ends {ends}")
            rows.append(widgets.HBox([label, revoke], layout=widgets.Layout(flex_flow="row wrap")))
        self.listing.children = rows or [widgets.HTML("<p>You have no API token.</p>")]
