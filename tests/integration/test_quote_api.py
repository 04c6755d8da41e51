"""POST /api/v1/quote and GET /api/v1/manifest, as the configuration form uses them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support import sign_request


def ask(client: FlaskClient, body: dict[str, Any] | bytes) -> TestResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign_request("POST", "/api/v1/quote", raw)
    return client.post("/api/v1/quote", data=raw, headers=headers, content_type="application/json")


def create_quote(**fields: Any) -> dict[str, Any]:
    return {"action": "CREATE", "reseller": {"accountId": "4711"}, "fields": fields}


@pytest.mark.usefixtures("subscribed")
def test_the_price_shows_as_soon_as_product_seats_and_term_are_chosen(client: FlaskClient) -> None:
    answer = ask(client, create_quote(Product="PROTECT_ADVANCED", Seats="24", TermMonths=12))
    assert answer.status_code == 200
    assert answer.json["valid"] is False
    assert "CustomerCompany" in answer.json["errors"]
    price = answer.json["price"]
    assert (price["listPrice"], price["discount"], price["margin"], price["invoicePrice"]) == (
        "1248.00",
        "0.00",
        "249.60",
        "998.40",
    )
    assert price["currency"] == "EUR"
    assert price["lines"]


@pytest.mark.usefixtures("subscribed")
def test_a_complete_order_is_valid(client: FlaskClient) -> None:
    answer = ask(
        client,
        create_quote(
            Product="PROTECT_ENTRY",
            Seats=5,
            TermMonths=24,
            CustomerCompany="Praxis",
            CustomerContact="Erika",
            CustomerEmail="it@praxis.example",
            CustomerCountry="AT",
            EulaAccepted=True,
            EulaVersion="2026-11",
        ),
    )
    assert answer.json["valid"] is True
    assert answer.json["errors"] == {}


def test_a_reseller_that_has_not_subscribed_gets_no_price(client: FlaskClient) -> None:
    answer = ask(client, create_quote(Product="PROTECT_ADVANCED", Seats=24, TermMonths=12))
    assert answer.status_code == 200
    assert answer.json["valid"] is False
    assert list(answer.json["errors"]) == ["reseller"]
    assert answer.json["price"] is None


@pytest.mark.usefixtures("subscribed")
def test_a_quote_on_an_unknown_license_reveals_nothing(client: FlaskClient) -> None:
    body = {
        "action": "MODIFY",
        "reseller": {"accountId": "4711"},
        "subscription": {"accountId": "does-not-exist"},
        "fields": {"Seats": 30},
    }
    answer = ask(client, body)
    assert answer.json["valid"] is False
    assert "subscription" in answer.json["errors"]
    assert answer.json["price"] is None


def test_a_quote_body_that_is_not_json_is_malformed(client: FlaskClient) -> None:
    assert ask(client, b"nope").status_code == 400


def test_a_quote_for_an_unpriced_action_is_a_validation_error(client: FlaskClient) -> None:
    answer = ask(client, {"action": "SUSPEND", "reseller": {"accountId": "4711"}})
    assert answer.status_code == 422
    assert list(answer.json["error"]["fields"]) == ["action"]


def test_quotes_need_a_signature(client: FlaskClient) -> None:
    assert client.post("/api/v1/quote", json=create_quote()).status_code == 401


def test_the_manifest_carries_services_fields_and_the_eula(client: FlaskClient) -> None:
    response = client.get("/api/v1/manifest", headers=sign_request("GET", "/api/v1/manifest"))
    assert response.status_code == 200
    manifest = response.json
    assert manifest["eula"]["version"] == "2026-11"
    assert manifest["eula"]["text"]
    names = {service["name"] for service in manifest["services"]}
    assert names == {"ESET Partner Status", "ESET Services"}
    assert "CREATE" in json.dumps(manifest)
