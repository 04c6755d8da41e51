"""The event envelope of marketplace.md §3, validated at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

ACTIONS = ("SUBSCRIBE", "CREATE", "MODIFY", "CHANGE_PLAN", "SYNC", "SUSPEND", "RESUME", "DELETE")
WITHOUT_SUBSCRIPTION = ("SUBSCRIBE", "SYNC")


class IdString(fields.String):
    """An identifier that may arrive as a string or a whole number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _identifier(required: bool = True) -> IdString:
    extra = {"required": True} if required else {"load_default": None}
    return IdString(validate=validate.Length(1, 100), **extra)


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("Must be an http or https URL.")


class ResellerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    accountId = _identifier()
    companyName = fields.String(load_default=None, validate=validate.Length(1, 200))
    alsoPartnerId = _identifier(required=False)
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"))
    email = fields.Email(load_default=None, validate=validate.Length(max=320))
    esetPartnerId = _identifier(required=False)


class SubscriptionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    accountId = _identifier()


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    requestId = fields.String(required=True, validate=validate.Length(1, 100))
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    occurredAt = fields.AwareDateTime(required=True, default_timezone=None)
    callbackUrl = fields.String(required=True, validate=[validate.Length(1, 2048), _http_url])
    reseller = fields.Nested(ResellerSchema, required=True)
    subscription = fields.Nested(SubscriptionSchema, load_default=None)
    fields_ = fields.Dict(data_key="fields", load_default=dict)

    @post_load
    def _plain_names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["fields"] = data.pop("fields_")
        return data

    @validates_schema
    def _subscription_where_needed(self, data: Mapping[str, Any], **_: Any) -> None:
        if data.get("action") in WITHOUT_SUBSCRIPTION or data.get("subscription"):
            return
        raise ValidationError(["Required for this action."], field_name="subscription.accountId")


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"reseller.accountId": [...]}``."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(message) for message in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = str(key) if not prefix else f"{prefix}.{key}"
        if key == "_schema" and prefix:
            name = prefix
        for field_name, field_messages in flatten(value, name).items():
            flat.setdefault(field_name, []).extend(field_messages)
    return flat


_EVENT_SCHEMA = EventSchema()


def load_event(body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an event body; raise ``ValidationError`` with flat, contract-named fields."""
    try:
        return _EVENT_SCHEMA.load(body)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise ValidationError(flatten(error.messages)) from None
