"""The trust chain's writes on the EBSI-like ledger: ``RegistryWriter`` (ebsi/trust.py) over ``ebsi.client.EbsiClient``.

Each write is a transaction the facade builds and the acting party signs with the secp256k1 key that controls its DID
(``Party.controller_secret``); the registry's admin (the ledger operator) places RootTAOs. DIDs are registered with
that key as capabilityInvocation method and the party's credential-signing key (``Party.signer``, ES256 or ES256K) as
an ``assertionMethod`` JWK: the method a verifier finds for the ``kid`` of the party's accreditations.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from ebsi.client import EbsiClient
from ebsi.trust import ISSUER_TYPE_CODES, Party

TIR, DIDR = "trusted-issuers-registry", "did-registry"


class LedgerRegistryWriter:
    """Writes for every party of a chain through one facade (``base_url``). ``admin_secret``: the registry admin's key."""

    def __init__(self, base_url: str, *, admin_secret: bytes | None = None, http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self._admin_secret = admin_secret
        self._http = http
        self._clients: dict[str, EbsiClient] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _client(self, actor: Party | None) -> EbsiClient:
        if actor is None:
            if self._admin_secret is None:
                raise ValueError("placing a RootTAO is the registry admin's write: give admin_secret")
            key, secret, subject = "admin", self._admin_secret, None
        else:
            if actor.controller_secret is None:
                raise ValueError(f"{actor.name} ({actor.did}) has no controller key to sign ledger transactions with")
            key, secret, subject = actor.did, actor.controller_secret, actor.did
        if key not in self._clients:
            self._clients[key] = EbsiClient(self.base_url, secret, subject=subject, http=self._http)
        return self._clients[key]

    def register_did(self, party: Party) -> None:
        client = self._client(party)
        document = client.read.did_document(party.did)
        if document is None:
            client.insert_did_document(party.did)
            document = {}
        if party.signer.kid in (document.get("assertionMethod") or []):
            return
        client.transact(DIDR, "addVerificationMethod", {
            "did": party.did, "vMethodId": party.signer.fragment, "isSecp256k1": False,
            "publicKey": json.dumps(party.signer.public_jwk(), separators=(",", ":"))})
        for name in ("assertionMethod", "authentication"):
            client.transact(DIDR, "addVerificationRelationship",
                            {"did": party.did, "name": name, "vMethodId": party.signer.fragment})

    def set_attribute(self, actor: Party | None, did: str, attribute_id: str, issuer_type: str,
                      tao: str, tao_attribute_id: str) -> None:
        self._client(actor).transact(TIR, "setAttributeMetadata", {
            "did": did, "attributeId": attribute_id, "issuerType": ISSUER_TYPE_CODES[issuer_type],
            "taoDid": tao, "taoAttributeId": tao_attribute_id})

    def set_attribute_body(self, actor: Party | None, did: str, attribute_id: str, body: str) -> None:
        self._client(actor).transact(TIR, "setAttributeData", {
            "did": did, "attributeId": attribute_id, "attributeData": "0x" + body.encode("utf-8").hex()})

    def revoke(self, actor: Party | None, did: str, attribute_id: str) -> None:
        current: Any = self._client(actor).read.issuer_attribute(did, attribute_id)
        tao = (current or {}).get("attribute", {}).get("tao") or did
        self._client(actor).transact(TIR, "setAttributeMetadata", {
            "did": did, "attributeId": attribute_id, "issuerType": ISSUER_TYPE_CODES["Revoked"], "taoDid": tao,
            "taoAttributeId": attribute_id})

    def add_proxy(self, party: Party, proxy: dict[str, Any]) -> str:
        """Registers an issuer proxy (``{"prefix", "headers", "testSuffix"}``); returns its id (sha256 of the text)."""
        text = json.dumps(proxy, separators=(",", ":"), sort_keys=True)
        self._client(party).transact(TIR, "addIssuerProxy", {"did": party.did, "proxyData": text})
        return "0x" + hashlib.sha256(text.encode("utf-8")).hexdigest()
