"""The verifier's EU-elements check: a built credential passes; each missing element is named with expected/actual."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from verifier.euelements import EU_ELEMENTS, eu_elements_summary, find_eu_element_problems

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def credential():
    pytest.importorskip("yaml")
    from issuer.achievement import load_achievement
    from issuer.credential import CredentialTemplate, IssuerProfile
    from issuer.roster import load_roster

    a = load_achievement(REPO / "examples" / "achievement.yaml")
    learner = load_roster(REPO / "examples" / "roster.csv", a)[0]
    issuer = IssuerProfile(id="did:web:www.tu-example.de", name="TU Example", url="https://www.tu-example.de/",
                           country_code="DE", region="Bavaria")
    template = CredentialTemplate(a, issuer, issued=datetime(2025, 7, 1, tzinfo=timezone.utc))
    return template.build(learner, credential_id=f"urn:uuid:{uuid.UUID(int=7)}", salt="abc")


def test_table_has_the_16_annex_elements():
    assert len(EU_ELEMENTS) == 16
    assert sum(e.mandatory for e in EU_ELEMENTS) == 11
    assert len({e.id for e in EU_ELEMENTS}) == 16
    assert all(e.elm_iri.startswith(("http://", "https://")) for e in EU_ELEMENTS)


def test_built_credential_has_no_problems(credential):
    assert find_eu_element_problems(credential) == []


def test_missing_mandatory_elements_are_each_reported(credential):
    c = copy.deepcopy(credential)
    a = c["credentialSubject"]["achievement"]
    del a["mode"]
    del a["accreditation"]
    a["alignment"] = a["alignment"][1:]
    c["issuer"]["address"]["addressCountryCode"] = "XX"
    c["validFrom"] = "yesterday"
    a["creditsAvailable"] = "five"
    assert find_eu_element_problems(c) == [
        "country: issuer.address.addressCountryCode expected an ISO 3166-1 alpha-2 code (e.g. 'DE'), got 'XX'",
        "date of issuing: validFrom expected an XML Schema dateTime with time zone (e.g. '2025-07-01T10:00:00Z'), "
        "got 'yesterday'",
        "workload: credentialSubject.achievement.creditsAvailable expected a positive number of ECTS credits, "
        "got 'five'",
        "level: expected an alignment in credentialSubject.achievement.alignment with targetUrl "
        "http://data.europa.eu/snb/eqf/<1-8>, found none",
        "form of participation: credentialSubject.achievement.mode expected a Europass mode IRI "
        "http://data.europa.eu/snb/learning-assessment/… (online, onsite, blended), got None",
        "quality assurance: credentialSubject.achievement.accreditation expected an Accreditation object, got None",
    ]


def test_learner_identification(credential):
    c = copy.deepcopy(credential)
    del c["credentialSubject"]["id"]
    c["credentialSubject"]["identifier"] = []
    assert find_eu_element_problems(c) == [
        "learner: expected credentialSubject.id (a DID) or an IdentityObject in credentialSubject.identifier, "
        "got neither"]
    c = copy.deepcopy(credential)
    c["credentialSubject"]["identifier"][0]["identityHash"] = "md5$abc"
    assert find_eu_element_problems(c) == [
        "learner: credentialSubject.identifier[0].identityHash expected 'sha256$' + 64 hex digits, got 'md5$abc'"]


def test_ill_formed_optional_elements_and_missing_context(credential):
    c = copy.deepcopy(credential)
    c["@context"] = c["@context"][:2]
    a = c["credentialSubject"]["achievement"]
    a["provenBy"]["idVerification"] = "https://example.org/proctored"
    a["learningOutcome"][1]["relatedESCOSkill"] = "python"
    problems = find_eu_element_problems(c)
    assert problems[0].startswith("@context: expected https://anchorcred.org/contexts/eu-microcredential/v1.jsonld")
    assert ("learning outcomes: credentialSubject.achievement.learningOutcome[1].relatedESCOSkill expected an ESCO "
            "skill IRI http://data.europa.eu/esco/skill/<uuid>, got 'python'") in problems
    assert ("supervision: credentialSubject.achievement.provenBy.idVerification expected an IRI of "
            "http://data.europa.eu/snb/supervision-verification/…, got 'https://example.org/proctored'") in problems
    assert len(problems) == 3


def test_not_a_dict():
    assert find_eu_element_problems([]) == ["credential: expected a JSON object, got list"]


def test_summary_is_readable_in_the_readers_language(credential):
    summary = dict(eu_elements_summary(credential, "de"))
    assert len(summary) == 16
    assert summary["Title of the micro-credential"] == "Angewandte Datenschutztechnik"
    assert summary["Level (EQF/NQF)"] == "EQF 6"
    assert summary["Notional workload (ECTS)"] == "5 ECTS"
    assert summary["Form of participation"] == "blended"
    assert summary["Country/region of the issuer"] == "DE / Bavaria"
    assert summary["Supervision and identity verification during assessment"] == \
        "unsupervised, with identity verification"
    assert summary["Identification of the learner"].startswith("Ana Andromeda, did:key:z6Mk")
    assert dict(eu_elements_summary(credential))["Title of the micro-credential"] == \
        "Applied Data Protection Engineering"
