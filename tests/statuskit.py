"""Status lists for tests: credentials issued and anchored with ``credentialStatus`` entries, status list credentials
built and signed with ``verifier.dataintegrity.create_eddsa_proof`` (the W3C format, independent of the issuer's own
list code), their digests published on the ledger, and a website that serves them (or is down)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eth_account import Account

from issuer.achievement import load_achievement
from issuer.batch import BatchResult, build_documents, issue_batch
from issuer.keys import IssuerIdentity, new_identity
from issuer.roster import load_roster
from verifier.dataintegrity import create_eddsa_proof
from verifier.did import DidResolver
from verifier.fetch import FetchUnavailableError
from verifier.ledger.base import list_id_of
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.shapes import Canonicalizer
from verifier.status import MIN_LIST_BITS, encode_list, status_list_digest
from verifier.statuslists import StatusListSource
from verifier.verify import Verifier

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
VC2 = "https://www.w3.org/ns/credentials/v2"
CANON = Canonicalizer()
REVOCATION_URL = "https://www.tu-example.de/status/revocation-1"
SUSPENSION_URL = "https://www.tu-example.de/status/suspension-1"


def list_credential(url: str, issuer_did: str, purpose: str, ones: tuple[int, ...] = (), *,
                    entries: int = MIN_LIST_BITS, valid_from: str = "2025-01-01T00:00:00Z",
                    valid_until: str | None = None) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` with the bits ``ones`` set (bit 0 = left-most of byte 0)."""
    bits = bytearray(entries // 8)
    for i in ones:
        bits[i // 8] |= 0x80 >> (i % 8)
    doc: dict[str, Any] = {
        "@context": [VC2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": valid_from,
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_list(bytes(bits))},
    }
    if valid_until is not None:
        doc["validUntil"] = valid_until
    return doc


def sign_list(doc: dict[str, Any], identity: IssuerIdentity, *, created: str = "2025-01-01T00:00:00Z") -> dict:
    proof = create_eddsa_proof(doc, sign=identity.signer(), verification_method=identity.signing_method,
                               created=created, canon=CANON)
    return {**doc, "proof": proof}


def digest(doc: dict[str, Any]) -> bytes:
    return status_list_digest(doc, CANON)


def entries(revocation_index: int, suspension_index: int) -> list[dict[str, str]]:
    return [
        {"id": f"{REVOCATION_URL}#{revocation_index}", "type": "BitstringStatusListEntry",
         "statusPurpose": "revocation", "statusListIndex": str(revocation_index),
         "statusListCredential": REVOCATION_URL},
        {"id": f"{SUSPENSION_URL}#{suspension_index}", "type": "BitstringStatusListEntry",
         "statusPurpose": "suspension", "statusListIndex": str(suspension_index),
         "statusListCredential": SUSPENSION_URL},
    ]


class Site:
    """The issuer's website as the verifier's fetcher sees it: serves the lists it holds, or is down."""

    def __init__(self) -> None:
        self.lists: dict[str, dict] = {}
        self.down = False
        self.fetches = 0

    def fetch_json(self, url: str) -> tuple[str, Any]:
        self.fetches += 1
        if self.down:
            raise FetchUnavailableError("could not connect to www.tu-example.de: ConnectError", host="www.tu-example.de")
        if url not in self.lists:
            raise FetchUnavailableError("www.tu-example.de answered HTTP 404", host="www.tu-example.de")
        return url, copy.deepcopy(self.lists[url])


@dataclass
class StatusBatch:
    """A batch whose credentials carry a revocation and a suspension entry each; the publisher is the issuer."""

    chain: Any
    identity: IssuerIdentity
    result: BatchResult
    indices: list[tuple[int, int]]  # (revocation index, suspension index) per credential
    writer: Any  # publishes from the issuer's anchoring address (publish_status)
    site: Site = field(default_factory=Site)
    published: dict[str, list[dict]] = field(default_factory=dict)  # url -> every published list, oldest first

    @property
    def did_document(self) -> dict[str, Any]:
        import json

        return json.loads(self.result.did_document.read_text("utf-8"))

    def credential(self, i: int = 0) -> dict[str, Any]:
        import json

        return json.loads(self.result.files[i].read_text("utf-8"))

    def publish(self, url: str, purpose: str, ones: tuple[int, ...] = (), *, serve: bool = True, **kw: Any) -> dict:
        """Signs a list with ``ones`` set, anchors its digest (one publishStatus), and serves it on the site."""
        signed = sign_list(list_credential(url, self.identity.did, purpose, ones, **kw), self.identity)
        self.writer.publish_status(list_id_of(url), digest(signed))
        self.published.setdefault(url, []).append(signed)
        if serve:
            self.site.lists[url] = signed
        return signed

    def publish_both(self, revoked: tuple[int, ...] = (), suspended: tuple[int, ...] = ()) -> None:
        self.publish(REVOCATION_URL, "revocation", revoked)
        self.publish(SUSPENSION_URL, "suspension", suspended)

    def verifier(self, *, reader: Any = None, fetch: bool = True, **source: Any) -> Verifier:
        resolver = DidResolver()
        resolver.add(self.did_document, "file did.json")
        ledger = CachingReader(LedgerRouter({self.chain.chain_id: reader or self.chain.reader()}))
        status = StatusListSource(fetcher=self.site if fetch else None, **source)
        return Verifier(ledger=ledger, did_resolver=resolver, status_source=status)


def status_batch(out_dir: Path, chain: Any = None, *, count: int = 4,
                 did: str = "did:web:www.tu-example.de") -> StatusBatch:
    """Issues ``count`` credentials of the example roster with status entries at spread indices, on ``chain`` (a
    fresh embedded chain by default)."""
    if chain is None:
        from issuer.ledger.embedded import EmbeddedChain

        chain = EmbeddedChain()
    identity = new_identity(did)
    account = Account.from_key(identity.secp256k1_secret)
    chain.fund(account.address, 10**18)
    writer = chain.writer(account)
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    learners = load_roster(EXAMPLES / "roster.csv", achievement)[:count]
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    indices = [(1000 + 7919 * i, 50_000 + 104_729 * i % 80_000) for i in range(count)]
    docs = [{**doc, "credentialStatus": entries(*indices[i])}
            for i, doc in enumerate(build_documents(achievement, learners, issuer_did=identity.did, issued=issued))]
    result = issue_batch(docs, identity=identity, writer=writer, ledger_label="test", out_dir=out_dir,
                         created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), workers=1)
    return StatusBatch(chain, identity, result, indices, writer)
