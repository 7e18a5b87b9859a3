"""Export an anchorcred credential as a Europass Digital Credential (ELM 3 JSON-LD, EDC generic profile).

Where each of the 16 EU elements goes is the one table ``verifier.elm.MAPPING`` (shown in docs/europass.md); this
module writes by it, and ``verifier.elm.read_edc`` reads by it. The export conforms to the Commission's SHACL
profiles EDC-generic-no-cv and EDC-generic-full (tests/conformance/test_europass_shacl.py).

The export is unsigned: a Europass credential is sealed (JAdES) by the issuer's qualified seal, which anchorcred does
not hold. It carries the same facts as the signed, anchored credential, whose id it names in ``identifier``.
Decisions (docs/europass.md): the eIDAS legal identifier is the issuer's DID (anchorcred knows no VAT or business
register number); the hashed e-mail is kept as an ``Identifier`` (the e-mail itself never leaves the issuer); the
display image is a PNG card drawn here with the verifier's fonts.

Pure: a credential dict in, an EDC dict out (the PNG is drawn in memory).
"""

from __future__ import annotations

import base64
import io
import uuid
from functools import lru_cache
from typing import Any

from verifier.countries import COUNTRIES, EU_COUNTRY_AUTHORITY, country_iri
from verifier.elm import EDC_CONTEXT, VC1_CONTEXT
from verifier.euelements import (
    ACCREDITATION_LABELS, ASSESSMENT_TYPE_LABELS, ASSESSMENT_TYPE_SCHEME, EQF_IRI_RE, ESCO_SKILL_RE, MODE_LABELS,
    SUPERVISION_LABELS, as_dict, as_list, eu_elements_summary, find_eu_element_problems,
)
from verifier.pdfreport import FONT_DIR

__all__ = ["to_europass", "EuropassExportError", "LANGUAGES"]

EDC_PROFILES = ("http://data.europa.eu/snb/model/ap/edc-generic-no-cv", "http://data.europa.eu/snb/model/ap/edc-generic-full")
LANGUAGE_AUTHORITY = "http://publications.europa.eu/resource/authority/language"
# ISO 639-1 -> the EU language authority code (ISO 639-2/B style, upper case) for the EU's and EEA's languages.
LANGUAGES = {
    "bg": ("BUL", "Bulgarian"), "cs": ("CES", "Czech"), "da": ("DAN", "Danish"), "de": ("DEU", "German"),
    "el": ("ELL", "Greek"), "en": ("ENG", "English"), "es": ("SPA", "Spanish"), "et": ("EST", "Estonian"),
    "fi": ("FIN", "Finnish"), "fr": ("FRA", "French"), "ga": ("GLE", "Irish"), "hr": ("HRV", "Croatian"),
    "hu": ("HUN", "Hungarian"), "is": ("ISL", "Icelandic"), "it": ("ITA", "Italian"), "lt": ("LIT", "Lithuanian"),
    "lv": ("LAV", "Latvian"), "mt": ("MLT", "Maltese"), "nl": ("NLD", "Dutch"), "no": ("NOR", "Norwegian"),
    "pl": ("POL", "Polish"), "pt": ("POR", "Portuguese"), "ro": ("RON", "Romanian"), "sk": ("SLK", "Slovak"),
    "sl": ("SLV", "Slovenian"), "sv": ("SWE", "Swedish"), "tr": ("TUR", "Turkish"), "uk": ("UKR", "Ukrainian"),
    "sq": ("SQI", "Albanian"), "mk": ("MKD", "Macedonian"), "sr": ("SRP", "Serbian"), "bs": ("BOS", "Bosnian"),
}
ECTS_LABEL = "European Credit Transfer System"


class EuropassExportError(ValueError):
    """The credential cannot be exported: it lacks an element the Europass profile needs (each problem named)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("cannot export to Europass: " + "; ".join(problems))


def _concept(iri: str, scheme: str, label: str) -> dict[str, Any]:
    return {"id": iri, "type": "Concept", "inScheme": {"id": scheme, "type": "ConceptScheme"},
            "prefLabel": {"en": label}}


def _scheme_of(iri: str) -> str:
    """The Europass concept scheme of a concept: ``http://data.europa.eu/snb/<vocab>/25831c2``."""
    return iri.rsplit("/", 1)[0] + "/25831c2"


def _country(alpha2: str) -> dict[str, Any]:
    return _concept(country_iri(alpha2), EU_COUNTRY_AUTHORITY, COUNTRIES[alpha2][1])


def _language(tag: str) -> dict[str, Any]:
    code, name = LANGUAGES[tag.split("-")[0]]
    return _concept(f"{LANGUAGE_AUTHORITY}/{code}", LANGUAGE_AUTHORITY, name)


def _note(node_id: str, text: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Note", "noteLiteral": text}


def _web(node_id: str, url: str) -> dict[str, Any]:
    return {"id": node_id, "type": "WebResource", "contentURL": url}


def _lang(value: Any, language: str) -> dict[str, str]:
    """A language map from a map or a plain string (in the credential's primary language)."""
    if isinstance(value, dict):
        return value
    return {language: str(value)}


@lru_cache(maxsize=4)
def _fonts(size: int, bold: bool):
    from PIL import ImageFont  # comes with fpdf2

    return ImageFont.truetype(str(FONT_DIR / ("DejaVuSans-Bold-EU.ttf" if bold else "DejaVuSans-EU.ttf")), size)


def display_png(lines: list[tuple[str, int, bool]]) -> bytes:
    """A plain card (A4 proportions, 595×842) with the given lines: Europass requires a display image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (595, 842), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((14, 14, 580, 827), outline=(40, 60, 110), width=3)
    y = 70
    for text, size, bold in lines:
        font = _fonts(size, bold)
        words, line = text.split(), ""
        for word in words + [None]:
            candidate = f"{line} {word}".strip() if word else line
            if word is not None and draw.textlength(candidate, font=font) <= 500:
                line = candidate
                continue
            width = draw.textlength(line, font=font)
            draw.text(((595 - width) / 2, y), line, font=font, fill=(20, 20, 20))
            y += int(size * 1.35)
            line = word or ""
        y += 14
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def to_europass(credential: dict) -> dict[str, Any]:
    """The Europass Digital Credential of an anchorcred credential; EuropassExportError names what is missing."""
    problems = find_eu_element_problems(credential)
    subjects = as_list(credential.get("credentialSubject")) if isinstance(credential, dict) else []
    first = as_dict(subjects[0]) if subjects else {}
    if not any(as_dict(r).get("value") for r in as_list(first.get("result"))):
        problems.append("grade: the Europass profile requires a grade on the learning assessment, and "
                        "credentialSubject.result[].value is absent")
    if problems:
        raise EuropassExportError(problems)
    issuer = as_dict(credential["issuer"])
    subject = as_dict(as_list(credential["credentialSubject"])[0])
    a = as_dict(subject["achievement"])
    language = a.get("inLanguage") if isinstance(a.get("inLanguage"), str) else "en"
    languages = list(dict.fromkeys([language, *_lang(a.get("title") or a["name"], language)]))
    unknown = [t for t in languages if t.split("-")[0] not in LANGUAGES]
    if unknown:
        raise EuropassExportError([f"language {t!r} has no EU language authority code here (known: "
                                   f"{', '.join(sorted(LANGUAGES))})" for t in unknown])
    cid = str(credential.get("id", ""))
    key = cid.rsplit(":", 1)[-1] if cid.startswith("urn:uuid:") else str(uuid.uuid5(uuid.NAMESPACE_URL, cid))

    def node(kind: str, n: int | str = 1) -> str:
        return f"urn:epass:{kind}:{key}:{n}"

    title = _lang(a.get("title") or a["name"], language)
    address = as_dict(issuer.get("address"))
    country = address["addressCountryCode"]
    issued = credential["validFrom"]

    qa = as_dict(a["accreditation"])
    agent = as_dict(qa["accreditingAgent"])
    accreditation: dict[str, Any] = {
        "id": node("accreditation"), "type": "Accreditation", "title": _lang(qa.get("title"), language),
        "accreditingAgent": {"id": agent["id"], "type": "Organisation", "legalName": _lang(agent["legalName"], language),
                             "location": {"id": node("location", "qa"), "type": "Location",
                                          "address": {"id": node("address", "qa"), "type": "Address",
                                                      "countryCode": _country(country)}}},
    }
    if qa.get("dcType"):
        accreditation["dcType"] = _concept(qa["dcType"], _scheme_of(qa["dcType"]),
                                           ACCREDITATION_LABELS.get(qa["dcType"], "accreditation"))
    if qa.get("homepage"):
        accreditation["homepage"] = _web(node("webResource", "qa"), qa["homepage"])

    location: dict[str, Any] = {"id": node("location"), "type": "Location",
                                "address": {"id": node("address"), "type": "Address", "countryCode": _country(country)}}
    place = ", ".join(str(x) for x in (address.get("addressRegion"), address.get("addressLocality")) if x)
    if address.get("addressRegion"):
        location["geographicName"] = {language: str(address["addressRegion"])}
    organisation: dict[str, Any] = {
        "id": issuer["id"], "type": "Organisation", "legalName": {language: issuer["name"]},
        "eIDASIdentifier": {"id": node("legalIdentifier"), "type": "LegalIdentifier", "notation": issuer["id"],
                            "spatial": _country(country)},
        "location": location, "accreditation": accreditation,
    }
    if issuer.get("url"):
        organisation["homepage"] = _web(node("webResource", "issuer"), issuer["url"])

    credit = as_dict(a.get("creditPoint"))
    qualification: dict[str, Any] = {
        "id": a.get("id") or node("qualification"), "type": "Qualification", "title": title,
        "creditPoint": {"id": node("creditPoint"), "type": "CreditPoint",
                        "framework": _concept(credit.get("framework"), _scheme_of(credit["framework"]), ECTS_LABEL),
                        "point": str(credit.get("point") or f"{a['creditsAvailable']:g}")},
    }
    if a.get("summary"):
        qualification["description"] = _lang(a["summary"], language)
    eqf = next(al["targetUrl"] for al in map(as_dict, as_list(a.get("alignment")))
               if EQF_IRI_RE.match(str(al.get("targetUrl"))))
    qualification["eqfLevel"] = _concept(eqf, _scheme_of(eqf), f"Level {EQF_IRI_RE.match(eqf).group(1)}")
    if a.get("nqfLevel"):
        qualification["nqfLevel"] = _concept(a["nqfLevel"], a["nqfLevel"].rsplit("/", 1)[0], "national level")
    if a.get("volumeOfLearning"):
        qualification["volumeOfLearning"] = a["volumeOfLearning"]
    labels = {al.get("targetUrl"): al.get("targetName") for al in map(as_dict, as_list(a.get("alignment")))}
    outcomes = []
    for n, o in enumerate(map(as_dict, as_list(a.get("learningOutcome"))), 1):
        outcome: dict[str, Any] = {"id": node("learningOutcome", n), "type": "LearningOutcome",
                                   "title": _lang(o.get("title"), language)}
        skill = o.get("relatedESCOSkill")
        if isinstance(skill, str) and ESCO_SKILL_RE.match(skill):
            outcome["relatedESCOSkill"] = _concept(skill, "http://data.europa.eu/esco/concept-scheme/skills",
                                                   str(labels.get(skill) or skill))
        outcomes.append(outcome)
    qualification["learningOutcome"] = outcomes
    qualification["mode"] = _concept(a["mode"], _scheme_of(a["mode"]), MODE_LABELS.get(a["mode"], "mode"))
    if a.get("entryRequirement"):
        qualification["entryRequirement"] = _note(node("note", "entry"), a["entryRequirement"]["noteLiteral"])
    if isinstance(a.get("isPartialQualification"), bool):
        qualification["isPartialQualification"] = a["isPartialQualification"]
    if a.get("isPartOf"):
        qualification["isPartOf"] = [{"id": p["id"], "type": "Qualification", "title": _lang(p.get("title"), language)}
                                     for p in map(as_dict, as_list(a["isPartOf"]))]
    if a.get("additionalNote"):
        qualification["additionalNote"] = [_note(node("note", f"info{n}"), x["noteLiteral"])
                                           for n, x in enumerate(map(as_dict, as_list(a["additionalNote"])), 1)]
    if a.get("homepage"):
        qualification["homepage"] = _web(node("webResource", "info"), a["homepage"])

    proven = as_dict(a["provenBy"])
    spec: dict[str, Any] = {"id": node("learningAssessmentSpec"), "type": "LearningAssessmentSpecification",
                            "title": _lang(proven.get("title") or "Assessment", language)}
    kind = proven["dcType"]
    spec["dcType"] = _concept(kind, ASSESSMENT_TYPE_SCHEME.rstrip("#") if kind.startswith(ASSESSMENT_TYPE_SCHEME)
                              else _scheme_of(kind), ASSESSMENT_TYPE_LABELS.get(kind, "assessment"))
    if proven.get("mode"):
        spec["mode"] = _concept(proven["mode"], _scheme_of(proven["mode"]), MODE_LABELS.get(proven["mode"], "mode"))
    assessment: dict[str, Any] = {"id": node("learningAssessment"), "type": "LearningAssessment",
                                  "title": spec["title"], "assessedBy": {"id": issuer["id"]},
                                  "awardedBy": {"id": node("awardingProcess")}, "specifiedBy": spec}
    grades = [r.get("value") for r in map(as_dict, as_list(subject.get("result"))) if r.get("value")]
    if grades:
        assessment["grade"] = _note(node("note", "grade"), {language: str(grades[0])})
    if proven.get("idVerification"):
        iri = proven["idVerification"]
        assessment["idVerification"] = _concept(iri, _scheme_of(iri), SUPERVISION_LABELS.get(iri, "supervision"))

    person: dict[str, Any] = {"id": subject["id"], "type": "Person"}
    identifiers = []
    for n, ident in enumerate(map(as_dict, as_list(subject.get("identifier"))), 1):
        if ident.get("hashed") is True and ident.get("identityType") == "emailAddress":
            identifiers.append({"id": node("identifier", n), "type": "Identifier", "notation": ident["identityHash"],
                                "schemeName": f"e-mail address, salted SHA-256 (Open Badges 3.0 IdentityObject, "
                                              f"salt {ident['salt']})"})
        elif ident.get("identityType") == "name" and not ident.get("hashed"):
            person["fullName"] = {language: ident["identityHash"]}
    if identifiers:
        person["identifier"] = identifiers
    person["hasClaim"] = {
        "id": node("learningAchievement"), "type": "LearningAchievement", "title": title,
        "awardedBy": {"id": node("awardingProcess"), "type": "AwardingProcess", "awardingBody": {"id": issuer["id"]},
                      "awardingDate": issued},
        "provenBy": assessment, "specifiedBy": qualification,
    }

    summary = dict(eu_elements_summary(credential, language))
    card = display_png([(issuer["name"], 20, True), (place, 12, False), ("MICRO-CREDENTIAL", 14, True),
                        (person.get("fullName", {}).get(language, ""), 24, True), (title[language], 18, True),
                        (summary["Notional workload (ECTS)"], 13, False), (summary["Level (EQF/NQF)"], 13, False),
                        (f"Issued {issued[:10]}", 12, False), (f"Credential {cid}", 9, False)])
    display = {
        "id": node("displayParameter"), "type": "DisplayParameter", "title": title,
        "description": {language: str(a.get("description") or title[language])},
        "language": [_language(t) for t in languages], "primaryLanguage": _language(language),
        "individualDisplay": {
            "id": node("individualDisplay"), "type": "IndividualDisplay", "language": _language(language),
            "displayDetail": {"id": node("displayDetail"), "type": "DisplayDetail", "page": 1, "image": {
                "id": node("mediaObject"), "type": "MediaObject", "content": base64.b64encode(card).decode("ascii"),
                "contentEncoding": _concept("http://data.europa.eu/snb/encoding/6146cde7dd",
                                            "http://data.europa.eu/snb/encoding/25831c2", "base64"),
                "contentType": _concept("http://publications.europa.eu/resource/authority/file-type/PNG",
                                        "http://publications.europa.eu/resource/authority/file-type", "PNG")}}},
    }
    edc: dict[str, Any] = {
        "@context": [VC1_CONTEXT, EDC_CONTEXT],
        "id": f"urn:credential:{key}",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSchema": [{"id": p, "type": "ShaclValidator2017"} for p in EDC_PROFILES],
        "credentialProfiles": _concept("http://data.europa.eu/snb/credential/e34929035b",
                                       "http://data.europa.eu/snb/credential/25831c2", "Generic"),
        "identifier": {"id": node("identifier", "credential"), "type": "Identifier", "notation": cid,
                       "schemeName": "anchorcred credential id (the signed and anchored OpenBadgeCredential)"},
        "displayParameter": display,
        "issuer": organisation,
        "issued": issued,
        "validFrom": issued,
    }
    if credential.get("validUntil"):
        edc["validUntil"] = credential["validUntil"]
    edc["credentialSubject"] = person
    return edc
