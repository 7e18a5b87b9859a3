"""Errors of the verifier's ledger readers.

Two kinds, as in ``verifier.errors``: a ledger that cannot give evidence (down, slow, answering garbage, another chain
than configured, a chain the verifier does not know) is a ``LedgerUnavailableError`` — checks report *indeterminate*,
never *pass* (DESIGN.md "fail closed"); an anchor reference or root that is malformed is an ``InvalidInputError``.
"""

from __future__ import annotations

from datetime import datetime

from verifier.errors import AnchorcredError, InvalidInputError, LedgerUnavailableError

__all__ = [
    "AlreadyAnchoredError",
    "ChainMismatchError",
    "InvalidAnchorRefError",
    "LedgerResponseError",
    "LedgerRpcError",
    "LedgerTimeoutError",
    "LedgerUnavailableError",
    "RegistryNotConfiguredError",
    "UnknownChainError",
]


class LedgerTimeoutError(LedgerUnavailableError):
    """The ledger node did not answer in time."""


class LedgerRpcError(LedgerUnavailableError):
    """The node answered with a JSON-RPC error, an HTTP error status, or could not be connected to."""

    def __init__(self, message: str, *, code: int | None = None):
        self.code = code
        super().__init__(message if code is None else f"{message} (JSON-RPC error {code})")


class LedgerResponseError(LedgerUnavailableError):
    """The node's answer is not what the JSON-RPC API specifies (malformed, too large, missing fields)."""


class ChainMismatchError(LedgerUnavailableError):
    """The node serves another chain than the one the verifier configured for it."""

    def __init__(self, *, expected: int, actual: int):
        self.expected = expected
        self.actual = actual
        super().__init__(f"ledger node serves chain id {actual}, expected {expected} (check the verifier's ledger configuration)")


class UnknownChainError(LedgerUnavailableError):
    """A credential names a chain for which the verifier has no configured ledger (no silent fallback, DESIGN.md)."""

    def __init__(self, chain_id: int, configured: list[int]):
        self.chain_id = chain_id
        self.configured = sorted(configured)
        listed = ", ".join(str(c) for c in self.configured) or "none"
        super().__init__(f"no ledger configured for chain id {chain_id}; configured chain ids: {listed}")


class RegistryNotConfiguredError(LedgerUnavailableError):
    """The chain is configured without an AnchorRegistry: status lists and key events cannot be read from it."""


class InvalidAnchorRefError(InvalidInputError):
    """An anchor reference or root is malformed (not a 32-byte hash, not a positive chain id)."""


class AlreadyAnchoredError(AnchorcredError):
    """A writer was asked to anchor a root that the registry already records (shared by every ledger writer).

    The issuer's ``issuer.ledger.errors.AlreadyAnchoredError`` subclasses this one, so the in-memory ledger shipped with
    the verifier and the EVM writers raise errors a caller can catch the same way.
    """

    def __init__(self, root: bytes, sender: str, time: datetime | None):
        self.root = root
        self.sender = sender
        self.time = time
        when = time.isoformat() if time is not None else "unknown time"
        super().__init__(f"root 0x{root.hex()} is already anchored by {sender} at {when}")
