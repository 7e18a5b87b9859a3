"""Errors of the EBSI-like ledger (facade and client). Each maps to one RFC 9457 problem type in ``ebsi.service``."""

from __future__ import annotations

from typing import Any

from verifier.errors import AnchorcredError

__all__ = [
    "AuthorisationError",
    "ContractRevertError",
    "EbsiError",
    "EbsiUnavailableError",
    "ForbiddenError",
    "InvalidParamsError",
    "NotFoundError",
    "TransactionMismatchError",
]


class EbsiError(AnchorcredError):
    """Base of every error the EBSI-like ledger raises on purpose."""

    status = 500
    problem = "about:blank"
    title = "Internal error"


class InvalidParamsError(EbsiError):
    """A request's parameters are malformed (a bad DID, a hash of the wrong length, a bad page size)."""

    status = 400
    title = "Bad Request"


class NotFoundError(EbsiError):
    status = 404
    title = "Not Found"


class AuthorisationError(EbsiError):
    """No bearer token, or one that is invalid or expired."""

    status = 401
    title = "Unauthorized"


class ForbiddenError(EbsiError):
    """A valid token without the scope (or for another account) than the operation needs."""

    status = 403
    title = "Forbidden"


class TransactionMismatchError(EbsiError):
    """A signed transaction differs from the one the facade built (signer, chain, target, method, arguments...)."""

    status = 400
    title = "Signed transaction does not match"

    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


class ContractRevertError(EbsiError):
    """The contract refuses the operation (it would revert); ``error`` is the custom error's name."""

    status = 400
    title = "Operation refused by the ledger"

    def __init__(self, message: str, *, error: str | None = None, args: tuple[Any, ...] = ()):
        self.error = error
        self.error_args = args
        super().__init__(message)


class EbsiUnavailableError(EbsiError):
    """The chain behind the facade could not be reached or did not answer."""

    status = 503
    title = "Ledger unavailable"
