"""The Europass (ELM 3) export against the Commission's SHACL profiles, and the verifier's EDC reader.

Reference data is read in place from ../shared/conformance/elm/ (never copied into the project): the profiles
EDC-generic-no-cv and EDC-generic-full, the ELM ontology, the edc-ap context, the minimal micro-credential. As that
folder's README says: the JSON-LD is expanded with the contexts loaded from disk (no network), and validated with
``pyshacl.validate(data, shacl_graph=<profile>, ont_graph=ELM.ttl, inference='none')``. Without the folder (or
pyshacl) these tests skip saying why; under CI=true they fail instead.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from verifier.documentloader import DocumentLoader
from verifier.elm import EDC_CONTEXT, MAPPING, read_edc
from verifier.errors import InvalidInputError
from verifier.euelements import EU_ELEMENTS, eu_elements_summary, find_eu_element_problems

REPO = Path(__file__).resolve().parents[2]
ELM_DIR = REPO / ".." / "shared" / "conformance" / "elm"
PROFILES = ("EDC-generic-no-cv.ttl", "EDC-generic-full.ttl")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: conformance tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def elm_dir() -> Path:
    if not (ELM_DIR / "ELM.ttl").is_file():
        _missing(f"ELM 3 reference data not found at {ELM_DIR.resolve()} (../shared/conformance/elm)")
    return ELM_DIR


@pytest.fixture(scope="module")
def validate(elm_dir):
    try:
        import pyshacl
        import rdflib
        from pyld import jsonld
    except ImportError as exc:
        _missing(f"pyshacl is not installed ({exc}); it is in the test extra")
    loader = DocumentLoader(extra={EDC_CONTEXT: json.loads((elm_dir / "edc-ap-context.jsonld").read_text("utf-8"))})

    def load(url, options=None):  # the project's pinned contexts and the edc-ap context from disk; nothing else
        return {"contextUrl": None, "documentUrl": url, "document": loader.document(url)}

    ontology = rdflib.Graph().parse(elm_dir / "ELM.ttl")
    shapes = {name: rdflib.Graph().parse(elm_dir / name) for name in PROFILES}

    def run(document: dict) -> dict[str, str]:
        """profile -> the validation report text of each profile the document does NOT conform to."""
        nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": load})
        graph = rdflib.Graph().parse(data=nquads, format="nquads")
        failures = {}
        for name, shape in shapes.items():
            conforms, _, text = pyshacl.validate(graph, shacl_graph=shape, ont_graph=ontology, inference="none")
            if not conforms:
                failures[name] = text
        return failures

    return run


@pytest.fixture(scope="module")
def credential(embedded) -> dict:
    """A signed, anchored credential of the example batch (all 16 elements)."""
    pytest.importorskip("yaml")
    return embedded[1].credential(0)


def _export(credential: dict) -> dict:
    from issuer.europass import to_europass

    return to_europass(credential)


def test_the_export_conforms_to_both_profiles(validate, credential):
    assert validate(_export(credential)) == {}


def test_an_export_without_the_optional_elements_conforms(validate, credential):
    bare = copy.deepcopy(credential)
    a = bare["credentialSubject"]["achievement"]
    for key in ("entryRequirement", "isPartialQualification", "isPartOf", "additionalNote", "homepage",
                "volumeOfLearning", "summary"):
        a.pop(key, None)
    a["provenBy"].pop("idVerification")
    a["provenBy"].pop("mode")
    bare.pop("validUntil", None)
    edc = _export(bare)
    assert "entryRequirement" not in edc["credentialSubject"]["hasClaim"]["specifiedBy"]
    assert validate(edc) == {}


def test_without_a_grade_the_export_is_refused(credential):
    """EDC-generic-no-cv requires a grade on the learning assessment (anchorcred always issues one: the default)."""
    from issuer.europass import EuropassExportError

    ungraded = copy.deepcopy(credential)
    ungraded["credentialSubject"].pop("result")
    with pytest.raises(EuropassExportError, match="grade: the Europass profile requires"):
        _export(ungraded)


def test_the_profiles_catch_a_broken_export(validate, credential):
    """The validation is real: an export without its display parameters or issuance date does not conform."""
    edc = _export(credential)
    del edc["displayParameter"], edc["issued"]
    failures = validate(edc)
    assert "EDC-generic-no-cv.ttl" in failures
    assert "elm:displayParameter" in failures["EDC-generic-no-cv.ttl"] and "cred:issued" in failures["EDC-generic-no-cv.ttl"]


def test_export_and_read_back_give_the_same_16_elements(credential):
    edc = _export(credential)
    back = read_edc(edc)
    assert find_eu_element_problems(back) == []
    assert eu_elements_summary(back) == eu_elements_summary(credential)
    assert eu_elements_summary(back, "de") == eu_elements_summary(credential, "de")


def test_the_export_refuses_a_credential_without_mandatory_elements(credential):
    from issuer.europass import EuropassExportError

    broken = copy.deepcopy(credential)
    del broken["credentialSubject"]["achievement"]["mode"]
    with pytest.raises(EuropassExportError, match="form of participation"):
        _export(broken)


def test_minimal_mc_reads_into_the_expected_elements(elm_dir):
    doc = json.loads((elm_dir / "minimal-mc.json").read_text("utf-8"))
    elements = read_edc(doc)
    summary = dict(eu_elements_summary(elements))
    assert summary == {
        "Identification of the learner": f"Ana Andromeda, {doc['credentialSubject']['id']}",
        "Title of the micro-credential": "Data Stewardship Essentials",
        "Country/region of the issuer": "IE",
        "Awarding body": "University of Zed (urn:epass:org:1)",
        "Date of issuing": "2025-07-01T10:00:00Z",
        "Notional workload (ECTS)": "3 ECTS",
        "Level (EQF/NQF)": "EQF 6",
        "Learning outcomes": "Apply FAIR principles to research data",
        "Form of participation": "blended",
        "Type of assessment": ": Project + oral defence",
        "Quality assurance": "Institutional accreditation (National QA Agency)",
        "Prerequisites": "Bachelor-level statistics",
        "Supervision and identity verification during assessment": "unsupervised, without identity verification",
        "Grade": "8/10",
        "Integration/stackability options": "partial qualification; MSc Data Science (stackable into)",
        "Further information": "Further information: https://uniz.edu/mc/ds",
    }
    a = elements["credentialSubject"]["achievement"]
    assert a["learningOutcome"][0]["relatedESCOSkill"] == "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"
    assert a["creditPoint"]["framework"] == "http://data.europa.eu/snb/education-credit/6fcec5c5af"
    # The sample states its assessment in words only (no assessment type concept): the one element anchorcred's
    # rules find missing, and the recognition scorecard then reads it as free text.
    assert find_eu_element_problems(elements) == [
        "type of assessment: credentialSubject.achievement.provenBy.dcType expected an assessment type IRI, got None"]
    from verifier.recognition import scorecard

    assert scorecard(None, elements).criterion("assessment").score == 1


def test_the_commission_sample_reads(elm_dir):
    """The Annex 1 sample as sealed (a JAdES general JSON serialization: the EDC is its payload)."""
    envelope = json.loads((elm_dir / "Sample-MC-Annex1-signed.jsonld").read_text("utf-8"))
    elements = read_edc(json.loads(envelope["payload"]))
    summary = dict(eu_elements_summary(elements))
    assert summary["Title of the micro-credential"] == "Digital micro-credential creation"
    assert summary["Level (EQF/NQF)"] == "EQF 6, NQF http://data.europa.eu/snb/qdr/c_c392e7a2"
    assert summary["Notional workload (ECTS)"] == "2 ECTS"
    assert summary["Grade"] == "Pass"
    # The sample states no accreditation on its issuer or its qualification: the one mandatory element missing.
    assert find_eu_element_problems(elements) == [
        "quality assurance: credentialSubject.achievement.accreditation expected an Accreditation object, got None"]


@pytest.mark.parametrize("doc, message", [
    ([], "expected a JSON object"),
    ({"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["EuropeanDigitalCredential"]},
     "must name http://data.europa.eu/snb/model/context/edc-ap"),
    ({"@context": ["https://www.w3.org/2018/credentials/v1", EDC_CONTEXT, {"title": "http://example.org/t"}],
      "type": ["EuropeanDigitalCredential"]}, "only the VC and edc-ap contexts"),
    ({"@context": [EDC_CONTEXT], "type": ["VerifiableCredential"]}, "type must include EuropeanDigitalCredential"),
])
def test_read_edc_refuses_what_it_cannot_read_without_expansion(doc, message):
    with pytest.raises(InvalidInputError, match=message):
        read_edc(doc)


def test_the_mapping_table_is_the_one_in_the_docs():
    assert [m.n for m in MAPPING] == list(range(1, 17))
    assert [m.element for m in MAPPING] == [e.id for e in EU_ELEMENTS]
    text = (REPO / "docs" / "europass.md").read_text("utf-8")
    labels = {e.id: e.label for e in EU_ELEMENTS}
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert rows == [f"| {m.n} | {labels[m.element]} | `{m.anchorcred}` | `{m.edc}` | {m.elm} |" for m in MAPPING]


def test_export_europass_command(credential, tmp_path):
    from typer.testing import CliRunner

    from anchorcred_cli import app

    source = tmp_path / "credential.json"
    source.write_text(json.dumps(credential), encoding="utf-8")
    out = tmp_path / "edc.jsonld"
    result = CliRunner().invoke(app, ["export-europass", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    edc = json.loads(out.read_text("utf-8"))
    assert eu_elements_summary(read_edc(edc)) == eu_elements_summary(credential)
    broken = dict(credential, issuer={"id": credential["issuer"]["id"]})
    source.write_text(json.dumps(broken), encoding="utf-8")
    refused = CliRunner().invoke(app, ["export-europass", str(source)])
    assert refused.exit_code == 2
    assert "cannot be exported to Europass" in refused.output and "awarding body: issuer.name" in refused.output
