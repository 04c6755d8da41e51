"""The connector's exception tree.

The worker decides what to do with a failed step by the branch an exception belongs to:
``TransientError`` is tried again later with backoff, ``PermanentError`` fails the operation
with its message as ``errorDetails`` (so the message must make sense to a person).
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class TransientError(ConnectorError):
    """Worth trying again later: a timeout, a 5xx, a rate limit, a maintenance window."""

    unsettled = False
    """True where the remote side may already have acted (an order with no clear answer)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Trying again will not help: the request is wrong or the remote side refused it."""


class ConfigurationError(ConnectorError):
    """The connector is configured or deployed in a way it cannot run with."""
