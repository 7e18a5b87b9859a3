"""The trust chain on the EBSI-like ledger itself: registered through the facade's write API (ebsi/trustledger.py),
read back by the verifier through the facade's GET API (verifier.trustregistry.EbsiTrustReader)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest

from ebsi.trust import AccreditedFor, Party, create_chain
from ebsi.trustledger import LedgerRegistryWriter
from issuer.ebsi_jwt import JwtSigner, new_ebsi_did
from tests.ebsi.kit import BASE
from verifier.ledger.ebsi import EbsiReadClient
from verifier.trust import TrustScope, evaluate_trust
from verifier.errors import EvidenceUnavailableError
from verifier.trustregistry import EbsiTrustReader, gather_trust

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SCOPE = TrustScope(frozenset({"OpenBadgeCredential"}), (), "FI")


def party(name: str, alg: str = "ES256") -> Party:
    return Party(name, JwtSigner.generate(new_ebsi_did(), alg), secrets.token_bytes(32))


@pytest.fixture()
def ledger_chain(kit):
    writer = LedgerRegistryWriter(BASE, admin_secret=kit.chain.admin.key, http=kit.http)
    ministry, agency, university = party("Ministry", "ES256K"), party("Agency"), party("University")
    chain = create_chain(writer, ministry, agency, university, accredited_for=[AccreditedFor.for_countries(
        f"{BASE}/trusted-schemas-registry/v3/schemas/zX", ["OpenBadgeCredential"], ["FI"])],
        valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=365), registry_url=BASE)
    reader = EbsiTrustReader(EbsiReadClient(BASE, client=kit.http))
    return writer, reader, (ministry, agency, university), chain


def test_a_chain_registered_on_the_ledger_verifies_from_its_rest_api(ledger_chain):
    _, reader, (ministry, agency, university), chain = ledger_chain
    outcome = evaluate_trust(gather_trust(reader, university.did, [ministry.did]), university.did, SCOPE,
                             at=NOW, roots=[ministry.did])
    assert outcome.ok, outcome.reason
    assert outcome.chain() == f"{university.did} (TI) ← {agency.did} (TAO) ← {ministry.did} (RootTAO)"
    document = reader.did_document(agency.did)
    assert agency.signer.kid in document["assertionMethod"]


def test_revoking_the_tao_on_the_ledger_fails_the_next_verification(ledger_chain):
    writer, reader, (ministry, agency, university), chain = ledger_chain
    writer.revoke(ministry, agency.did, chain.tao.attribute_id)
    outcome = evaluate_trust(gather_trust(reader, university.did, [ministry.did]), university.did, SCOPE,
                             at=NOW, roots=[ministry.did])
    assert outcome.reason.startswith(f"revoked: {agency.did}'s TAO accreditation")


def test_an_unreachable_facade_is_evidence_unavailable(kit):
    reader = EbsiTrustReader(EbsiReadClient("http://127.0.0.1:9", timeout=0.5))
    with pytest.raises(EvidenceUnavailableError):  # the verifier's check reports it indeterminate
        gather_trust(reader, new_ebsi_did(), ["did:ebsi:zroot"])
