"""Build the unsigned credential: a VC 2.0 ``OpenBadgeCredential`` (OB 3.0) carrying the 16 EU elements.

Layout and IRIs: docs/eu-elements.md. Every credential of a batch has the same JSON structure (same keys, same list
lengths); only strings differ from learner to learner (ids, names, hashes, salts, grades, dates) plus the number
``creditsEarned``. The achievement and issuer parts are built once per batch by ``CredentialTemplate``; ``build``
copies them (a fast structural copy, so a caller may mutate one credential without touching the others) and fills
in the learner. No proof here: signing happens later.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from issuer.achievement import Achievement, LangText, is_country_code
from issuer.roster import Learner
from verifier.euelements import ECTS_IRI, EXTENSION_CONTEXT_URL

__all__ = ["IssuerProfile", "CredentialTemplate", "build_credential", "email_identity_hash", "CONTEXTS"]

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = (VC2_CONTEXT, OB3_CONTEXT, EXTENSION_CONTEXT_URL)

_URN_UUID_RE = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DID_RE = re.compile(r"^did:(web|key):[A-Za-z0-9._:%-]+$")


@dataclass(frozen=True)
class IssuerProfile:
    """The awarding body as it appears in ``issuer`` (OB 3.0 Profile). ``id`` is its did:web or did:key."""

    id: str
    name: str
    url: str
    country_code: str
    region: str | None = None
    locality: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if not _DID_RE.match(self.id):
            raise ValueError(f"issuer id must be a did:web or did:key DID, got {self.id!r}")
        if not self.name.strip():
            raise ValueError("issuer name must not be empty")
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"issuer url must be an http(s) URL, got {self.url!r}")
        if not is_country_code(self.country_code):
            raise ValueError(f"issuer country_code must be ISO 3166-1 alpha-2 (e.g. 'DE'), got {self.country_code!r}")

    def as_profile(self) -> dict:
        address: dict[str, Any] = {"type": ["Address"], "addressCountryCode": self.country_code}
        if self.region:
            address["addressRegion"] = self.region
        if self.locality:
            address["addressLocality"] = self.locality
        profile: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name, "url": self.url}
        if self.email:
            profile["email"] = self.email
        profile["address"] = address
        return profile


def email_identity_hash(email: str, salt: str) -> str:
    """OB 3.0 §B.1.14 IdentityObject.identityHash: 'sha256$' + hex(SHA-256(identity + salt)).

    The e-mail address is normalised first (trimmed, lower case) so the learner can reproduce the hash.
    """
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def _xsd_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"datetimes must carry a time zone, got naive {moment!r}")
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date) -> str:
    # OB 3.0 activityEndDate is a DateTime in its JSON schema; midnight UTC of the completion day.
    return _xsd_datetime(datetime.combine(day, time(0, 0), tzinfo=timezone.utc))


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February -> 28 February
        return moment.replace(year=moment.year + years, day=28)


def _same(value: Any) -> Any:
    return value


def _clone(value: Any) -> Any:
    """Structural copy of JSON data; several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _note(text: LangText) -> dict:
    return {"type": ["Note"], "noteLiteral": text.as_map()}


def achievement_node(a: Achievement) -> dict:
    """The OB 3.0 Achievement with the EU extension terms (ELM 3 IRIs) — identical for the whole batch."""
    alignments = [{
        "type": ["Alignment"],
        "targetName": f"EQF level {a.eqf_level}",
        "targetUrl": a.eqf_iri,
        "targetFramework": "European Qualifications Framework",
        "targetCode": str(a.eqf_level),
        "targetType": "ext:EQFLevel",
    }]
    alignments += [{
        "type": ["Alignment"],
        "targetName": outcome.esco_label,
        "targetUrl": outcome.esco,
        "targetFramework": "ESCO",
        "targetType": "ceasn:Competency",
    } for outcome in a.learning_outcomes]
    node: dict[str, Any] = {
        "id": a.id,
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": a.text(a.title),
        "description": a.text(a.description),
        "criteria": {"narrative": a.text(a.criteria or a.description)},
        "creditsAvailable": float(a.ects),
        "inLanguage": a.language,
    }
    if a.human_code:
        node["humanCode"] = a.human_code
    if a.field_of_study:
        node["fieldOfStudy"] = a.field_of_study
    node["alignment"] = alignments
    node["resultDescription"] = [{
        "id": _result_description_id(a),
        "type": ["ResultDescription"],
        "name": "Final grade",
        "resultType": a.grading.result_type,
    }]
    # --- EU extension (anchorcred-eu-v1 context; ELM 3 terms) ---
    node["title"] = a.title.as_map()
    node["summary"] = a.description.as_map()
    node["creditPoint"] = {"type": ["CreditPoint"], "framework": ECTS_IRI, "point": f"{a.ects:g}"}
    if a.volume_of_learning_hours:
        node["volumeOfLearning"] = f"PT{a.volume_of_learning_hours}H"
    if a.nqf_level:
        node["nqfLevel"] = a.nqf_level
    node["learningOutcome"] = [
        {"type": ["LearningOutcome"], "title": o.text.as_map(), "relatedESCOSkill": o.esco}
        for o in a.learning_outcomes
    ]
    node["mode"] = a.participation_iri
    assessment: dict[str, Any] = {
        "type": ["LearningAssessmentSpecification"],
        "title": a.assessment.title.as_map(),
        "dcType": a.assessment.type_iri,
    }
    if a.assessment.mode_iri:
        assessment["mode"] = a.assessment.mode_iri
    if a.assessment.supervision_iri:
        assessment["idVerification"] = a.assessment.supervision_iri
    node["provenBy"] = assessment
    qa = a.quality_assurance
    accreditation: dict[str, Any] = {"type": ["Accreditation"], "title": qa.title.as_map()}
    if qa.type_iri:
        accreditation["dcType"] = qa.type_iri
    accreditation["accreditingAgent"] = {"id": qa.agent_id, "type": ["Organisation"],
                                         "legalName": qa.agent_name.as_map()}
    if qa.report_url:
        accreditation["homepage"] = qa.report_url
    node["accreditation"] = accreditation
    if a.prerequisites:
        node["entryRequirement"] = _note(a.prerequisites)
    if a.stackability:
        node["isPartialQualification"] = a.stackability.partial_qualification
        if a.stackability.programmes:
            node["isPartOf"] = [{"id": p.id, "type": ["Qualification"], "title": p.title.as_map()}
                                for p in a.stackability.programmes]
    if a.further_information:
        node["additionalNote"] = [_note(a.further_information)]
    if a.further_information_url:
        node["homepage"] = a.further_information_url
    return node


def _result_description_id(a: Achievement) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, a.id + '#final-grade')}"


class CredentialTemplate:
    """The batch-wide part of every credential, built once; ``build`` adds one learner (runs 10,000× a batch)."""

    def __init__(self, achievement: Achievement, issuer: IssuerProfile, *, issued: datetime):
        self.achievement = achievement
        self.issued = issued
        self._valid_from = _xsd_datetime(issued)
        self._valid_until = (_xsd_datetime(_add_years(issued, achievement.validity_years))
                             if achievement.validity_years else None)
        self._default_end = _midnight(issued.astimezone(timezone.utc).date())
        self._issuer = issuer.as_profile()
        self._achievement = achievement_node(achievement)
        self._result_description = _result_description_id(achievement)
        self._name = achievement.text(achievement.title)
        self._description = achievement.text(achievement.description)
        self._default_grade = achievement.grading.default_grade

    @property
    def shared_issuer(self) -> dict:
        """The issuer profile that ``build(copy=False)`` puts, as this very object, in every credential."""
        return self._issuer

    @property
    def shared_achievement(self) -> dict:
        """The achievement that ``build(copy=False)`` puts, as this very object, in every credential."""
        return self._achievement

    def build(self, learner: Learner, *, credential_id: str, salt: str, copy: bool = True,
              status: list[dict] | None = None) -> dict:
        """One learner's credential. ``copy=False`` shares the batch-wide parts (issuer, achievement) between
        credentials instead of copying them: for read-only pipelines such as signing a batch, where it saves a third
        of the time. ``status``: its ``credentialStatus`` entries (the issuer service's status lists; the CLI issues
        without: docs/formats.md), after the subject, so every credential of a batch keeps one shape."""
        share = _clone if copy else _same
        if not _URN_UUID_RE.match(credential_id):
            raise ValueError(f"credential_id must be urn:uuid:<uuid>, got {credential_id!r}")
        if not salt:
            raise ValueError("salt must not be empty")
        subject_id = learner.learner_did or _anonymous_subject_id(credential_id)
        credential: dict[str, Any] = {
            "@context": list(CONTEXTS),
            "id": credential_id,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": self._name,
            "description": self._description,
            "issuer": share(self._issuer),
            "validFrom": self._valid_from,
        }
        if self._valid_until:
            credential["validUntil"] = self._valid_until
        credential["credentialSubject"] = {
            "id": subject_id,
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "identityHash": email_identity_hash(learner.email, salt),
                 "identityType": "emailAddress", "hashed": True, "salt": salt},
                {"type": "IdentityObject", "identityHash": learner.full_name, "identityType": "name",
                 "hashed": False},
            ],
            "achievement": share(self._achievement),
            "creditsEarned": float(learner.ects),
            "activityEndDate": (_midnight(learner.completion_date) if learner.completion_date
                                else self._default_end),
            "result": [{
                "type": ["Result"],
                "resultDescription": self._result_description,
                "value": learner.grade or self._default_grade,
            }],
        }
        if status is not None:
            credential["credentialStatus"] = status
        return credential


def _anonymous_subject_id(credential_id: str) -> str:
    """A learner without a DID still gets a subject id, so every credential of a batch has the same shape.

    It is derived from the credential id (UUIDv5), says nothing about the learner and is stable for the credential.
    """
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(credential_id[len('urn:uuid:'):]), 'credentialSubject')}"


def build_credential(achievement: Achievement, learner: Learner, *, issuer: IssuerProfile, issued: datetime,
                     credential_id: str, salt: str) -> dict:
    """One unsigned credential; deterministic given its inputs. For a batch use ``CredentialTemplate``."""
    return CredentialTemplate(achievement, issuer, issued=issued).build(learner, credential_id=credential_id,
                                                                       salt=salt)
