#!/usr/bin/env python3
"""What one hostile client costs `studyrec serve` (issue 18, section 2), on loopback.

Prints, against one worker: the worker's RSS before and after a 1 GiB chunked body (it was 311 -> 2,356 MB
when the body was read whole), how many bytes were sent before the 413; the answers to a flood of bad
tokens (it was 6,605 401s per second, unthrottled); how many of N half-sent bodies were still open after
the request timeout (3,000 stayed open 30 s); and /api/health's time while the token sidecar is missing
and another process holds the warehouse (10.9 s).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from bench_predict import INPUT, ROOT, free_port, trained_warehouse

from studyrec_lib.web import tokens

HOLD = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"


def start(settings, port: int, timeout_s: float) -> subprocess.Popen:
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir),
           "STUDYREC_REQUEST_TIMEOUT_S": str(timeout_s), "STUDYREC_RATE_LIMIT": "1000000"}
    server = subprocess.Popen([sys.executable, "-m", "studyrec_lib.cli", "serve", "--port", str(port),
                               "--workers", "1"], env=env, cwd=ROOT)
    for _ in range(200):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return server
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def big_chunked_body(port: int, token: str, server: subprocess.Popen, total: int) -> dict:
    before = psutil.Process(server.pid).memory_info().rss
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST /api/predict/ HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < total:
                sock.sendall(chunk)
                sent += 1 << 20
        with contextlib.suppress(ConnectionResetError):
            answer = sock.recv(200)
    after = psutil.Process(server.pid).memory_info().rss
    return {"body_bytes": total, "sent_before_answer_mb": round(sent / 2**20, 1),
            "status": answer.split(b" ")[1].decode() if answer else "connection reset",
            "rss_before_mb": round(before / 2**20), "rss_after_mb": round(after / 2**20)}


def bad_token_flood(url: str, seconds: float) -> dict:
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    # From an address of its own, so the throttle it meets does not touch the measurements after it.
    with httpx.Client(timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.9")) as client:
        while time.perf_counter() - started < seconds:
            status = client.post(f"{url}/api/predict/", json=INPUT,
                                 headers={"Authorization": "Bearer sr_x"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 1), "answers": statuses, "401_per_s": round(statuses.get(401, 0) / elapsed, 1)}


def half_sent_bodies(port: int, token: str, count: int, timeout_s: float) -> dict:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(f"POST /api/predict/ HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n"
                     "Content-Length: 100\r\n\r\n{".encode())
        sockets.append(sock)
    started = time.perf_counter()
    answers: dict[str, int] = {}
    for sock in sockets:  # each read returns once the server answers or closes
        with contextlib.suppress(OSError):
            data = sock.recv(200)
            key = data.split(b" ")[1].decode() if data else "closed"
            answers[key] = answers.get(key, 0) + 1
        sock.close()
    return {"connections": count, "request_timeout_s": timeout_s, "answers": answers,
            "all_answered_after_s": round(time.perf_counter() - started, 1)}


def health_while_sidecar_missing_and_warehouse_held(url: str, settings, token: str) -> dict:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.warehouse)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        tokens.sidecar(settings).unlink()
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            predictions = [pool.submit(httpx.post, f"{url}/api/predict/", json=INPUT, timeout=60,
                                       headers={"Authorization": f"Bearer {token}"}) for _ in range(10)]
            started = time.perf_counter()
            health = httpx.get(f"{url}/api/health", timeout=60).status_code
            health_ms = (time.perf_counter() - started) * 1000
            statuses = [future.result().status_code for future in predictions]
    finally:
        holder.stdin.close()
        holder.wait()
    return {"health_status": health, "health_ms": round(health_ms, 1), "predictions": statuses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body-mb", type=int, default=1024)
    parser.add_argument("--flood-seconds", type=float, default=3.0)
    parser.add_argument("--half-sent", type=int, default=3000)
    parser.add_argument("--request-timeout", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = trained_warehouse(Path(folder), students=20, n_folds=3)
        token = tokens.create_token("BENCH", "bench", settings)[1]
        port = free_port()
        server = start(settings, port, args.request_timeout)
        url = f"http://127.0.0.1:{port}"
        try:
            report = {"chunked_body": big_chunked_body(port, token, server, args.body_mb << 20),
                      "bad_token_flood": bad_token_flood(url, args.flood_seconds),
                      "half_sent_bodies": half_sent_bodies(port, token, args.half_sent, args.request_timeout),
                      "sidecar_missing_warehouse_held": health_while_sidecar_missing_and_warehouse_held(
                          url, settings, token)}
        finally:
            server.terminate()
            server.wait()
    for name, figures in report.items():
        print(f"{name}: {json.dumps(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
