"""Errors of the issuer's ledger writers (defined here: the issuer's package-wide errors module is not this part's).

Every writer maps its client's errors (web3, eth-tester, httpx, a subprocess) to these at the boundary, with
``raise ... from exc`` so the cause stays visible.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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
    "redact_url",
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


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()]+")
_REQUESTS_PATH = re.compile(r"(with url: )\S+")


def redact_url(url: str, *, text: str | None = None) -> str:
    """``url`` cut to ``scheme://host:port``; with ``text`` (an exception's message), that text with ``url`` cut so.

    An RPC URL may carry credentials (``user:password@``) or an API key in its path or query, so no message shows more
    than where the node is. In ``text`` every URL is cut, and so is whatever ``url``'s path, query and user info would
    reveal on their own (requests says "Max retries exceeded with url: /v3/<key>").
    """
    if text is not None:
        redacted = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
        redacted = _REQUESTS_PATH.sub(r"\1<redacted>", redacted)
        try:
            parts = urlsplit(url)
        except ValueError:
            return redacted.replace(url, "<redacted>") if url else redacted
        for secret in (parts.path if parts.path not in ("", "/") else "", parts.query):
            if secret:
                redacted = redacted.replace(secret, "<redacted>")
        for secret in filter(None, (parts.password, parts.username)):
            # Whole tokens only: a user name "u" must not eat every "u" of the message.
            redacted = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "<redacted>", redacted)
        return redacted
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # not even a URL (a bad port): show nothing of it
        return "<unparsable URL>"
    if not parts.scheme or not host:
        return "<unparsable URL>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
