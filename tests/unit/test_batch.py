"""The batch pipeline's shortcuts give exactly what the plain code gives."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from issuer.achievement import load_achievement
from issuer.batch import _STATE, _compact_json, _dumps, build_documents
from issuer.roster import load_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _docs():
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    learners = load_roster(EXAMPLES / "roster.csv", achievement)
    return build_documents(achievement, learners, issuer_did="did:web:www.tu-example.de", issued=datetime.now(timezone.utc))


def test_compact_json_with_shared_parts_equals_plain_json():
    docs = _docs()
    _STATE.clear()
    try:
        for i in range(len(docs)):
            doc = docs[i]
            assert _compact_json(doc, docs) == _dumps(doc)
            assert json.loads(_compact_json(doc, docs)) == doc
    finally:
        _STATE.clear()


def test_compact_json_falls_back_when_a_shared_part_was_replaced():
    docs = _docs()
    doc = docs[0]
    doc["credentialSubject"]["achievement"] = dict(doc["credentialSubject"]["achievement"], name="Changed")
    _STATE.clear()
    try:
        assert _compact_json(doc, docs) == _dumps(doc)
        assert '"name":"Changed"' in _compact_json(doc, docs)
    finally:
        _STATE.clear()


def test_same_index_builds_the_same_credential():
    docs = _docs()
    assert docs[3] == docs[3]
    assert docs[3]["id"] != docs[4]["id"]
    assert len({docs.salts[i] for i in range(len(docs))}) == len(docs)
