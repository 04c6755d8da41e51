"""The errors the ESET and marketplace clients raise.

Every class sits under ``TransientError`` (the worker tries again later, honouring
``retry_after``) or ``PermanentError`` (the worker fails the operation with the message, so
messages are written for a person). ESET errors are chosen by ``code``/``subCode`` as eset.md
says, with the HTTP status only as the fallback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connector.errors import ConnectorError, PermanentError, TransientError

# --------------------------------------------------------------------------- ESET


class EsetError(ConnectorError):
    """An error from the ESET partner API; ``code``/``sub_code`` are ESET's when it sent them."""

    description: ClassVar[str] = "ESET refused the request"

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str = "",
        status: int | None = None,
        code: int | None = None,
        sub_code: int | None = None,
        eset_message: str = "",
        retry_after: float | None = None,
        public_license_key: str | None = None,
    ) -> None:
        super().__init__(message or self.description)
        self.path = path
        self.status = status
        self.code = code
        self.sub_code = sub_code
        self.eset_message = eset_message
        self.retry_after = retry_after
        self.public_license_key = public_license_key
        # Set by the client when an earlier attempt of the same call may have worked.
        self.after_retry = False


class EsetTransientError(EsetError, TransientError):
    """ESET could not answer now; the same request may work later."""

    description = "ESET could not handle the request right now"


class EsetPermanentError(EsetError, PermanentError):
    """ESET refused the request; repeating it will not help."""


class Maintenance(EsetTransientError):
    description = "ESET is in a maintenance window"


class RateLimited(EsetTransientError):
    description = "ESET is limiting how often the connector may call it"


class EsetUnavailable(EsetTransientError):
    description = "ESET did not answer (timeout, lost connection or server error)"


class OrderOutcomeUnknown(EsetUnavailable):
    unsettled = True
    description = (
        "ESET did not confirm whether the order went through; the connector asks ESET about "
        "its order reference before it orders again"
    )


class OrderPending(EsetTransientError):
    unsettled = True
    description = "ESET is still processing the order"


class TokenRejected(EsetTransientError):
    description = "ESET did not accept the connector's access token"


class AuthenticationFailed(EsetPermanentError):
    description = (
        "ESET refused the connector's credentials "
        "(check CONNECTOR_ESET_USERNAME and CONNECTOR_ESET_PASSWORD)"
    )


class UnexpectedAnswer(EsetPermanentError):
    description = "ESET answered with data the connector does not understand"


class InvalidRequest(EsetPermanentError):
    description = "ESET rejected the request as invalid"


class NotAllowed(EsetPermanentError):
    description = "ESET does not allow this"


class NotFound(EsetPermanentError):
    description = "ESET does not know this item"


class Conflict(EsetPermanentError):
    description = "ESET says this has already been done"


class PartnerNotFound(NotFound):
    description = "ESET does not know this partner ID"


class PartnerDataNotReleased(NotAllowed):
    description = (
        "ESET has not released this partner's data to the distributor, so its licenses cannot "
        "be read; the partner must release its data to the distributor at ESET first"
    )


class CustomerNotFound(NotFound):
    description = "ESET does not know this customer"


class LicenseNotFound(NotFound):
    description = "ESET does not know this license"


class LicenseError(EsetPermanentError):
    description = "ESET refused the license change"


class InvalidQuantity(LicenseError):
    description = "ESET rejected the number of seats as invalid"


class AlreadyOrdered(LicenseError):
    description = "ESET has already executed an order with this reference"


class NotActive(LicenseError):
    description = "the license is not active at ESET (suspended or removed)"


class NotTrial(LicenseError):
    description = "the license is not a trial (ESET removes only trial licenses)"


class ProductNotAvailable(LicenseError):
    description = "ESET does not offer this product"


class QuantityOutOfRange(LicenseError):
    description = "ESET does not accept this number of seats for the product"


class TrialNotAllowed(LicenseError):
    description = (
        "ESET does not allow this trial (a trial takes no discount or crossgrade, and an end "
        "customer holds at most one trial per product)"
    )


class NotSuspended(LicenseError):
    description = "the license is not suspended at ESET"


class Expired(LicenseError):
    description = "the license expired too long ago for this change at ESET"


class ChangeOfProductUnavailable(LicenseError):
    description = (
        "ESET cannot change the product of this license (only full, active licenses can "
        "change to a different product)"
    )


class QuantityEqualToPrevious(LicenseError):
    description = "the license already has this number of seats"


ESET_ERRORS: dict[tuple[int, int], type[EsetError]] = {
    (1, 1): TokenRejected,
    (6, 1): PartnerNotFound,
    (6, 2): PartnerDataNotReleased,
    (7, 1): CustomerNotFound,
    (8, 2): LicenseNotFound,
    (8, 18): InvalidQuantity,
    (8, 20): AlreadyOrdered,
    (8, 23): NotActive,
    (8, 24): NotTrial,
    (8, 27): ProductNotAvailable,
    (8, 30): QuantityOutOfRange,
    (8, 32): TrialNotAllowed,
    (8, 36): NotSuspended,
    (8, 37): Expired,
    (8, 45): ChangeOfProductUnavailable,
    (8, 48): QuantityEqualToPrevious,
    (99, 2): Maintenance,
}

_BY_CODE: dict[int, type[EsetError]] = {1: TokenRejected, 8: LicenseError}

_BY_STATUS: dict[int, type[EsetError]] = {
    400: InvalidRequest,
    401: TokenRejected,
    403: NotAllowed,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def eset_error_class(status: int, code: int | None, sub_code: int | None) -> type[EsetError]:
    """Choose the exception class for an ESET error answer."""
    if code is not None and sub_code is not None and (code, sub_code) in ESET_ERRORS:
        return ESET_ERRORS[(code, sub_code)]
    if status == 429:
        return RateLimited
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status >= 500:
        return EsetUnavailable
    return _BY_STATUS.get(status, EsetPermanentError)


def describe(error_class: type[EsetError], path: str, context: dict[str, Any], detail: str) -> str:
    """Build a message for a person: what went wrong, then where and ESET's own words."""
    subject = ", ".join(f"{key} {value}" for key, value in context.items() if value)
    where = f"ESET {path}" + (f" for {subject}" if subject else "")
    return f"{error_class.description} ({where}{'; ' + detail if detail else ''})"


# --------------------------------------------------------------------------- marketplace


class MarketplaceError(ConnectorError):
    """An error talking to the marketplace's SimpleAPI or to a callback URL."""


class MarketplaceUnavailable(MarketplaceError, TransientError):
    """The marketplace did not answer, or answered with a server error that is not a fault.

    ``unsent`` is true only when the request surely never reached the marketplace (no
    connection could be made) or was turned away unprocessed (429): then repeating a call
    that is not idempotent cannot do its work twice.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, unsent: bool = False
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.unsent = unsent


class MarketplaceFault(MarketplaceError, PermanentError):
    """The marketplace answered with a WCF fault other than an expired session."""

    def __init__(self, message: str, *, fault_message: str = "") -> None:
        super().__init__(message)
        self.fault_message = fault_message


class MarketplaceRejected(MarketplaceError, PermanentError):
    """The marketplace refused the request with a client error (4xx) that is not a fault."""


class CallbackFailed(MarketplaceError, TransientError):
    """A callback got no 2xx answer in time; the outbox tries it again with backoff."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
