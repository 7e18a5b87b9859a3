"""Canonicalization from many threads at once (a verifier service under load) gives the same answers, no crash."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from verifier.canonical import canonicalize
from verifier.shapes import Canonicalizer

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "cross-impl-vectors"


def _documents() -> list[dict]:
    path = VECTORS / "doc-ob3.json"
    if not path.exists():
        pytest.skip(f"conformance vectors not found at {VECTORS}")
    base = json.loads(path.read_text("utf-8"))
    docs = []
    for i in range(48):
        doc = copy.deepcopy(base)
        doc["id"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
        doc["credentialSubject"]["result"][0]["value"] = f"grade {i}"
        if i % 3 == 0:  # a second shape, learned concurrently with the first
            doc["credentialSubject"]["achievement"]["tag"] = ["a", "b"]
        if i % 5 == 0:  # a compact-IRI-like value: this document takes the full JSON-LD algorithm
            doc["credentialSubject"]["achievement"]["id"] = "_:not-an-iri"
        docs.append(doc)
    return docs


def _cold_pyld() -> None:
    # pyld's module-global caches, emptied so that the threads below fill them at the same time (the race).
    from pyld import jsonld

    jsonld._resolved_context_cache.clear()
    jsonld._inverse_context_cache.clear()


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_canonicalization_on_a_fresh_canonicalizer_matches_the_full_algorithm(round_):
    docs = _documents()
    expected = [canonicalize(d) for d in docs]
    _cold_pyld()
    canon = Canonicalizer()
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(canon.canonicalize, docs))
    assert got == expected
    _cold_pyld()
    with ThreadPoolExecutor(max_workers=16) as pool:
        full = list(pool.map(canonicalize, docs))
    assert full == expected
