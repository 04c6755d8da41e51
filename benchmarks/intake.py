"""Signed-event intake throughput under gunicorn, against a bare Flask JSON endpoint.

Both servers run under the same gunicorn settings in the same run; the load comes from a
second process on loopback. Each connector request is a new, validly signed event, so every
one is verified, validated, checked for idempotency and committed before its 202.

    .venv/bin/python benchmarks/intake.py [--database-url URL] [--requests N]

The default database is PostgreSQL at 127.0.0.1 (database ``connector_bench``, dropped and
created anew here); pass ``--database-url sqlite:///bench.db`` to measure the embedded default.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support import free_port, fresh_database  # noqa: E402
from connector import signing  # noqa: E402
from tests.support import event  # noqa: E402

SECRET = "bench-secret"
PG_BENCH_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/connector_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=PG_BENCH_URL)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    args = parser.parse_args()

    fresh_database(args.database_url)
    bare = serve("benchmarks.bare_app:create_bare_app()", args, {})
    connector = serve(
        "connector.app:create_app()",
        args,
        {"CONNECTOR_DATABASE_URL": args.database_url, "CONNECTOR_WEBHOOK_SECRETS": SECRET},
    )
    try:
        results = {}
        for name, (port, _) in (("bare Flask", bare), ("connector", connector)):
            load(port, 200, args.concurrency, prefix=f"warm-{name}")
            results[name] = load(port, args.requests, args.concurrency, prefix=f"run-{name}")
    finally:
        for _, process in (bare, connector):
            process.terminate()
            process.wait()

    print(
        f"database: {args.database_url.split('@')[-1]}, "
        f"gunicorn {args.workers} workers x {args.threads} threads, {args.concurrency} clients"
    )
    print(f"{'server':12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rate, p50, p99, statuses) in results.items():
        print(f"{name:12} {rate:8.0f} {p50:8.2f} {p99:8.2f}   statuses {statuses}")
    ratio = results["connector"][0] / results["bare Flask"][0]
    print(f"ratio connector / bare Flask: {ratio:.2f} (target >= 0.5 on PostgreSQL)")


def serve(
    target: str, args: argparse.Namespace, extra_env: dict[str, str]
) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
        "--log-level", "warning", target,
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, **extra_env}, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def signed_requests(count: int, prefix: str) -> list[tuple[bytes, dict[str, str]]]:
    now = int(time.time())
    prepared = []
    for number in range(count):
        raw = json.dumps(event("SUBSCRIBE", f"{prefix}-{number}")).encode()
        header = signing.signature_header(SECRET, now, "POST", "/api/v1/events", raw)
        headers = {"Content-Type": "application/json", "X-Marketplace-Signature": header}
        prepared.append((raw, headers))
    return prepared


def load(
    port: int, count: int, concurrency: int, *, prefix: str
) -> tuple[float, float, float, dict[int, int]]:
    prepared = signed_requests(count, prefix)
    chunks = [prepared[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = [
            item for chunk in pool.map(lambda c: send_all(port, c), chunks) for item in chunk
        ]
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for _, latency in outcomes)
    statuses: dict[int, int] = {}
    for status, _ in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return count / elapsed, statistics.median(latencies) * 1000, p99 * 1000, statuses


def send_all(port: int, requests: list[tuple[bytes, dict[str, str]]]) -> list[tuple[int, float]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    outcomes = []
    for raw, headers in requests:
        started = time.perf_counter()
        connection.request("POST", "/api/v1/events", body=raw, headers=headers)
        response = connection.getresponse()
        response.read()
        outcomes.append((response.status, time.perf_counter() - started))
    connection.close()
    return outcomes


if __name__ == "__main__":
    main()
