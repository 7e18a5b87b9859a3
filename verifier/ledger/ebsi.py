"""Reading the EBSI-like ledger over its REST API: timestamps, the Trusted Issuers Registry, DID documents.

The verifier talks to the ledger's facade (``ebsi/service``) over HTTP only, at the one URL its configuration allows
(no web3, no redirects followed, no link followed off that URL), so an employer installs nothing more than for EVM
anchors. Three parts:

- the codec of EBSI's identifiers (pure): a timestamp id is ``multibase_base64url(multihash(sha256(hash)))``
  (EBSI Timestamp API v4 "Get a timestamp"), a timestamped hash is shown as ``multibase_base64(multihash(hash))``;
- ``EbsiReadClient``: the GET endpoints, EBSI's pagination followed with a page limit, errors mapped to the verifier's
  ledger errors (a 404 is "no such thing", anything else unexpected is "no evidence": indeterminate, never pass);
- ``EbsiReader``: the ``LedgerReader`` for ``blink:ebsi:<chain id>:<timestamp id>`` anchors, and
  ``EbsiDidResolver`` for ``did:ebsi`` issuers (documents read from the DID Registry).

What is read here is evidence, not a verdict: the anchor check compares the timestamped hash with the recomputed root
and the timestamping address with the issuer's keys (``verifier.checks``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from verifier import keys
from verifier.did import DidResolver, ResolvedDid
from verifier.errors import AnchorcredError, DidResolutionError
from verifier.ledger.base import AnchorEvidence, AnchorRef, to_checksum_address
from verifier.ledger.errors import (
    ChainMismatchError,
    InvalidAnchorRefError,
    RegistryNotConfiguredError,
    LedgerResponseError,
    LedgerRpcError,
    LedgerTimeoutError,
    UnknownChainError,
)

__all__ = [
    "ISSUER_TYPES",
    "EbsiDidResolver",
    "EbsiLedgerRouter",
    "EbsiReadClient",
    "EbsiReader",
    "MULTIHASH_CODES",
    "TIMESTAMP_ID_RE",
    "capability_invocation_addresses",
    "decode_multihash",
    "encode_multihash",
    "hash_from_multibase",
    "hash_to_multibase",
    "timestamp_id",
    "timestamp_id_digest",
]

# ------------------------------------------------------------------------------------------------------------ codec

# Multihash codes (multiformats table) of the algorithms a timestamp may use.
MULTIHASH_CODES: Mapping[str, int] = {
    "sha2-256": 0x12, "sha2-512": 0x13, "sha3-512": 0x14, "sha3-384": 0x15, "sha3-256": 0x16, "sha3-224": 0x17,
    "keccak-256": 0x1B,
}
_MULTIHASH_NAMES = {code: name for name, code in MULTIHASH_CODES.items()}
# "u" + base64url (no padding) of the 34-byte multihash 0x12 0x20 <32 bytes>: 46 characters.
TIMESTAMP_ID_RE = re.compile(r"u[A-Za-z0-9_-]{46}")
ISSUER_TYPES: Mapping[int, str] = {0: "Undefined", 1: "RootTAO", 2: "TAO", 3: "TI", 4: "Revoked"}


def encode_multihash(digest: bytes, name: str = "sha2-256") -> bytes:
    """``<code><length><digest>`` (codes and lengths below 128 are one varint byte)."""
    if name not in MULTIHASH_CODES:
        raise ValueError(f"unknown multihash name {name!r} (known: {sorted(MULTIHASH_CODES)})")
    if not 0 < len(digest) < 128:
        raise ValueError(f"digest must be 1..127 bytes, got {len(digest)}")
    return bytes([MULTIHASH_CODES[name], len(digest)]) + bytes(digest)


def decode_multihash(data: bytes) -> tuple[str, bytes]:
    """(algorithm name, digest) of a multihash; ``ValueError`` saying what is wrong."""
    if len(data) < 3:
        raise ValueError(f"multihash too short ({len(data)} bytes)")
    code, length, digest = data[0], data[1], data[2:]
    if code not in _MULTIHASH_NAMES:
        raise ValueError(f"unknown multihash code 0x{code:02x}")
    if length != len(digest):
        raise ValueError(f"multihash says {length} digest bytes, has {len(digest)}")
    return _MULTIHASH_NAMES[code], bytes(digest)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, *, url: bool) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    alphabet = rb"[A-Za-z0-9_-]*" if url else rb"[A-Za-z0-9+/]*"
    if not re.fullmatch(alphabet, padded.rstrip("=").encode("ascii", "replace")):
        raise ValueError("not base64" + ("url" if url else ""))
    return base64.urlsafe_b64decode(padded) if url else base64.b64decode(padded, validate=True)


def timestamp_id(hash_value: bytes) -> str:
    """The API-level timestamp id of ``hash_value``: ``"u" + base64url(multihash(sha256(hash_value)))``."""
    return "u" + _b64url(encode_multihash(hashlib.sha256(bytes(hash_value)).digest()))


def timestamp_id_digest(tid: str) -> bytes:
    """The 32-byte id the Timestamp contract keys records by (sha256 of the hash), from an API-level id."""
    if not isinstance(tid, str) or not TIMESTAMP_ID_RE.fullmatch(tid):
        raise InvalidAnchorRefError(f"timestamp id must be 'u' + 46 base64url characters, got {tid!r:.80}")
    try:
        name, digest = decode_multihash(_unb64(tid[1:], url=True))
    except ValueError as exc:
        raise InvalidAnchorRefError(f"timestamp id {tid}: {exc}") from exc
    if name != "sha2-256" or len(digest) != 32:
        raise InvalidAnchorRefError(f"timestamp id {tid}: expected a sha2-256 multihash, got {name}")
    return digest


def hash_to_multibase(hash_value: bytes, name: str = "sha2-256") -> str:
    """How the API shows a timestamped hash: ``"m" + base64(multihash(hash))`` (multibase base64, no padding)."""
    return "m" + base64.b64encode(encode_multihash(hash_value, name)).rstrip(b"=").decode("ascii")


def hash_from_multibase(text: Any) -> tuple[str, bytes]:
    """(algorithm name, hash) of a timestamped hash as the API shows it (``m`` base64 or ``u`` base64url)."""
    if not isinstance(text, str) or len(text) < 2 or text[0] not in "mu":
        raise ValueError(f"expected a multibase multihash ('m' or 'u' prefix), got {text!r:.80}")
    return decode_multihash(_unb64(text[1:], url=text[0] == "u"))


# ------------------------------------------------------------------------------------------------------ HTTP client

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
        try:
            with self._client.stream("GET", url, params=params, headers={"Accept": "application/json"}) as response:
                status = response.status_code
                raw = self._read_capped(response, what)
        except httpx.TimeoutException as exc:
            raise LedgerTimeoutError(f"{what}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise LedgerRpcError(f"{what}: {type(exc).__name__}") from exc
        if status == 404:
            return None
        if status != 200:
            detail = _problem_detail(raw)
            raise LedgerRpcError(f"{what}: HTTP status {status}, expected 200" + (f" ({detail})" if detail else ""))
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise LedgerResponseError(f"{what}: answer is not JSON") from exc

    def _read_capped(self, response: httpx.Response, what: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max:
                raise LedgerResponseError(f"{what}: answer exceeds {self._max} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

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
        try:
            with self._client.stream("POST", url, json=body) as response:
                status = response.status_code
                raw = self._read_capped(response, what)
        except httpx.TimeoutException as exc:
            raise LedgerTimeoutError(f"{what}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise LedgerRpcError(f"{what}: {type(exc).__name__}") from exc
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
        return _quantity(self.rpc("eth_chainId", []), "eth_chainId")

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


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise LedgerResponseError(f"{what}: expected a hex quantity, got {value!r:.60}")


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise LedgerResponseError(f"{what}: expected an ISO 8601 time, got {value!r:.60}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LedgerResponseError(f"{what}: expected an ISO 8601 time, got {value!r:.60}") from exc
    if parsed.tzinfo is None:
        raise LedgerResponseError(f"{what}: time {value!r} has no time zone")
    return parsed.astimezone(UTC)


# ------------------------------------------------------------------------------------------------------ the reader


class EbsiReader:
    """Anchor evidence from the EBSI-like ledger's Timestamp API, for anchors ``blink:ebsi:<chain id>:<timestamp id>``.

    Per read: the timestamp record (the first account that timestamped the hash, as EBSI's API shows it), the
    transaction's receipt and the latest block number through the facade's ledger proxy. The chain id is checked once.
    """

    def __init__(self, client: EbsiReadClient, *, chain_id: int):
        self._client = client
        self.chain_id = chain_id
        self._chain_checked = False

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.ledger != "ebsi":
            raise InvalidAnchorRefError(f"the EBSI reader reads blink:ebsi anchors, got a {ref.ledger!r} anchor")
        if ref.chain_id != self.chain_id:
            raise UnknownChainError(ref.chain_id, [self.chain_id])
        if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
            raise InvalidAnchorRefError(f"root must be 32 bytes, got {root!r}")
        self._check_chain()
        record = self._call(self._client.timestamp, ref.tx_hash)
        if record is None:
            return None
        try:
            _, carried = hash_from_multibase(record.get("hash"))
        except ValueError as exc:
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: hash: {exc}") from exc
        by = record.get("timestampedBy")
        if not isinstance(by, str):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: timestampedBy missing")
        sender = to_checksum_address(by)
        when = _parse_time(record.get("timestamp"), f"timestamp {ref.tx_hash}")
        tx_hash = record.get("transactionHash")
        if not isinstance(tx_hash, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", tx_hash):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: transactionHash is not a transaction hash")
        receipt = self._call(self._client.rpc, "eth_getTransactionReceipt", [tx_hash.lower()])
        if not isinstance(receipt, dict):
            return None  # the record names a transaction the node does not have (reorged away)
        block_number = _quantity(receipt.get("blockNumber"), "receipt blockNumber")
        if block_number != _quantity(record.get("blockNumber"), "timestamp blockNumber"):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: block number differs from its transaction's")
        receipt_from = receipt.get("from")
        if not isinstance(receipt_from, str) or receipt_from.lower() != sender.lower():
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: timestampedBy {sender} did not send {tx_hash}")
        latest = _quantity(self._call(self._client.rpc, "eth_blockNumber", []), "eth_blockNumber")
        to = receipt.get("to")
        return AnchorEvidence(
            chain_id=ref.chain_id,
            tx_hash=tx_hash.lower(),
            block_number=block_number,
            block_hash=str(receipt.get("blockHash") or ""),
            block_time=when,
            sender=sender,
            to=to_checksum_address(to) if isinstance(to, str) else None,
            status_ok=_quantity(receipt.get("status"), "receipt status") == 1,
            mode="timestamp",
            carried_root=carried,
            registry_sender=sender,
            registry_time=when,
            latest_block=latest,
            confirmations=max(0, latest - block_number + 1),
        )

    def _check_chain(self) -> None:
        if self._chain_checked:
            return
        actual = self._call(self._client.chain_id)
        if actual != self.chain_id:
            raise ChainMismatchError(expected=self.chain_id, actual=actual)
        self._chain_checked = True

    @staticmethod
    def _call(fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except AnchorcredError:
            raise
        except ValueError as exc:
            raise LedgerResponseError(str(exc)) from exc


class EbsiLedgerRouter:
    """Sends ``blink:ebsi`` anchors to the EBSI reader of their chain id and everything else to ``inner`` (the EVM
    router), so an EBSI-like ledger and an EVM chain with the same chain id (the facade on the devnet) do not collide.

    The EBSI-like ledger keeps no AnchorRegistry: key events and status records asked of an EBSI-only chain are
    "not configured" (the DID document alone decides), not "unavailable".
    """

    def __init__(self, inner: Any | None, ebsi: Mapping[int, EbsiReader]):
        self._inner = inner
        self._ebsi = dict(ebsi)

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.ledger == "ebsi":
            reader = self._ebsi.get(ref.chain_id)
            if reader is None:
                raise UnknownChainError(ref.chain_id, list(self._ebsi))
            return reader.read_anchor(ref, root)
        if self._inner is None:
            raise UnknownChainError(ref.chain_id, [])
        return self._inner.read_anchor(ref, root)

    def _registry(self, chain_id: int, method: str) -> Callable:
        try:
            if self._inner is None:
                raise UnknownChainError(chain_id, [])
            return getattr(self._inner, method)
        except AttributeError as exc:
            raise RegistryNotConfiguredError(f"the ledger of chain id {chain_id} cannot read an AnchorRegistry") from exc

    def _registry_call(self, method: str, chain_id: int, *args: Any) -> Any:
        try:
            return self._registry(chain_id, method)(chain_id, *args)
        except UnknownChainError as exc:
            if chain_id in self._ebsi:
                raise RegistryNotConfiguredError(f"chain id {chain_id} is configured as an EBSI-like ledger only, "
                                                 "which keeps no AnchorRegistry records") from exc
            raise

    def status_of(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("status_of", chain_id, *args)

    def status_history(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("status_history", chain_id, *args)

    def key_events(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("key_events", chain_id, *args)


# ------------------------------------------------------------------------------------------------- did:ebsi issuers


def capability_invocation_addresses(document: Mapping[str, Any]) -> dict[str, str]:
    """address (lowercase) -> verification method id, for the secp256k1 keys in the document's
    ``capabilityInvocation``: the accounts that control the DID in the DID Registry (and may timestamp for it)."""
    methods = {m.get("id"): m for m in document.get("verificationMethod", []) or [] if isinstance(m, Mapping)}
    out: dict[str, str] = {}
    for ref in document.get("capabilityInvocation", []) or []:
        vm = methods.get(ref) if isinstance(ref, str) else ref if isinstance(ref, Mapping) else None
        jwk = vm.get("publicKeyJwk") if isinstance(vm, Mapping) else None
        if not isinstance(jwk, Mapping):
            continue
        try:
            key = keys.jwk_to_public_key(dict(jwk))
        except keys.KeyFormatError:
            continue
        if key.kind == "secp256k1":
            out[keys.eth_address_from_secp256k1(key.raw).lower()] = str(vm.get("id"))
    return out


class EbsiDidResolver(DidResolver):
    """Resolves ``did:ebsi`` DIDs from the DID Registry (other DIDs go to ``inner``), caching each answer for
    ``ttl`` seconds (0: no cache) so a batch of one issuer's credentials asks once, not once per credential."""

    def __init__(self, client: EbsiReadClient, inner: DidResolver | None = None, *, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._client = client
        self._inner = inner or DidResolver()
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ResolvedDid]] = {}
        self._lock = threading.Lock()

    def add(self, document: Mapping[str, Any], source: str, *, replace: bool = True) -> bool:
        return self._inner.add(document, source, replace=replace)

    def known(self, did: str) -> bool:
        return self._inner.known(did)

    def resolve_local(self, did: str) -> ResolvedDid | None:
        if not did.startswith("did:ebsi:") or self._inner.known(did):
            return self._inner.resolve_local(did)
        with self._lock:
            hit = self._cache.get(did)
        if hit is not None and self._clock() - hit[0] <= self._ttl:
            return hit[1]
        return None

    def resolve(self, did: str) -> ResolvedDid:
        if not did.startswith("did:ebsi:") or self._inner.known(did):
            return self._inner.resolve(did)
        cached = self.resolve_local(did)
        if cached is not None:
            return cached
        try:
            document = self._client.did_document(did)
        except AnchorcredError as exc:
            raise DidResolutionError(f"{did}: DID Registry at {self._client.where} did not answer: "
                                     f"{exc.diagnostics()}") from exc
        except ValueError as exc:
            raise DidResolutionError(f"{did}: {exc}") from exc
        if document is None:
            raise DidResolutionError(f"{did}: not registered in the DID Registry at {self._client.where}")
        if document.get("id") != did:
            raise DidResolutionError(f"{did}: the DID Registry answered with the document of {document.get('id')!r}")
        resolved = ResolvedDid(did, document, f"DID Registry at {self._client.where}")
        if self._ttl > 0:
            with self._lock:
                self._cache[did] = (self._clock(), resolved)
        return resolved
