"""The pages' pure parts: the achievement form <-> spec, problems placed beside fields, roster column guesses, and
the batch's stage ladder told in words (issuer/service/admin_forms.py, issuer/service/batch_view.py)."""

from __future__ import annotations

import pytest

from issuer.achievement import parse_achievement
from issuer.service.admin_forms import field_id, form_to_spec, guess_mapping, problems_by_field, spec_to_form
from issuer.service.batch_view import credential_status, ladder, progress_text, refresh_for
from issuer.store.models import Batch, BatchState, CredentialRecord
from tests.issuer_service.servicekit import example_spec


def test_the_form_round_trip_keeps_every_eu_element_in_the_primary_language():
    spec = example_spec()
    spec["awarding_body"]["did"] = "did:web:localhost%3A8081:tenants:uni-a"
    original = parse_achievement(spec)
    again = parse_achievement(form_to_spec(spec_to_form(spec)))
    en = original.text
    assert again.title.as_map() == {"en": en(original.title)}
    assert (again.id, again.ects, again.eqf_level, again.volume_of_learning_hours, again.participation,
            again.validity_years, again.human_code, again.field_of_study) == (
        original.id, original.ects, original.eqf_level, original.volume_of_learning_hours, original.participation,
        original.validity_years, original.human_code, original.field_of_study)
    assert [(o.esco, o.esco_label, o.text.get("en")) for o in again.learning_outcomes] == [
        (o.esco, o.esco_label, o.text.get("en")) for o in original.learning_outcomes]
    assert again.assessment.type_iri == original.assessment.type_iri
    assert again.assessment.supervision_iri == original.assessment.supervision_iri
    assert again.grading == original.grading
    assert (again.quality_assurance.agent_id, again.quality_assurance.type_iri) == (
        original.quality_assurance.agent_id, original.quality_assurance.type_iri)
    assert [p.id for p in again.stackability.programmes] == [p.id for p in original.stackability.programmes]
    assert again.stackability.partial_qualification is True
    assert again.awarding_body.country_code == "DE" and again.awarding_body.locality == "Munich"
    assert again.further_information_url == original.further_information_url


def test_form_values_become_the_types_the_yaml_holds_or_stay_text_for_the_validator_to_name():
    spec = form_to_spec({"ects": "2,5", "eqf_level": "6", "validity_years": "ten", "volume_of_learning_hours": " ",
                         "awarding_body.country_code": "de", "grading.allowed_grades": "1.0, 2.0,\nPass, ",
                         "learning_outcomes[0].text": "Do it", "learning_outcomes[2].esco": "x",
                         "stackability.partial_qualification": "no"})
    assert spec == {"ects": 2.5, "eqf_level": 6, "validity_years": "ten", "awarding_body": {"country_code": "DE"},
                    "grading": {"allowed_grades": ["1.0", "2.0", "Pass"]},
                    "learning_outcomes": [{"text": "Do it"}, {"esco": "x"}]}


def test_problems_go_beside_the_field_they_name():
    fields = {"title", "ects", "assessment.type", "assessment.title", "learning_outcomes[0].esco",
              "learning_outcomes[0].text", "awarding_body.name"}
    by_field, general = problems_by_field([
        "title.en: expected non-empty text, got ''",
        "ects: expected a positive number of ECTS credits, got 'five'",
        "assessment: required field is missing",
        "learning_outcomes[0].esco: expected an ESCO skill IRI, got 'x'",
        "learning_outcomes[3].text: required field is missing",
        "achievement.colour: unknown field (allowed: ...)",
    ], fields)
    assert by_field == {
        "title": ["title.en: expected non-empty text, got ''"],
        "ects": ["expected a positive number of ECTS credits, got 'five'"],
        "assessment.title": ["assessment: required field is missing"],
        "learning_outcomes[0].esco": ["expected an ESCO skill IRI, got 'x'"],
    }
    assert general == ["learning_outcomes[3].text: required field is missing",
                       "achievement.colour: unknown field (allowed: ...)"]
    assert field_id("learning_outcomes[0].esco") == "f-learning_outcomes-0-esco"


@pytest.mark.parametrize("header, expected", [
    (["Vorname", "Nachname", "E-Mail", "Note", "Abschlussdatum"],
     {"given_name": "Vorname", "family_name": "Nachname", "email": "E-Mail", "grade": "Note",
      "completion_date": "Abschlussdatum"}),
    (["Prénom", "Nom", "Courriel", "Crédits ECTS"],
     {"given_name": "Prénom", "family_name": "Nom", "email": "Courriel", "ects": "Crédits ECTS"}),
    (["Imię", "Nazwisko", "e-mail", "Ocena"], {"given_name": "Imię", "family_name": "Nazwisko", "email": "e-mail",
                                             "grade": "Ocena"}),
    (["given_name", "family_name", "email"], {}),
    (["email", "Mail", "First Name", "Last Name"], {"given_name": "First Name", "family_name": "Last Name"}),
    (["Name", "Student"], {}),
])
def test_roster_columns_are_guessed_from_header_names(header, expected):
    assert guess_mapping(header) == expected


def _batch(state: BatchState, *, stage: str = "", done: int = 0, total: int = 10, **extra) -> Batch:
    return Batch(id="b" * 36, tenant_id=1, state=state, stage=stage, done=done, total=total, **extra)


def _steps(batch: Batch, confirmations: int = 3) -> list[tuple[str, str, str]]:
    return [(s["label"].split(" (")[0], s["status"], s["detail"]) for s in ladder(batch, confirmations)[0]]


def test_the_ladder_while_signing_shows_credentials_signed_k_of_n():
    batch = _batch(BatchState.SEALED, stage="signing", done=3)
    steps, summary = ladder(batch, 3)
    assert _steps(batch)[:2] == [("Credentials signed", "current", "3 of 10 credentials"),
                                 ("Merkle tree built", "waiting", "")]
    assert steps[0]["progress"] == (3, 10)
    assert summary == "credentials signed: 3 of 10 credentials"
    assert refresh_for(batch) == 3


def test_the_ladder_while_confirming_shows_confirmations_k_of_k():
    batch = _batch(BatchState.ANCHOR_SENT, stage="confirming 1/3", tx_hash="0x" + "ab" * 32, done=10)
    assert _steps(batch) == [
        ("Credentials signed", "done", "10 of 10 credentials"), ("Merkle tree built", "done", ""),
        ("Anchor transaction sent", "done", "transaction 0xabababab…ababab"),
        ("Anchor confirmed", "current", "1 of 3 confirmations"), ("Delivered", "waiting", "")]
    assert progress_text(batch, 3) == "Anchor confirmed: in progress, 1 of 3 confirmations"


def test_a_failed_batch_says_at_which_step_it_stopped_and_stops_reloading():
    batch = _batch(BatchState.FAILED, stage="failed", error="tree_built: root already anchored", merkle_root="00" * 32)
    assert [(label, status) for label, status, _ in _steps(batch)] == [
        ("Credentials signed", "done"), ("Merkle tree built", "done"), ("Anchor transaction sent", "failed"),
        ("Anchor confirmed", "waiting"), ("Delivered", "waiting")]
    assert ladder(batch, 3)[1] == "stopped while anchor transaction sent: failed"
    assert refresh_for(batch) is None


def test_delivered_and_open_batches():
    delivered = _batch(BatchState.DELIVERED, stage="delivered", done=10)
    assert {status for _, status, _ in _steps(delivered)} == {"done"}
    assert ladder(delivered, 3)[1] == "all 10 credentials anchored and ready to hand out"
    assert refresh_for(delivered) is None and progress_text(delivered, 3) == "10 delivered"
    opened = _batch(BatchState.OPEN, total=4)
    assert {status for _, status, _ in _steps(opened)} == {"waiting"}
    assert refresh_for(opened) is None and progress_text(opened, 3) == "4 collected"


def test_credential_status_in_words():
    record = CredentialRecord(id="urn:uuid:x", document=None)
    assert credential_status(record) == "pending: not signed yet"
    record.document = {"proof": {"cryptosuite": "eddsa-rdfc-2022"}}
    assert credential_status(record) == "signed, not anchored yet"
    record.document = {"proof": [{"cryptosuite": "eddsa-rdfc-2022"}, {"cryptosuite": "merkle-proof-2019"}]}
    assert credential_status(record) == "anchored"
