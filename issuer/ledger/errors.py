"""Errors of the issuer's ledger writers (defined here: the issuer's package-wide errors module is not this part's).

Every writer maps its client's errors (web3, eth-tester, httpx, a subprocess) to these at the boundary, with
``raise ... from exc`` so the cause stays visible.
"""

from __future__ import annotations

from verifier.errors import AnchorcredError
from verifier.ledger.errors import AlreadyAnchoredError as _VerifierAlreadyAnchoredError

__all__ = [
    "AlreadyAnchoredError",
    "AnchorRevertedError",
    "ConfirmationTimeoutError",
    "DevnetError",
    "IssuerLedgerError",
    "LedgerConnectionError",
    "RegistryNotDeployedError",
    "TransactionRejectedError",
]


class IssuerLedgerError(AnchorcredError):
    """Base of every error an issuer ledger backend raises on purpose."""


class AlreadyAnchoredError(IssuerLedgerError, _VerifierAlreadyAnchoredError):
    """The registry already records this root (attributes: ``root``, ``sender``, ``time``); nothing was sent."""


class LedgerConnectionError(IssuerLedgerError):
    """The node could not be reached or did not answer; the anchor may be retried."""


class TransactionRejectedError(IssuerLedgerError):
    """The node refused the transaction (bad nonce, underpriced, insufficient funds, invalid signature...)."""


class AnchorRevertedError(IssuerLedgerError):
    """The anchoring transaction was mined but failed (receipt status 0), or would revert."""

    def __init__(self, message: str, *, tx_hash: str | None = None):
        self.tx_hash = tx_hash
        super().__init__(message)


class ConfirmationTimeoutError(IssuerLedgerError):
    """The transaction was sent but not mined (or not confirmed k times) in time; it may still land: check again."""

    def __init__(self, message: str, *, tx_hash: str):
        self.tx_hash = tx_hash
        super().__init__(message)


class RegistryNotDeployedError(IssuerLedgerError):
    """No AnchorRegistry with the expected code at the configured address on this chain."""


class DevnetError(IssuerLedgerError):
    """The local anvil devnet could not be installed, started, reached or stopped."""
