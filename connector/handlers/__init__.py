"""Handlers by marketplace action: the worker looks an operation's action up here."""

from __future__ import annotations

from connector.handlers import change_plan, create, modify, state, subscribe, sync
from connector.handlers.base import Handler

HANDLERS: dict[str, Handler] = {
    "SUBSCRIBE": subscribe.handle,
    "CREATE": create.handle,
    "MODIFY": modify.handle,
    "CHANGE_PLAN": change_plan.handle,
    "SYNC": sync.handle,
    "SUSPEND": state.suspend,
    "RESUME": state.resume,
    "DELETE": state.delete,
}
