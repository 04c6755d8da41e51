"""What happens when things go wrong at the worst moment: crashes, races, retries, odd input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from connector import operations
from connector.clients.errors import MarketplaceUnavailable
from connector.errors import PermanentError, TransientError
from connector.models import License, Operation
from tests.e2e.conftest import Shop, arguments, new_license_fields
from tests.support import sign_request


def create_subscription_calls(shop: Shop) -> int:
    return sum(1 for call in shop.marketplace.calls if call["method"] == "CreateSubscription")


def test_a_database_failure_while_recording_an_order_does_not_report_it_failed(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.subscribe()
    real_finish = operations.finish
    failures = iter([True])

    def flaky_finish(*args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(operations, "finish", flaky_finish)
    operation_id = shop.send(
        "CREATE", "create", subscription="99001", fields=new_license_fields()
    ).json["operationId"]
    with pytest.raises(OperationalError):
        shop.worker.run_next_operation()
    assert shop.operation(operation_id).status == "Pending"
    shop.clock.advance(seconds=31)  # the lease runs out; the operation runs again
    shop.worker.drain()
    answer = arguments(shop.callback("create"))
    assert len(shop.eset.world.orders) == 1
    assert shop.license("99001").public_license_key == answer["PublicLicenseKey"]


def test_a_sync_interrupted_half_way_creates_no_subscription_twice(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.subscribe()
    real = shop.runtime.marketplace.create_subscription
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 3:  # the connection was refused: nothing reached the marketplace
            raise MarketplaceUnavailable("Connection refused.", unsent=True)
        account: str = real(*args, **kwargs)
        return account

    monkeypatch.setattr(shop.runtime.marketplace, "create_subscription", flaky)
    operation_id = shop.send("SYNC", "sync").json["operationId"]
    shop.worker.drain()
    assert shop.operation(operation_id).status == "Pending"
    shop.clock.set(shop.operation(operation_id).next_attempt_at)
    shop.worker.drain()
    assert shop.callback("sync")["status"] == "Completed"
    assert create_subscription_calls(shop) == 12
    assert len(shop.marketplace.subscriptions) == 12


def test_a_sync_leaves_a_license_whose_order_is_still_in_flight_to_that_order(
    shop: Shop,
) -> None:
    shop.subscribe()
    operation_id = shop.send(
        "CREATE", "create", subscription="99001", fields=new_license_fields()
    ).json["operationId"]
    # The worker ordered at ESET and lost the answer; the operation waits for its next try.
    with shop.runtime.sessions.begin() as session:
        pending = session.get(Operation, operation_id)
        assert pending is not None
        pending.next_attempt_at = shop.clock.now() + timedelta(minutes=5)
    customer = shop.runtime.eset.create_customer(
        "P-3344551", name="Beispiel Praxis GmbH", email="it@praxis.example", country="DE",
        custom_identifier="x",
    )  # fmt: skip
    shop.runtime.eset.order_license(
        order_reference=f"ALSO-{operation_id}",
        partner_id="P-3344551",
        customer_id=customer,
        product_code="PROTECT_ADVANCED",
        quantity=25,
        license_type=1,
        term_months=12,
    )
    assert arguments(shop.run("SYNC", "sync"))["LicensesCreated"] == "12"
    shop.clock.advance(minutes=6)
    shop.worker.drain()
    answer = arguments(shop.callback("create"))
    assert shop.license("99001").public_license_key == answer["PublicLicenseKey"]
    assert create_subscription_calls(shop) == 12


def test_a_sync_does_not_count_a_deleted_license_as_changed(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    arguments(shop.run("DELETE", "delete", subscription="99001"))
    assert arguments(shop.run("SYNC", "sync-1"))["LicensesUpdated"] == "0"


def test_a_sync_naming_another_resellers_subscription_blocks_nothing_of_theirs(
    shop: Shop,
) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    shop.subscribe("other", accountId="4712", esetPartnerId=None, companyName="Other")
    assert shop.send("SYNC", "foreign-sync", subscription="99001",
                     reseller={"accountId": "4712"}).status_code == 202  # fmt: skip
    modify = shop.send("MODIFY", "modify", subscription="99001", fields={"Seats": "30"})
    assert modify.status_code == 202


def test_a_second_sync_while_one_is_queued_is_refused(shop: Shop) -> None:
    shop.subscribe()
    assert shop.send("SYNC", "sync-1").status_code == 202
    second = shop.send("SYNC", "sync-2")
    assert second.status_code == 409
    assert second.json["error"]["code"] == "invalid_state"


def test_an_eset_partner_serves_one_marketplace_account(shop: Shop) -> None:
    shop.subscribe()
    response = shop.send("SUBSCRIBE", "steal", reseller={"accountId": "4712"})
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["reseller.esetPartnerId"]


def test_pushes_delivered_out_of_order_still_leave_the_newest_state(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.subscribe()
    real = shop.runtime.marketplace.update_subscription
    failures = iter([True])

    def flaky(*args: Any, **kwargs: Any) -> None:
        if next(failures, False):
            raise TransientError("The marketplace did not answer.")
        real(*args, **kwargs)

    monkeypatch.setattr(shop.runtime.marketplace, "update_subscription", flaky)
    arguments(shop.order("99001"))  # its push fails once and waits for a retry
    arguments(shop.run("SUSPEND", "suspend", subscription="99001"))
    shop.clock.advance(minutes=5)
    shop.worker.drain()  # the CREATE's push is retried after the SUSPEND's
    assert shop.marketplace.subscriptions["99001"]["fields"]["LicenseState"] == "Suspended"
    assert shop.license("99001").pushed_fields["LicenseState"] == "Suspended"  # type: ignore[index]


def test_a_product_change_whose_renewal_is_refused_records_the_change_and_says_so(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    shop.clock.set(shop.clock.now().replace(year=2027, month=10, day=28))

    def refuse(**_: Any) -> None:
        raise PermanentError("ESET refused the renewal.")

    monkeypatch.setattr(shop.runtime.eset, "renew_license", refuse)
    fields = {"Product": "PROTECT_COMPLETE", "RenewTermMonths": "12"}
    callback = shop.run("CHANGE_PLAN", "change", subscription="99001", fields=fields)
    assert callback["status"] == "Failed"
    assert "ESET PROTECT Complete" in callback["errorDetails"]
    assert "ESET refused the renewal." in callback["errorDetails"]
    assert shop.license("99001").product == "PROTECT_COMPLETE"


def test_retrying_an_operation_that_a_newer_one_overtook_is_refused(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    with shop.runtime.sessions.begin() as session:  # pretend the order had failed back then
        old = session.scalars(select(Operation).where(Operation.request_id == "create-99001")).one()
        old.status = "Failed"
    shop.clock.advance(minutes=1)
    arguments(shop.run("SUSPEND", "suspend", subscription="99001"))
    response = shop.admin("POST", f"/admin/v1/operations/{old.id}/retry")
    assert response.status_code == 409
    assert "newer operation" in response.json["error"]["message"]


def test_a_body_with_a_nul_character_is_malformed_not_a_server_error(shop: Shop) -> None:
    shop.subscribe()
    response = shop.send(
        "CREATE", "nul", subscription="99001", fields=new_license_fields(CustomerCompany="A\u0000B")
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_request"


def test_a_customer_name_with_control_characters_is_refused_at_intake(shop: Shop) -> None:
    shop.subscribe()
    response = shop.send(
        "CREATE", "ctl", subscription="99001", fields=new_license_fields(CustomerCompany="A\u0007B")
    )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["CustomerCompany"]


def test_a_signature_with_non_ascii_digits_is_unauthorized(shop: Shop) -> None:
    raw = json.dumps({"x": 1}).encode()
    header = {"X-Marketplace-Signature": f"t={int(shop.clock.now().timestamp())},v1=ä{'0' * 63}"}
    response = shop.client.post(
        "/api/v1/events", data=raw, headers=header, content_type="application/json"
    )
    assert response.status_code == 401


def test_a_read_of_an_encoded_path_verifies_against_the_path_as_sent(shop: Shop) -> None:
    shop.subscribe()
    path = "/api/v1/resellers/4711/licenses/no%20such"
    headers = sign_request("GET", path, at=shop.clock.now().timestamp())
    response = shop.client.get(path, headers=headers)
    assert response.status_code == 404  # signed correctly, and simply unknown
    with shop.runtime.sessions() as session:
        assert session.scalars(select(License)).all() == []


def test_an_account_holding_licenses_cannot_move_to_another_eset_partner(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    response = shop.send("SUBSCRIBE", "move", reseller={"esetPartnerId": "P-5550001"})
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["reseller.esetPartnerId"]
    again = arguments(shop.subscribe("again", esetPartnerId=None))  # keeps its partner
    assert again["EsetPartnerId"] == "P-3344551"


def quote(shop: Shop, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    headers = sign_request("POST", "/api/v1/quote", raw, at=shop.clock.now().timestamp())
    response = shop.client.post(
        "/api/v1/quote", data=raw, headers=headers, content_type="application/json"
    )
    answer: dict[str, Any] = response.get_json()
    return answer


def test_the_quote_is_not_valid_when_the_intake_would_refuse_the_subscription(
    shop: Shop,
) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    create = {
        "action": "CREATE",
        "reseller": {"accountId": "4711"},
        "subscription": {"accountId": "99001"},
        "fields": new_license_fields(),
    }
    answer = quote(shop, create)
    assert answer["valid"] is False
    assert answer["errors"] == {"subscription": ["This subscription already holds a license."]}
    assert answer["price"] is not None
    assert shop.send("SUSPEND", "busy", subscription="99001").status_code == 202
    modify = {
        "action": "MODIFY",
        "reseller": {"accountId": "4711"},
        "subscription": {"accountId": "99001"},
        "fields": {"Seats": "30"},
    }
    busy = quote(shop, modify)
    assert busy["valid"] is False
    assert busy["errors"]["subscription"] == ["Another operation on this license is still running."]


def test_an_order_with_nowhere_to_send_the_license_is_refused_at_intake(shop: Shop) -> None:
    shop.subscribe(email=None)
    response = shop.send(
        "CREATE", "no-mail", subscription="99001", fields=new_license_fields(),
        reseller={"email": None},
    )  # fmt: skip
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["NotifyEmail"]
    with_address = shop.send(
        "CREATE", "mail", subscription="99001",
        fields=new_license_fields(NotifyEmail="it@praxis.example"), reseller={"email": None},
    )  # fmt: skip
    assert with_address.status_code == 202


def test_a_deeply_nested_body_is_malformed_not_a_server_error(shop: Shop) -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    headers = sign_request("POST", "/api/v1/events", raw, at=shop.clock.now().timestamp())
    response = shop.client.post(
        "/api/v1/events", data=raw, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400


def test_a_subscription_whose_creation_answer_was_lost_is_left_to_an_operator(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.subscribe()
    real = shop.runtime.marketplace.create_subscription
    calls = {"n": 0}

    def lost_answer(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        account: str = real(*args, **kwargs)
        if calls["n"] == 3:  # created at the marketplace, but the answer never came back
            raise MarketplaceUnavailable("Read timed out.")
        return account

    monkeypatch.setattr(shop.runtime.marketplace, "create_subscription", lost_answer)
    operation_id = shop.send("SYNC", "sync").json["operationId"]
    shop.worker.drain()
    shop.clock.set(shop.operation(operation_id).next_attempt_at)
    shop.worker.drain()
    assert arguments(shop.callback("sync"))["LicensesCreated"] == "11"
    assert calls["n"] == 12  # never a second CreateSubscription for the uncertain one
    claims = shop.admin("GET", "/admin/v1/sync-claims").json["items"]
    assert len(claims) == 1 and claims[0]["resellerAccountId"] == "4711"
    key = claims[0]["publicLicenseKey"]
    assert shop.admin("POST", f"/admin/v1/sync-claims/{key}/release").status_code == 200
    assert shop.admin("GET", "/admin/v1/sync-claims").json["items"] == []
    assert shop.admin("POST", f"/admin/v1/sync-claims/{key}/release").status_code == 404
