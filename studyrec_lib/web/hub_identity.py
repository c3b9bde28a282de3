"""The student app as one JupyterHub service: the hub signs students in, the server tells the kernel who it is.

Voila runs standalone behind the hub (``deploy/jupyterhub_config.py``, service ``student-app``) with
:class:`HubIdentityProvider`: every request must carry the hub's OAuth sign-in and the ``access:services``
scope of the service (students only), else it is sent to the hub's login and no kernel starts. Before a
page's kernel runs the app notebook, :func:`prelaunch_hook` writes the signed-in hub user into the notebook
(a cell after its ``parameters`` cell), so the identity comes from the hub, never from the page: query
strings, cookies and headers the browser sends do not reach it, and widgets cannot change a Python variable.
"""

from __future__ import annotations

import json
import os

import nbformat
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
from jupyterhub.utils import url_path_join
from tornado.web import HTTPError, RequestHandler

HUB_SECRETS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
IDENTITY_PARAMETER = "student"


class HubIdentityProvider(JupyterHubIdentityProvider):
    """JupyterHub's own identity provider (HubOAuth, scope check, login redirect), fitted to standalone Voila.

    Voila registers an identity provider's handlers as they are (a ServerApp prefixes them with its base URL),
    and starts kernels with the server's whole environment: so the OAuth callback gets the service prefix
    here, and the service's hub token leaves the environment once HubOAuth has read it.
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.pop("token", None)  # Voila passes token=""; the hub's provider has no such setting
        super().__init__(**kwargs)
        _ = (self.hub_auth.api_token, self.hub_auth.oauth_client_id, self.hub_auth.access_scopes)
        for name in HUB_SECRETS:
            os.environ.pop(name, None)

    def get_handlers(self) -> list[tuple]:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
        return [(url_path_join(prefix, path), *rest) for path, *rest in super().get_handlers()]


def signed_in_user(handler: RequestHandler) -> str:
    """The hub user of this request; a request that did not come through the hub's sign-in is refused."""
    user = handler.current_user
    name = getattr(user, "username", None)
    if not name or getattr(user, "hub_user", None) is None:
        raise HTTPError(403, "not signed in through the hub")
    return name


def prelaunch_hook(handler: RequestHandler, notebook: nbformat.NotebookNode, cwd: str) -> nbformat.NotebookNode:
    """Write the signed-in user into the notebook after its ``parameters`` cell (Voila calls this per page)."""
    name = signed_in_user(handler)
    tagged = [position for position, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise HTTPError(500, "the app notebook has no cell tagged 'parameters'")
    position = tagged[0]
    injected = nbformat.v4.new_code_cell(source=f"{IDENTITY_PARAMETER} = {json.dumps(name)}  # from the hub sign-in",
                                         metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(position + 1, injected)
    return notebook
