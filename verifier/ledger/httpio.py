"""One HTTP exchange with a ledger, bounded: the body read in chunks up to a size cap, and httpx's failures mapped to
ledger errors at the boundary (a timeout is :class:`LedgerTimeoutError`, any other transport failure
:class:`LedgerRpcError`; both mean "no evidence from this ledger", never a pass).

Shared by the JSON-RPC transport (``verifier.ledger.evm.HttpTransport``) and the EBSI-like REST client
(``verifier.ledger.ebsihttp``), so both refuse floods and report failures the same way.
"""

from __future__ import annotations

from typing import Any

import httpx

from verifier.ledger.errors import LedgerResponseError, LedgerRpcError, LedgerTimeoutError

__all__ = ["exchange", "read_capped"]


def exchange(client: httpx.Client, method: str, url: str, what: str, max_bytes: int,
             **request: Any) -> tuple[int, bytes]:
    """Send one request; the status code and the body (at most ``max_bytes``). ``what`` names the request in errors
    (e.g. ``"eth_chainId on http://node:8545"``: never a URL's credentials)."""
    try:
        with client.stream(method, url, **request) as response:
            status = response.status_code
            raw = read_capped(response, what, max_bytes)
    except httpx.TimeoutException as exc:
        raise LedgerTimeoutError(f"{what}: no answer in time") from exc
    except httpx.HTTPError as exc:
        raise LedgerRpcError(f"{what}: {type(exc).__name__}") from exc
    return status, raw


def read_capped(response: httpx.Response, what: str, max_bytes: int) -> bytes:
    """The body of a streamed response, refused as soon as it passes ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise LedgerResponseError(f"{what}: answer exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
