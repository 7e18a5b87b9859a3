"""The accreditation walk (verifier.trust) on chains made by the issuer-side tooling (ebsi.trust), in memory.

Each negative case breaks one thing in an otherwise valid RootTAO -> TAO -> TI chain and asserts its own reason.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from ebsi.trust import (
    AccreditedFor,
    MemoryRegistryWriter,
    Party,
    accredit,
    create_chain,
    make_root,
)
from issuer.ebsi_jwt import JwtSigner, new_ebsi_did
from verifier.trust import TO_ACCREDIT, TO_ATTEST, TrustScope, evaluate_trust
from verifier.trustregistry import MemoryTrustRegistry, TirAttribute, TrustRegistryUnavailableError, gather_trust

REGISTRY = "http://localhost:8090"
SCHEMA = f"{REGISTRY}/trusted-schemas-registry/v3/schemas/zMicroCredential"
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
END = datetime(2030, 1, 1, tzinfo=timezone.utc)
ANCHORED = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SCOPE = TrustScope(frozenset({"OpenBadgeCredential"}), (), "DE")
TYPES = ("VerifiableCredential", "VerifiableAttestation", "OpenBadgeCredential")


def party(name: str, alg: str = "ES256") -> Party:
    return Party(name, JwtSigner.generate(new_ebsi_did(), alg))


def scope(countries=("DE",), types=TYPES, schema=SCHEMA) -> list[AccreditedFor]:
    return [AccreditedFor.for_countries(schema, types, countries)]


@pytest.fixture()
def world():
    registry = MemoryTrustRegistry()
    writer = MemoryRegistryWriter(registry)
    ministry, agency, university = party("Ministry", "ES256K"), party("QA agency"), party("University")
    chain = create_chain(writer, ministry, agency, university, accredited_for=scope(), valid_from=START,
                         valid_until=END, registry_url=REGISTRY)
    return registry, writer, (ministry, agency, university), chain


def judge(registry, did, *, roots, at=ANCHORED, scope_=SCOPE):
    return evaluate_trust(gather_trust(registry, did, roots), did, scope_, at=at, roots=roots)


def test_a_valid_chain_passes_and_names_every_link(world):
    registry, _, (ministry, agency, university), chain = world
    outcome = judge(registry, university.did, roots=[ministry.did])
    assert outcome.ok, outcome.reason
    assert [(l.subject, l.role, l.accreditor) for l in outcome.links] == [
        (university.did, "TI", agency.did), (agency.did, "TAO", ministry.did)]
    assert outcome.root == ministry.did
    assert outcome.chain() == f"{university.did} (TI) ← {agency.did} (TAO) ← {ministry.did} (RootTAO)"
    assert chain.ti.attribute_id == outcome.links[0].attribute_id


def test_the_accreditations_have_the_ebsi_accreditation_shape(world):
    *_, chain = world
    payload = json.loads(base64.urlsafe_b64decode(chain.ti.jwt.split(".")[1] + "=="))
    vc = payload["vc"]
    assert vc["type"] == ["VerifiableCredential", "VerifiableAttestation", "VerifiableAccreditation", TO_ATTEST]
    assert vc["credentialSubject"]["reservedAttributeId"] == chain.ti.attribute_id[2:]
    assert vc["credentialSubject"]["accreditedFor"] == [{
        "schemaId": SCHEMA, "types": list(TYPES),
        "limitJurisdiction": "http://publications.europa.eu/resource/authority/country/DEU"}]
    assert vc["termsOfUse"] == {"id": chain.tao.link(REGISTRY), "type": "IssuanceCertificate"}
    assert vc["credentialStatus"] == {"id": chain.ti.link(REGISTRY), "type": "EbsiAccreditationEntry"}
    assert payload["iss"] == vc["issuer"] == chain.tao.subject and payload["sub"] == chain.ti.subject
    assert payload["exp"] == int(END.timestamp()) and payload["nbf"] == int(START.timestamp())


def _swap_payload(jwt: str, change) -> str:
    head, body, sig = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    change(claims["vc"])
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{head}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{sig}"


def test_a_forged_accreditation_fails_on_its_signature(world):
    registry, _, (ministry, agency, university), chain = world
    a = registry.attribute(university.did, chain.ti.attribute_id)
    # The registry's operator widens the TI's scope to a country it was never accredited for: the signature breaks.
    forged = _swap_payload(a.body, lambda vc: vc["credentialSubject"]["accreditedFor"][0].update(
        limitJurisdiction="http://publications.europa.eu/resource/authority/country/FRA"))
    registry.put_attribute(TirAttribute(a.did, a.attribute_id, forged, a.issuer_type, a.tao, a.root_tao))
    outcome = judge(registry, university.did, roots=[ministry.did], scope_=TrustScope(SCOPE.types, (), "FR"))
    assert not outcome.ok
    assert outcome.reason.startswith(f"forged: the signature of {university.did}'s TI accreditation")
    assert f"does not verify with {agency.signer.kid}" in outcome.reason


def test_an_accreditation_signed_by_a_key_outside_the_accreditors_did_document_is_forged(world):
    registry, writer, (ministry, agency, university), chain = world
    impostor = Party("impostor", JwtSigner(agency.did, "ES256", JwtSigner.generate(agency.did).key))
    a = registry.attribute(university.did, chain.ti.attribute_id)
    from ebsi.trust import accreditation_vc
    from issuer.ebsi_jwt import sign_credential_jwt
    vc = accreditation_vc(kind=TO_ATTEST, accreditor=impostor, subject=university.did, attribute_id=a.attribute_id,
                          accredited_for=scope(), valid_from=START, valid_until=END, registry_url=REGISTRY,
                          accreditor_attribute_id=chain.tao.attribute_id)
    writer.set_attribute_body(None, university.did, a.attribute_id, sign_credential_jwt(vc, impostor.signer))
    outcome = judge(registry, university.did, roots=[ministry.did])
    assert not outcome.ok
    assert outcome.reason == (f"forged: {university.did}'s TI accreditation {a.attribute_id[:10]}… is signed with "
                              f"{impostor.signer.kid}, which is not an assertionMethod of {agency.did}")


def test_a_revoked_tao_fails_every_ti_it_accredited(world):
    registry, writer, (ministry, agency, university), chain = world
    assert judge(registry, university.did, roots=[ministry.did]).ok
    writer.revoke(ministry, agency.did, chain.tao.attribute_id)
    outcome = judge(registry, university.did, roots=[ministry.did])
    assert not outcome.ok
    assert outcome.reason == (f"revoked: {agency.did}'s TAO accreditation {chain.tao.attribute_id[:10]}… is revoked in "
                              f"the registry (issuerType Revoked)")
    assert [l.subject for l in outcome.links] == [university.did]  # the TI's own link was fine


def test_a_revoked_ti_fails(world):
    registry, writer, (ministry, agency, university), chain = world
    writer.revoke(agency, university.did, chain.ti.attribute_id)
    outcome = judge(registry, university.did, roots=[ministry.did])
    assert outcome.reason.startswith(f"revoked: {university.did}'s TI accreditation")


def test_an_accreditation_expired_at_the_anchoring_time_fails_one_valid_then_passes(world):
    registry, writer, (ministry, agency, university), chain = world
    late = ANCHORED + timedelta(days=400)
    outcome = judge(registry, university.did, roots=[ministry.did], at=late.replace(year=2031))
    assert not outcome.ok
    assert outcome.reason.startswith(f"expired: {university.did}'s TI accreditation")
    assert "valid until 2030-01-01 00:00:00 UTC, before the anchoring time 2031-" in outcome.reason
    # Judged at the anchoring time, not now: a credential anchored while the accreditation held stays accredited.
    assert judge(registry, university.did, roots=[ministry.did], at=END - timedelta(seconds=1)).ok


def test_anchored_before_the_accreditation_began_fails(world):
    registry, _, (ministry, _a, university), _ = world
    outcome = judge(registry, university.did, roots=[ministry.did], at=START - timedelta(days=1))
    assert outcome.reason.startswith(f"not yet valid: {university.did}'s TI accreditation")


def test_an_out_of_scope_type_fails_with_what_was_accredited(world):
    registry, _, (ministry, agency, university), _ = world
    outcome = judge(registry, university.did, roots=[ministry.did],
                    scope_=TrustScope(frozenset({"DoctoralDegreeCredential"}), (), "DE"))
    assert not outcome.ok
    assert outcome.reason.startswith(f"out of scope: accredited for OpenBadgeCredential (schema {SCHEMA}); the credential "
                                     f"is DoctoralDegreeCredential in DE ({university.did}'s TI accreditation 0x")
    assert outcome.reason.endswith(f", by {agency.did})")


def test_a_credential_under_another_schema_is_out_of_scope(world):
    registry, _, (ministry, _a, university), _ = world
    other = TrustScope(SCOPE.types, (f"{REGISTRY}/trusted-schemas-registry/v3/schemas/zOther",), "DE")
    outcome = judge(registry, university.did, roots=[ministry.did], scope_=other)
    assert outcome.reason.startswith("out of scope:") and "under schema" in outcome.reason
    assert judge(registry, university.did, roots=[ministry.did], scope_=TrustScope(SCOPE.types, (SCHEMA,), "DE")).ok


def test_another_jurisdiction_fails(world):
    registry, _, (ministry, _a, university), _ = world
    outcome = judge(registry, university.did, roots=[ministry.did], scope_=TrustScope(SCOPE.types, (), "AT"))
    assert outcome.reason.startswith("jurisdiction: accredited for DEU, but the issuer's country is AT (AUT)")


def test_a_narrower_tao_scope_limits_the_chain(world):
    registry, writer, (ministry, _a, _u), chain = world
    agency2, university2 = party("Regional agency"), party("College")
    tao2 = accredit(writer, ministry, chain.root, agency2, kind=TO_ACCREDIT, accredited_for=scope(("AT",)),
                    valid_from=START, valid_until=END, registry_url=REGISTRY)
    accredit(writer, agency2, tao2, university2, kind=TO_ATTEST, accredited_for=scope(("DE", "AT")),
             valid_from=START, valid_until=END, registry_url=REGISTRY)
    outcome = judge(registry, university2.did, roots=[ministry.did])  # a DE credential: the TAO may not cover DE
    assert outcome.reason.startswith("jurisdiction: accredited for AUT, but the issuer's country is DE")
    assert f"{agency2.did}'s TAO accreditation" in outcome.reason


def test_no_path_to_a_configured_root(world):
    registry, _, (ministry, _a, university), _ = world
    elsewhere = new_ebsi_did()
    outcome = judge(registry, university.did, roots=[elsewhere])
    assert not outcome.ok
    assert outcome.reason.startswith("no path to a configured root: ")
    assert f"comes from {ministry.did}, which is not a trusted root (trusted: {elsewhere})" in outcome.reason


def test_a_ti_accredited_straight_by_the_root_is_refused(world):
    registry, writer, (ministry, _a, _u), chain = world
    college = party("College")
    accredit(writer, ministry, chain.root, college, kind=TO_ATTEST, accredited_for=scope(), valid_from=START,
             valid_until=END, registry_url=REGISTRY)
    outcome = judge(registry, college.did, roots=[ministry.did])
    assert "comes straight from the root" in outcome.reason and "RootTAO → TAO → TI" in outcome.reason


def test_a_tao_may_not_make_another_tao(world):
    registry, writer, (ministry, agency, _u), chain = world
    sub_agency, college = party("Sub-agency"), party("College")
    tao2 = accredit(writer, agency, chain.tao, sub_agency, kind=TO_ACCREDIT, accredited_for=scope(),
                    valid_from=START, valid_until=END, registry_url=REGISTRY)
    accredit(writer, sub_agency, tao2, college, kind=TO_ATTEST, accredited_for=scope(), valid_from=START,
             valid_until=END, registry_url=REGISTRY)
    outcome = judge(registry, college.did, roots=[ministry.did, agency.did])
    assert not outcome.ok
    assert outcome.reason == f"{agency.did} may not accredit TAOs: the registry lists it as TAO"


def test_an_issuer_that_is_not_registered_or_holds_no_ti_accreditation(world):
    registry, _, (ministry, agency, _u), _ = world
    stranger = new_ebsi_did()
    assert judge(registry, stranger, roots=[ministry.did]).reason == f"{stranger} is not registered in the trust registry"
    assert judge(registry, agency.did, roots=[ministry.did]).reason == (
        f"{agency.did} holds no TI accreditation in the registry (it has: TAO)")


def test_an_unreachable_registry_raises_the_evidence_error(world):
    registry, _, (ministry, _a, university), _ = world
    registry.set_available(False)
    with pytest.raises(TrustRegistryUnavailableError, match="not reachable"):
        gather_trust(registry, university.did, [ministry.did])


def test_gathering_reads_each_did_once_and_stops_at_the_root(world):
    registry, _, (ministry, agency, university), _ = world
    registry.reads = 0
    evidence = gather_trust(registry, university.did, [ministry.did])
    assert set(evidence.attributes) == {university.did, agency.did, ministry.did}
    assert set(evidence.did_documents) == {agency.did, ministry.did}
    # 3 DIDs: 3 attribute lists + 3 attributes (one each) + 2 DID documents
    assert registry.reads == 8


def test_make_root_and_accredit_refuse_misuse(world):
    _, writer, (ministry, agency, university), chain = world
    with pytest.raises(ValueError, match="belongs to"):
        accredit(writer, agency, chain.root, university, kind=TO_ATTEST, accredited_for=scope(), valid_from=START,
                 valid_until=END, registry_url=REGISTRY)
    with pytest.raises(ValueError, match="must be after"):
        make_root(writer, ministry, accredited_for=scope(), valid_from=END, valid_until=START, registry_url=REGISTRY)
