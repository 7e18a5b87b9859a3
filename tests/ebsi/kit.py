"""The EBSI-like ledger in a test: an embedded chain, the facade in process (no port), and clients over it.

``EbsiKit.client(subject)`` makes a writer with a fresh key; ``trust_chain()`` registers a RootTAO, a TAO and a TI
(DIDs in the DID Registry, accreditations in the TIR) the way the trust-mark tests need them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from ebsi.client import EbsiClient
from ebsi.embedded import EmbeddedEbsiChain
from ebsi.service.app import create_app
from ebsi.service.settings import EbsiSettings

BASE = "http://ebsi.test"
ROOT_TAO, TAO, TI, REVOKED = 1, 2, 3, 4


def new_did() -> str:
    """A did:ebsi legal-entity-style identifier (random; EBSI's are base58 of 16 random bytes after 'z')."""
    return "did:ebsi:z" + secrets.token_hex(11)


def attribute_id(label: str) -> str:
    return "0x" + hashlib.sha256(f"{label}:{secrets.token_hex(8)}".encode()).hexdigest()


@dataclass
class Party:
    did: str
    client: EbsiClient
    attribute_id: str = ""


@dataclass
class EbsiKit:
    onboarding: str = "open"
    chain: EmbeddedEbsiChain = field(default_factory=EmbeddedEbsiChain)

    def __post_init__(self) -> None:
        self.ledger = self.chain.ledger()
        self.app = create_app(EbsiSettings(onboarding=self.onboarding), ledger=self.ledger)
        self.http = TestClient(self.app, base_url=BASE)

    def client(self, subject: str | None = None, secret: bytes | None = None) -> EbsiClient:
        return EbsiClient(BASE, secret or secrets.token_bytes(32), subject=subject, http=self.http)

    @property
    def admin(self) -> EbsiClient:
        return self.client(secret=self.chain.admin.key)

    def registered(self) -> Party:
        """A new DID registered in the DID Registry with a fresh key (its capabilityInvocation method)."""
        did = new_did()
        client = self.client(did)
        client.insert_did_document(did)
        return Party(did, client)

    def set_metadata(self, by: EbsiClient, party: Party, issuer_type: int, tao: Party | None, aid: str | None = None):
        aid = aid or attribute_id(party.did)
        accreditor = tao or party
        by.transact("trusted-issuers-registry", "setAttributeMetadata", {
            "did": party.did, "attributeId": aid, "issuerType": issuer_type, "taoDid": accreditor.did,
            "taoAttributeId": (accreditor.attribute_id if tao else aid)})
        return aid

    def set_data(self, by: EbsiClient, party: Party, aid: str, body: bytes) -> None:
        by.transact("trusted-issuers-registry", "setAttributeData",
                    {"did": party.did, "attributeId": aid, "attributeData": "0x" + body.hex()}, scope="tir_invite")

    def trust_chain(self) -> tuple[Party, Party, Party]:
        """RootTAO (placed by the admin) -> TAO (accredited by the RootTAO) -> TI (accredited by the TAO), each with
        a body (a placeholder credential: the trust-mark tests put signed accreditations there)."""
        root, tao, ti = self.registered(), self.registered(), self.registered()
        root.attribute_id = self.set_metadata(self.admin, root, ROOT_TAO, None)
        self.set_data(root.client, root, root.attribute_id, b"root accreditation")
        tao.attribute_id = self.set_metadata(root.client, tao, TAO, root)
        self.set_data(tao.client, tao, tao.attribute_id, b"tao accreditation")
        ti.attribute_id = self.set_metadata(tao.client, ti, TI, tao)
        self.set_data(ti.client, ti, ti.attribute_id, b"ti accreditation")
        return root, tao, ti
