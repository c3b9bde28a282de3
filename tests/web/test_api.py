"""The JSON API as a real HTTP server on 127.0.0.1 (``studyrec serve`` in a subprocess)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.core.schema import (
    FIELDS_BY_NAME,
    MAX_TEXT_LENGTH,
    NOT_A_NUMBER,
    NOT_WHOLE,
    REQUIRED,
    TOO_LONG,
    UNKNOWN_FIELD,
)
from studyrec_lib.serving.inputs import check_features
from studyrec_lib.serving.spool import spool_dir
from studyrec_lib.web import tokens
from studyrec_lib.web.app import StudentApp
from studyrec_lib.web.local_backend import LocalBackend
from tests.web.api_server import serve

GOOD = {"semester": 3, "subject": "Mathematics", "assignment_marks": 3.5, "quiz_marks": 6,
        "attendance_percentage": 85, "midterm_marks": 18.5, "previous_cgpa": 2.9}


@pytest.fixture(scope="module")
def api(trained_settings, free_port) -> Iterator[str]:
    with serve(trained_settings, rate_limit=5, port=free_port()) as url:
        yield url


def _token(settings, student_id: str = "S00003") -> str:
    return tokens.create_token(student_id, "test", settings)[1]


def _post(url: str, token: str | None, body, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.post(f"{url}/api/predict/", content=content, headers=headers, timeout=30, **kwargs)


def _weak_subjects_by_hand(settings, student: str) -> list[tuple[str, float]]:
    """The old system's rule, computed here from the rows: latest result per subject, total < 50, worst first."""
    rows = warehouse.query_frame("SELECT * FROM training_examples WHERE student_id = ?", [student], settings=settings)
    latest = rows.sort_values("semester").groupby("subject").tail(1)
    totals = (latest["assignment_marks"] + 5 * latest["attendance_percentage"] / 100 + latest["quiz_marks"]
              + latest["midterm_marks"] + latest["final_marks"])
    weak = sorted((round(float(t), 1), s) for s, t in zip(latest["subject"], totals, strict=True) if t < 50)
    return [(subject, total) for total, subject in weak[:5]]


def test_prediction_for_a_token_shows_that_students_weak_subjects(api, trained_settings, student_with_weak_subjects):
    student = student_with_weak_subjects
    response = _post(api, _token(trained_settings, student), GOOD)
    assert response.status_code == 200
    result = response.json()
    assert list(result["grade_probabilities"]) == ["A+", "A", "A-", "B+", "B", "C+", "C", "D", "F"]
    assert abs(sum(result["grade_probabilities"].values()) - 1) < 1e-3
    expected = _weak_subjects_by_hand(trained_settings, student)
    assert expected, "the fixture's student must have a weak subject for this test to mean anything"
    assert [(w["subject"], w["total"]) for w in result["weak_subjects"]] == expected
    other = _post(api, _token(trained_settings, "S00003"), GOOD).json()["weak_subjects"]
    assert [(w["subject"], w["total"]) for w in other] == _weak_subjects_by_hand(trained_settings, "S00003")
    assert set(result["model_versions"]) == {"regression", "classification"}


def test_a_student_id_in_the_body_is_refused_not_used(api, trained_settings):
    response = _post(api, _token(trained_settings), {**GOOD, "student_id": "S00001"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "student_id", "rule": "is not a known field"}]


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc", "Bearer"])
def test_missing_or_wrong_tokens_get_401(api, header):
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{api}/api/predict/", json=GOOD, headers=headers, timeout=30)
    assert response.status_code == 401
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ("{not json", "(body)", "not valid JSON"),
        ({**GOOD, "quiz_marks": "six"}, "quiz_marks", "must be a number"),
        ({**GOOD, "semester": 2.5}, "semester", "must be a whole number"),
        ({k: v for k, v in GOOD.items() if k != "midterm_marks"}, "midterm_marks", "required"),
        ({**GOOD, "favourite_colour": "blue"}, "favourite_colour", "not a known field"),
        ({**GOOD, "attendance_percentage": 101}, "attendance_percentage", "must be a number from 0 to 100"),
        ({**GOOD, "previous_cgpa": -0.1}, "previous_cgpa", "must be a number from 0 to 4"),
        ({**GOOD, "subject": ""}, "subject", "is required"),
        ([GOOD], "(body)", "JSON object"),
    ],
)
def test_each_kind_of_bad_field_gets_400_naming_field_and_rule(api, trained_settings, body, field, rule):
    response = _post(api, _token(trained_settings), body)
    assert response.status_code == 400
    payload = response.json()
    if field == "(body)":
        assert rule in payload["detail"]
    else:
        assert any(e["field"] == field and rule in e["rule"] for e in payload["errors"]), payload


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({**GOOD, "quiz_marks": 11}, "quiz_marks", FIELDS_BY_NAME["quiz_marks"].rule),
        ({**GOOD, "semester": 13}, "semester", FIELDS_BY_NAME["semester"].rule),
        ({**GOOD, "semester": 13.5}, "semester", FIELDS_BY_NAME["semester"].rule),  # range first, as ingest judges
        ({**GOOD, "semester": 2.5}, "semester", NOT_WHOLE),
        ({k: v for k, v in GOOD.items() if k != "previous_cgpa"}, "previous_cgpa", REQUIRED),
        ({**GOOD, "previous_cgpa": None}, "previous_cgpa", REQUIRED),
        ({**GOOD, "favourite_colour": "blue"}, "favourite_colour", UNKNOWN_FIELD),
        ({**GOOD, "quiz_marks": "6"}, "quiz_marks", NOT_A_NUMBER),
        ({**GOOD, "semester": True}, "semester", NOT_A_NUMBER),
        ({**GOOD, "subject": ""}, "subject", REQUIRED),
        ({**GOOD, "subject": "   "}, "subject", REQUIRED),
        ({**GOOD, "subject": "x" * (MAX_TEXT_LENGTH + 1)}, "subject", TOO_LONG),
    ],
)
def test_a_400_names_the_rule_in_the_schemas_own_words(api, trained_settings, body, field, rule):
    """The words of ingest's report and of check_features, exactly: not pydantic's."""
    response = _post(api, _token(trained_settings), body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": field, "rule": rule}]
    if body.get(field) != "6":  # the prediction core's check says the same (it takes numbers as text: files)
        _, errors = check_features(body)
        assert [(e.field, e.rule) for e in errors] == [(field, rule)]


def test_large_bodies_get_413_with_or_without_content_length(api, trained_settings):
    token = _token(trained_settings)
    big = json.dumps({**GOOD, "padding": "x" * 17_000})
    assert _post(api, token, big).status_code == 413

    def chunks():
        yield big.encode()

    response = httpx.post(f"{api}/api/predict/", content=chunks(), timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413


def _connect(url: str, source: str = "127.0.0.1") -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30, source_address=(source, 0))
    return sock


def _read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"" when it closed without answering)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read_whole(api, trained_settings):
    """Without Content-Length the body is counted as it streams in: 413 at the limit, the rest never read."""
    total = 64 * 1024 * 1024
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    with _connect(api) as sock:
        sock.sendall(f"POST /api/predict/ HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {_token(trained_settings)}"
                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += 64 * 1024
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total  # answered, and the connection closed, long before the whole body was sent


@pytest.mark.parametrize(
    ("body", "message"),
    [("[" * 8000, "nested too deeply"), ("{" * 3000 + "}" * 3000, "not valid JSON"),
     ('{"semester": ' + "9" * 5000 + "}", "more than 4300 digits"), (b"{\"subject\": \"\x80\"}", "not UTF-8")],
)
def test_json_python_cannot_parse_gets_400_with_a_message(api, trained_settings, body, message):
    response = _post(api, _token(trained_settings), body)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert len(response.text) < 500  # nothing of the body is echoed


def test_a_whole_valued_semester_is_taken_as_that_integer(api, trained_settings):
    token = _token(trained_settings)
    as_integer = _post(api, token, GOOD)
    as_number = _post(api, token, {**GOOD, "semester": float(GOOD["semester"])})
    assert as_number.status_code == 200, as_number.text
    assert as_number.json()["predicted_final_marks"] == as_integer.json()["predicted_final_marks"]
    assert as_number.json()["grade_probabilities"] == as_integer.json()["grade_probabilities"]
    for refused in ("3", True, 3.5):
        response = _post(api, token, {**GOOD, "semester": refused})
        assert response.status_code == 400, refused
        assert response.json()["errors"][0]["field"] == "semester"
    schema = httpx.get(f"{api}/openapi.json", timeout=30).json()
    semester = schema["paths"]["/api/predict/"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"]["semester"]
    assert semester["type"] == "integer"  # JSON Schema: a number with no fractional part, 6.0 included
    assert "6.0 is taken as 6" in semester["description"]


@pytest.fixture(scope="module")
def guarded_api(trained_settings, free_port) -> Iterator[str]:
    """One worker (the failed sign-in table is per worker), 3 failed sign-ins per minute, 1 s request timeout."""
    with serve(trained_settings, rate_limit=1_000_000, port=free_port(), workers=1,
               STUDYREC_AUTH_FAILURES="3", STUDYREC_AUTH_WINDOW_S="60", STUDYREC_REQUEST_TIMEOUT_S="1") as url:
        yield url


def test_failed_sign_ins_are_throttled_per_client_address(guarded_api, trained_settings):
    token = _token(trained_settings)

    def client(address: str) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)

    with client("127.0.0.2") as guesser, client("127.0.0.3") as other:
        statuses = [guesser.post(f"{guarded_api}/api/predict/", json=GOOD,
                                 headers={"Authorization": "Bearer sr_guess"}).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        throttled = guesser.post(f"{guarded_api}/api/predict/", json=GOOD, headers={"Authorization": "Bearer sr_x"})
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
        assert "failed sign-ins" in throttled.json()["detail"]
        # A student with a valid token behind the same (school) address is not locked out by the guesser.
        assert guesser.post(f"{guarded_api}/api/predict/", json=GOOD,
                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert other.post(f"{guarded_api}/api/predict/", json=GOOD,
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_request_head_over_the_limit_is_refused(guarded_api, trained_settings):
    headers = {"Authorization": f"Bearer {_token(trained_settings)}", "X-Padding": "p" * 9000}
    assert httpx.post(f"{guarded_api}/api/predict/", json=GOOD, headers=headers, timeout=30).status_code == 431
    assert httpx.get(f"{guarded_api}/api/health", headers=headers, timeout=30).status_code == 431
    with _connect(guarded_api, "127.0.0.4") as sock:  # a head arriving in pieces is refused once it is too large
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n")
        for _ in range(20):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"X-Padding: " + b"p" * 1000 + b"\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 400")
    assert httpx.post(f"{guarded_api}/api/predict/", json=GOOD, timeout=30,
                      headers={**headers, "X-Padding": "p" * 4000}).status_code == 200


def test_a_request_head_that_never_finishes_is_closed(guarded_api):
    with _connect(guarded_api, "127.0.0.4") as sock:
        sock.sendall(b"POST /api/predict/ HTTP/1.1\r\nHost: test\r\nX-Slow: ")  # ... and nothing more
        assert _read_response(sock) == b""  # closed by the server (the socket's own timeout is 30 s)


@pytest.mark.parametrize("target", ["POST /api/health", "POST /nowhere", "POST /api/predict"])
def test_a_body_dripping_in_on_a_route_that_does_not_read_it_is_closed(guarded_api, target):
    """405, 404 and the redirect answer without reading the body; a client dripping a byte now and then kept
    such a connection open forever (each byte restarts uvicorn's keep-alive timer). The server (request
    timeout 1 s here) must close it while the drip goes on, at most 40 bytes, a byte every 0.3 s."""
    with _connect(guarded_api, "127.0.0.4") as sock:
        sock.sendall(f"{target} HTTP/1.1\r\nHost: test\r\nContent-Length: 16000\r\n\r\nx".encode())
        sock.settimeout(0.3)
        closed = False
        for _ in range(40):
            try:
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed = True
                break
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
    assert closed


def test_a_body_that_never_finishes_gets_408(guarded_api, trained_settings):
    with _connect(guarded_api, "127.0.0.4") as sock:
        sock.sendall(f"POST /api/predict/ HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {_token(trained_settings)}"
                     "\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"semester\": ".encode())
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1 s" in answer


def test_a_tampered_active_artifact_gets_503_without_a_server_path(copy_of_trained, free_port):
    token = _token(copy_of_trained)
    path = registry.read_active_sidecar(copy_of_trained)["regression"]["artifact_path"]
    with open(path, "ab") as artifact:
        artifact.write(b"tampered")
    with serve(copy_of_trained, rate_limit=1_000_000, port=free_port()) as url:
        predicted = _post(url, token, GOOD)
        active = httpx.get(f"{url}/api/models/active", timeout=30)
    assert predicted.status_code == active.status_code == 503
    assert predicted.json()["detail"] == active.json()["detail"]
    assert "cannot be used" in predicted.json()["detail"]
    for text in (predicted.text, active.text):
        assert str(copy_of_trained.runs_dir.parent) not in text and ".joblib" not in text and "sha256" not in text


def test_a_missing_token_sidecar_while_the_warehouse_is_held_gets_503_and_health_still_answers(
        copy_of_trained, free_port, hold_warehouse):
    """The sidecar is rewritten from the warehouse off the event loop, waiting at most a moment for its lock."""
    token = _token(copy_of_trained)
    with serve(copy_of_trained, rate_limit=1_000_000, port=free_port(), workers=1) as url:
        with hold_warehouse(copy_of_trained.warehouse):
            tokens.sidecar(copy_of_trained).unlink()
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                predictions = [pool.submit(_post, url, token, GOOD) for _ in range(5)]
                assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
                answers = [future.result() for future in predictions]
        assert [answer.status_code for answer in answers] == [503] * 5
        assert all(answer.headers["Retry-After"] == "1" for answer in answers)
        assert _post(url, token, GOOD).status_code == 200  # released: the sidecar is written again
def test_wrong_method_gets_405(api):
    assert httpx.get(f"{api}/api/predict/", timeout=30).status_code == 405
    assert httpx.delete(f"{api}/api/health", timeout=30).status_code == 405


def test_rate_limit_gives_429_with_retry_after(api, trained_settings):
    token = _token(trained_settings)
    statuses = [_post(api, token, GOOD).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = _post(api, token, GOOD)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert _post(api, _token(trained_settings), GOOD).status_code == 200  # per token, not global


def test_a_revoked_token_is_refused_at_once(api, trained_settings):
    token = _token(trained_settings)
    assert _post(api, token, GOOD).status_code == 200
    tokens.revoke_token(token=token, settings=trained_settings)
    assert _post(api, token, GOOD).status_code == 401


def test_health_and_active_models(api, trained_settings):
    from studyrec_lib import registry

    health = httpx.get(f"{api}/api/health", timeout=30).json()
    active = {task: row["version"] for task, row in registry.active_versions(trained_settings).items()}
    assert health["model_versions"] == active
    models = httpx.get(f"{api}/api/models/active", timeout=30).json()
    assert models["model_versions"] == active
    assert "Mathematics" in models["subjects"]


def _logged(settings, student_id: str) -> int:
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("SELECT count(*) FROM prediction_log WHERE student_id = ?", [student_id]).fetchone()[0]


def test_no_prediction_is_lost_while_another_process_holds_the_warehouse(trained_settings, free_port):
    """Load while a writer holds the DuckDB file: every successful request ends up in prediction_log."""
    student = "LOAD-TEST"
    token = _token(trained_settings, student)
    with serve(trained_settings, rate_limit=1_000_000, port=free_port()) as url:
        holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, time
            deadline = time.monotonic() + 60
            while True:  # a worker may still be starting (it reads the warehouse once): wait for our turn
                try:
                    con = duckdb.connect({str(trained_settings.warehouse)!r})
                    break
                except duckdb.IOException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            con.execute("BEGIN")
            con.execute("INSERT INTO runs (run_id, kind, status, started_at, folder) "
                        "VALUES ('holder', 'train', 'running', now(), '-')")
            print("held", flush=True)
            input()  # until the test says so
            con.execute("COMMIT")
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            done = subprocess.run([sys.executable, "scripts/load_test_predict.py", "--url", url, "--requests",
                                   "400", "--concurrency", "10", "--token", token], capture_output=True, text=True,
                                  timeout=300, cwd=PROJECT_ROOT)
            assert done.returncode == 0, done.stderr
            report = json.loads(done.stdout)
            assert report["success"] == 400, report
            assert holder.poll() is None  # every request was answered while the file was held
            holder.stdin.write("release\n")
            holder.stdin.flush()
            assert holder.wait(timeout=30) == 0
        finally:  # a failure here must not leave the file held for the tests after it
            if holder.poll() is None:
                holder.kill()
                holder.wait(timeout=30)
        for _ in range(100):
            if _logged(trained_settings, student) == report["success"]:
                break
            time.sleep(0.2)
    assert _logged(trained_settings, student) == report["success"]


def test_every_answer_is_logged_exactly_once_while_training_writes_the_warehouse(copy_of_trained, tmp_path,
                                                                                 free_port):
    """Steady load from 40 students (own tokens) while `studyrec train` runs in another process: every 200
    answer is in prediction_log exactly once, and no answer is a 500 (issue 18 lost 5% and answered 500)."""
    from studyrec_lib.demo.example import generate, write
    from studyrec_lib.ingest import ingest_file

    settings = copy_of_trained
    ingest_file(write(generate(students=20, seed=5, open_semesters=1), tmp_path / "cohort.csv"), settings=settings,
                progress=None)  # S00001-S00020 have results (weak-subject reads find rows); S00021-S00040 none
    tokens_file = tmp_path / "tokens.txt"
    tokens_file.write_text("\n".join(_token(settings, f"S{i:05d}") for i in range(1, 41)))
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    answered_file = tmp_path / "answered.txt"
    with serve(settings, rate_limit=1_000_000, port=free_port()) as url:
        training = subprocess.Popen([sys.executable, "-m", "studyrec_lib.cli", "train", "--folds", "3", "--json"],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            done = subprocess.run([sys.executable, "scripts/load_test_predict.py", "--url", url, "--tokens-file",
                                   str(tokens_file), "--seconds", "25", "--concurrency", "10", "--ids-out",
                                   str(answered_file)], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
            assert training.wait(timeout=300) == 0, training.stderr[-2000:]
        finally:
            if training.poll() is None:
                training.kill()
                training.wait(timeout=30)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        answered = answered_file.read_text().split()
        assert report["success"] == len(answered) > 0
        assert report["errors"] == {}, report  # not one 500 (nor any other failure)
        for _ in range(150):  # the spool flushes every 0.5 s
            if _logged_once(settings, answered) == len(answered):
                break
            time.sleep(0.2)
    assert _logged_once(settings, answered) == len(answered)
    with warehouse.connect(settings, read_only=True) as con:
        api_rows = con.execute("SELECT count(*) FROM prediction_log WHERE source = 'api'").fetchone()[0]
        assert api_rows == len(answered)  # none logged twice (03_evaluate logs its at-risk scoring too)
        assert con.execute("SELECT count(*) FROM runs WHERE kind = 'train' AND status = 'succeeded'").fetchone()[0]
    assert not list(spool_dir(settings).glob("*.jsonl"))  # nothing left behind or set aside


def _logged_once(settings, request_ids: list[str]) -> int:
    """How many of ``request_ids`` are in prediction_log (its key is request_id: at most once each)."""
    with warehouse.connect(settings, read_only=True) as con:
        con.execute("CREATE TEMP TABLE answered (request_id VARCHAR)")
        con.executemany("INSERT INTO answered VALUES (?)", [[request_id] for request_id in request_ids])
        return con.execute("SELECT count(*) FROM prediction_log JOIN answered USING (request_id)").fetchone()[0]


def test_the_server_starts_and_predicts_while_another_process_holds_the_warehouse(trained_settings, free_port,
                                                                                  hold_warehouse):
    """An ingest or a training may hold the file while a worker (re)starts: it serves, with the packaged plan."""
    token = _token(trained_settings, "HELD-AT-START")
    with hold_warehouse(trained_settings.warehouse), \
            serve(trained_settings, rate_limit=1_000_000, port=free_port()) as url:
        response = _post(url, token, GOOD)
        assert response.status_code == 200, response.text
        assert response.json()["study_plan"]
        assert httpx.get(f"{url}/api/models/active", timeout=30).status_code == 200


def test_fuzzing_the_openapi_document_finds_no_server_error(trained_settings, tmp_path, free_port):
    """schemathesis generates at least 1,000 requests; none may get a 500 or break the response schema."""
    with serve(trained_settings, rate_limit=1_000_000, port=free_port()) as url:
        har = tmp_path / "requests.har"
        done = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", f"{url}/openapi.json",
             "--header", f"Authorization: Bearer {_token(trained_settings, 'FUZZ')}",
             "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
             "--max-examples", "1000", "--seed", "1", "--report", "har", "--report-har-path", str(har)],
            capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) >= 1000
    assert not [e for e in entries if e["response"]["status"] >= 500]


def test_a_students_own_token_from_the_app_works_until_revoked_or_expired(api, trained_settings):
    """Made in the app (shown once), accepted by the API, refused once revoked there; an ended token is refused."""
    app = StudentApp(LocalBackend(trained_settings, {"JUPYTERHUB_USER": "S00004"}))
    try:
        token = app.tokens.create()
        assert token in app.tokens.shown.value
        assert _post(api, token, GOOD).status_code == 200
        token_id = app.backend.tokens()[-1]["token_id"]
        app.tokens.revoke(token_id)
        assert _post(api, token, GOOD).status_code == 401
        assert token_id not in [token["token_id"] for token in app.backend.tokens()]
    finally:
        app.close()
    _, ended = tokens.create_token("S00004", "ended", trained_settings, expires_in_days=-1 / 24)
    assert _post(api, ended, GOOD).status_code == 401
    anonymous = StudentApp(LocalBackend(trained_settings, {}))
    try:
        assert anonymous.tokens is None  # nobody to make a token for
    finally:
        anonymous.close()
