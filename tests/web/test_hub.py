"""The front door: a real JupyterHub with the project's configuration and a real proxy on loopback.

One hub starts for the module with ``deploy/jupyterhub_config.py`` loaded unchanged from a test file that only
swaps the authenticator for JupyterHub's DummyAuthenticator (one shared password), puts three users in the
three groups, and adds a read-only API token to look at servers; it checks each group's door and everything
refused. A second hub runs the configuration as it is (NativeAuthenticator): signup, approval, groups. Hub
state, warehouse and runs live in temp folders. Clients sign in through the login form like a browser does.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.sync_api import Page
from traitlets.config import PyFileConfigLoader

from studyrec_lib import runs
from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, configured_umask, load_settings
from studyrec_lib.web.reports_service import HEADERS

CONFIG = PROJECT_ROOT / "deploy" / "jupyterhub_config.py"
JUPYTERHUB = Path(sys.executable).with_name("jupyterhub")
PASSWORD = "a test password, not a real one"
OBSERVER_TOKEN = "studyrec-test-observer-token-0123456789"
STUDENT, TEACHER, ANALYST = "stu", "tea", "ana"
START_TIMEOUT_S = 60
SPAWN_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
REQUEST_TIMEOUT_S = 20

# Every wait above is bounded; this bounds a test as a whole (the module takes ~25 s on 2 cores).
pytestmark = pytest.mark.timeout(180)

OBSERVER = """
c.JupyterHub.services.append({{"name": "observer", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{"name": "observer", "scopes": ["read:users", "read:servers"],
                                "services": ["observer"]}})
"""


def hub_config(groups: dict[str, list[str]], extra: str = "") -> str:
    """The project's configuration loaded unchanged, with JupyterHub's DummyAuthenticator (one shared password)
    and these group members; ``extra`` lines are appended."""
    load_groups = {group: {"users": users} for group, users in groups.items()}
    return (f"c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(CONFIG)!r})  # noqa: F821 (the project's configuration, unchanged)\n"
            f'c.JupyterHub.authenticator_class = "dummy"\n'
            f"c.DummyAuthenticator.password = {PASSWORD!r}\n"
            f"c.DummyAuthenticator.allow_all = True\n"
            f"c.JupyterHub.load_groups = {load_groups!r}\n{extra}")


@dataclass
class Hub:
    url: str
    state: Path
    runs_dir: Path
    run_id: str
    process: subprocess.Popen
    started_s: float
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False)

    def submit(self, client: httpx.Client, page: str, form: dict[str, str]) -> httpx.Response:
        """POST ``form`` to a hub page as its form does: with the ``_xsrf`` value the page carries."""
        shown = client.get(page)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', shown.text)
        assert shown.status_code == 200 and xsrf, (page, shown.status_code, shown.text[:500])
        return client.post(page, data={**form, "_xsrf": xsrf[1]})

    def login(self, name: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
        """A client signed in as ``name`` through the login form, and where the hub sent it."""
        client = self.client()
        response = self.submit(client, "/hub/login", {"username": name, "password": password})
        assert response.status_code == 302, (response.status_code, response.text[:500])
        return client, response.headers["location"]

    def user_model(self, name: str) -> dict:
        response = httpx.get(f"{self.url}/hub/api/users/{name}", timeout=REQUEST_TIMEOUT_S,
                             headers={"Authorization": f"token {OBSERVER_TOKEN}"})
        response.raise_for_status()
        return response.json()


def _make_run(settings_dir: Path) -> str:
    """One finished run with a report, a model card and an artifact; the index rewritten."""
    settings = load_settings(warehouse=settings_dir / "warehouse.duckdb", runs_dir=settings_dir / "runs")
    run = runs.start_run("train", {}, settings)
    (run.folder / "report.html").write_text("<html><body><h1>Run report</h1></body></html>")
    (run.folder / "model_card.md").write_text("# Model card\n")
    (run.folder / "at_risk.csv").write_text("student_id,subject\nS1,Mathematics\n")
    (run.folder / "artifacts" / "model.joblib").write_bytes(b"not for teachers")
    runs.finish_run(run, "succeeded", {})
    runs.write_index(settings)
    return run.run_id


def _wait_until(check: Callable[[], bool], timeout_s: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the hub exited ({process.returncode}) before {what}"
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _stop(process: subprocess.Popen, children: list[psutil.Process]) -> None:
    """SIGTERM the hub (it stops its proxy, services and servers), then kill whatever it left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def _descendants(process: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kernels_of(hub: Hub) -> list[psutil.Process]:
    """The kernels the hub's services and servers have started."""
    return [p for p in _descendants(hub.process) if "ipykernel" in " ".join(p.cmdline())]


def fill_login_form(page: Page, hub_url: str, name: str, next_path: str) -> None:
    """Open the hub's login page for ``next_path`` and type ``name`` and the shared password (not yet sent)."""
    page.goto(f"{hub_url}/hub/login?next={next_path}", wait_until="commit")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)


@contextlib.contextmanager
def _running_hub(root: Path, config: Path, port: int, env: dict[str, str], run_id: str = "") -> Iterator[Hub]:
    """A hub started from ``config`` with its state, warehouse and runs in ``root``; stopped with all it started."""
    env = {**os.environ, "STUDYREC_HUB_STATE": str(root / "state"), "STUDYREC_HUB_PORT": str(port),
           ENV_WAREHOUSE: str(root / "warehouse.duckdb"), ENV_RUNS: str(root / "runs"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_DATA_DIR": str(root / "data"), **env}
    log = root / "hub.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen([str(JUPYTERHUB), "-f", str(config)], cwd=root, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", root / "state", root / "runs", run_id, process, 0.0, log)
    try:
        try:  # up once the proxy routes to the reports service, the last thing the hub sets up
            _wait_until(lambda: httpx.get(f"{hub.url}/services/reports/", timeout=2).status_code == 302,
                        START_TIMEOUT_S, "the hub and its reports service answered", process)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{log.read_text()[-5000:]}") from None
        hub.started_s = time.monotonic() - started
        yield hub
    finally:
        _stop(process, _descendants(process))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("hub")
    run_id = _make_run(root)
    (root / "warehouse.duckdb").touch()  # a file beside runs/ for the service to refuse
    config = root / "test_hub_config.py"
    config.write_text(hub_config({"students": [STUDENT], "teachers": [TEACHER], "analysts": [ANALYST]},
                                  OBSERVER.format(token=OBSERVER_TOKEN)))
    with _running_hub(root, config, free_port(), {}, run_id) as running:
        yield running


@pytest.fixture(scope="module")
def analyst_lab(hub: Hub) -> tuple[httpx.Client, float]:
    """The analyst signed in and on JupyterLab; the seconds from sign-in to the Lab page."""
    started = time.monotonic()
    client, landing = hub.login(ANALYST)
    assert landing == "/hub/spawn"  # JupyterHub's own default: start the server, then open it
    client.get(landing)
    lab: dict[str, httpx.Response] = {}

    def lab_answers() -> bool:
        response = client.get(f"/user/{ANALYST}/lab", follow_redirects=True)
        lab["response"] = response
        return response.status_code == 200 and response.url.path == f"/user/{ANALYST}/lab"

    _wait_until(lab_answers, SPAWN_TIMEOUT_S, "the analyst's JupyterLab answered", hub.process)
    assert "JupyterLab" in lab["response"].text
    return client, time.monotonic() - started


def _refused(client: httpx.Client, path: str, method: str = "GET") -> httpx.Response:
    """The response a path ends at, following redirects; refused means an error status, not the page."""
    # the hub's own xsrf token, so that a refusal of a write is the permission's, not a missing token's
    headers = {"X-XSRFToken": client.cookies.get("_xsrf", "", path="/hub/") or ""} if method != "GET" else {}
    response = client.request(method, path, follow_redirects=True, headers=headers)
    assert response.status_code in (403, 404, 405, 424), (path, response.status_code, str(response.url))
    return response


@pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")  # in its import
def test_the_default_authenticator_is_native_with_admin_approval(tmp_path: Path, monkeypatch) -> None:
    from nativeauthenticator import NativeAuthenticator
    from traitlets.utils.importstring import import_item

    monkeypatch.setenv("STUDYREC_HUB_STATE", str(tmp_path / "state"))
    for name in ("STUDYREC_HUB_IP", "STUDYREC_HUB_PORT", "STUDYREC_HUB_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    previous = os.umask(0o022)
    try:
        config = PyFileConfigLoader(CONFIG.name, str(CONFIG.parent)).load_config()
    finally:
        os.umask(previous)
    assert issubclass(import_item(config.JupyterHub.authenticator_class), NativeAuthenticator)
    authenticator = NativeAuthenticator(config=config, add_new_table=False)
    assert authenticator.open_signup is False  # every signup waits for an admin's approval
    assert not authenticator.allow_self_approval_for
    assert authenticator.minimum_password_length >= 10 and authenticator.check_common_password
    assert config.JupyterHub.ip == "127.0.0.1" and config.JupyterHub.port == 8080
    assert not config.Authenticator.admin_users  # no admin unless STUDYREC_HUB_ADMINS names one
    user_role = next(role for role in config.JupyterHub.load_roles if role["name"] == "user")
    assert "self" not in user_role["scopes"]  # servers only through the analysts' role
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_the_hub_state_is_private(hub: Hub, analyst_lab) -> None:
    names = {path.name for path in hub.state.iterdir()}
    assert {"jupyterhub.sqlite", "jupyterhub_cookie_secret", "jupyterhub.pid", "proxy.pid"} <= names
    assert stat.S_IMODE(hub.state.stat().st_mode) == 0o700
    for path in hub.state.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        elif path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_the_analyst_lands_on_jupyterlab_on_the_project(hub: Hub, analyst_lab) -> None:
    client, seconds = analyst_lab
    contents = client.get(f"/user/{ANALYST}/api/contents/notebooks")
    assert contents.status_code == 200  # the project's own notebooks folder
    assert any(item["name"] == "01_ingest.ipynb" for item in contents.json()["content"])
    server = next(p for p in _descendants(hub.process) if "jupyterhub-singleuser" in " ".join(p.cmdline()))
    umask = f"Umask:\t{configured_umask():04o}"  # 0077 unless STUDYREC_UMASK says otherwise
    assert umask in Path(f"/proc/{server.pid}/status").read_text()
    assert server.environ()[ENV_RUNS] == str(hub.runs_dir)
    print(f"\nhub start {hub.started_s:.1f} s; analyst sign-in to Lab {seconds:.1f} s")


def test_the_teacher_lands_on_the_console_reads_the_reports_and_nothing_else(hub: Hub, analyst_lab) -> None:
    client, landing = hub.login(TEACHER)
    assert landing == "/services/teacher-console/"
    index = client.get("/services/reports/", follow_redirects=True)
    assert index.status_code == 200 and index.url.path == "/services/reports/"
    assert hub.run_id in index.text and f"{hub.run_id}/report.html" in index.text
    policy = index.headers["content-security-policy"]
    assert policy == HEADERS["Content-Security-Policy"] and "allow-same-origin" not in policy  # opaque origin
    report = client.get(f"/services/reports/{hub.run_id}/report.html")
    assert report.status_code == 200 and "Run report" in report.text
    assert client.get(f"/services/reports/{hub.run_id}/model_card.md").status_code == 200
    table = client.get(f"/services/reports/{hub.run_id}/at_risk.csv")
    assert table.status_code == 200 and table.headers["content-disposition"].startswith("attachment")
    for path in (f"/services/reports/{hub.run_id}/artifacts/model.joblib",
                 f"/services/reports/{hub.run_id}/params.json",
                 "/services/reports/%2e%2e/warehouse.duckdb", "/services/reports/..%2fwarehouse.duckdb",
                 f"/services/reports/{hub.run_id}/..%2f..%2fwarehouse.duckdb", "/services/reports/%2fetc%2fpasswd"):
        assert "not for teachers" not in _refused(client, path).text  # the proxy may normalise a path first
    for method in ("POST", "PUT", "DELETE"):
        _refused(client, f"/services/reports/{hub.run_id}/report.html", method)
    for path in (f"/user/{TEACHER}/lab", "/hub/spawn", "/hub/admin", f"/user/{ANALYST}/lab"):
        _refused(client, path)
    assert hub.user_model(TEACHER)["servers"] == {}

    client.get("/hub/logout")
    after = client.get("/services/reports/", follow_redirects=True)
    assert after.url.path == "/hub/login" and hub.run_id not in after.text  # signed out: back to the login page


def test_the_student_reaches_no_server_and_nothing_else(hub: Hub, analyst_lab) -> None:
    client, landing = hub.login(STUDENT)
    assert landing == "/services/student-app/"  # where the student app service will live
    for path in (f"/user/{STUDENT}/lab", f"/user/{STUDENT}/api/contents", f"/user/{STUDENT}/terminals/1",
                 f"/user/{STUDENT}/files/warehouse.duckdb", "/hub/spawn", f"/hub/spawn/{STUDENT}", "/hub/admin",
                 f"/user/{ANALYST}/lab", f"/user/{ANALYST}/api/contents", "/services/reports/",
                 f"/services/reports/{hub.run_id}/report.html"):
        _refused(client, path)
    _refused(client, f"/hub/api/users/{STUDENT}/tokens", "POST")  # no hub API token either
    _refused(client, f"/hub/api/users/{STUDENT}/server", "POST")
    _refused(client, f"/hub/api/users/{ANALYST}/server", "DELETE")
    assert hub.user_model(STUDENT)["servers"] == {}  # nothing was started on the student's behalf
    assert hub.user_model(ANALYST)["servers"][""]["ready"]


def test_memory_of_hub_proxy_and_one_idle_server(hub: Hub, analyst_lab) -> None:
    processes = {"hub": psutil.Process(hub.process.pid)}
    for child in _descendants(hub.process):
        command = " ".join(child.cmdline())
        if "configurable-http-proxy" in command:
            processes["proxy"] = child
        elif "jupyterhub-singleuser" in command:
            processes["single-user server"] = child
        elif "reports_service" in command:
            processes["reports service"] = child
        elif "jupyterhub_idle_culler" in command:
            processes["idle culler"] = child
    assert set(processes) == {"hub", "proxy", "single-user server", "reports service", "idle culler"}
    rss = {name: process.memory_info().rss / 2**20 for name, process in processes.items()}
    print("\nRSS MB: " + ", ".join(f"{name} {value:.0f}" for name, value in rss.items()))
    assert rss["hub"] + rss["proxy"] + rss["single-user server"] < 1024


def test_with_the_default_authenticator_an_admin_approves_every_account(tmp_path: Path,
                                                                       free_port: Callable[[], int]) -> None:
    """The unmodified configuration: sign up, wait for approval, get approved, be put in a group."""
    admin, newcomer, password = "boss", "newcomer", "correct horse battery staple"
    with _running_hub(tmp_path, CONFIG, free_port(), {"STUDYREC_HUB_ADMINS": admin}) as hub:
        def sign_up(name: str, secret: str) -> str:
            response = hub.submit(hub.client(), "/hub/signup", {
                "username": name, "signup_password": secret, "signup_password_confirmation": secret})
            assert response.status_code == 200
            return response.text

        assert "The signup was successful" in sign_up(admin, password)  # an admin is approved at signup
        assert "sent to the admin" in sign_up(newcomer, password)  # everyone else waits
        assert "at least 10" in sign_up("weak", "password")  # too short, and too common

        refused = hub.submit(hub.client(), "/hub/login", {"username": newcomer, "password": password})
        assert refused.status_code == 200 and "not been authorized" in refused.text  # waits for an admin

        boss, _ = hub.login(admin, password)
        assert newcomer in boss.get("/hub/authorize").text  # the approval page lists the new account
        assert boss.get(f"/hub/authorize/{newcomer}").status_code == 302  # approve
        newcomer_client, landing = hub.login(newcomer, password)
        assert landing == "/hub/home"  # in no group yet: no door
        _refused(newcomer_client, "/hub/spawn")

        xsrf = boss.cookies.get("_xsrf", "", path="/hub/") or ""
        added = boss.post("/hub/api/groups/students/users", json={"users": [newcomer]},
                          headers={"X-XSRFToken": xsrf})
        assert added.status_code == 200, added.text
        assert newcomer_client.get("/hub/").headers["location"] == "/services/student-app/"  # the new door
