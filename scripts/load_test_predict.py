#!/usr/bin/env python3
"""Load test of POST /api/predict/: prints one JSON object with counts and latencies.

    python scripts/load_test_predict.py --url http://127.0.0.1:8000 --requests 2000 --concurrency 10 --token T
    python scripts/load_test_predict.py --tokens-file tokens.txt --seconds 120 --ids-out answered.txt

Sends the bearer token (the old load test sent no CSRF token and got 0 successes against its own server),
varies the inputs across their ranges, and keeps ``concurrency`` requests in flight on keep-alive
connections. With several tokens (one per student) each request uses the next token in turn; with
``--seconds`` the load is steady for that long instead of a fixed number of requests. ``--ids-out`` writes
the request_id of every 200 answer, one a line, to check them against ``prediction_log``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from collections import Counter
from pathlib import Path

import httpx

SUBJECTS = ("Mathematics", "Physics", "Programming", "Statistics", "Databases", "English", "Economics", "Chemistry")


def payload(rng: random.Random) -> dict:
    return {
        "semester": rng.randint(1, 8), "subject": rng.choice(SUBJECTS),
        "assignment_marks": round(rng.uniform(0, 5), 1), "quiz_marks": round(rng.uniform(0, 10), 1),
        "attendance_percentage": round(rng.uniform(40, 100)), "midterm_marks": round(rng.uniform(0, 30), 1),
        "previous_cgpa": round(rng.uniform(0, 4), 2),
    }


async def run(url: str, requests: int | None, concurrency: int, tokens: list[str], seed: int,
              seconds: float | None = None) -> tuple[dict, list[str]]:
    """Send ``requests`` requests (or as many as ``seconds`` allow); the report, and the 200 answers' ids."""
    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    first_errors: dict[str, str] = {}
    answered_ids: list[str] = []
    sent = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        started = time.perf_counter()

        def next_request() -> int | None:
            number = next(sent)
            if seconds is not None:
                return number if time.perf_counter() - started < seconds else None
            return number if number < requests else None

        async def worker() -> None:
            while (number := next_request()) is not None:
                headers = {"Authorization": f"Bearer {tokens[number % len(tokens)]}"}
                begun = time.perf_counter()
                try:
                    response = await client.post("/api/predict/", json=payload(rng), headers=headers)
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 200:
                        answered_ids.append(response.json()["request_id"])
                    else:
                        first_errors.setdefault(str(response.status_code), response.text[:300])
                except Exception as error:  # a load test counts every failure; it never stops at the first
                    statuses[type(error).__name__] += 1
                    first_errors.setdefault(type(error).__name__, repr(error)[:300])
                latencies.append((time.perf_counter() - begun) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    total = len(ordered)

    def percentile(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

    success = statuses.get("200", 0)
    report = {
        "url": url, "total": total, "concurrency": concurrency, "tokens": len(tokens), "success": success,
        "errors": {k: v for k, v in statuses.items() if k != "200"}, "first_errors": first_errors,
        "success_rate": round(success / max(total, 1), 4),
        "latency_ms": {"mean": round(sum(ordered) / max(total, 1), 3), "p50": percentile(50), "p95": percentile(95),
                       "p99": percentile(99), "max": round(ordered[-1], 3)} if ordered else {},
        "requests_per_s": round(total / elapsed, 1), "seconds": round(elapsed, 3),
    }
    return report, answered_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=None, help="steady load for this long (not --requests)")
    parser.add_argument("--concurrency", type=int, default=10)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--token")
    who.add_argument("--tokens-file", type=Path, help="one token a line; requests take them in turn")
    parser.add_argument("--ids-out", type=Path, help="write the request_id of every 200 answer here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tokens = args.tokens_file.read_text().split() if args.tokens_file else [args.token]
    if not tokens:
        parser.error(f"{args.tokens_file}: no tokens in the file")
    report, answered_ids = asyncio.run(run(args.url, args.requests, args.concurrency, tokens, args.seed,
                                           args.seconds))
    if args.ids_out:
        args.ids_out.write_text("".join(f"{request_id}\n" for request_id in answered_ids))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
