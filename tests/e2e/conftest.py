"""End to end: signed events into the app, the worker against both sandboxes over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.clients.eset import EsetClient
from connector.clients.marketplace import MarketplaceClient
from connector.clock import FrozenClock
from connector.models import License, Operation
from connector.runtime import Runtime
from connector.sandbox import (
    SIMPLE_API,
    EsetSandbox,
    EsetSandboxConfig,
    MarketplaceSandbox,
    MarketplaceSandboxConfig,
    create_eset_sandbox,
    create_marketplace_sandbox,
    eset_sandbox_of,
    marketplace_sandbox_of,
)
from connector.worker import Worker
from tests.support import ADMIN_TOKEN, CALLBACK_SECRET, event, serve, sign_request

PARTNER = "P-3344551"  # the ESET sandbox's seeded Gold partner with 12 licenses


def new_license_fields(**overrides: Any) -> dict[str, Any]:
    """Return valid CREATE fields for a 25-seat, 12-month ESET PROTECT Advanced license."""
    fields: dict[str, Any] = {
        "Product": "PROTECT_ADVANCED",
        "Seats": "25",
        "TermMonths": "12",
        "CustomerCompany": "Beispiel Praxis GmbH",
        "CustomerContact": "Dr. Erika Muster",
        "CustomerEmail": "it@praxis.example",
        "CustomerCountry": "DE",
        "EulaAccepted": "true",
        "EulaVersion": "2026-11",
    }
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value is not None}


@dataclass
class Shop:
    """The marketplace's side of the conversation, and a look into both sandboxes."""

    client: FlaskClient
    runtime: Runtime
    worker: Worker
    eset: EsetSandbox
    marketplace: MarketplaceSandbox
    marketplace_url: str
    clock: FrozenClock

    def send(
        self,
        action: str,
        request_id: str,
        *,
        subscription: str | None = None,
        fields: dict[str, Any] | None = None,
        reseller: dict[str, Any] | None = None,
    ) -> TestResponse:
        """Post a signed event as the marketplace does."""
        body = event(
            action, request_id, callbackUrl=f"{self.marketplace_url}/callbacks/{request_id}"
        )
        if subscription is not None:
            body["subscription"] = {"accountId": subscription}
        body["fields"] = fields or {}
        if reseller is not None:
            body["reseller"] = {**body["reseller"], **reseller}
        raw = json.dumps(body).encode()
        headers = sign_request("POST", "/api/v1/events", raw, at=self.clock.now().timestamp())
        return self.client.post(
            "/api/v1/events", data=raw, headers=headers, content_type="application/json"
        )

    def run(self, action: str, request_id: str, **kwargs: Any) -> dict[str, Any]:
        """Send an event, let the worker finish everything, and return its callback."""
        response = self.send(action, request_id, **kwargs)
        assert response.status_code == 202, response.get_json()
        self.worker.drain()
        return self.callback(request_id)

    def callback(self, request_id: str) -> dict[str, Any]:
        """Return the one callback the marketplace received for a request."""
        received = [
            c["body"] for c in self.marketplace.callbacks if c["body"]["requestId"] == request_id
        ]
        assert len(received) == 1, received
        body: dict[str, Any] = received[0]
        return body

    def subscribe(self, request_id: str = "subscribe", **reseller: Any) -> dict[str, Any]:
        return self.run("SUBSCRIBE", request_id, reseller=reseller or None)

    def order(
        self, subscription: str, request_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        return self.run(
            "CREATE",
            request_id or f"create-{subscription}",
            subscription=subscription,
            fields=new_license_fields(**fields),
        )

    def admin(self, method: str, path: str, body: Any = None) -> TestResponse:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return self.client.open(path, method=method, json=body, headers=headers)

    def license(self, subscription: str) -> License:
        with self.runtime.sessions() as session:
            found = session.get(License, subscription)
            assert found is not None
            return found

    def operation(self, operation_id: str) -> Operation:
        with self.runtime.sessions() as session:
            found = session.get(Operation, operation_id)
            assert found is not None
            return found

    def eset_license(self, public_license_key: str) -> Any:
        return self.eset.world.licenses[public_license_key]


def arguments(callback: dict[str, Any]) -> dict[str, str]:
    """Return a callback's outArguments as a dict."""
    assert callback["status"] == "Completed", callback
    return {pair["Name"]: pair["Value"] for pair in callback["outArguments"]}


@pytest.fixture
def eset_config() -> EsetSandboxConfig:
    return EsetSandboxConfig(rate_limit_per_second=None)


@pytest.fixture
def shop(
    runtime: Runtime, app: Flask, clock: FrozenClock, eset_config: EsetSandboxConfig
) -> Iterator[Shop]:
    eset_app = create_eset_sandbox(eset_config, clock=clock)
    marketplace_app = create_marketplace_sandbox(
        MarketplaceSandboxConfig(callback_secret=CALLBACK_SECRET)
    )
    with serve(eset_app) as eset_url, serve(marketplace_app) as marketplace_url:
        runtime.eset = EsetClient(eset_url, "sandbox", "sandbox", sleep=lambda _: None)
        runtime.marketplace = MarketplaceClient(
            marketplace_url + SIMPLE_API, "sandbox", "sandbox", sleep=lambda _: None
        )
        yield Shop(
            client=app.test_client(),
            runtime=runtime,
            worker=Worker(runtime),
            eset=eset_sandbox_of(eset_app),
            marketplace=marketplace_sandbox_of(marketplace_app),
            marketplace_url=marketplace_url,
            clock=clock,
        )
        runtime.eset.close()
        runtime.marketplace.close()
