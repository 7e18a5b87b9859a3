"""The issuer_trust check inside the Verifier: an anchored batch whose issuer is (or is not) an accredited TI.

The registry is the in-memory double; the chain is made with the issuer-side tooling. The anchoring time comes from
the embedded chain's block, so the check judges accreditations at that time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ebsi.trust import AccreditedFor, MemoryRegistryWriter, Party, accredit, create_chain
from issuer.ebsi_jwt import JwtSigner, new_ebsi_did
from tests.batchkit import embedded_batch
from verifier.did import DidResolver
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.report import Status, Verdict
from verifier.trust import TO_ATTEST
from verifier.trustregistry import MemoryTrustRegistry
from verifier.verify import Verifier, VerifierOptions

REGISTRY = "http://localhost:8090"
OB3_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    _chain, issued = embedded_batch(tmp_path_factory.mktemp("trust") / "out")
    return issued


@pytest.fixture()
def world(batch):
    """Ministry -> agency -> the batch's issuer (its did:web), accredited for OpenBadgeCredential in Germany."""
    registry = MemoryTrustRegistry()
    writer = MemoryRegistryWriter(registry)
    ministry = Party("Ministry", JwtSigner.generate(new_ebsi_did(), "ES256K"))
    agency = Party("Agency", JwtSigner.generate(new_ebsi_did()))
    university = Party("University", JwtSigner.generate(batch.identity.did))
    now = datetime.now(timezone.utc)
    scope = [AccreditedFor.for_countries(OB3_SCHEMA, ["VerifiableCredential", "OpenBadgeCredential"], ["DE"])]
    chain = create_chain(writer, ministry, agency, university, accredited_for=scope, valid_from=now - timedelta(days=30),
                         valid_until=now + timedelta(days=365), registry_url=REGISTRY)
    return registry, writer, ministry, agency, chain


def verifier(batch, *, roots=(), registry=None) -> Verifier:
    resolver = DidResolver()
    resolver.add(batch.did_document, "file did.json")
    return Verifier(ledger=CachingReader(LedgerRouter({batch.chain_id: batch.reader})), did_resolver=resolver,
                    trust_registry=registry, options=VerifierOptions(trust_roots=frozenset(roots)))


def test_without_trusted_roots_the_check_is_skipped_and_the_verdict_unchanged(batch):
    report = verifier(batch).verify(batch.credential(0))
    check = report.check("issuer_trust")
    assert check.status is Status.SKIPPED and not check.counts
    assert check.reason == "not requested: no trusted root configured, the issuer's accreditation was not checked"
    assert report.verdict is Verdict.VERIFIED
    assert [c.id for c in report.checks].index("issuer_trust") == [c.id for c in report.checks].index("anchor") + 1


def test_an_accredited_issuer_passes_with_its_chain(batch, world):
    registry, _, ministry, agency, _ = world
    report = verifier(batch, roots=[ministry.did], registry=registry).verify(batch.credential(0))
    check = report.check("issuer_trust")
    assert check.status is Status.PASS, check.reason
    assert report.verdict is Verdict.VERIFIED
    assert f"{batch.identity.did} (TI) ← {agency.did} (TAO) ← {ministry.did} (RootTAO)" in check.reason
    assert check.reason.startswith("accredited for OpenBadgeCredential in DE at the anchoring time ")


def test_the_registry_is_read_afresh_for_each_verification(batch, world):
    registry, writer, ministry, agency, chain = world
    v = verifier(batch, roots=[ministry.did], registry=registry)
    assert v.verify(batch.credential(0)).check("issuer_trust").status is Status.PASS
    reads = registry.reads
    writer.revoke(ministry, agency.did, chain.tao.attribute_id)
    report = v.verify(batch.credential(0))
    assert registry.reads > reads
    assert report.verdict is Verdict.FAILED
    assert report.check("issuer_trust").reason.startswith(f"revoked: {agency.did}'s TAO accreditation")


def test_an_unreachable_registry_is_indeterminate(batch, world):
    registry, _, ministry, *_ = world
    registry.set_available(False)
    report = verifier(batch, roots=[ministry.did], registry=registry).verify(batch.credential(0))
    check = report.check("issuer_trust")
    assert check.status is Status.INDETERMINATE
    assert check.reason == "trust registry unavailable: in-memory trust registry: not reachable"
    assert report.verdict is Verdict.PARTIALLY_VERIFIED


def test_roots_without_a_registry_are_indeterminate(batch, world):
    _, _, ministry, *_ = world
    check = verifier(batch, roots=[ministry.did]).verify(batch.credential(0)).check("issuer_trust")
    assert check.status is Status.INDETERMINATE and "no trust registry" in check.reason


def test_an_unanchored_credential_has_no_time_to_judge_at(batch, world):
    registry, _, ministry, *_ = world
    doc = batch.credential(0)
    doc["proof"] = [p for p in doc["proof"] if p.get("cryptosuite") != "merkle-proof-2019"]
    check = verifier(batch, roots=[ministry.did], registry=registry).verify(doc).check("issuer_trust")
    assert check.status is Status.SKIPPED and check.counts
    assert check.reason.startswith("anchoring time not established (see anchor)")


def test_one_good_accreditation_among_several_is_enough_and_none_gives_the_furthest_failure(batch, world):
    registry, writer, ministry, agency, chain = world
    # A second TI accreditation of the same issuer, for Austria only: the German one still carries the credential.
    university = Party("University", JwtSigner.generate(batch.identity.did))
    now = datetime.now(timezone.utc)
    accredit(writer, agency, chain.tao, university, kind=TO_ATTEST,
             accredited_for=[AccreditedFor.for_countries(OB3_SCHEMA, ["OpenBadgeCredential"], ["AT"])],
             valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=1), registry_url=REGISTRY)
    v = verifier(batch, roots=[ministry.did], registry=registry)
    assert v.verify(batch.credential(0)).check("issuer_trust").status is Status.PASS
    writer.revoke(agency, batch.identity.did, chain.ti.attribute_id)
    reason = v.verify(batch.credential(0)).check("issuer_trust").reason
    assert reason.startswith("revoked: ")  # the first of two failures at the same depth (revoked, then out of place)


def test_the_report_json_carries_the_check(batch, world):
    registry, _, ministry, *_ = world
    body = verifier(batch, roots=[ministry.did], registry=registry).verify(batch.credential(0)).to_json()
    assert {"id": "issuer_trust", "title": "Issuer accreditation", "status": "pass"} == {
        k: v for k, v in next(c for c in body["checks"] if c["id"] == "issuer_trust").items() if k != "reason"}
    json.dumps(body)
