"""The student app as one JupyterHub service: the hub signs students in, the server tells the kernel who it is.

Voila runs standalone behind the hub (``deploy/jupyterhub_config.py``, service ``student-app``) with
:class:`HubIdentityProvider`: every request must carry the hub's OAuth sign-in and the ``access:services``
scope of the service (students only), else it is sent to the hub's login and no kernel starts. Before a
page's kernel runs the app notebook, :func:`prelaunch_hook` writes the signed-in hub user into the notebook
(a cell after its ``parameters`` cell), so the identity comes from the hub, never from the page: query
strings, cookies and headers the browser sends do not reach it, and widgets cannot change a Python variable.
"""

from __future__ import annotations

import os

import nbformat
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
from jupyterhub.utils import url_path_join
from tornado.web import HTTPError, RequestHandler

HUB_SECRETS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
IDENTITY_PARAMETER = "student"
TEACHER_PARAMETER, ADMIN_PARAMETER = "teacher", "admin"


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


def _inject(notebook: nbformat.NotebookNode, values: dict[str, object]) -> nbformat.NotebookNode:
    """Assign ``values`` in a cell right after the notebook's ``parameters`` cell, as papermill would."""
    tagged = [position for position, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise HTTPError(500, "the app notebook has no cell tagged 'parameters'")
    # repr() of a str or bool is a Python literal of the same value, whatever characters a name holds
    source = "\n".join(f"{name} = {value!r}  # from the hub sign-in" for name, value in values.items())
    injected = nbformat.v4.new_code_cell(source=source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(tagged[0] + 1, injected)
    return notebook


def prelaunch_hook(handler: RequestHandler, notebook: nbformat.NotebookNode, cwd: str) -> nbformat.NotebookNode:
    """The student app: write the signed-in user into the notebook (Voila calls this per page)."""
    return _inject(notebook, {IDENTITY_PARAMETER: signed_in_user(handler)})


def teacher_prelaunch_hook(handler: RequestHandler, notebook: nbformat.NotebookNode,
                           cwd: str) -> nbformat.NotebookNode:
    """The teacher console: the signed-in teacher, and whether they are a hub admin (who may roll back)."""
    name = signed_in_user(handler)
    admin = bool(handler.current_user.hub_user.get("admin", False))
    return _inject(notebook, {TEACHER_PARAMETER: name, ADMIN_PARAMETER: admin})
