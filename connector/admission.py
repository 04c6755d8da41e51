"""What an event must pass, with the connector's state at hand, before it is accepted.

The same facts (is the reseller subscribed, which license, does the customer already hold a
trial) answer both the intake and the live quote, so a quote that says "valid" is an order the
intake accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from connector import licenses
from connector.api.errors import invalid, invalid_state, not_found
from connector.domain import quote as quoting
from connector.domain.facts import LicenseFacts, PartnerFacts
from connector.domain.manifest import Manifest
from connector.domain.rules import blocks_new_trial
from connector.models import License, Operation, OperationStatus, Reseller

NO_LICENSE = "No license of this reseller has this subscription."
BUSY = "Another operation on this license is still running."
HOLDS_LICENSE = "This subscription already holds a license."
NO_NOTIFY_EMAIL = "Required: the reseller has no e-mail address to send the license to."


@dataclass(frozen=True)
class Facts:
    """What the rules need to know from the connector's own records."""

    partner: PartnerFacts | None
    license: License | None
    license_facts: LicenseFacts | None
    trial_exists: bool


def gather(
    session: Session,
    manifest: Manifest,
    *,
    action: str,
    reseller_account_id: str,
    subscription_account_id: str | None,
    raw_fields: object,
    today: date,
) -> Facts:
    """Look up the reseller, the license and any trial the order would collide with."""
    if action == "SUBSCRIBE":  # nothing about a reseller that is only now subscribing matters
        return Facts(None, None, None, False)
    partner = partner_of(session.get(Reseller, reseller_account_id), manifest)
    license = None
    if subscription_account_id is not None and action not in ("CREATE", "SYNC", "SUBSCRIBE"):
        license = licenses.of_reseller(session, reseller_account_id, subscription_account_id)
    facts = licenses.facts_of(license, today) if license is not None else None
    trial = action == "CREATE" and _trial_exists(
        session, manifest, reseller_account_id, raw_fields, today
    )
    return Facts(partner, license, facts, trial)


def partner_of(reseller: Reseller | None, manifest: Manifest) -> PartnerFacts | None:
    """Return a subscribed reseller's level and current margin, or None if not subscribed."""
    if reseller is None or reseller.subscribed_at is None or reseller.level is None:
        return None
    return manifest.catalog.partner(reseller.level)


def admit(
    session: Session, event: Mapping[str, Any], manifest: Manifest, today: date
) -> quoting.Checked:
    """Return the checked fields of an acceptable event; raise the contract's refusal otherwise."""
    action = event["action"]
    subscription = event.get("subscription")
    subscription_id = subscription["accountId"] if subscription else None
    if action == "SUBSCRIBE":
        _check_new_partner(event["reseller"])
        _check_partner_free(session, event["reseller"])
    facts = gather(
        session,
        manifest,
        action=action,
        reseller_account_id=event["reseller"]["accountId"],
        subscription_account_id=subscription_id,
        raw_fields=event.get("fields") or {},
        today=today,
    )
    _check_standing(session, action, event["reseller"]["accountId"], subscription_id, facts)
    checked = _check_fields(manifest, action, event.get("fields") or {}, facts, today)
    if action == "CREATE":
        _check_notify_email(session, event["reseller"], checked.fields)
    return checked


def _check_notify_email(
    session: Session, reseller: Mapping[str, Any], fields: Mapping[str, Any]
) -> None:
    if fields.get("NotifyEmail") or reseller.get("email"):
        return
    stored = session.get(Reseller, reseller["accountId"])
    if stored is None or not stored.email:
        raise invalid({"NotifyEmail": [NO_NOTIFY_EMAIL]})


def _check_standing(
    session: Session,
    action: str,
    reseller_id: str,
    subscription_id: str | None,
    facts: Facts,
) -> None:
    """Refuse an event its reseller or its license is in no position to take now."""
    if facts.partner is None and action != "SUBSCRIBE":
        raise invalid({"reseller": [quoting.NOT_SUBSCRIBED]})
    blockers = blocking_reasons(session, action, subscription_id, facts)
    if action == "CREATE" and blockers == [HOLDS_LICENSE]:
        raise invalid({"subscription.accountId": blockers})
    if action == "SYNC" and has_open_sync(session, reseller_id):
        raise invalid_state("A sync of this reseller's licenses is still running.")
    if action not in ("CREATE", "SYNC", "SUBSCRIBE") and facts.license is None:
        raise not_found(NO_LICENSE)
    if blockers:
        raise invalid_state(blockers[0])


def blocking_reasons(
    session: Session, action: str, subscription_id: str | None, facts: Facts
) -> list[str]:
    """Say why the subscription cannot take this order now, whatever its fields."""
    if action == "CREATE":
        if subscription_id and session.get(License, subscription_id) is not None:
            return [HOLDS_LICENSE]
        if subscription_id and has_open_operation(session, subscription_id):
            return ["An order for this subscription is still being processed."]
        return []
    if facts.license is not None and has_open_operation(
        session, facts.license.subscription_account_id
    ):
        return [BUSY]
    return []


def _check_fields(
    manifest: Manifest, action: str, raw_fields: object, facts: Facts, today: date
) -> quoting.Checked:
    """Apply the catalog's rules to the fields; refuse them field by field, or by state."""
    checked = quoting.check_event(
        manifest,
        action,
        raw_fields,
        partner=facts.partner,
        license=facts.license_facts,
        today=today,
        trial_exists=facts.trial_exists,
    )
    if checked.errors:
        raise invalid(checked.errors)
    if checked.refusal:
        raise invalid_state(checked.refusal)
    return checked


def has_open_operation(session: Session, subscription_account_id: str) -> bool:
    """Tell whether an operation on this license is still pending or awaiting review."""
    query = select(
        exists().where(
            Operation.subscription_account_id == subscription_account_id,
            Operation.status.in_((OperationStatus.PENDING, OperationStatus.AWAITING_REVIEW)),
        )
    )
    return bool(session.scalar(query))


def has_open_sync(session: Session, reseller_account_id: str) -> bool:
    """Tell whether a sync of this reseller is still pending."""
    query = select(
        exists().where(
            Operation.reseller_account_id == reseller_account_id,
            Operation.action == "SYNC",
            Operation.status.in_((OperationStatus.PENDING, OperationStatus.AWAITING_REVIEW)),
        )
    )
    return bool(session.scalar(query))


def _check_partner_free(session: Session, reseller: Mapping[str, Any]) -> None:
    partner_id = reseller.get("esetPartnerId")
    if not partner_id:
        return
    holder = session.scalar(
        select(Reseller.account_id).where(Reseller.eset_partner_id == partner_id)
    )
    if holder is not None and holder != reseller["accountId"]:
        raise invalid(
            {
                "reseller.esetPartnerId": [
                    "This ESET partner belongs to another marketplace account."
                ]
            }
        )
    current = session.get(Reseller, reseller["accountId"])
    if current is None or current.eset_partner_id in (None, partner_id):
        return
    holds = select(exists().where(License.reseller_account_id == current.account_id))
    if session.scalar(holds):
        # Its licenses belong to the partner it has; moving would leave them to nobody.
        raise invalid(
            {
                "reseller.esetPartnerId": [
                    f"This account holds licenses of ESET partner {current.eset_partner_id} "
                    "and cannot move to another partner."
                ]
            }
        )


def _check_new_partner(reseller: Mapping[str, Any]) -> None:
    # Without an ESET partner id the reseller is registered at ESET, which needs these.
    if reseller.get("esetPartnerId"):
        return
    missing = {
        f"reseller.{name}": ["Required to register the reseller as a new ESET partner."]
        for name in ("companyName", "country", "email")
        if not reseller.get(name)
    }
    if missing:
        raise invalid(missing)


def _trial_exists(
    session: Session, manifest: Manifest, reseller_id: str, raw_fields: object, today: date
) -> bool:
    key = quoting.trial_key(manifest, raw_fields)
    if key is None:
        return False
    query = select(License).where(
        License.reseller_account_id == reseller_id,
        License.customer_key == key.company,
        License.customer_country == key.country,
        License.product == key.product,
        License.license_type == "TRIAL",
    )
    return any(
        blocks_new_trial(licenses.facts_of(license, today), today)
        for license in session.scalars(query)
    )
