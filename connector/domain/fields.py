"""Marshmallow schemas for each action's fields, built from the manifest's field definitions.

The schemas are made from ``fields.toml`` itself, so the form the marketplace renders and the
validation the connector applies cannot drift apart. Values may arrive as strings or numbers;
blank or null values count as absent; unknown fields are ignored; errors are keyed by the
contract's field names. ``json_schema`` turns any of these schemas into a JSON Schema document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, pre_load, validate

from connector.domain.manifest import QUOTABLE_ACTIONS, FieldDef, Manifest

REQUIRED = "Required."
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUTHY = {True, "true", "True", "TRUE", "1"}
_FALSY = {False, "false", "False", "FALSE", "0"}


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class FieldsSchema(Schema):
    """Base of the per-action schemas: unknown fields ignored, blank values absent."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_blanks(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {name: value for name, value in data.items() if not _is_blank(value)}


class Text(fields.Field[str]):
    """A string; a number becomes its decimal text; surrounding blanks are removed."""

    default_error_messages = {
        "invalid": "Not a valid text.",
        "control": "Must not contain control characters.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, str):
            if _CONTROL.search(value):
                raise self.make_error("control")
            return value.strip()
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        raise self.make_error("invalid")


class WholeNumber(fields.Field[int]):
    """A whole number, given as a number or as its decimal text."""

    default_error_messages = {"invalid": "Not a whole number."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
            return int(value.strip())
        raise self.make_error("invalid")


class IsoDate(fields.Field[date]):
    """A calendar date written ``YYYY-MM-DD``."""

    default_error_messages = {"invalid": "Not a valid date; write it YYYY-MM-DD."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.make_error("invalid")


class FullMatch(validate.Validator):
    """The whole value must match a regular expression (the manifest's ``Validator``)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._regex = re.compile(pattern)

    def __call__(self, value: Any) -> Any:
        if not self._regex.fullmatch(str(value)):
            raise ValidationError(f"Must match {self.pattern}.")
        return value


def _validators(definition: FieldDef) -> list[validate.Validator]:
    checks: list[validate.Validator] = []
    if definition.type == "Email":
        checks.append(validate.Email())
    if definition.enum_members is not None:
        checks.append(validate.OneOf(definition.enum_members))
    low, high = definition.min_value, definition.max_value
    if low is not None or high is not None:
        bound = validate.Range if definition.type == "Integer" else validate.Length
        checks.append(bound(min=low, max=high))
    if definition.validator is not None:
        checks.append(FullMatch(definition.validator))
    return checks


def field_for(definition: FieldDef) -> fields.Field[Any]:
    """Build the marshmallow field that validates one manifest field."""
    options: dict[str, Any] = {
        "validate": _validators(definition),
        "error_messages": {"required": REQUIRED},
    }
    if definition.required:
        options["required"] = True
    else:
        options["load_default"] = definition.default
    if definition.type == "Integer":
        return WholeNumber(**options)
    if definition.type == "Boolean":
        return fields.Boolean(truthy=_TRUTHY, falsy=_FALSY, **options)
    if definition.type == "Date":
        return IsoDate(**options)
    return Text(**options)


@lru_cache(maxsize=64)
def schema_for(manifest: Manifest, action: str) -> Schema:
    """Return the schema of ``action``'s fields (empty for actions without fields)."""
    declared = {d.name: field_for(d) for d in manifest.fields_of(action)}
    return FieldsSchema.from_dict(declared, name=f"{action.title().replace('_', '')}Fields")()


@dataclass(frozen=True)
class LoadedFields:
    """Fields that passed their own checks, coerced, and the errors of those that did not."""

    data: dict[str, Any]
    errors: dict[str, list[str]]


def load_fields(manifest: Manifest, action: str, raw: object) -> LoadedFields:
    """Coerce raw field values; keep what is valid and collect the errors of the rest."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return LoadedFields({}, {"fields": ["Must be an object of field values."]})
    try:
        return LoadedFields(schema_for(manifest, action).load(raw), {})
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        errors = {str(name): [str(m) for m in found] for name, found in messages.items()}
        valid = error.valid_data if isinstance(error.valid_data, dict) else {}
        return LoadedFields(dict(valid), errors)


class _Account(Schema):
    class Meta:
        unknown = EXCLUDE

    accountId = Text(required=True, validate=validate.Length(1, 100))


class QuoteRequestSchema(Schema):
    """The body of ``POST /api/v1/quote``; ``fields`` are checked by ``quote`` itself."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True, validate=validate.OneOf(QUOTABLE_ACTIONS))
    reseller = fields.Nested(_Account, required=True)
    subscription = fields.Nested(_Account, load_default=None)
    fields_ = fields.Dict(data_key="fields", load_default=dict)


# --- JSON Schema --------------------------------------------------------------------------


def json_schema(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    """Describe a marshmallow schema as a JSON Schema object (no required keys if partial)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in schema.fields.items():
        key = field.data_key or name
        properties[key] = _describe(field, partial=partial)
        if field.required and not partial:
            required.append(key)
    document: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        document["required"] = required
    return document


def _describe(field: fields.Field[Any], *, partial: bool) -> dict[str, Any]:
    described = _describe_type(field, partial=partial)
    for check in field.validators:
        described = _with_check(described, check)
    default = field.load_default
    if default is not None and default is not missing and not callable(default):
        described["default"] = default
    return described


def _describe_type(field: fields.Field[Any], *, partial: bool) -> dict[str, Any]:
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        return json_schema(field.schema, partial=partial)
    if isinstance(field, WholeNumber):
        text = {"type": "string", "pattern": f"^\\s*{_WHOLE.pattern}\\s*$"}
        return {"anyOf": [{"type": "integer"}, text]}
    if isinstance(field, fields.Boolean):
        return {"enum": sorted(field.truthy | field.falsy, key=lambda v: (type(v).__name__, v))}
    if isinstance(field, IsoDate | fields.Date):
        return {"type": "string", "format": "date", "pattern": f"^{_ISO_DATE.pattern}$"}
    if isinstance(field, fields.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Dict):
        return {"type": "object"}
    if isinstance(field, Text):
        return {"type": ["string", "number"]}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    return {"type": "string"}


def _with_check(described: dict[str, Any], check: object) -> dict[str, Any]:
    if isinstance(check, validate.OneOf):
        # A pick list of numbers also takes the numbers written as text.
        choices = list(check.choices)
        return {"enum": choices + [str(c) for c in choices if not isinstance(c, str)]}
    if isinstance(check, validate.Range):
        bounds = _drop_none({"minimum": check.min, "maximum": check.max})
        if "anyOf" in described:
            first, *rest = described["anyOf"]
            return {**described, "anyOf": [{**first, **bounds}, *rest]}
        return {**described, **bounds}
    if isinstance(check, validate.Length):
        return {**described, **_drop_none({"minLength": check.min, "maxLength": check.max})}
    if isinstance(check, validate.Email):
        return {**described, "type": "string", "format": "email"}
    if isinstance(check, FullMatch):
        return {**described, "type": "string", "pattern": f"^(?:{check.pattern})$"}
    if isinstance(check, validate.Regexp):
        return {**described, "type": "string", "pattern": check.regex.pattern}
    return described


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
