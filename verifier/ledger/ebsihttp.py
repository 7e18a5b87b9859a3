"""The EBSI-like ledger's REST API as the verifier reads it: GET requests to one allow-listed URL (no redirects, no
link followed off it), a timeout and a size cap on every answer, EBSI's pagination followed with a page limit, and the
facade's read-only JSON-RPC proxy. A 404 is "no such thing"; anything else unexpected is a ledger error (no evidence:
indeterminate, never pass).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from verifier.ledger.ebsicodec import timestamp_id_digest
from verifier.ledger.errors import LedgerResponseError, LedgerRpcError
from verifier.ledger.hexjson import quantity
from verifier.ledger.httpio import exchange

__all__ = ["EbsiReadClient", "parse_time", "quantity"]

DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024
MAX_PAGES = 100  # a paginated read stops here (and says so) rather than follow a ledger that never ends
PAGE_SIZE = 50


class EbsiReadClient:
    """GET requests to one facade, with a timeout, a response size cap, and EBSI's pagination.

    ``base_url`` is the facade's root (``http://127.0.0.1:8090``); every request stays under it: a ``links.next``
    pointing elsewhere is refused, and redirects are not followed.
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 client: httpx.Client | None = None):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"EBSI ledger URL must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # never credentials in a message
        self._max = max_response_bytes
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._owns_client = client is None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> EbsiReadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- raw
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any | None:
        """The JSON at ``path`` (below the base URL), or None for a 404."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return self._get_url(self.base_url + path, params)

    def _get_url(self, url: str, params: Mapping[str, Any] | None = None) -> Any | None:
        if not (url == self.base_url or url.startswith(self.base_url + "/")):
            raise LedgerResponseError(f"EBSI ledger at {self.where} links outside itself ({url[:80]!r}); not followed")
        what = f"GET {url[len(self.base_url):][:120]} on {self.where}"
        status, raw = exchange(self._client, "GET", url, what, self._max, params=params,
                               headers={"Accept": "application/json"})
        if status == 404:
            return None
        if status != 200:
            detail = _problem_detail(raw)
            raise LedgerRpcError(f"{what}: HTTP status {status}, expected 200" + (f" ({detail})" if detail else ""))
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise LedgerResponseError(f"{what}: answer is not JSON") from exc

    def collection(self, path: str, params: Mapping[str, Any] | None = None, *,
                   max_pages: int = MAX_PAGES) -> Iterator[dict]:
        """Every item of a paginated EBSI collection, following ``links.next`` (at most ``max_pages`` pages)."""
        query = {"page[size]": PAGE_SIZE, **(params or {})}
        page = self.get(path, query)
        if page is None:
            return
        seen = 0
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise LedgerResponseError(f"{path} on {self.where}: expected a page with an 'items' list")
            for item in page["items"]:
                if not isinstance(item, dict):
                    raise LedgerResponseError(f"{path} on {self.where}: page item is not an object")
                yield item
            seen += 1
            links = page.get("links") if isinstance(page.get("links"), dict) else {}
            nxt, here = links.get("next"), page.get("self")
            if not page["items"] or not isinstance(nxt, str) or nxt == here or nxt == links.get("last") == here:
                return
            if seen >= max_pages:
                raise LedgerResponseError(f"{path} on {self.where}: more than {max_pages} pages; stopped")
            page = self._get_url(nxt)
            if page is None:
                return

    # ---- Timestamp API v4
    def timestamp(self, tid: str) -> dict | None:
        timestamp_id_digest(tid)  # refuse a malformed id before asking
        return self._object(self.get(f"/timestamp/v4/timestamps/{tid}"), "timestamp")

    # ---- Trusted Issuers Registry API v5
    def issuer(self, did: str) -> dict | None:
        return self._object(self.get(f"/trusted-issuers-registry/v5/issuers/{_did_path(did)}"), "issuer")

    def issuer_attribute_ids(self, did: str) -> list[str]:
        items = self.collection(f"/trusted-issuers-registry/v5/issuers/{_did_path(did)}/attributes")
        return [str(item.get("id")) for item in items]

    def issuer_attribute(self, did: str, attribute_id: str) -> dict | None:
        """``{"did", "attribute": {"hash", "body", "issuerType", "tao", "rootTao", ...}}`` or None."""
        path = f"/trusted-issuers-registry/v5/issuers/{_did_path(did)}/attributes/{_hex_id(attribute_id)}"
        return self._object(self.get(path), "issuer attribute")

    def attribute_revisions(self, did: str, attribute_id: str) -> list[dict]:
        """Every revision of an attribute, oldest first."""
        path = f"/trusted-issuers-registry/v5/issuers/{_did_path(did)}/attributes/{_hex_id(attribute_id)}/revisions"
        return list(self.collection(path))

    def issuer_proxy(self, did: str, proxy_id: str) -> dict | None:
        path = f"/trusted-issuers-registry/v5/issuers/{_did_path(did)}/proxies/{_hex_id(proxy_id)}"
        return self._object(self.get(path), "issuer proxy")

    # ---- DID Registry API v5
    def did_document(self, did: str, *, valid_at: datetime | None = None) -> dict | None:
        params = {"valid-at": valid_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")} if valid_at else None
        return self._object(self.get(f"/did-registry/v5/identifiers/{_did_path(did)}", params), "DID document")

    # ---- the ledger node, through the facade's read-only JSON-RPC proxy
    def rpc(self, method: str, params: list) -> Any:
        url = self.base_url + "/ledger/v4/blockchains/besu"
        what = f"{method} on {self.where}"
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        status, raw = exchange(self._client, "POST", url, what, self._max, json=body)
        if status != 200:
            raise LedgerRpcError(f"{what}: HTTP status {status}, expected 200")
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise LedgerResponseError(f"{what}: answer is not JSON") from exc
        if not isinstance(message, dict):
            raise LedgerResponseError(f"{what}: JSON-RPC answer must be an object")
        if message.get("error") is not None:
            error = message["error"]
            text = error.get("message") if isinstance(error, dict) else str(error)
            raise LedgerRpcError(f"{what}: {text}", code=error.get("code") if isinstance(error, dict) else None)
        if "result" not in message:
            raise LedgerResponseError(f"{what}: JSON-RPC answer has neither result nor error")
        return message["result"]

    def chain_id(self) -> int:
        return quantity(self.rpc("eth_chainId", []), "eth_chainId")

    @staticmethod
    def _object(value: Any, what: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise LedgerResponseError(f"{what}: expected a JSON object, got {type(value).__name__}")
        return value


def _problem_detail(raw: bytes) -> str:
    try:
        problem = json.loads(raw[:4096])
    except ValueError:
        return ""
    if isinstance(problem, dict):
        return str(problem.get("detail") or problem.get("title") or "")[:200]
    return ""


_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]+")


def _did_path(did: str) -> str:
    if not isinstance(did, str) or not _DID.fullmatch(did) or len(did) > 256:
        raise ValueError(f"not a DID: {did!r:.80}")
    return quote(did, safe=":")


def _hex_id(value: str) -> str:
    text = value[2:] if isinstance(value, str) and value[:2] in ("0x", "0X") else value
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise ValueError(f"expected a 32-byte hex id, got {value!r:.80}")
    return text.lower()


def parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise LedgerResponseError(f"{what}: expected an ISO 8601 time, got {value!r:.60}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LedgerResponseError(f"{what}: expected an ISO 8601 time, got {value!r:.60}") from exc
    if parsed.tzinfo is None:
        raise LedgerResponseError(f"{what}: time {value!r} has no time zone")
    return parsed.astimezone(UTC)
