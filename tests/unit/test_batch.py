"""The batch pipeline's shortcuts give exactly what the plain code gives."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from issuer.achievement import load_achievement
from issuer.batch import Signer, _dumps, build_documents
from issuer.keys import new_identity
from issuer.roster import load_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _docs():
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    learners = load_roster(EXAMPLES / "roster.csv", achievement)
    return build_documents(achievement, learners, issuer_did="did:web:www.tu-example.de", issued=datetime.now(timezone.utc))


def _signer(docs) -> Signer:
    return Signer(docs, new_identity("did:web:www.tu-example.de"), "2026-01-01T00:00:00Z")


def test_compact_json_with_shared_parts_equals_plain_json():
    docs = _docs()
    signer = _signer(docs)
    for i in range(len(docs)):
        doc = docs[i]
        assert signer.compact_json(doc) == _dumps(doc)
        assert json.loads(signer.compact_json(doc)) == doc


def test_compact_json_falls_back_when_a_shared_part_was_replaced():
    docs = _docs()
    doc = docs[0]
    doc["credentialSubject"]["achievement"] = dict(doc["credentialSubject"]["achievement"], name="Changed")
    signer = _signer(docs)
    assert signer.compact_json(doc) == _dumps(doc)
    assert '"name":"Changed"' in signer.compact_json(doc)


def test_same_index_builds_the_same_credential():
    docs = _docs()
    assert docs[3] == docs[3]
    assert docs[3]["id"] != docs[4]["id"]
    assert len({docs.salts[i] for i in range(len(docs))}) == len(docs)
