"""The JSON Schema of anchorcred's EBSI-profile micro-credential, as the trusted schemas registry serves it.

A structural check of what issuer/ebsi_jwt.ebsi_attestation emits: a VCDM 1.1 ``VerifiableAttestation`` whose
``credentialSubject`` is an ELM 3 ``Person`` with a ``LearningAchievement`` claim (title, awarding process and body,
the qualification that specifies it with ECTS credits and EQF level, and the assessment that proves it), and whose
issuer is an ELM ``Organisation`` with a country. The generic EBSI attestation schema (2024-01) is named beside it in
``credentialSchema``; this one adds the Europass shape. The completeness of the 16 EU elements is checked at issuance
(verifier.euelements), not re-expressed here.

Its id is made the way EBSI names schemas: multibase base58btc of the SHA-256 of the schema's RFC 8785 (JCS) form.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from verifier.base58btc import b58encode

__all__ = ["MICRO_CREDENTIAL_SCHEMA", "MICRO_CREDENTIAL_SCHEMA_ID", "SCHEMAS", "schema_id"]

_TEXT_MAP = {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}
_NODE = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uri"}}}

MICRO_CREDENTIAL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "anchorcred EBSI-profile micro-credential (ELM 3 subject)",
    "description": "A Verifiable Attestation whose subject is an ELM 3 Person holding a LearningAchievement",
    "type": "object",
    "required": ["type", "issuer", "credentialSubject", "termsOfUse", "credentialStatus"],
    "properties": {
        "type": {"type": "array", "contains": {"const": "EuropeanDigitalCredential"}},
        "issuer": {
            "type": "object",
            "required": ["id", "type", "legalName", "location"],
            "properties": {
                "id": {"type": "string", "pattern": "^did:ebsi:"},
                "type": {"const": "Organisation"},
                "legalName": _TEXT_MAP,
                "location": {"type": "object", "required": ["address"], "properties": {"address": {
                    "type": "object", "required": ["countryCode"], "properties": {"countryCode": _NODE}}}},
            },
        },
        "credentialSubject": {
            "type": "object",
            "required": ["id", "type", "hasClaim"],
            "properties": {
                "id": {"type": "string", "pattern": "^did:key:"},
                "type": {"const": "Person"},
                "hasClaim": {
                    "type": "object",
                    "required": ["id", "type", "title", "awardedBy", "specifiedBy", "provenBy"],
                    "properties": {
                        "type": {"const": "LearningAchievement"},
                        "title": _TEXT_MAP,
                        "awardedBy": {"type": "object", "required": ["awardingBody", "awardingDate"]},
                        "specifiedBy": {
                            "type": "object",
                            "required": ["title", "creditPoint", "eqfLevel", "learningOutcome"],
                            "properties": {"creditPoint": {"type": "object", "required": ["framework", "point"]},
                                           "eqfLevel": _NODE},
                        },
                        "provenBy": {"type": "object", "required": ["title"]},
                    },
                },
            },
        },
        "termsOfUse": {"type": "object", "required": ["id", "type"],
                       "properties": {"type": {"const": "IssuanceCertificate"}}},
        "credentialStatus": {"type": "object", "required": ["type", "statusListCredential", "statusListIndex"],
                             "properties": {"type": {"const": "StatusList2021Entry"}}},
    },
}


def schema_id(schema: dict[str, Any]) -> str:
    """EBSI's schema id: ``z`` + base58btc(sha256(JCS(schema)))."""
    return "z" + b58encode(hashlib.sha256(rfc8785.dumps(schema)).digest())


MICRO_CREDENTIAL_SCHEMA_ID = schema_id(MICRO_CREDENTIAL_SCHEMA)
SCHEMAS: dict[str, dict[str, Any]] = {MICRO_CREDENTIAL_SCHEMA_ID: MICRO_CREDENTIAL_SCHEMA}
