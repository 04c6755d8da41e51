"""The real ESET client against the ESET sandbox over loopback HTTP: eset.md, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from connector.clients import errors
from connector.clients._http import RetryPolicy
from connector.clients.eset import EsetClient, EsetLicense, LicenseState, LicenseType
from connector.clock import FrozenClock
from connector.sandbox import EsetSandbox, EsetSandboxConfig, PartnerSeed, create_eset_sandbox

RELEASED = "P-3344551"
UNRELEASED = "P-5550001"


@pytest.fixture
def customer_id(eset: EsetClient) -> str:
    return eset.create_customer(
        RELEASED, name="Kunde AG", email="it@kunde.example", country="DE", custom_identifier="k1"
    )


def order(
    eset: EsetClient,
    customer_id: str,
    reference: str = "ALSO-op-1",
    *,
    term: int = 12,
    license_type: int = LicenseType.FULL,
    product: str = "PROTECT_ADVANCED",
    quantity: int = 25,
    **extra: Any,
) -> EsetLicense:
    return eset.order_license(
        order_reference=reference,
        partner_id=RELEASED,
        customer_id=customer_id,
        product_code=product,
        quantity=quantity,
        license_type=license_type,
        term_months=term,
        notify_emails=["it@kunde.example"],
        **extra,
    )


def licenses_at(sandbox: EsetSandbox, customer_id: str) -> list[Any]:
    return [lic for lic in sandbox.world.licenses.values() if lic.customer_id == customer_id]


def order_calls(sandbox: EsetSandbox) -> int:
    return sum(1 for call in sandbox.calls if call["path"] == "License/Order")


# ---------------------------------------------------------------------- partners and sync


def test_sync_streams_every_license_of_a_released_partner(eset: EsetClient) -> None:
    found = list(eset.search_licenses(RELEASED))

    assert len(found) == 12
    assert {lic.partner_id for lic in found} == {RELEASED}
    assert len({lic.public_license_key for lic in found}) == 12


def test_a_partner_seeded_with_250_licenses_is_read_in_three_pages(
    eset: EsetClient, eset_sandbox: EsetSandbox
) -> None:
    eset_sandbox.seed_partner(PartnerSeed("P-2500000", "Gross GmbH", licenses=250))

    found = list(eset.search_licenses("P-2500000"))

    assert len(found) == 250
    searches = [c for c in eset_sandbox.calls if c["path"] == "Search/Licenses"]
    assert len(searches) == 3


def test_an_unreleased_partner_answers_detail_but_refuses_search(eset: EsetClient) -> None:
    partner = eset.partner_detail(UNRELEASED)

    assert partner.released_to_distributor is False
    with pytest.raises(errors.PartnerDataNotReleased, match="has not released"):
        list(eset.search_licenses(UNRELEASED))


def test_an_unknown_partner_is_not_found(eset: EsetClient) -> None:
    with pytest.raises(errors.PartnerNotFound):
        eset.partner_detail("P-0000000")


def test_registering_twice_with_one_distributor_reference_gives_one_partner(
    eset: EsetClient,
) -> None:
    first = eset.register_partner(
        name="Neu GmbH", country="DE", email="a@neu.example", distributor_reference="4711"
    )
    second = eset.register_partner(
        name="Neu GmbH", country="DE", email="a@neu.example", distributor_reference="4711"
    )

    assert first == second and first.level == "Registered"
    assert eset.partner_detail(first.partner_id).name == "Neu GmbH"


def test_creating_a_customer_twice_with_one_identifier_gives_one_customer(
    eset: EsetClient, customer_id: str
) -> None:
    again = eset.create_customer(
        RELEASED, name="Kunde AG", email="it@kunde.example", country="DE", custom_identifier="k1"
    )

    assert again == customer_id


def test_seeding_is_deterministic_for_a_seed_and_differs_between_seeds() -> None:
    def keys(seed: int) -> list[tuple[str, str, int, date]]:
        clock = FrozenClock(datetime(2026, 11, 27, tzinfo=UTC))
        app = create_eset_sandbox(EsetSandboxConfig(seed=seed), clock=clock)
        world = app.extensions["eset_sandbox"].world
        return [
            (lic.public_license_key, lic.product_code, lic.quantity, lic.expiration_date)
            for lic in world.licenses.values()
        ]

    assert keys(1) == keys(1)
    assert keys(1) != keys(2)


# ---------------------------------------------------------------------- ordering


def test_an_order_creates_a_license_for_the_term_and_mails_its_documents(
    eset: EsetClient, eset_sandbox: EsetSandbox, customer_id: str
) -> None:
    placed = order(eset, customer_id)

    assert (placed.start_date, placed.expiration_date) == (date(2026, 11, 27), date(2027, 11, 27))
    assert placed.state == LicenseState.NORMAL and placed.quantity == 25
    (mail,) = eset_sandbox.world.mails
    assert mail.to == ("it@kunde.example",) and mail.license_key == placed.license_key


def test_ordering_twice_with_one_reference_creates_one_license(
    eset: EsetClient, eset_sandbox: EsetSandbox, customer_id: str
) -> None:
    first = order(eset, customer_id)
    second = order(eset, customer_id)

    assert first == second
    assert len(licenses_at(eset_sandbox, customer_id)) == 1
    assert [o.public_license_key for o in eset.search_orders("ALSO-op-1")] == [
        first.public_license_key
    ]


@pytest.mark.parametrize("mode", ["504", "drop", "slow"])
def test_an_order_whose_answer_is_lost_still_creates_exactly_one_license(
    eset_url: str, eset_sandbox: EsetSandbox, customer_id: str, mode: str
) -> None:
    eset_sandbox.config.ambiguous_calls = 1
    eset_sandbox.config.ambiguous_mode = mode
    eset_sandbox.config.slow_seconds = 0.4

    with EsetClient(
        eset_url, "sandbox", "sandbox", timeout=(2.0, 0.2), sleep=lambda s: None
    ) as impatient:
        placed = order(impatient, customer_id)

    (only,) = licenses_at(eset_sandbox, customer_id)
    assert placed.public_license_key == only.public_license_key
    assert order_calls(eset_sandbox) == 1
    assert eset_sandbox.config.ambiguous_calls == 0


def test_drop_mode_acts_and_then_closes_the_connection_without_an_answer(
    eset_sandbox: EsetSandbox, eset_url: str, http: requests.Session
) -> None:
    login = {"username": "sandbox", "password": "sandbox"}
    token = http.post(f"{eset_url}/api/Token/Get", json=login, timeout=5).json()["accessToken"]
    eset_sandbox.config.ambiguous_calls = 1
    eset_sandbox.config.ambiguous_mode = "drop"
    eset_sandbox.config.ambiguous_paths = ("License/Suspend",)
    key = next(iter(eset_sandbox.world.licenses))

    with pytest.raises(requests.ConnectionError):
        http.post(
            f"{eset_url}/api/License/Suspend",
            json={"publicLicenseKey": key},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    assert eset_sandbox.world.licenses[key].state == LicenseState.SUSPENDED


def test_a_worker_retry_after_lost_answers_finds_the_license_instead_of_ordering(
    eset_url: str, eset_sandbox: EsetSandbox, customer_id: str
) -> None:
    eset_sandbox.config.ambiguous_calls = 1
    one_try = RetryPolicy(attempts=1)

    with EsetClient(eset_url, "sandbox", "sandbox", retry=one_try) as eset:
        with pytest.raises(errors.OrderOutcomeUnknown):
            order(eset, customer_id)
        placed = order(eset, customer_id)

    assert len(licenses_at(eset_sandbox, customer_id)) == 1
    assert order_calls(eset_sandbox) == 1
    assert placed.customer_id == customer_id


def test_a_rerun_after_a_crash_gets_the_same_license_back(
    eset_url: str, eset_sandbox: EsetSandbox, customer_id: str
) -> None:
    eset_sandbox.config.ambiguous_calls = 1
    one_try = RetryPolicy(attempts=1)
    with EsetClient(eset_url, "sandbox", "sandbox", retry=one_try) as crashed:
        with pytest.raises(errors.OrderOutcomeUnknown):
            order(crashed, customer_id)

    with EsetClient(eset_url, "sandbox", "sandbox") as restarted:
        placed = order(restarted, customer_id)

    (only,) = licenses_at(eset_sandbox, customer_id)
    assert placed.public_license_key == only.public_license_key


def test_random_server_errors_never_produce_a_second_license(
    eset_url: str, eset_sandbox: EsetSandbox, customer_id: str
) -> None:
    eset_sandbox.config.error_rate = 0.5
    placed: list[EsetLicense] = []
    with EsetClient(eset_url, "sandbox", "sandbox", sleep=lambda s: None) as eset:
        for reference in ("ALSO-a", "ALSO-b", "ALSO-c"):
            for _attempt in range(20):  # what the worker does: try again later
                try:
                    placed.append(order(eset, customer_id, reference))
                    break
                except errors.EsetTransientError:
                    continue

    assert len(placed) == 3
    assert len(licenses_at(eset_sandbox, customer_id)) == 3
    assert len(eset_sandbox.world.orders) == 3


def test_a_full_order_needs_a_full_term(eset: EsetClient, customer_id: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        order(eset, customer_id, term=3)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"quantity": 0}, errors.InvalidQuantity),
        ({"quantity": 10_001}, errors.QuantityOutOfRange),
        ({"product": "PROTECT_NOTHING"}, errors.ProductNotAvailable),
        (
            {"term": 1, "license_type": LicenseType.TRIAL, "discount_category": "EDU"},
            errors.TrialNotAllowed,
        ),
    ],
)
def test_orders_break_the_rules_with_the_matching_error(
    eset: EsetClient, customer_id: str, changes: dict[str, Any], expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        order(eset, customer_id, **changes)


def test_an_order_for_an_unknown_customer_is_refused(eset: EsetClient) -> None:
    with pytest.raises(errors.CustomerNotFound):
        order(eset, "C-9999")


def test_an_end_customer_holds_one_trial_per_product_at_a_time(
    eset: EsetClient, customer_id: str
) -> None:
    trial = order(eset, customer_id, "ALSO-t1", term=1, license_type=LicenseType.TRIAL)

    assert trial.is_trial and trial.expiration_date == date(2026, 12, 27)
    with pytest.raises(errors.TrialNotAllowed):
        order(eset, customer_id, "ALSO-t2", term=3, license_type=LicenseType.TRIAL)
    other = order(eset, customer_id, "ALSO-t3", term=1, license_type=4, product="PROTECT_ELITE")
    assert other.is_trial


def test_adding_months_clamps_to_the_end_of_a_shorter_month(
    eset: EsetClient, customer_id: str, clock: FrozenClock
) -> None:
    clock.set(datetime(2027, 1, 31, 9, 0, tzinfo=UTC))

    trial = order(eset, customer_id, "ALSO-jan", term=1, license_type=LicenseType.TRIAL)

    assert trial.expiration_date == date(2027, 2, 28)


# ---------------------------------------------------------------------- renewals and changes


def test_a_renewal_adds_the_term_to_the_old_expiry(eset: EsetClient, customer_id: str) -> None:
    placed = order(eset, customer_id)

    renewed = eset.renew_license(
        order_reference="ALSO-r1",
        public_license_key=placed.public_license_key,
        term_months=24,
        quantity=30,
    )

    assert (renewed.start_date, renewed.expiration_date) == (date(2027, 11, 27), date(2029, 11, 27))
    assert renewed.quantity == 30 and renewed.public_license_key == placed.public_license_key


def test_a_late_renewal_still_counts_from_the_old_expiry(
    eset: EsetClient, customer_id: str, clock: FrozenClock
) -> None:
    placed = order(eset, customer_id)
    clock.set(datetime(2028, 1, 20, tzinfo=UTC))  # 54 days after expiry

    renewed = eset.renew_license(
        order_reference="ALSO-r1",
        public_license_key=placed.public_license_key,
        term_months=12,
        quantity=25,
    )

    assert renewed.expiration_date == date(2028, 11, 27)


def test_a_renewal_more_than_60_days_late_is_refused_as_expired(
    eset: EsetClient, customer_id: str, clock: FrozenClock
) -> None:
    placed = order(eset, customer_id)
    clock.set(datetime(2028, 1, 27, tzinfo=UTC))  # 61 days after expiry

    with pytest.raises(errors.Expired):
        eset.renew_license(
            order_reference="ALSO-r1",
            public_license_key=placed.public_license_key,
            term_months=12,
            quantity=25,
        )


def test_a_renewed_trial_becomes_full_starting_on_the_renewal_day(
    eset: EsetClient, customer_id: str, clock: FrozenClock
) -> None:
    trial = order(eset, customer_id, "ALSO-t", term=1, license_type=LicenseType.TRIAL)
    clock.set(datetime(2026, 12, 10, tzinfo=UTC))

    full = eset.renew_license(
        order_reference="ALSO-r",
        public_license_key=trial.public_license_key,
        term_months=12,
        quantity=40,
    )

    assert full.license_type == LicenseType.FULL
    assert (full.start_date, full.expiration_date) == (date(2026, 12, 10), date(2027, 12, 10))


def test_update_quantity_changes_seats_now_and_keeps_the_expiry(
    eset: EsetClient, customer_id: str
) -> None:
    placed = order(eset, customer_id)

    changed = eset.update_quantity(
        order_reference="ALSO-q", public_license_key=placed.public_license_key, quantity=40
    )

    assert changed.quantity == 40 and changed.expiration_date == placed.expiration_date
    with pytest.raises(errors.QuantityEqualToPrevious):
        eset.update_quantity(
            order_reference="ALSO-q2", public_license_key=placed.public_license_key, quantity=40
        )


def test_change_product_keeps_key_and_expiry(eset: EsetClient, customer_id: str) -> None:
    placed = order(eset, customer_id)

    changed = eset.change_product(
        order_reference="ALSO-c",
        public_license_key=placed.public_license_key,
        new_product_code="PROTECT_ELITE",
        quantity=30,
    )

    assert changed.product_code == "PROTECT_ELITE" and changed.quantity == 30
    assert changed.public_license_key == placed.public_license_key
    assert changed.expiration_date == placed.expiration_date


def test_change_product_is_only_for_full_active_licenses(
    eset: EsetClient, customer_id: str
) -> None:
    trial = order(eset, customer_id, "ALSO-t", term=1, license_type=LicenseType.TRIAL)
    full = order(eset, customer_id, "ALSO-f")
    eset.suspend(full.public_license_key)

    with pytest.raises(errors.ChangeOfProductUnavailable):
        eset.change_product(
            order_reference="ALSO-c1",
            public_license_key=trial.public_license_key,
            new_product_code="PROTECT_ELITE",
            quantity=25,
        )
    with pytest.raises(errors.NotActive):
        eset.change_product(
            order_reference="ALSO-c2",
            public_license_key=full.public_license_key,
            new_product_code="PROTECT_ELITE",
            quantity=25,
        )


def test_suspend_and_unsuspend_move_between_states_3_and_1(
    eset: EsetClient, customer_id: str
) -> None:
    placed = order(eset, customer_id)

    assert eset.suspend(placed.public_license_key).state == LicenseState.SUSPENDED
    assert eset.unsuspend(placed.public_license_key).state == LicenseState.NORMAL
    with pytest.raises(errors.NotSuspended):
        eset.unsuspend(placed.public_license_key)


def test_only_trials_can_be_removed(eset: EsetClient, customer_id: str) -> None:
    trial = order(eset, customer_id, "ALSO-t", term=1, license_type=LicenseType.TRIAL)
    full = order(eset, customer_id, "ALSO-f")

    assert eset.remove(trial.public_license_key).state == LicenseState.OBSOLETE
    with pytest.raises(errors.NotTrial):
        eset.remove(full.public_license_key)


def test_an_unknown_license_is_not_found(eset: EsetClient) -> None:
    with pytest.raises(errors.LicenseNotFound):
        eset.license_detail("ZZZ-ZZZ-ZZZ")


# ---------------------------------------------------------------------- tokens and limits


def test_a_token_that_expires_mid_sequence_is_renewed_transparently(
    eset: EsetClient, eset_sandbox: EsetSandbox, clock: FrozenClock
) -> None:
    eset.partner_detail(RELEASED)
    clock.advance(seconds=61)

    assert eset.partner_detail(RELEASED).partner_id == RELEASED
    outcomes = [(c["path"], c["status"]) for c in eset_sandbox.calls]
    assert outcomes == [
        ("Token/Get", 200),
        ("Partner/Detail", 200),
        ("Partner/Detail", 401),
        ("Token/Renew", 200),
        ("Partner/Detail", 200),
    ]


def test_tokens_expired_over_the_control_surface_are_renewed(
    eset: EsetClient, eset_url: str, http: requests.Session
) -> None:
    eset.partner_detail(RELEASED)

    expired = http.post(f"{eset_url}/_sandbox/tokens/expire", timeout=5).json()

    assert expired == {"expired": 1}
    assert eset.partner_detail(RELEASED).partner_id == RELEASED


def test_a_burst_of_429s_is_waited_out_with_retry_after(
    eset: EsetClient, eset_sandbox: EsetSandbox, sleeps: list[float]
) -> None:
    eset_sandbox.config.rate_limit_burst = 2

    assert eset.partner_detail(RELEASED).partner_id == RELEASED
    assert sleeps == [1.0, 1.0]


def test_the_real_rate_limit_answers_429_above_the_limit(
    eset: EsetClient, eset_sandbox: EsetSandbox, sleeps: list[float]
) -> None:
    eset_sandbox.config.rate_limit_per_second = 2
    eset_sandbox.config.retry_after_seconds = 30

    eset.partner_detail(RELEASED)
    eset.partner_detail(RELEASED)
    with pytest.raises(errors.RateLimited) as raised:
        eset.partner_detail(RELEASED)

    assert raised.value.retry_after == 30.0 and sleeps == []


def test_maintenance_answers_503_code_99_2(
    eset: EsetClient, eset_sandbox: EsetSandbox, eset_url: str, http: requests.Session
) -> None:
    eset_sandbox.config.maintenance = True

    raw = http.post(f"{eset_url}/api/Token/Get", json={}, timeout=5)
    with pytest.raises(errors.Maintenance):
        eset.partner_detail(RELEASED)

    assert raw.status_code == 503
    assert raw.json() == {"error": {"code": 99, "subCode": 2, "message": "Maintenance"}}


def test_wrong_credentials_are_refused(eset_url: str) -> None:
    with EsetClient(eset_url, "sandbox", "wrong") as eset:
        with pytest.raises(errors.AuthenticationFailed):
            eset.partner_detail(RELEASED)


# ---------------------------------------------------------------------- control surface


def test_settings_can_be_changed_over_http_and_bad_ones_are_refused(
    eset_url: str, eset_sandbox: EsetSandbox, http: requests.Session
) -> None:
    changed = http.post(
        f"{eset_url}/_sandbox/config",
        json={"error_rate": 0.25, "ambiguous_mode": "drop"},
        timeout=5,
    )
    refused = http.post(f"{eset_url}/_sandbox/config", json={"error_rate": 2}, timeout=5)
    unknown = http.post(f"{eset_url}/_sandbox/config", json={"password": "x"}, timeout=5)

    assert changed.status_code == 200 and changed.json()["error_rate"] == 0.25
    assert eset_sandbox.config.ambiguous_mode == "drop"
    assert refused.status_code == 400 and unknown.status_code == 400
    assert "password" not in http.get(f"{eset_url}/_sandbox/config", timeout=5).json()


def test_partners_with_licenses_can_be_seeded_over_http(
    eset: EsetClient, eset_url: str, http: requests.Session
) -> None:
    created = http.post(
        f"{eset_url}/_sandbox/partners",
        json={"partner_id": "P-7000007", "level": "Platinum", "released": False, "licenses": 4},
        timeout=5,
    )

    assert created.status_code == 201 and created.json()["licenses"] == 4
    assert eset.partner_detail("P-7000007").level == "Platinum"
    listed = http.get(
        f"{eset_url}/_sandbox/licenses", params={"partner_id": "P-7000007"}, timeout=5
    )
    assert listed.json()["count"] == 4


def test_the_clock_can_be_moved_over_http(
    eset_url: str, eset_sandbox: EsetSandbox, http: requests.Session
) -> None:
    moved = http.post(f"{eset_url}/_sandbox/clock", json={"now": "2027-03-01"}, timeout=5).json()
    later = http.post(f"{eset_url}/_sandbox/clock", json={"advance_days": 2}, timeout=5).json()

    assert moved["today"] == "2027-03-01" and later["today"] == "2027-03-03"
    assert eset_sandbox.clock.today() == date(2027, 3, 3)


def test_reset_returns_to_the_seeded_state(
    eset: EsetClient,
    eset_sandbox: EsetSandbox,
    customer_id: str,
    eset_url: str,
    http: requests.Session,
) -> None:
    order(eset, customer_id)
    eset_sandbox.config.maintenance = True

    http.post(f"{eset_url}/_sandbox/reset", timeout=5)

    assert eset_sandbox.config.maintenance is False
    assert eset_sandbox.world.orders == {} and len(eset_sandbox.world.licenses) == 15


@pytest.fixture
def mounted_eset(eset_app: Any, serving: Any) -> Iterator[str]:
    root = Response("connector", mimetype="text/plain")
    with serving(DispatcherMiddleware(root, {"/sandbox/eset": eset_app})) as url:
        yield url + "/sandbox/eset"


def test_the_sandbox_works_mounted_under_a_url_prefix(
    mounted_eset: str, eset_sandbox: EsetSandbox, http: requests.Session
) -> None:
    with EsetClient(mounted_eset, "sandbox", "sandbox") as eset:
        assert len(list(eset.search_licenses(RELEASED))) == 12

    calls = http.get(
        f"{mounted_eset}/_sandbox/calls", params={"path": "Search/Licenses"}, timeout=5
    )
    assert calls.json()["count"] == 1
