"""Time from the 202 of a CREATE to its callback, with `connector all` on its sandboxes.

Starts `connector all` in a subprocess on a fresh database (a SQLite file by default; a
PostgreSQL URL names a database that is dropped and created anew), subscribes a reseller,
then orders licenses one after another. Each order's callback goes to a receiver in this
process that notes the moment it arrives. The baseline, measured in the same run against the
same mounted ESET sandbox, is the ESET work a CREATE cannot avoid: Customer/Create and
License/Order through the connector's own ESET client.

    .venv/bin/python benchmarks/order_latency.py [--orders N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support import free_port, fresh_database  # noqa: E402
from connector import signing  # noqa: E402
from connector.clients.eset import EsetClient, LicenseType  # noqa: E402
from tests.support import event  # noqa: E402

SECRET = "sandbox-webhook-secret"
FIELDS = {
    "Product": "PROTECT_ADVANCED",
    "Seats": "25",
    "TermMonths": "12",
    "CustomerContact": "Erika Muster",
    "CustomerEmail": "it@customer.example",
    "CustomerCountry": "DE",
    "EulaAccepted": "true",
    "EulaVersion": "2026-11",
}


class Receiver(BaseHTTPRequestHandler):
    arrived: dict[str, float] = {}
    bodies: dict[str, dict[str, object]] = {}
    seen = threading.Condition()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Receiver.seen:
            Receiver.arrived[body["requestId"]] = time.perf_counter()
            Receiver.bodies[body["requestId"]] = body
            Receiver.seen.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--keep-rate-limit",
        action="store_true",
        help="keep the ESET sandbox's 10 calls/s limit (orders back to back then wait on 429s)",
    )
    args = parser.parse_args()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    callback_base = f"http://127.0.0.1:{receiver.server_port}/cb"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CONNECTOR_LOG_LEVEL": "WARNING"}
        env["CONNECTOR_DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/bench.db"
        fresh_database(env["CONNECTOR_DATABASE_URL"])
        connector = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "all", "--port", str(port)], env=env, cwd=folder
        )
        try:
            wait_until_up(base)
            if not args.keep_rate_limit:
                limit = {"rate_limit_per_second": None}
                requests.post(f"{base}/sandbox/eset/_sandbox/config", json=limit, timeout=5)
            send(base, event("SUBSCRIBE", "bench-subscribe", callbackUrl=f"{callback_base}/s"))
            wait_for("bench-subscribe")
            latencies = [order(base, callback_base, number) for number in range(args.orders)]
            baseline = eset_baseline(base, args.orders)
        finally:
            connector.terminate()
            connector.wait()
    receiver.shutdown()

    median = statistics.median(latencies)
    database = args.database_url.split("@")[-1] or "SQLite (embedded default)"
    limit = "on" if args.keep_rate_limit else "off"
    print(f"database: {database}; ESET sandbox rate limit {limit}")
    print(f"CREATE, 202 -> callback, {len(latencies)} orders:")
    print(f"  median {median * 1000:7.1f} ms   p90 {quantile(latencies, 0.9) * 1000:7.1f} ms")
    print(
        f"baseline, ESET Customer/Create + License/Order alone: {baseline * 1000:7.1f} ms (median)"
    )
    print(f"ratio CREATE / baseline: {median / baseline:.2f}   (target: median <= 500 ms)")


def order(base: str, callback_base: str, number: int) -> float:
    request_id = f"bench-create-{number}"
    fields = {**FIELDS, "CustomerCompany": f"Customer {number} GmbH"}
    body = event("CREATE", request_id, callbackUrl=f"{callback_base}/{request_id}", fields=fields)
    body["subscription"] = {"accountId": f"bench-{number}"}
    accepted_at = send(base, body)
    arrived = wait_for(request_id)
    assert Receiver.bodies[request_id]["status"] == "Completed", Receiver.bodies[request_id]
    return arrived - accepted_at


def eset_baseline(base: str, count: int) -> float:
    timings = []
    with EsetClient(f"{base}/sandbox/eset", "sandbox", "sandbox") as eset:
        for number in range(count):
            started = time.perf_counter()
            customer = eset.create_customer(
                "P-3344551",
                name=f"Baseline {number}",
                email="it@customer.example",
                country="DE",
                custom_identifier=f"baseline-{number}",
            )
            eset.order_license(
                order_reference=f"baseline-{number}",
                partner_id="P-3344551",
                customer_id=customer,
                product_code="PROTECT_ADVANCED",
                quantity=25,
                license_type=LicenseType.FULL,
                term_months=12,
            )
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def send(base: str, body: dict[str, object]) -> float:
    raw = json.dumps(body).encode()
    header = signing.signature_header(SECRET, int(time.time()), "POST", "/api/v1/events", raw)
    response = requests.post(
        f"{base}/api/v1/events",
        data=raw,
        headers={"Content-Type": "application/json", "X-Marketplace-Signature": header},
        timeout=10,
    )
    accepted_at = time.perf_counter()
    assert response.status_code == 202, response.text
    return accepted_at


def wait_for(request_id: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    with Receiver.seen:
        while request_id not in Receiver.arrived:
            if not Receiver.seen.wait(deadline - time.monotonic()):
                raise TimeoutError(f"no callback for {request_id}")
        return Receiver.arrived[request_id]


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("connector all did not come up")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


if __name__ == "__main__":
    main()
