#!/usr/bin/env python3
"""Load test of POST /api/predict/: prints one JSON object with counts and latencies.

    python scripts/load_test_predict.py --url http://127.0.0.1:8000 --requests 2000 --concurrency 10 --token T

Sends the bearer token (the old load test sent no CSRF token and got 0 successes against its own server),
varies the inputs across their ranges, and keeps ``concurrency`` requests in flight on keep-alive
connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter

import httpx

SUBJECTS = ("Mathematics", "Physics", "Programming", "Statistics", "Databases", "English", "Economics", "Chemistry")


def payload(rng: random.Random) -> dict:
    return {
        "semester": rng.randint(1, 8), "subject": rng.choice(SUBJECTS),
        "assignment_marks": round(rng.uniform(0, 5), 1), "quiz_marks": round(rng.uniform(0, 10), 1),
        "attendance_percentage": round(rng.uniform(40, 100)), "midterm_marks": round(rng.uniform(0, 30), 1),
        "previous_cgpa": round(rng.uniform(0, 4), 2),
    }


async def run(url: str, requests: int, concurrency: int, token: str, seed: int) -> dict:
    rng = random.Random(seed)
    bodies = [payload(rng) for _ in range(requests)]
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    first_errors: dict[str, str] = {}
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post("/api/predict/", json=body)
                    statuses[str(response.status_code)] += 1
                    if response.status_code != 200:
                        first_errors.setdefault(str(response.status_code), response.text[:300])
                except Exception as error:  # a load test counts every failure; it never stops at the first
                    statuses[type(error).__name__] += 1
                    first_errors.setdefault(type(error).__name__, repr(error))
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

    success = statuses.get("200", 0)
    return {
        "url": url, "total": requests, "concurrency": concurrency, "success": success,
        "errors": {k: v for k, v in statuses.items() if k != "200"}, "first_errors": first_errors,
        "success_rate": round(success / requests, 4),
        "latency_ms": {"mean": round(sum(ordered) / len(ordered), 3), "p50": percentile(50), "p95": percentile(95),
                       "p99": percentile(99), "max": round(ordered[-1], 3)},
        "requests_per_s": round(requests / elapsed, 1), "seconds": round(elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--token", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.requests, args.concurrency, args.token, args.seed))))


if __name__ == "__main__":
    main()
