"""Trust marks, issuer side: the accreditation chain RootTAO -> TAO -> TI, made and registered.

Each accreditation is a signed VCDM 1.1 credential (a JWT, issuer/ebsi_jwt.py) shaped after EBSI's Verifiable
Accreditation schema (npm ``@cef-ebsi/vcdm1.1-accreditation-schema`` 1.3.0, 2024-01): ``credentialSubject`` with the
accredited DID, the ``reservedAttributeId`` of the registry attribute it was made for, and ``accreditedFor`` (schema,
credential types, ``limitJurisdiction``); ``termsOfUse`` pointing at the accreditor's own accreditation in the Trusted
Issuers Registry; ``credentialStatus`` an ``EbsiAccreditationEntry`` (the attribute itself: revoking it in the
registry revokes the accreditation); ``expirationDate``.

Registering follows the registry's rules (ebsi/contracts/TrustedIssuersRegistry.sol): the ledger's admin places a
RootTAO; an accreditor places the attribute of the one it accredits (``setAttributeMetadata``: type TAO or TI, its own
attribute as the reason) and writes the accreditation into it (``setAttributeData``). ``RegistryWriter`` is the small
interface those writes go through: ``MemoryRegistryWriter`` (tests, over verifier.trustregistry's in-memory registry)
or ``LedgerRegistryWriter`` (the ledger service, ebsi/trustledger.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from issuer.ebsi_jwt import VC1_CONTEXT, JwtSigner, sign_credential_jwt, utc_text
from verifier.jurisdiction import country_iri
from verifier.trust import TO_ACCREDIT, TO_ATTEST
from verifier.trustregistry import TIR_PATH, MemoryTrustRegistry, TirAttribute

TSR_PATH = "/trusted-schemas-registry/v3/schemas"
# EBSI's JSON Schema ids (multibase base58btc of the schema digest), from the npm schema packages' metadata (1.3.0)
ACCREDITATION_SCHEMA_ID = "zG6xY9DG2CWyhsSc544hEezbQRmkQCfvgXGdCqt69v8TA"  # Verifiable Accreditation, 2024-01
ATTESTATION_SCHEMA_ID = "zDpWGUBenmqXzurskry9Nsk6vq2R8thh9VSeoRqguoyMD"  # Verifiable Attestation, 2024-01
TRUST_CHAIN = "VerifiableAuthorisationForTrustChain"
ROLE_OF_KIND = {TO_ACCREDIT: "TAO", TO_ATTEST: "TI"}
ISSUER_TYPE_CODES = {"RootTAO": 1, "TAO": 2, "TI": 3, "Revoked": 4}  # the registry contract's uint8 issuer types


@dataclass(frozen=True)
class Party:
    """An organisation in the chain: its DID, the key that signs its credentials (assertionMethod) and, for the
    ledger, the secp256k1 key that controls its DID (capabilityInvocation; it signs its transactions)."""

    name: str
    signer: JwtSigner
    controller_secret: bytes | None = field(default=None, repr=False)

    @property
    def did(self) -> str:
        return self.signer.did


@dataclass(frozen=True)
class AccreditedFor:
    """One ``accreditedFor`` entry: what the accredited party may issue (or accredit others to issue)."""

    schema_id: str
    types: tuple[str, ...]
    jurisdictions: tuple[str, ...]  # Publications Office authority IRIs

    @classmethod
    def for_countries(cls, schema_id: str, types: Sequence[str], countries: Sequence[str]) -> AccreditedFor:
        """With jurisdictions given as ISO alpha-2 codes ("DE")."""
        return cls(schema_id, tuple(types), tuple(country_iri(c) for c in countries))

    def to_json(self) -> dict[str, Any]:
        limit: Any = list(self.jurisdictions) if len(self.jurisdictions) != 1 else self.jurisdictions[0]
        return {"schemaId": self.schema_id, "types": list(self.types), "limitJurisdiction": limit}


@dataclass(frozen=True)
class Accreditation:
    """An accreditation as registered: ``subject`` holds it in ``attribute_id`` as ``role``, made by ``accreditor``."""

    subject: str
    role: str  # RootTAO, TAO or TI
    attribute_id: str  # 0x + 64 hex
    accreditor: str
    jwt: str

    def link(self, registry_url: str) -> str:
        """Its URL in the Trusted Issuers Registry (what a ``termsOfUse`` names)."""
        return attribute_url(registry_url, self.subject, self.attribute_id)


def attribute_url(registry_url: str, did: str, attribute_id: str) -> str:
    return f"{registry_url.rstrip('/')}{TIR_PATH}/{did}/attributes/{attribute_id.removeprefix('0x')}"


def schema_url(registry_url: str, schema_id: str) -> str:
    return f"{registry_url.rstrip('/')}{TSR_PATH}/{schema_id}"


def new_attribute_id() -> str:
    return "0x" + os.urandom(32).hex()


class RegistryWriter(Protocol):
    """The registry writes the chain needs. ``actor`` None: the registry's admin (the ledger operator)."""

    def register_did(self, party: Party) -> None: ...

    def set_attribute(self, actor: Party | None, did: str, attribute_id: str, issuer_type: str,
                      tao: str, tao_attribute_id: str) -> None: ...

    def set_attribute_body(self, actor: Party | None, did: str, attribute_id: str, body: str) -> None: ...

    def revoke(self, actor: Party | None, did: str, attribute_id: str) -> None: ...


def accreditation_vc(
    *, kind: str, accreditor: Party, subject: str, attribute_id: str, accredited_for: Sequence[AccreditedFor],
    valid_from: datetime, valid_until: datetime, registry_url: str, accreditor_attribute_id: str | None,
    issued: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned accreditation credential (EBSI Verifiable Accreditation 2024-01 shape)."""
    if kind not in (TO_ACCREDIT, TO_ATTEST, TRUST_CHAIN):
        raise ValueError(f"kind must be {TO_ACCREDIT}, {TO_ATTEST} or {TRUST_CHAIN}, got {kind!r}")
    if valid_until <= valid_from:
        raise ValueError(f"valid_until {valid_until} must be after valid_from {valid_from}")
    types = ["VerifiableCredential", "VerifiableAttestation"]
    types += [kind] if kind == TRUST_CHAIN else ["VerifiableAccreditation", kind]
    vc: dict[str, Any] = {
        "@context": [VC1_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": types,
        "issuer": accreditor.did,
        "issuanceDate": utc_text(valid_from),
        "validFrom": utc_text(valid_from),
        "expirationDate": utc_text(valid_until),
        "issued": utc_text(issued or valid_from),
        "credentialSubject": {
            "id": subject,
            "reservedAttributeId": attribute_id.removeprefix("0x"),
            "accreditedFor": [a.to_json() for a in accredited_for],
        },
        "credentialStatus": {"id": attribute_url(registry_url, subject, attribute_id), "type": "EbsiAccreditationEntry"},
        "credentialSchema": {"id": schema_url(registry_url, ACCREDITATION_SCHEMA_ID), "type": "FullJsonSchemaValidator2021"},
    }
    if accreditor_attribute_id is not None:
        vc["termsOfUse"] = {"id": attribute_url(registry_url, accreditor.did, accreditor_attribute_id),
                            "type": "IssuanceCertificate"}
    return vc


def make_root(writer: RegistryWriter, root: Party, *, accredited_for: Sequence[AccreditedFor], valid_from: datetime,
              valid_until: datetime, registry_url: str) -> Accreditation:
    """Registers ``root`` as a RootTAO (an admin write) with its self-issued authorisation for the trust chain."""
    attribute_id = new_attribute_id()
    vc = accreditation_vc(kind=TRUST_CHAIN, accreditor=root, subject=root.did, attribute_id=attribute_id,
                          accredited_for=accredited_for, valid_from=valid_from, valid_until=valid_until,
                          registry_url=registry_url, accreditor_attribute_id=None)
    body = sign_credential_jwt(vc, root.signer)
    writer.register_did(root)
    writer.set_attribute(None, root.did, attribute_id, "RootTAO", root.did, attribute_id)
    writer.set_attribute_body(None, root.did, attribute_id, body)
    return Accreditation(root.did, "RootTAO", attribute_id, root.did, body)


def accredit(writer: RegistryWriter, accreditor: Party, accreditor_attribute: Accreditation, subject: Party | str, *,
             kind: str, accredited_for: Sequence[AccreditedFor], valid_from: datetime, valid_until: datetime,
             registry_url: str) -> Accreditation:
    """``accreditor`` accredits ``subject`` (ToAccredit: as a TAO; ToAttest: as a TI), signs it, registers it.

    ``subject`` is a Party (its DID is registered in the DID Registry first) or just a DID (e.g. a university's
    did:web, which the DID Registry does not hold: only the accreditor's keys need to be found there)."""
    if kind not in ROLE_OF_KIND:
        raise ValueError(f"kind must be {TO_ACCREDIT} or {TO_ATTEST}, got {kind!r}")
    if accreditor_attribute.subject != accreditor.did:
        raise ValueError(f"accreditor_attribute belongs to {accreditor_attribute.subject}, not {accreditor.did}")
    attribute_id = new_attribute_id()
    subject_did = subject if isinstance(subject, str) else subject.did
    vc = accreditation_vc(kind=kind, accreditor=accreditor, subject=subject_did, attribute_id=attribute_id,
                          accredited_for=accredited_for, valid_from=valid_from, valid_until=valid_until,
                          registry_url=registry_url, accreditor_attribute_id=accreditor_attribute.attribute_id)
    body = sign_credential_jwt(vc, accreditor.signer)
    role = ROLE_OF_KIND[kind]
    if not isinstance(subject, str):
        writer.register_did(subject)
    writer.set_attribute(accreditor, subject_did, attribute_id, role, accreditor.did, accreditor_attribute.attribute_id)
    writer.set_attribute_body(accreditor, subject_did, attribute_id, body)
    return Accreditation(subject_did, role, attribute_id, accreditor.did, body)


@dataclass(frozen=True)
class TrustChain:
    root: Accreditation
    tao: Accreditation
    ti: Accreditation


def create_chain(writer: RegistryWriter, root: Party, tao: Party, ti: Party, *, accredited_for: Sequence[AccreditedFor],
                 valid_from: datetime, valid_until: datetime, registry_url: str) -> TrustChain:
    """RootTAO -> TAO -> TI, each accredited for the same scope and period (the demo's chain)."""
    common = dict(accredited_for=accredited_for, valid_from=valid_from, valid_until=valid_until, registry_url=registry_url)
    r = make_root(writer, root, **common)
    t = accredit(writer, root, r, tao, kind=TO_ACCREDIT, **common)
    i = accredit(writer, tao, t, ti, kind=TO_ATTEST, **common)
    return TrustChain(r, t, i)


class MemoryRegistryWriter:
    """Writes into a ``MemoryTrustRegistry`` (the test double; the registry's permission rules are the contract's and
    are tested there, not here)."""

    def __init__(self, registry: MemoryTrustRegistry | None = None):
        self.registry = registry or MemoryTrustRegistry()

    def register_did(self, party: Party) -> None:
        if self.registry.did_document(party.did) is None:
            vm = party.signer.verification_method()
            self.registry.put_did_document({
                "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
                "id": party.did, "controller": [party.did], "verificationMethod": [vm],
                "authentication": [vm["id"]], "assertionMethod": [vm["id"]],
            })

    def set_attribute(self, actor: Party | None, did: str, attribute_id: str, issuer_type: str,
                      tao: str, tao_attribute_id: str) -> None:
        current = self.registry.attribute(did, attribute_id)
        root = tao if issuer_type == "RootTAO" else (self._root_of(tao, tao_attribute_id))
        self.registry.put_attribute(TirAttribute(did, attribute_id, current.body if current else "", issuer_type, tao, root))

    def _root_of(self, tao: str, tao_attribute_id: str) -> str:
        above = self.registry.attribute(tao, tao_attribute_id)
        return above.root_tao if above is not None else ""

    def set_attribute_body(self, actor: Party | None, did: str, attribute_id: str, body: str) -> None:
        a = self.registry.attribute(did, attribute_id)
        if a is None:
            raise ValueError(f"{did} has no attribute {attribute_id}: place it first (set_attribute)")
        self.registry.put_attribute(TirAttribute(did, a.attribute_id, body, a.issuer_type, a.tao, a.root_tao, a.hash))

    def revoke(self, actor: Party | None, did: str, attribute_id: str) -> None:
        self.registry.set_issuer_type(did, attribute_id, "Revoked")
