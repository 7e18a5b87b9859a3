"""The recognition scorecard: each one-element change moves exactly its criterion; authenticity follows the checks;
the rules table in the code is the one in docs/recognition.md."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from verifier.recognition import LIGHTS, RULES, SUPERVISION_MEANING, scorecard
from verifier.report import CheckResult, Report, Status

REPO = Path(__file__).resolve().parents[2]
A_PATH = ("credentialSubject", "achievement")
UNSUPERVISED_NO_ID = "http://data.europa.eu/snb/supervision-verification/c598449d64"


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


def report_with(statuses: dict[str, Status]) -> Report:
    checks = tuple(CheckResult(cid, cid, status, "…") for cid, status in statuses.items())
    return Report("test", "urn:uuid:x", checks, "2025-07-02T00:00:00Z")


VERIFIED = {"format": Status.PASS, "signature": Status.PASS, "integrity": Status.PASS,
            "merkle_inclusion": Status.PASS, "anchor": Status.PASS, "validity": Status.PASS}


def scores(card) -> dict[str, int]:
    return {c.id: c.score for c in card.criteria}


def achievement(doc: dict) -> dict:
    return doc["credentialSubject"]["achievement"]


def test_the_example_credential(credential):
    card = scorecard(report_with(VERIFIED), credential)
    assert scores(card) == {"quality": 3, "authenticity": 2, "level": 3, "learning_outcomes": 3, "workload": 3,
                            "assessment": 3, "identity": 2}
    assert card.elements_ok and card.element_problems == ()
    assert card.criterion("level").reason == "EQF level 6"
    assert card.criterion("workload").reason == "5 ECTS credits"
    assert card.criterion("authenticity").reason == (
        "signature, integrity and anchor verified; issuer accreditation not checked")
    assert "check issuer_trust: not checked" in card.criterion("authenticity").evidence
    assert card.criterion("learning_outcomes").reason == "all 4 learning outcomes aligned to ESCO skills"
    body = card.to_json()
    assert body["total"] == 19 and body["max"] == 21 and body["eu_elements"]["status"] == "pass"
    assert body["criteria"][0] == {
        "id": "quality", "title": "Quality assurance", "score": 3, "max": 3, "light": "green",
        "words": "fully evidenced", "reason": "institutional quality assurance, by German Accreditation Council",
        "evidence": [
            "credentialSubject.achievement.accreditation.title = System accreditation of the university's internal "
            "quality assurance (German Accreditation…",
            "credentialSubject.achievement.accreditation.accreditingAgent = German Accreditation Council "
            "(https://www.akkreditierungsrat.de/)",
            "credentialSubject.achievement.accreditation.dcType = http://data.europa.eu/snb/accreditation/bb4618238e",
            "credentialSubject.achievement.accreditation.homepage = https://antrag.akkreditierungsrat.de/",
        ]}


def _no_qa(a: dict) -> None:
    del a["accreditation"]


def _no_eqf(a: dict) -> None:
    a["alignment"] = [al for al in a["alignment"] if "eqf" not in al["targetUrl"]]


def _free_text_outcomes(a: dict) -> None:
    for outcome in a["learningOutcome"]:
        del outcome["relatedESCOSkill"]
    a["alignment"] = [al for al in a["alignment"] if "esco" not in al["targetUrl"]]


def _unsupervised(a: dict) -> None:
    a["provenBy"]["idVerification"] = UNSUPERVISED_NO_ID


def _no_ects(a: dict) -> None:
    del a["creditsAvailable"], a["creditPoint"]


@pytest.mark.parametrize("change, criterion, score, reason", [
    (_no_qa, "quality", 0, "credentialSubject.achievement.accreditation is absent"),
    (_no_eqf, "level", 0, "no EQF alignment in credentialSubject.achievement.alignment and no "
                          "credentialSubject.achievement.nqfLevel"),
    (_free_text_outcomes, "learning_outcomes", 1, "4 learning outcome(s) in free text, none aligned to ESCO"),
    (_unsupervised, "identity", 1, "unsupervised, without identity verification"),
    (_no_ects, "workload", 1, "PT125H of learning, no credits"),
])
def test_one_element_changes_exactly_its_criterion(credential, change, criterion, score, reason):
    report = report_with(VERIFIED)
    before = scores(scorecard(report, credential))
    changed = copy.deepcopy(credential)
    change(achievement(changed))
    card = scorecard(report, changed)
    after = scores(card)
    assert after[criterion] == score < before[criterion]
    assert card.criterion(criterion).reason == reason
    assert {k: v for k, v in after.items() if k != criterion} == {k: v for k, v in before.items() if k != criterion}


@pytest.mark.parametrize("change, criterion, score", [
    (lambda a: a["accreditation"].pop("dcType"), "quality", 2),
    (lambda a: a["accreditation"]["accreditingAgent"].pop("id"), "quality", 1),
    (lambda a: a.update(nqfLevel="http://data.europa.eu/snb/qdr/c_4d3c7d50", alignment=a["alignment"][1:]), "level", 2),
    (lambda a: a["alignment"][0].update(targetUrl="https://example.org/levels/six"), "level", 1),
    (lambda a: a["learningOutcome"][0].pop("relatedESCOSkill"), "learning_outcomes", 2),
    (lambda a: a["creditPoint"].update(framework="https://example.org/credits"), "workload", 2),
    (lambda a: (a.pop("creditsAvailable"), a.pop("creditPoint"), a.pop("volumeOfLearning")), "workload", 0),
    (lambda a: a["provenBy"].update(dcType="https://uni.example/assessments#viva"), "assessment", 2),
    (lambda a: a["provenBy"].pop("title"), "assessment", 2),
    (lambda a: a["provenBy"].pop("dcType"), "assessment", 1),
    (lambda a: a.pop("provenBy"), "assessment", 0),
    (lambda a: a["provenBy"].pop("idVerification"), "identity", 0),
    (lambda a: a["provenBy"].update(idVerification="http://data.europa.eu/snb/supervision-verification/44314532f9"),
     "identity", 0),
])
def test_each_score_level(credential, change, criterion, score):
    changed = copy.deepcopy(credential)
    change(achievement(changed))
    card = scorecard(report_with(VERIFIED), changed)
    assert card.criterion(criterion).score == score
    assert card.criterion(criterion).reason


def test_missing_mandatory_elements_fail_the_elements_check(credential):
    changed = copy.deepcopy(credential)
    _no_qa(achievement(changed))
    card = scorecard(report_with(VERIFIED), changed)
    assert not card.elements_ok
    assert card.to_json()["eu_elements"]["problems"] == [
        "quality assurance: credentialSubject.achievement.accreditation expected an Accreditation object, got None"]


@pytest.mark.parametrize("changes, score, reason", [
    ({"issuer_trust": Status.PASS}, 3, "signature, integrity and anchor verified; the issuer is accredited"),
    ({"issuer_trust": Status.FAIL}, 2, "signature, integrity and anchor verified; the issuer is not accredited"),
    ({"issuer_trust": Status.INDETERMINATE}, 2,
     "signature, integrity and anchor verified; issuer accreditation indeterminate"),
    ({"anchor": Status.INDETERMINATE}, 1, "signature verified; not confirmed: anchor"),
    ({"anchor": Status.FAIL}, 0, "anchor failed"),
    ({"signature": Status.FAIL, "integrity": Status.FAIL}, 0, "signature, integrity failed"),
    ({"signature": Status.INDETERMINATE}, 0, "the issuer's signature could not be verified"),
])
def test_authenticity_follows_the_checks(credential, changes, score, reason):
    card = scorecard(report_with({**VERIFIED, **changes}), credential)
    assert (card.criterion("authenticity").score, card.criterion("authenticity").reason) == (score, reason)
    others = scores(scorecard(report_with(VERIFIED), credential))
    assert {k: v for k, v in scores(card).items() if k != "authenticity"} == {
        k: v for k, v in others.items() if k != "authenticity"}


def test_not_a_credential_scores_zero():
    card = scorecard(None, ["not", "an", "object"])
    assert scores(card) == {r.id: 0 for r in RULES}
    assert not card.elements_ok


def test_the_rules_table_is_the_one_in_the_docs():
    """docs/recognition.md has one row per criterion and score, with the words of RULES (one table, two places)."""
    text = (REPO / "docs" / "recognition.md").read_text("utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    expected = [f"| `{r.id}` | {s} | {LIGHTS[s][0]} | {r.meaning(s)} |" for r in RULES for s in (3, 2, 1, 0)]
    assert rows == expected


def test_supervision_table_uses_the_europass_scheme():
    assert all(iri.startswith("http://data.europa.eu/snb/supervision-verification/") for iri in SUPERVISION_MEANING)
