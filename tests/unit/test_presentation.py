"""verifier.presentation: presentations signed by a did:key holder over credentials of a real embedded-chain batch.

Each negative case asserts the check that fails and its reason, not only the verdict.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.holderkit import Holder, holder_batch, sign_presentation
from verifier.did import DidResolver
from verifier.errors import DidResolutionError
from verifier.presentation import CHECKS, PresentationVerifier
from verifier.report import Status, Verdict

CHALLENGE = "c0ffee-4711"
DOMAIN = "verifier.example.com"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    holder, other = Holder(Ed25519PrivateKey.generate()), Holder(Ed25519PrivateKey.generate())
    batch = holder_batch(tmp_path_factory.mktemp("holder") / "out", holder, other)
    return holder, other, batch


@pytest.fixture(scope="module")
def pv(world):
    _, _, batch = world
    return PresentationVerifier(batch.verifier())


def statuses(report) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks}


def test_a_good_presentation_verifies(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE, domain=DOMAIN)
    report = pv.verify(vp, challenge=CHALLENGE, domain=DOMAIN, source="request")
    assert [c.id for c in report.checks] == [cid for cid, _ in CHECKS]
    assert statuses(report) == dict.fromkeys(statuses(report), "pass"), report.checks
    assert report.verdict is Verdict.VERIFIED
    assert report.signer == holder.did and report.holder == holder.did
    assert len(report.credentials) == 1 and report.credentials[0].verdict is Verdict.VERIFIED
    assert report.credentials[0].source == "request verifiableCredential[0]"
    assert "derived from did:key" in report.check("presentation_signature").reason
    body = report.to_json()
    assert body["verdict"] == "verified" and body["credentials"][0]["credential_id"] == batch.credential(0)["id"]
    assert "credentials" not in report.to_json(include_credentials=False)


def test_a_wrong_challenge_fails_with_both_values(world, pv):
    holder, _, batch = world
    report = pv.verify(holder.present([batch.credential(0)], challenge="old-one"), challenge=CHALLENGE)
    c = report.check("challenge")
    assert c.status is Status.FAIL and CHALLENGE in c.reason and "old-one" in c.reason
    assert report.verdict is Verdict.FAILED
    assert report.check("presentation_signature").status is Status.PASS  # the signature itself is fine


def test_a_challenge_asked_for_but_missing_in_the_proof_fails(world, pv):
    holder, _, batch = world
    report = pv.verify(holder.present([batch.credential(0)]), challenge=CHALLENGE)
    c = report.check("challenge")
    assert c.status is Status.FAIL and "carries none" in c.reason and CHALLENGE in c.reason


def test_a_wrong_domain_fails(world, pv):
    holder, _, batch = world
    report = pv.verify(holder.present([batch.credential(0)], challenge=CHALLENGE, domain="evil.example"),
                       challenge=CHALLENGE, domain=DOMAIN)
    c = report.check("challenge")
    assert c.status is Status.FAIL and "domain" in c.reason and "evil.example" in c.reason and DOMAIN in c.reason
    assert report.verdict is Verdict.FAILED


def test_a_domain_set_in_the_proof_may_list_the_verifier(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE, domain=["a.example", DOMAIN])
    assert pv.verify(vp, challenge=CHALLENGE, domain=DOMAIN).check("challenge").status is Status.PASS


def test_no_challenge_asked_for_is_grey_never_verified(world, pv):
    holder, _, batch = world
    report = pv.verify(holder.present([batch.credential(0)], challenge=CHALLENGE))
    c = report.check("challenge")
    assert c.status is Status.SKIPPED and "replay" in c.reason
    assert report.verdict is Verdict.PARTIALLY_VERIFIED


def test_a_tampered_presentation_fails_the_signature(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE)
    vp["holder"] = {"id": holder.did, "name": "Somebody Else"}  # a change after signing, terms still defined
    report = pv.verify(vp, challenge=CHALLENGE)
    c = report.check("presentation_signature")
    assert c.status is Status.FAIL and "does not verify" in c.reason and "changed after signing" in c.reason
    assert report.check("challenge").status is Status.SKIPPED  # an unauthenticated challenge proves nothing
    assert report.check("holder_binding").status is Status.SKIPPED
    assert report.verdict is Verdict.FAILED


def test_a_tampered_embedded_credential_fails_the_signature_and_the_credential(world, pv):
    holder, _, batch = world
    cred = batch.credential(0)
    cred["credentialSubject"]["result"][0]["value"] += " (edited)"
    # Signed by the holder after the edit: the presentation is intact, the credential is not.
    report = pv.verify(holder.present([cred], challenge=CHALLENGE), challenge=CHALLENGE)
    assert report.check("presentation_signature").status is Status.PASS
    c = report.check("credentials")
    assert c.status is Status.FAIL and "[0]" in c.reason and "signature" in c.reason
    assert report.credentials[0].check("signature").status is Status.FAIL
    assert report.verdict is Verdict.FAILED


def test_a_credential_edited_inside_a_signed_presentation_fails_both(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE)
    vp["verifiableCredential"][0]["credentialSubject"]["result"][0]["value"] += " (edited)"
    report = pv.verify(vp, challenge=CHALLENGE)
    assert statuses(report)["presentation_signature"] == "fail"
    assert statuses(report)["credentials"] == "fail"


def test_a_holder_who_is_not_the_subject_fails_the_binding(world, pv):
    holder, other, batch = world
    report = pv.verify(holder.present([batch.credential(2)], challenge=CHALLENGE), challenge=CHALLENGE)
    c = report.check("holder_binding")
    assert c.status is Status.FAIL and other.did in c.reason and holder.did in c.reason
    assert report.check("credentials").status is Status.PASS  # the credential itself is genuine
    assert report.verdict is Verdict.FAILED


def test_a_subject_named_by_a_non_did_id_is_indeterminate_not_passed(world, pv):
    holder, _, batch = world
    subject = batch.credential(1)["credentialSubject"]["id"]
    assert subject.startswith("urn:uuid:")  # the issuer's id for a learner without a DID
    report = pv.verify(holder.present([batch.credential(0), batch.credential(1)], challenge=CHALLENGE),
                       challenge=CHALLENGE)
    c = report.check("holder_binding")
    assert c.status is Status.INDETERMINATE and f"[1] {batch.credential(1)['id']} names its subject {subject}, " \
        "not a DID" in c.reason and holder.did in c.reason
    assert report.check("credentials").status is Status.PASS
    assert report.verdict is Verdict.PARTIALLY_VERIFIED


def test_a_subject_without_id_is_indeterminate_not_passed(world, pv):
    holder, _, batch = world
    cred = batch.credential(1)
    del cred["credentialSubject"]["id"]  # breaks the issuer's signature too; the binding is judged on its own
    report = pv.verify(holder.present([cred], challenge=CHALLENGE), challenge=CHALLENGE)
    c = report.check("holder_binding")
    assert c.status is Status.INDETERMINATE and "[0]" in c.reason and "names no subject id" in c.reason


def test_a_holder_field_naming_someone_else_fails(world, pv):
    holder, other, batch = world
    report = pv.verify(holder.present([batch.credential(0)], challenge=CHALLENGE, holder=other.did),
                       challenge=CHALLENGE)
    c = report.check("holder_binding")
    assert c.status is Status.FAIL and f"names holder {other.did}" in c.reason


def test_an_unsigned_presentation_fails_even_when_nothing_is_asked(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)])
    del vp["proof"]
    for options in ({}, {"challenge": CHALLENGE}):
        report = pv.verify(vp, **options)
        c = report.check("presentation_signature")
        assert c.status is Status.FAIL and "unsigned" in c.reason
        assert report.verdict is Verdict.FAILED
        assert report.check("credentials").status is Status.PASS  # still verified, and reported


def test_an_assertion_proof_is_not_an_authentication(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE, purpose="assertionMethod")
    c = pv.verify(vp, challenge=CHALLENGE).check("presentation_signature")
    assert c.status is Status.FAIL and "'authentication'" in c.reason and "assertionMethod" in c.reason


def test_a_key_of_another_did_does_not_sign_for_the_holder(world, pv):
    holder, other, batch = world
    vp = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
          "holder": holder.did, "verifiableCredential": [batch.credential(0)]}
    # other's key, claiming holder's verification method: the signature does not verify with holder's key
    vp = sign_presentation(vp, other.key, holder.method, challenge=CHALLENGE)
    c = pv.verify(vp, challenge=CHALLENGE).check("presentation_signature")
    assert c.status is Status.FAIL and "does not verify" in c.reason


def test_an_expired_proof_fails(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE, expires="2025-07-01T11:00:00Z")
    c = pv.verify(vp, challenge=CHALLENGE).check("presentation_signature")
    assert c.status is Status.FAIL and "expired at 2025-07-01T11:00:00Z" in c.reason


def test_a_did_web_holder_without_a_document_is_indeterminate(world):
    _, _, batch = world
    key = Ed25519PrivateKey.generate()
    vp = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
          "verifiableCredential": []}
    vp = sign_presentation(vp, key, "did:web:learner.example#key-1", challenge=CHALLENGE)
    pv = PresentationVerifier(batch.verifier(), did_resolver=DidResolver())
    report = pv.verify(vp, challenge=CHALLENGE)
    c = report.check("presentation_signature")
    assert c.status is Status.INDETERMINATE and "did:web:learner.example" in c.reason
    assert report.check("credentials").status is Status.SKIPPED  # an empty presentation proves no achievement
    assert report.verdict is Verdict.PARTIALLY_VERIFIED


def test_a_did_web_holder_is_resolved_by_the_resolver_given(world):
    _, _, batch = world
    key = Ed25519PrivateKey.generate()
    did = "did:web:learner.example"
    holder = Holder(key)
    doc = {"id": did, "verificationMethod": [{"id": "#k1", "type": "Multikey", "controller": did,
                                              "publicKeyMultibase": holder.did.removeprefix("did:key:")}],
           "authentication": ["#k1"]}
    resolver = DidResolver()
    resolver.add(doc, "file learner.json")
    vp = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"], "holder": did}
    vp = sign_presentation(vp, key, f"{did}#k1", challenge=CHALLENGE)
    report = PresentationVerifier(batch.verifier(), did_resolver=resolver).verify(vp, challenge=CHALLENGE)
    c = report.check("presentation_signature")
    assert c.status is Status.PASS and "file learner.json" in c.reason
    # a key listed only as assertionMethod does not authenticate
    doc2 = {**doc, "authentication": [], "assertionMethod": ["#k1"]}
    resolver.add(doc2, "file learner.json")
    c = PresentationVerifier(batch.verifier(), did_resolver=resolver).verify(vp).check("presentation_signature")
    assert c.status is Status.FAIL and "not listed under authentication" in c.reason


@pytest.mark.parametrize("vp, words", [
    ({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]},
     "expected VerifiablePresentation"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
      "verifiableCredential": ["eyJhbGciOi..."]}, "verifiableCredential[0]: expected a credential"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
      "madeUpTerm": 1}, "madeUpTerm"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
      "holder": 42}, "holder: expected a URL"),
])
def test_malformed_presentations_fail_the_format_check(pv, vp, words):
    report = pv.verify(vp)
    c = report.check("presentation_format")
    assert c.status is Status.FAIL and words in c.reason
    assert report.verdict is Verdict.FAILED


def test_too_many_credentials_are_refused_before_any_is_verified(world):
    holder, _, batch = world
    pv = PresentationVerifier(batch.verifier(), max_credentials=2)
    report = pv.verify(holder.present([batch.credential(i) for i in range(3)], challenge=CHALLENGE),
                       challenge=CHALLENGE)
    assert "at most 2 credentials" in report.check("presentation_format").reason
    assert report.check("credentials").status is Status.SKIPPED and report.credentials == ()


def test_not_an_object_is_a_failed_report(pv):
    report = pv.verify(["not", "a", "presentation"], source="x")
    assert report.check("presentation_format").reason == "a presentation must be a JSON object, got list"
    assert {c.status for c in report.checks[1:]} == {Status.SKIPPED}


def test_one_reference_time_for_the_presentation_and_its_credentials(world, pv):
    holder, _, batch = world
    later = datetime.now(timezone.utc) + timedelta(days=3)
    report = pv.verify(holder.present([batch.credential(0)], challenge=CHALLENGE), challenge=CHALLENGE, now=later)
    assert report.verified_at == report.credentials[0].verified_at == later.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_presentation_made_in_the_future_fails(world, pv):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE)
    early = datetime(2025, 6, 1, tzinfo=timezone.utc)  # before the proof's created (2025-07-01)
    c = pv.verify(copy.deepcopy(vp), challenge=CHALLENGE, now=early).check("presentation_signature")
    assert c.status is Status.FAIL and "in the future" in c.reason


def test_an_unresolvable_holder_error_is_evidence_unavailable():
    # the resolver's error family: resolution failures are EvidenceUnavailableError (indeterminate, never pass)
    with pytest.raises(DidResolutionError):
        DidResolver().resolve("did:web:nowhere.example")


def test_the_same_credential_three_times_is_a_format_failure_not_a_crash(world, pv):
    # Identical named graphs make RDFC-1.0 disambiguate symmetric blank nodes: bounded work, then a clear refusal.
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE)
    vp["verifiableCredential"] = [batch.credential(0)] * 3
    report = pv.verify(vp, challenge=CHALLENGE)
    c = report.check("presentation_format")
    assert c.status is Status.FAIL and "blank-node disambiguation" in c.reason
    assert report.check("presentation_signature").status is Status.SKIPPED
