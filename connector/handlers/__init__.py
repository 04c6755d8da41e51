"""Handlers by marketplace action: the worker looks an operation's action up here."""

from __future__ import annotations

from connector.handlers.base import Handler

HANDLERS: dict[str, Handler] = {}
