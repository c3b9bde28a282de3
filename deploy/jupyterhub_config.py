"""StudyRec's front door: one JupyterHub sign-in that sends each role to its own door (README: Sign-in).

Started by ``make hub`` (``jupyterhub -f deploy/jupyterhub_config.py``) from the project's venv. It binds
127.0.0.1:$STUDYREC_HUB_PORT (8080); the hub's own API, the proxy's API and the services listen on free loopback
ports picked at each start. The roles come from three hub groups that hub admins fill (/hub/admin):

- ``analysts``: JupyterLab on the project, a normal single-user server (as ``make lab``);
- ``teachers``: the teacher console (the ``teacher-console`` service: ``apps/teacher_console.ipynb`` under Voila)
  and the run reports, read-only (the ``reports`` service, ``studyrec_lib.web.reports_service``);
- ``students``: the student app (the ``student-app`` service) and nothing else: no single-user server at all.

The student app's kernels hold only widgets: they ask the ``studyrec-api`` service (the JSON API on a loopback
port, not routed by the proxy) with a service token made at each start, naming the signed-in hub user; the API
holds the models once and finds that user's student record itself (README: Sign-in).

Environment (read once, at start): STUDYREC_HUB_STATE (the hub's private folder, default ``hub-state/`` in the
project), STUDYREC_HUB_PORT, STUDYREC_HUB_IP (127.0.0.1; anything else needs TLS in front), STUDYREC_HUB_ADMINS
(comma-separated hub admin names). Every other STUDYREC_* variable is passed on to the servers and services.
To change the authenticator, spawner or limits, load this file from your own and override (README).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import nativeauthenticator
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.spawner import Spawner
from jupyterhub.utils import random_port, url_path_join
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from tornado import web

from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, configured_umask, load_settings
from studyrec_lib.web.api_config import ENV_API_URL, ENV_SERVICE_TOKEN
from studyrec_lib.web.app_server import AppServerOptions, voila_command

CONSOLE_NOTEBOOK = PROJECT_ROOT / "apps" / "teacher_console.ipynb"

c = get_config()  # noqa: F821 (defined by JupyterHub's config loader)

# --- where the hub keeps its state: one private folder (0700, files 0600), never committed -------------------
ENV_STATE, ENV_PORT, ENV_IP = "STUDYREC_HUB_STATE", "STUDYREC_HUB_PORT", "STUDYREC_HUB_IP"
ENV_ADMINS = "STUDYREC_HUB_ADMINS"
STATE = Path(os.environ.get(ENV_STATE) or PROJECT_ROOT / "hub-state").expanduser().resolve()

# The hub and every process it starts (proxy, services, single-user servers) inherit this umask, so the hub's
# database and secrets, the analysts' notebooks and their kernels' outputs are owner-only like every other
# StudyRec file (STUDYREC_UMASK, 077 by default; `make lab` applies the same one).
os.umask(configured_umask())
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
STATE.chmod(0o700)
for entry in STATE.iterdir():  # files an older start (or another umask) left open
    if entry.is_file() and not entry.is_symlink():
        entry.chmod(0o600)

c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"  # users, groups, roles, tokens, NativeAuth's passwords
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")  # signs the login cookies
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")  # a stale proxy of an earlier start is stopped
# The proxy's API token is not stored: the hub makes a new one at each start and hands it to the proxy it starts.

# --- network: the public port on loopback; everything internal on free loopback ports -----------------------
c.JupyterHub.ip = os.environ.get(ENV_IP) or "127.0.0.1"
c.JupyterHub.port = int(os.environ.get(ENV_PORT) or 8080)
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = random_port()
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{random_port()}"
PROXY = PROJECT_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"  # package.json pins it; `npm ci`
if not PROXY.exists():
    raise SystemExit(f"{PROXY} is missing: run `make hub` (it runs `npm ci` in {PROJECT_ROOT}).")
c.ConfigurableHTTPProxy.command = [str(PROXY)]

# --- authentication: accounts with passwords that a hub admin approves -------------------------------------
# Anyone may sign up at /hub/signup, but nobody signs in until a hub admin approves the account at
# /hub/authorize. Admins (STUDYREC_HUB_ADMINS) are approved at signup, so sign their names up first.
c.JupyterHub.authenticator_class = "nativeauthenticator.NativeAuthenticator"
c.NativeAuthenticator.open_signup = False  # True would approve every signup: never on a campus network
c.NativeAuthenticator.minimum_password_length = 10
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5  # then the account waits seconds_before_next_try (600 s)
c.NativeAuthenticator.allow_all = True  # every *approved* account; approval is the gate (JupyterHub 5+ asks)
c.Authenticator.admin_users = {name.strip() for name in os.environ.get(ENV_ADMINS, "").split(",") if name.strip()}
# its pages: signup, the admins' approval page (/hub/authorize), change password
c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]


class NoStatsd:
    """A timer that records nothing: JupyterHub 6 removed statsd (its pull request 5407), but NativeAuthenticator
    1.3.0's login form still times itself with ``self.statsd``, so every sign-in failed with a 500."""

    def timer(self, name: str) -> NoStatsd:
        return self

    def start(self) -> NoStatsd:
        return self

    def stop(self, send: bool = True) -> None:
        return None


if not hasattr(NativeLoginHandler, "statsd"):
    NativeLoginHandler.statsd = NoStatsd()

# --- roles: three groups, what each may do, where each lands -----------------------------------------------
ANALYSTS, TEACHERS, STUDENTS = "analysts", "teachers", "students"
REPORTS, STUDENT_APP, CULLER, API = "reports", "student-app", "idle-culler", "studyrec-api"  # service names
CONSOLE = "teacher-console"
c.JupyterHub.load_groups = {ANALYSTS: {}, TEACHERS: {}, STUDENTS: {}}  # created if missing; members kept
c.JupyterHub.load_roles = [
    # Every signed-in user. JupyterHub's default here is `self` (own servers, tokens, shares, access to own
    # server); we keep only reading one's own name and groups (what a service may learn about its visitor).
    # JupyterHub logs a warning that `self` is missing: that is the point.
    {"name": "user", "description": "Signed in: read own name and groups",
     "scopes": ["read:users:name!user", "read:users:groups!user"]},
    # `self`: start/stop one's own single-user server (servers!user), use it (access:servers!user), hub API
    # tokens (tokens!user), read one's own user model and activity. No `shares`: an analyst cannot open a server
    # to anyone else.
    {"name": "analyst", "description": "JupyterLab on the project", "scopes": ["self"], "groups": [ANALYSTS]},
    # Only the OAuth sign-in to the teacher console and the reports service; no server.
    {"name": "teacher", "description": "The teacher console and the run reports (read-only)",
     "scopes": [f"access:services!service={CONSOLE}", f"access:services!service={REPORTS}"], "groups": [TEACHERS]},
    # Only the OAuth sign-in to the student app service; no server, no terminal, no contents API, no reports.
    {"name": "student", "description": "The student app only",
     "scopes": [f"access:services!service={STUDENT_APP}"], "groups": [STUDENTS]},
    # The culler lists users and servers, reads their last activity and stops idle servers; nothing else.
    {"name": CULLER, "description": "Stop idle single-user servers",
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"], "services": [CULLER]},
]
LANDING = ((ANALYSTS, ""), (TEACHERS, f"/services/{CONSOLE}/"), (STUDENTS, f"/services/{STUDENT_APP}/"))


def landing_url(handler: BaseHandler) -> str:
    """Where a user lands after sign-in or at "/": the first of their groups in LANDING order.

    "" means JupyterHub's own default: start the user's server and open it (analysts, on /lab). A user in no
    group lands on the hub's home page (admins on the admin page) until an admin puts them in one.
    """
    user = handler.current_user
    if user is None:
        return ""  # not signed in: the hub's login page
    groups = {group.name for group in user.groups}
    for group, url in LANDING:
        if group in groups:
            return url_path_join(handler.base_url, url) if url else ""
    return url_path_join(handler.hub.base_url, "admin" if user.admin else "home")


c.JupyterHub.default_url = landing_url

# --- analysts' single-user servers: JupyterLab on the project, as `make lab` -----------------------------------
# SimpleLocalProcessSpawner runs every server as the hub's own OS account: an analyst's terminal can read
# everything that account can (the warehouse, hub-state/). Make only trusted staff analysts, or give them
# their own accounts (c.JupyterHub.spawner_class = "localprocess") or containers (DockerSpawner, KubeSpawner).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")  # not /tmp (shared)
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]  # this venv's
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.notebook_dir = str(PROJECT_ROOT)
c.Spawner.default_url = "/lab"
SETTINGS = load_settings()
STUDYREC_ENV = {key: value for key, value in os.environ.items()
                if key.startswith("STUDYREC_") and not key.startswith("STUDYREC_HUB_")}
# The same warehouse, runs folder and limits as the hub's shell, as absolute paths (servers start in their home)
STUDYREC_ENV |= {ENV_WAREHOUSE: str(SETTINGS.warehouse), ENV_RUNS: str(SETTINGS.runs_dir)}
c.Spawner.environment = dict(STUDYREC_ENV)
c.JupyterHub.active_server_limit = 20  # analysts' servers at once (~150 MB each idle, more with kernels)


async def refuse_server_outside_analysts(spawner: Spawner) -> None:
    """Only analysts get a single-user server: students and teachers have their services, and no shell."""
    if ANALYSTS not in {group.name for group in spawner.user.groups}:
        raise web.HTTPError(403, f"{spawner.user.name} is not in the {ANALYSTS} group: no server to start.")


c.Spawner.pre_spawn_hook = refuse_server_outside_analysts

# --- services ---------------------------------------------------------------------------------------------
c.JupyterHub.services = [
    {   # the teachers' page (the teacher console will live here): runs/index.html and its reports, read-only
        "name": REPORTS,
        "url": f"http://127.0.0.1:{random_port()}",
        "command": [sys.executable, "-m", "studyrec_lib.web.reports_service"],
        "environment": dict(STUDYREC_ENV),
        "oauth_no_confirm": True,  # our own service: no "authorize this application?" page
        "display": False,
    },
    {   # stops analysts' servers idle for an hour (kernels count as activity while they run)
        "name": CULLER,
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600", "--cull-every=300"],
    },
]
# The API that answers the student app: it holds the active models once for every student. It listens on a
# loopback port the proxy does not route; only the student app (which holds the service token) calls it here.
API_PORT = random_port()
SERVICE_TOKEN = secrets.token_urlsafe(32)  # a new one at each start; never written to disk
SYSTEM_PATH = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
c.JupyterHub.services.append({
    "name": API,
    "command": [sys.executable, "-m", "studyrec_lib.cli", "serve", "--host", "127.0.0.1", "--port", str(API_PORT)],
    "environment": {**STUDYREC_ENV, **SYSTEM_PATH, ENV_SERVICE_TOKEN: SERVICE_TOKEN},
})
# The student app: one Voila server for every student, behind the hub's sign-in (studyrec_lib.web.hub_identity).
# Each page starts its own kernel (the server writes the signed-in student into it, so no preheated pool) of
# about 70 MB: widgets and an HTTP client, no models (studyrec_lib.web.api_client). Kernels with no open page
# are culled after 10 minutes, and anonymous visitors are sent to the login page before any kernel starts.
APP_PORT = random_port()
APP_OPTIONS = AppServerOptions(host="127.0.0.1", port=APP_PORT, preheat=False, cull_idle_timeout_s=600)
c.JupyterHub.services.append({
    "name": STUDENT_APP,
    "url": f"http://127.0.0.1:{APP_PORT}",
    "command": [*voila_command(APP_OPTIONS), f"--Voila.base_url=/services/{STUDENT_APP}/"],
    "cwd": str(PROJECT_ROOT / "deploy" / "student_app"),  # its voila.py: the identity provider and the hook
    "environment": {**STUDYREC_ENV, **SYSTEM_PATH,
                    "JUPYTER_RUNTIME_DIR": str(STATE / "student-app"),  # kernels' connection files: private
                    ENV_API_URL: f"http://127.0.0.1:{API_PORT}", ENV_SERVICE_TOKEN: SERVICE_TOKEN},
    "oauth_no_confirm": True,
    "display": False,
})
# The teacher console: one Voila server for every teacher, behind the hub's sign-in, like the student app; the
# server writes the signed-in teacher (and whether they are a hub admin) into the notebook. Its kernels hold
# the library (uploads, training, the at-risk list): few teachers, so at most 40 kernels, culled when idle.
CONSOLE_PORT = random_port()
CONSOLE_OPTIONS = AppServerOptions(host="127.0.0.1", port=CONSOLE_PORT, preheat=False, cull_idle_timeout_s=1800)
c.JupyterHub.services.append({
    "name": CONSOLE,
    "url": f"http://127.0.0.1:{CONSOLE_PORT}",
    "command": [*voila_command(CONSOLE_OPTIONS, notebook=CONSOLE_NOTEBOOK), f"--Voila.base_url=/services/{CONSOLE}/"],
    "cwd": str(PROJECT_ROOT / "deploy" / "teacher_console"),  # its voila.py: the identity provider and the hook
    "environment": {**STUDYREC_ENV, **SYSTEM_PATH, "JUPYTER_RUNTIME_DIR": str(STATE / "teacher-console")},
    "oauth_no_confirm": True,
    "display": False,
})
