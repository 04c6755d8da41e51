"""The scaled-out shape: gunicorn and two worker processes sharing one database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from connector import signing
from connector.sandbox import (
    SIMPLE_API,
    EsetSandboxConfig,
    MarketplaceSandboxConfig,
    create_eset_sandbox,
    create_marketplace_sandbox,
    eset_sandbox_of,
    marketplace_sandbox_of,
)
from tests.e2e.conftest import new_license_fields
from tests.support import CALLBACK_SECRET, WEBHOOK_SECRET, event, serve, wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def processes(engine: Engine, database_url: str) -> Iterator[dict[str, object]]:
    eset_app = create_eset_sandbox(EsetSandboxConfig(rate_limit_per_second=None))
    market_app = create_marketplace_sandbox(
        MarketplaceSandboxConfig(callback_secret=CALLBACK_SECRET)
    )
    with serve(eset_app) as eset_url, serve(market_app) as market_url:
        port = free_port()
        env = {
            **os.environ,
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "CONNECTOR_CALLBACK_SECRET": CALLBACK_SECRET,
            "CONNECTOR_ESET_API_URL": eset_url,
            "CONNECTOR_ESET_USERNAME": "sandbox",
            "CONNECTOR_ESET_PASSWORD": "sandbox",
            "CONNECTOR_MARKETPLACE_API_URL": market_url + SIMPLE_API,
            "CONNECTOR_MARKETPLACE_USERNAME": "sandbox",
            "CONNECTOR_MARKETPLACE_PASSWORD": "sandbox",
            "CONNECTOR_LOG_LEVEL": "WARNING",
        }
        connector = [sys.executable, "-m", "connector.cli"]
        started = [
            subprocess.Popen([*connector, "serve", "--port", str(port), "--workers", "2"], env=env),
            subprocess.Popen([*connector, "worker", "--threads", "2"], env=env),
            subprocess.Popen([*connector, "worker", "--threads", "2"], env=env),
        ]
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(base), timeout=30)
            yield {
                "base": base,
                "eset": eset_sandbox_of(eset_app),
                "marketplace": marketplace_sandbox_of(market_app),
                "market_url": market_url,
            }
        finally:
            for process in started:
                process.terminate()
            for process in started:
                process.wait(15)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def post(base: str, body: dict[str, object]) -> requests.Response:
    raw = json.dumps(body).encode()
    header = signing.signature_header(
        WEBHOOK_SECRET, int(time.time()), "POST", "/api/v1/events", raw
    )
    headers = {"Content-Type": "application/json", "X-Marketplace-Signature": header}
    return requests.post(f"{base}/api/v1/events", data=raw, headers=headers, timeout=10)


@pytest.mark.slow
def test_orders_through_gunicorn_and_two_workers_each_reach_eset_once(
    processes: dict[str, object],
) -> None:
    base, market_url = str(processes["base"]), processes["market_url"]
    marketplace, eset = processes["marketplace"], processes["eset"]

    def callback_url(request_id: str) -> str:
        return f"{market_url}/callbacks/{request_id}"

    subscribe = event("SUBSCRIBE", "p-subscribe", callbackUrl=callback_url("p-subscribe"))
    assert post(base, subscribe).status_code == 202
    wait_for(lambda: len(marketplace.callbacks) == 1, timeout=20)  # type: ignore[attr-defined]

    for number in range(12):
        request_id = f"p-create-{number}"
        fields = new_license_fields(CustomerCompany=f"Kunde {number} GmbH")
        body = event("CREATE", request_id, callbackUrl=callback_url(request_id), fields=fields)
        body["subscription"] = {"accountId": f"p-{number}"}
        assert post(base, body).status_code == 202
        assert post(base, body).status_code == 202  # the marketplace's retry changes nothing

    wait_for(lambda: len(marketplace.callbacks) == 13, timeout=30)  # type: ignore[attr-defined]
    bodies = [c["body"] for c in marketplace.callbacks]  # type: ignore[attr-defined]
    assert {b["status"] for b in bodies} == {"Completed"}
    assert len({b["requestId"] for b in bodies}) == 13
    assert len(eset.world.orders) == 12  # type: ignore[attr-defined]
