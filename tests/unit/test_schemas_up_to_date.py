"""The committed ``schemas/`` match the generator, and every example passes its schemas."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connector.api.envelope import load_event
from connector.domain.manifest import ACTIONS, QUOTABLE_ACTIONS, Manifest
from connector.domain.quote import check_event, quote

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("schemas_generate", SCHEMAS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


generate = _generator()


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def validator(path: Path) -> Draft202012Validator:
    schema = read(path)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def action_of(example: Path) -> str:
    return example.name.split(".")[0]


EVENT_EXAMPLES = sorted((SCHEMAS / "events").glob("*.example.json"))
QUOTE_EXAMPLES = sorted((SCHEMAS / "quotes").glob("*.example.json"))


def test_the_committed_schema_files_are_what_the_generator_writes(
    default_manifest: Manifest,
) -> None:
    assert generate.stale(default_manifest) == [], (
        "schemas/ is out of date: run .venv/bin/python schemas/generate.py"
    )


def test_every_action_has_an_event_schema_and_an_example() -> None:
    assert {action_of(p) for p in EVENT_EXAMPLES} == set(ACTIONS)
    assert {action_of(p) for p in QUOTE_EXAMPLES} == set(QUOTABLE_ACTIONS)


@pytest.mark.parametrize("example", EVENT_EXAMPLES, ids=lambda p: p.name)
def test_every_event_example_passes_its_json_schema_the_intake_and_the_rules(
    default_manifest: Manifest, example: Path
) -> None:
    body = read(example)
    validator(SCHEMAS / "events" / f"{action_of(example)}.schema.json").validate(body)
    load_event(body)
    facts = generate.example_facts(default_manifest)
    action = body["action"]
    checked = check_event(
        default_manifest,
        action,
        body["fields"],
        partner=None if action == "SUBSCRIBE" else facts.partner,
        license=None if action == "CREATE" else facts.license,
        today=facts.today,
    )
    assert (checked.errors, checked.refusal) == ({}, None)


@pytest.mark.parametrize("example", QUOTE_EXAMPLES, ids=lambda p: p.name)
def test_every_quote_example_passes_its_json_schema_and_gets_its_committed_answer(
    default_manifest: Manifest, example: Path
) -> None:
    body = read(example)
    validator(SCHEMAS / "quotes" / f"{action_of(example)}.schema.json").validate(body)
    facts = generate.example_facts(default_manifest)
    answer = quote(
        default_manifest,
        body["action"],
        body["fields"],
        partner=facts.partner,
        license=None if body["action"] == "CREATE" else facts.license,
        today=facts.today,
    ).as_json()
    committed = read(example.with_name(example.name.replace(".example.", ".answer.")))
    assert answer == committed
    validator(SCHEMAS / "quotes" / "answer.schema.json").validate(answer)


def test_the_event_schema_refuses_what_the_intake_refuses() -> None:
    body = read(SCHEMAS / "events" / "CREATE.example.json")
    schema = validator(SCHEMAS / "events" / "CREATE.schema.json")
    for field, wrong in [("Seats", "many"), ("TermMonths", "6"), ("Product", "PROTECT_X")]:
        assert not schema.is_valid({**body, "fields": {**body["fields"], field: wrong}})
    without_seats = {k: v for k, v in body["fields"].items() if k != "Seats"}
    assert not schema.is_valid({**body, "fields": without_seats})
    assert not schema.is_valid({k: v for k, v in body.items() if k != "subscription"})


def test_a_quote_schema_accepts_a_form_still_being_filled_in() -> None:
    schema = validator(SCHEMAS / "quotes" / "CREATE.schema.json")
    assert schema.is_valid({"action": "CREATE", "reseller": {"accountId": "4711"}, "fields": {}})


def test_the_check_names_files_that_differ_or_are_no_longer_generated(
    default_manifest: Manifest, tmp_path: Path
) -> None:
    generate.write(default_manifest, tmp_path)
    assert generate.stale(default_manifest, tmp_path) == []
    (tmp_path / "events" / "CREATE.example.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "events" / "OLD.example.json").write_text("{}\n", encoding="utf-8")
    assert generate.stale(default_manifest, tmp_path) == [
        "events/CREATE.example.json",
        "events/OLD.example.json",
    ]
