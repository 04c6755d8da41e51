"""Write the JSON Schema documents and example payloads of ``schemas/`` from the code.

    .venv/bin/python schemas/generate.py          # rewrite the files
    .venv/bin/python schemas/generate.py --check  # exit 1 if a committed file is out of date

The event schemas come from the intake's envelope schema and the manifest's field schemas, the
quote schemas from ``QuoteRequestSchema``; the quote answers are what ``quote`` says for the
example bodies with the facts in ``EXAMPLE_FACTS``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from connector.api.envelope import WITHOUT_SUBSCRIPTION, EventSchema
from connector.domain.facts import LicenseFacts, PartnerFacts
from connector.domain.fields import JSON_SCHEMA_DIALECT, QuoteRequestSchema, json_schema, schema_for
from connector.domain.manifest import ACTIONS, QUOTABLE_ACTIONS, Manifest, load_manifest
from connector.domain.quote import quote
from connector.settings import Settings

HERE = Path(__file__).resolve().parent
MONEY = {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"}


@dataclass(frozen=True)
class ExampleFacts:
    """What the connector knows when the examples arrive (the test checks them with these)."""

    today: date
    partner: PartnerFacts
    license: LicenseFacts


def example_facts(manifest: Manifest) -> ExampleFacts:
    """Return the day, the reseller and the license the examples are written for."""
    license = LicenseFacts(
        product="PROTECT_ADVANCED",
        seats=25,
        license_type="FULL",
        state="Active",
        start_date=date(2025, 12, 20),
        expiry_date=date(2026, 12, 20),
    )
    return ExampleFacts(date(2026, 11, 27), manifest.catalog.partner("Gold"), license)


def _customer(manifest: Manifest) -> dict[str, Any]:
    return {
        "CustomerCompany": "Beispiel Bau AG",
        "CustomerContact": "Erika Mustermann",
        "CustomerEmail": "it@beispiel-bau.example",
        "CustomerCountry": "DE",
        "CustomerVatId": "DE123456789",
        "EulaAccepted": "true",
        "EulaVersion": manifest.eula.version,
    }


def example_fields(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Return the example field values by example name (``ACTION`` or ``ACTION.variant``)."""
    customer = _customer(manifest)
    return {
        "SUBSCRIBE": {},
        "CREATE": {"Product": "PROTECT_ADVANCED", "Seats": "25", "TermMonths": "12", **customer},
        "CREATE.trial": {"Product": "PROTECT_COMPLETE", "Seats": 10, "TermMonths": 1, **customer},
        "CREATE.crossgrade-gov": {
            "Product": "PROTECT_ELITE",
            "Seats": "100",
            "TermMonths": "36",
            "LicenseType": "CROSSGRADE",
            "DiscountCategory": "GOV",
            "EligibilityProof": "DMS-2026-0815 (Landratsamt contract and old license)",
            "CrossgradeSeats": "60",
            "CrossgradeExpiry": "2026-10-31",
            **customer,
            "NotifyEmail": "licenses@muster-it.example",
        },
        "MODIFY": {"Seats": "30", "RenewTermMonths": "12"},
        "CHANGE_PLAN": {"Product": "PROTECT_COMPLETE", "Seats": "30", "RenewTermMonths": "12"},
        "SYNC": {},
        "SUSPEND": {},
        "RESUME": {},
        "DELETE": {},
    }


def example_quotes(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Return the example quote fields: the form as the reseller is filling it in."""
    every = example_fields(manifest)
    return {
        "CREATE": {"Product": "PROTECT_ADVANCED", "Seats": "24", "TermMonths": "12"},
        "CREATE.crossgrade-gov": every["CREATE.crossgrade-gov"],
        "MODIFY": every["MODIFY"],
        "CHANGE_PLAN": every["CHANGE_PLAN"],
    }


def _request_id(name: str) -> str:
    number = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    return f"3f0c2d1e-6b1a-4c55-9a0e-{number:012d}"


def example_event(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Return a full event body as the marketplace posts it."""
    action = name.split(".")[0]
    request_id = _request_id(name)
    body: dict[str, Any] = {
        "requestId": request_id,
        "action": action,
        "occurredAt": "2026-11-27T10:15:00Z",
        "callbackUrl": f"https://marketplace.example/callbacks/{request_id}",
        "reseller": {
            "accountId": "4711",
            "companyName": "Muster IT GmbH",
            "alsoPartnerId": "DE-100234",
            "country": "DE",
            "email": "licenses@muster-it.example",
            "esetPartnerId": "P-3344551",
        },
    }
    if action not in WITHOUT_SUBSCRIPTION:
        body["subscription"] = {"accountId": "99002" if action == "CREATE" else "99001"}
    body["fields"] = fields
    return body


def example_quote(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Return a quote body as the configuration form posts it."""
    action = name.split(".")[0]
    body: dict[str, Any] = {"action": action, "reseller": {"accountId": "4711"}}
    body["subscription"] = {"accountId": "99002" if action == "CREATE" else "99001"}
    body["fields"] = fields
    return body


def event_schema(manifest: Manifest, action: str) -> dict[str, Any]:
    """Return the JSON Schema of an event body for ``action``."""
    document = json_schema(EventSchema())
    document["properties"]["action"] = {"const": action}
    document["properties"]["fields"] = json_schema(schema_for(manifest, action))
    if action not in WITHOUT_SUBSCRIPTION:
        document["required"] = [*document.get("required", []), "subscription"]
    return _titled(f"{action} event (POST /api/v1/events)", document)


def quote_schema(manifest: Manifest, action: str) -> dict[str, Any]:
    """Return the JSON Schema of a quote body for ``action`` (fields may still be missing)."""
    document = json_schema(QuoteRequestSchema())
    document["properties"]["action"] = {"const": action}
    document["properties"]["fields"] = json_schema(schema_for(manifest, action), partial=True)
    if action != "CREATE":
        document["required"] = [*document.get("required", []), "subscription"]
    return _titled(f"{action} quote (POST /api/v1/quote)", document)


def quote_answer_schema() -> dict[str, Any]:
    """Return the JSON Schema of the quote answer."""
    line = {
        "type": "object",
        "required": ["description", "amount"],
        "properties": {"description": {"type": "string"}, "amount": MONEY},
    }
    price = {
        "type": "object",
        "required": ["currency", "listPrice", "discount", "margin", "invoicePrice", "lines"],
        "properties": {
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "listPrice": MONEY,
            "discount": MONEY,
            "margin": MONEY,
            "invoicePrice": MONEY,
            "lines": {"type": "array", "items": line},
        },
    }
    messages = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    document = {
        "type": "object",
        "required": ["valid", "errors", "price"],
        "properties": {
            "valid": {"type": "boolean"},
            "errors": {"type": "object", "additionalProperties": messages},
            "price": {"anyOf": [{"type": "null"}, price]},
        },
    }
    return _titled("Quote answer (POST /api/v1/quote)", document)


def _titled(title: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, "title": title, **document}


def documents(manifest: Manifest) -> dict[str, Any]:
    """Return every generated file of ``schemas/`` by its path there."""
    facts = example_facts(manifest)
    files: dict[str, Any] = {"quotes/answer.schema.json": quote_answer_schema()}
    for action in ACTIONS:
        files[f"events/{action}.schema.json"] = event_schema(manifest, action)
    for action in QUOTABLE_ACTIONS:
        files[f"quotes/{action}.schema.json"] = quote_schema(manifest, action)
    for name, fields in example_fields(manifest).items():
        files[f"events/{name}.example.json"] = example_event(name, fields)
    for name, fields in example_quotes(manifest).items():
        body = example_quote(name, fields)
        files[f"quotes/{name}.example.json"] = body
        answer = quote(
            manifest,
            body["action"],
            fields,
            partner=facts.partner,
            license=None if body["action"] == "CREATE" else facts.license,
            today=facts.today,
        )
        files[f"quotes/{name}.answer.json"] = answer.as_json()
    return files


def render(document: Any) -> str:
    """Write a document as the committed file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def stale(manifest: Manifest, root: Path = HERE) -> list[str]:
    """Return the generated files that are missing, different or no longer generated."""
    wanted = {path: render(doc) for path, doc in documents(manifest).items()}
    found = {p.relative_to(root).as_posix() for p in root.glob("*/*.json")}
    changed = [path for path, text in wanted.items() if _read(root / path) != text]
    return sorted(changed + [path for path in found if path not in wanted])


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def write(manifest: Manifest, root: Path = HERE) -> None:
    """Rewrite every generated file and remove those no longer generated."""
    wanted = documents(manifest)
    for old in root.glob("*/*.json"):
        if old.relative_to(root).as_posix() not in wanted:
            old.unlink()
    for name, document in wanted.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(render(document), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with ``--check`` report those that are out of date."""
    parser = argparse.ArgumentParser(description="Write the JSON Schemas and examples.")
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args(argv)
    manifest = load_manifest(Settings().manifest_path)
    if not args.check:
        write(manifest)
        return 0
    out_of_date = stale(manifest)
    for path in out_of_date:
        print(f"schemas/{path} is out of date; run: .venv/bin/python schemas/generate.py")
    return 1 if out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
