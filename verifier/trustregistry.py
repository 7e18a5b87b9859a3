"""The trust registry as the verifier reads it: EBSI's Trusted Issuers Registry (v5) and DID Registry (v5).

Evidence gathering, the only I/O of the accreditation check. A small read interface (``TrustRegistryReader``, three
methods) with two implementations: ``EbsiTrustReader`` over the EBSI-like ledger's HTTP read client, and
``MemoryTrustRegistry``, the test double that also takes writes. ``gather_trust`` reads everything one verification's
walk can need (the issuer, then each accreditor it names, up to a depth and a count) into a ``TrustEvidence`` that the
pure check judges (verifier.trust).

No answer is cached beyond one call of ``gather_trust``: a revoked accreditation must fail the very next verification
(the EBSI reference library memoises registry answers for five minutes; anchorcred does not).

EBSI answer shapes (TIR API v5): ``GET /issuers/{did}/attributes`` -> ``{"items": [{"id", "href"}], "links": {"next"}}``
(paginated, ``page-size``); ``GET /issuers/{did}/attributes/{id}`` -> ``{"did", "attribute": {"hash", "body",
"issuerType", "tao", "rootTao"}}``; DID Registry v5 ``GET /identifiers/{did}`` -> the DID document. 404: not registered.
An issuer type other than RootTAO / TAO / TI / Revoked (the facade's "Undefined") accredits nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from verifier.errors import EvidenceUnavailableError
from verifier.jwtvc import JwtFormatError, decode_credential_jwt

__all__ = [
    "EbsiTrustReader",
    "MemoryTrustRegistry",
    "TirAttribute",
    "TrustEvidence",
    "TrustRegistryReader",
    "TrustRegistryUnavailableError",
    "gather_trust",
]

ISSUER_TYPES = ("RootTAO", "TAO", "TI", "Revoked")
TIR_PATH = "/trusted-issuers-registry/v5/issuers"
MAX_ATTRIBUTES = 64  # per issuer (the registry contract's own cap)
MAX_DIDS = 16  # DIDs read for one verification: a chain is 3 deep; a few siblings at most
MAX_DEPTH = 6  # accreditation links followed from the issuer
_ATTRIBUTE_ID = re.compile(r"(0x)?[0-9a-fA-F]{64}")


class TrustRegistryUnavailableError(EvidenceUnavailableError):
    """The trust registry could not be read (down, slow, answering something that is not the TIR API)."""


def normalize_attribute_id(value: Any) -> str | None:
    """``0x`` + 64 lowercase hex digits, or None when the value is not a 32-byte hex id."""
    if not isinstance(value, str) or not _ATTRIBUTE_ID.fullmatch(value):
        return None
    return "0x" + value.removeprefix("0x").lower()


@dataclass(frozen=True)
class TirAttribute:
    """One attribute of an issuer in the Trusted Issuers Registry: an accreditation and its place in the chain."""

    did: str  # the issuer the attribute belongs to
    attribute_id: str  # 0x + 64 lowercase hex
    body: str  # the accreditation credential (a JWT); "" while the attribute is reserved but not yet set
    issuer_type: str  # RootTAO, TAO, TI or Revoked
    tao: str  # the accrediting DID the registry records
    root_tao: str
    hash: str = ""


@runtime_checkable
class TrustRegistryReader(Protocol):
    """Reads the registry; ``None`` means "not registered", an unreachable registry raises TrustRegistryUnavailableError."""

    source: str  # where the answers come from, named in reports

    def attribute_ids(self, did: str) -> list[str] | None: ...

    def attribute(self, did: str, attribute_id: str) -> TirAttribute | None: ...

    def did_document(self, did: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class TrustEvidence:
    """What one verification read from the registry: every DID the walk may visit, or why it could not be read."""

    source: str
    attributes: Mapping[str, tuple[TirAttribute, ...] | None] = field(default_factory=dict)  # None: not in the TIR
    did_documents: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # None: not in the DID Registry
    limited: tuple[str, ...] = ()  # DIDs the walk may need but the limits kept out


def _accreditors_named(attribute: TirAttribute) -> list[str]:
    """The DIDs an attribute points to: the accreditation's issuer (its JWT ``iss``) and the registry's ``tao``."""
    out = [attribute.tao] if attribute.tao.startswith("did:") else []
    if attribute.body:
        try:
            jwt = decode_credential_jwt(attribute.body)
        except JwtFormatError:
            return out  # judged (and failed) by the walk; nothing further to read through it
        if jwt.issuer and jwt.issuer not in out:
            out.insert(0, jwt.issuer)
    return out


def gather_trust(reader: TrustRegistryReader, issuer_did: str, roots: Iterable[str]) -> TrustEvidence:
    """Reads the issuer and, breadth first, each accreditor named by its accreditations, down to the configured roots.

    Each DID is read once per call. Raises TrustRegistryUnavailableError when the registry cannot be read.
    """
    roots = frozenset(roots)
    attributes: dict[str, tuple[TirAttribute, ...] | None] = {}
    documents: dict[str, Mapping[str, Any] | None] = {}
    limited: list[str] = []
    level = [issuer_did]
    for depth in range(MAX_DEPTH + 1):
        following: list[str] = []
        for did in level:
            if did in attributes:
                continue
            if len(attributes) >= MAX_DIDS:
                limited.append(did)
                continue
            ids = reader.attribute_ids(did)
            if ids is None:
                attributes[did] = None
            else:
                read = (reader.attribute(did, a) for a in ids[:MAX_ATTRIBUTES])
                attributes[did] = tuple(a for a in read if a is not None)
            if did != issuer_did:  # an accreditor: its keys check the accreditation it signed
                documents[did] = reader.did_document(did)
            if did in roots or depth == MAX_DEPTH:
                continue  # a configured root ends the chain; past the depth limit nothing is followed
            for attribute in attributes[did] or ():
                following.extend(d for d in _accreditors_named(attribute) if d not in attributes)
        level = list(dict.fromkeys(following))
        if not level:
            break
    return TrustEvidence(reader.source, attributes, documents, tuple(dict.fromkeys(limited)))


class MemoryTrustRegistry:
    """An in-memory TIR and DID Registry (the test double, a registry simulator rather than mocks); thread-safe.

    ``set_available(False)`` makes every read raise, as an unreachable registry would; ``reads`` counts the reads.
    """

    def __init__(self, source: str = "in-memory trust registry"):
        self.source = source
        self._attributes: dict[str, dict[str, TirAttribute]] = {}
        self._documents: dict[str, Mapping[str, Any]] = {}
        self._available = True
        self._lock = threading.Lock()
        self.reads = 0

    def set_available(self, available: bool) -> None:
        self._available = available

    # -- writes (what the ledger's transactions would do) -----------------------------------------------------------
    def put_attribute(self, attribute: TirAttribute) -> None:
        if attribute.issuer_type not in ISSUER_TYPES:
            raise ValueError(f"issuer type must be one of {ISSUER_TYPES}, got {attribute.issuer_type!r}")
        attribute_id = normalize_attribute_id(attribute.attribute_id)
        if attribute_id is None:
            raise ValueError(f"attribute id must be 32 bytes of hex, got {attribute.attribute_id!r}")
        with self._lock:
            self._attributes.setdefault(attribute.did, {})[attribute_id] = attribute

    def set_issuer_type(self, did: str, attribute_id: str, issuer_type: str) -> None:
        """Changes an attribute's type (``Revoked`` revokes it), keeping its body, as ``setAttributeMetadata`` does."""
        with self._lock:
            current = self._attributes[did][normalize_attribute_id(attribute_id) or attribute_id]
            self._attributes[did][current.attribute_id] = TirAttribute(
                current.did, current.attribute_id, current.body, issuer_type, current.tao, current.root_tao, current.hash
            )

    def put_did_document(self, document: Mapping[str, Any]) -> None:
        with self._lock:
            self._documents[document["id"]] = document

    # -- reads ------------------------------------------------------------------------------------------------------
    def _read(self) -> None:
        self.reads += 1
        if not self._available:
            raise TrustRegistryUnavailableError(f"{self.source}: not reachable")

    def attribute_ids(self, did: str) -> list[str] | None:
        self._read()
        with self._lock:
            held = self._attributes.get(did)
            return None if held is None else list(held)

    def attribute(self, did: str, attribute_id: str) -> TirAttribute | None:
        self._read()
        with self._lock:
            return self._attributes.get(did, {}).get(normalize_attribute_id(attribute_id) or attribute_id)

    def did_document(self, did: str) -> Mapping[str, Any] | None:
        self._read()
        with self._lock:
            return self._documents.get(did)


class EbsiTrustReader:
    """The registry read through the EBSI-like ledger's read client (``verifier.ledger.ebsi.EbsiReadClient``, whose
    GETs follow EBSI's TIR v5 and DID Registry v5 paths, stay under the one configured URL and map transport errors to
    ``LedgerUnavailableError``, an ``EvidenceUnavailableError`` like ours). Answers are checked for shape here."""

    def __init__(self, client: Any):
        self._client = client
        self.source = f"trust registry {getattr(client, 'where', None) or getattr(client, 'base_url', 'EBSI')}"

    def attribute_ids(self, did: str) -> list[str] | None:
        listed = self._client.issuer_attribute_ids(did)  # [] also for an unknown DID (a 404 page): asked apart below
        if not listed and self._client.issuer(did) is None:
            return None
        ids = []
        for raw in listed[:MAX_ATTRIBUTES]:
            attribute_id = normalize_attribute_id(raw)
            if attribute_id is None:
                raise TrustRegistryUnavailableError(f"{self.source}: {did} lists an attribute id that is not 32 bytes of hex: {raw!r:.80}")
            ids.append(attribute_id)
        return ids

    def attribute(self, did: str, attribute_id: str) -> TirAttribute | None:
        answer = self._client.issuer_attribute(did, attribute_id)
        if answer is None:
            return None
        where = f"{self.source}: attribute {attribute_id} of {did}"
        attribute = answer.get("attribute")
        if not isinstance(attribute, dict) or answer.get("did", did) != did:
            raise TrustRegistryUnavailableError(f"{where}: expected {{'did': {did!r}, 'attribute': {{...}}}}")
        issuer_type = attribute.get("issuerType")
        if not isinstance(issuer_type, str):
            raise TrustRegistryUnavailableError(f"{where}: issuerType is missing")
        texts = {k: attribute.get(k) or "" for k in ("body", "tao", "rootTao", "hash")}  # null: not set yet
        if not all(isinstance(v, str) for v in texts.values()):
            raise TrustRegistryUnavailableError(f"{where}: body, tao, rootTao and hash must be text")
        return TirAttribute(did, normalize_attribute_id(attribute_id) or attribute_id, texts["body"], issuer_type,
                            texts["tao"], texts["rootTao"], texts["hash"])

    def did_document(self, did: str) -> Mapping[str, Any] | None:
        document = self._client.did_document(did)
        if document is not None and document.get("id") != did:
            raise TrustRegistryUnavailableError(f"{self.source}: the DID Registry answered for {document.get('id')!r}, not {did}")
        return document
