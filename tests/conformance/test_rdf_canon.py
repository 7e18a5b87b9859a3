"""verifier.rdfc against every test of the W3C RDF Dataset Canonicalization (RDFC-1.0) test suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.rdfc import CanonicalizationLimitError, canonical_labels, canonicalize_nquads, parse_nquads

SUITE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "w3c-test-vectors" / "rdf-canon-tests"
pytestmark = pytest.mark.skipif(not SUITE.is_dir(), reason=f"W3C rdf-canon test suite not found at {SUITE}")


def _entries() -> list[dict]:
    if not SUITE.is_dir():
        return []
    return json.loads((SUITE / "manifest.jsonld").read_text(encoding="utf-8"))["entries"]


def _params(kind: str) -> list:
    return [pytest.param(e, id=e["id"].lstrip("#")) for e in _entries() if e["type"] == kind]


def _hash(entry: dict) -> str:
    return {"SHA384": "sha384", "SHA256": "sha256"}[entry.get("hashAlgorithm", "SHA256")]


def test_suite_is_complete() -> None:
    kinds = [e["type"] for e in _entries()]
    assert kinds.count("rdfc:RDFC10EvalTest") == 64
    assert kinds.count("rdfc:RDFC10MapTest") == 21
    assert kinds.count("rdfc:RDFC10NegativeEvalTest") == 1


@pytest.mark.parametrize("entry", _params("rdfc:RDFC10EvalTest"))
def test_eval(entry: dict) -> None:
    text = (SUITE / entry["action"]).read_text(encoding="utf-8")
    expected = (SUITE / entry["result"]).read_text(encoding="utf-8")
    assert canonicalize_nquads(text, hash_algorithm=_hash(entry)) == expected


@pytest.mark.parametrize("entry", _params("rdfc:RDFC10MapTest"))
def test_map(entry: dict) -> None:
    text = (SUITE / entry["action"]).read_text(encoding="utf-8")
    expected = json.loads((SUITE / entry["result"]).read_text(encoding="utf-8"))
    assert canonical_labels(parse_nquads(text), hash_algorithm=_hash(entry)) == expected


@pytest.mark.parametrize("entry", _params("rdfc:RDFC10NegativeEvalTest"))
def test_negative_poison_graph_is_refused(entry: dict) -> None:
    text = (SUITE / entry["action"]).read_text(encoding="utf-8")
    with pytest.raises(CanonicalizationLimitError, match="poison graph"):
        canonicalize_nquads(text)
