"""Canonical form: undefined terms refused, and the fast Canonicalizer proven equal to the full algorithm."""

from __future__ import annotations

import copy
import os
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.canonical import DroppedValueError, canonicalize, to_quads
from verifier.shapes import Canonicalizer
from verifier.documentloader import DocumentLoader
from verifier.errors import ContextError, InvalidInputError, UnmappedTermError

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "cross-impl-vectors"
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"cross-impl vectors not found at {VECTORS}")

V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
V1 = "https://www.w3.org/2018/credentials/v1"


def _ob3() -> dict[str, Any]:
    return json.loads((VECTORS / "doc-ob3.json").read_text(encoding="utf-8"))


def _vc2(**extra: Any) -> dict[str, Any]:
    doc = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:subject"},
    }
    doc.update(extra)
    return doc


# --- the full algorithm -----------------------------------------------------------------------------------------


@needs_vectors
@pytest.mark.parametrize("name", ["doc-ob3", "doc-vc2-examples"])
def test_cross_impl_canonical_vectors(name: str) -> None:
    # doc-vc2-examples uses the W3C examples context, which is not shipped: a test-only extra from the vectors.
    index = json.loads((VECTORS.parent / "contexts" / "index.json").read_text(encoding="utf-8"))
    loader = DocumentLoader(extra={
        url: json.loads((VECTORS.parent / "contexts" / file).read_text(encoding="utf-8"))
        for url, file in index.items() if url == "https://www.w3.org/ns/credentials/examples/v2"
    })
    expected = (VECTORS / f"{name}.canonical.nq").read_text(encoding="utf-8")
    doc = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    assert canonicalize(doc, loader=loader) == expected
    assert Canonicalizer(loader=loader).canonicalize(doc) == expected


def test_undefined_property_in_vc2_is_refused() -> None:
    doc = _vc2(credentialSubject={"id": "did:example:s", "favouriteColour": "blue"})
    with pytest.raises(UnmappedTermError) as info:
        canonicalize(doc)
    assert info.value.terms == ["favouriteColour"]


def test_undefined_type_is_refused() -> None:
    doc = _vc2(type=["VerifiableCredential", "MadeUpCredential"])
    with pytest.raises(UnmappedTermError) as info:
        canonicalize(doc)
    assert info.value.terms == ["MadeUpCredential"]


def test_undefined_terms_in_nested_objects_and_arrays_without_vocab_context() -> None:
    # VC 1.1 has no @vocab: without the fallback these would be dropped silently.
    doc = {
        "@context": [V1],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:i",
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": [
            {"id": "did:example:a", "degree": {"type": "BachelorDegree", "name": "x"}},
            {"id": "did:example:b", "nested": [{"deeper": 1}]},
        ],
    }
    with pytest.raises(UnmappedTermError) as info:
        canonicalize(doc)
    assert info.value.terms == ["BachelorDegree", "deeper", "degree", "name", "nested"]


def test_issuer_dependent_namespace_counts_as_undefined() -> None:
    doc = _vc2(credentialSubject={"id": "did:example:s", "https://www.w3.org/ns/credentials/issuer-dependent#x": 1})
    with pytest.raises(UnmappedTermError, match="x"):
        canonicalize(doc)


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(UnmappedTermError, match="@foo"):
        canonicalize(_vc2(credentialSubject={"id": "did:example:s", "@foo": "bar"}))


def test_null_context_is_refused() -> None:
    doc = _vc2(credentialSubject={"@context": None, "id": "did:example:s", "name": "x"})
    with pytest.raises(DroppedValueError, match="null @context"):
        canonicalize(doc)


def test_relative_iri_would_be_dropped_and_is_refused() -> None:
    with pytest.raises(DroppedValueError, match="not-absolute"):
        canonicalize(_vc2(credentialSubject={"id": "not-absolute"}))


def test_iri_with_trailing_newline_is_not_absolute() -> None:
    with pytest.raises(DroppedValueError):
        canonicalize(_vc2(credentialSubject={"id": "https://example.org/x\n"}))


def test_absolute_iri_property_is_kept() -> None:
    doc = _vc2(credentialSubject={"id": "did:example:s", "https://example.org/p": "v"})
    assert '<did:example:s> <https://example.org/p> "v" .\n' in canonicalize(doc)


def test_unknown_context_is_refused_by_name() -> None:
    doc = _vc2()
    doc["@context"] = [V2, "https://example.org/evil-context"]
    with pytest.raises(ContextError, match="unknown JSON-LD context https://example.org/evil-context"):
        canonicalize(doc)


def test_dataset_quads_are_terms_in_nquads_syntax() -> None:
    quads = to_quads(_vc2(name="Caf\u00e9 \"quoted\"\n"))
    assert ("_:b0", "<https://schema.org/name>", '"Caf\u00e9 \\"quoted\\"\\n"', "") in quads


# --- fast path == full path ---------------------------------------------------------------------------------------

_SPECIAL = [
    "", "urn:uuid:0b5c3f9e-5d3a-4d1f-9d5e-3c2b1a0f9e8d", "https://example.org/a b", "https://example.org/x",
    "did:key:z6MkneMkZqwqRiU5mJzSG3kDwzt9P8C59N4NGTfBLfSGE7c7", "relative/path", "./x", "#frag", "_:x", "_:b0",
    "ob:foo", "xsd:string", "schema:name", "id", "type", "name", "Achievement", "@id", "@type", "@foo", "\\", '"',
    "a\nb\r\tc\b\f\x00\x7f", "\u00e9\u4e2d\U0001f303", "http://", "mailto:registrar@university.example",
    "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement", "urn:x-anchorcred-slot:0", "true", "1.5",
    "2024-06-15T00:00:00Z", "https://example.org/<bad>", "HTTPS://EXAMPLE.ORG/", "https://example.org/x\n", "https://example.org/\u00e9\u2028", "did:example:ebfeb1f712ebc6f1c276e12ec21",
]
_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(_SPECIAL),
    st.builds(lambda a, b: f"{a}:{b}", st.from_regex(r"[A-Za-z][A-Za-z0-9+.\-]{0,5}", fullmatch=True), st.text(max_size=8)),
)

_FAST = Canonicalizer()
_EXAMPLES = int(os.environ.get("ANCHORCRED_HYPOTHESIS_EXAMPLES", "300"))  # raise it for a deeper run


def _string_paths(doc: Any, path: tuple = (), structural: bool = False) -> list[tuple]:
    out: list[tuple] = []
    if isinstance(doc, str):
        if not structural:
            out.append(path)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            out += _string_paths(item, path + (i,), structural)
    elif isinstance(doc, dict):
        for key, item in doc.items():
            if key != "@context":
                out += _string_paths(item, path + (key,), structural or key in ("type", "@type"))
    return out


def _set(doc: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def _outcome(fn, doc):
    try:
        return ("ok", fn(doc))
    except InvalidInputError as exc:
        return (type(exc).__name__, str(exc))


@needs_vectors
@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_equals_full_on_ob3_shapes(data: st.DataObject) -> None:
    doc = _ob3()
    paths = _string_paths(doc)
    chosen = data.draw(st.lists(st.sampled_from(range(len(paths))), unique=True, max_size=len(paths)))
    drawn: list[str] = []
    for index in chosen:
        if drawn and data.draw(st.booleans().map(lambda b: b and False) | st.just(False) | st.booleans()):
            value = data.draw(st.sampled_from(drawn))  # duplicated values: ids that merge nodes
        else:
            value = data.draw(_values)
        drawn.append(value)
        _set(doc, paths[index], value)
    if data.draw(st.integers(0, 9)) == 0:  # now and then a structural change: an undefined term or type
        target = data.draw(st.sampled_from([doc, doc["credentialSubject"], doc["credentialSubject"]["achievement"]]))
        if data.draw(st.booleans()):
            target["notDefinedAnywhere"] = data.draw(_values)
        else:
            target["type"] = [*target.get("type", []), "NoSuchType"] if isinstance(target.get("type"), list) else "X"
    full = _outcome(canonicalize, copy.deepcopy(doc))
    fast = _outcome(_FAST.canonicalize, copy.deepcopy(doc))
    assert fast == full


def test_the_property_test_exercised_the_fast_path() -> None:
    # Runs after the property test (file order): the templates were used, not only the fallbacks.
    counters = _FAST.counters()
    if sum(counters.values()) == 0:
        pytest.skip("property test did not run")
    assert counters["hits"] > 0 and counters["fallbacks"] > 0, counters


@needs_vectors
def test_fast_path_hits_and_falls_back() -> None:
    canon = Canonicalizer()
    doc = _ob3()
    expected = (VECTORS / "doc-ob3.canonical.nq").read_text(encoding="utf-8")
    assert canon.canonicalize(doc) == expected
    other = _ob3()
    other["credentialSubject"]["id"] = "did:example:someone-else"
    other["name"] = 'Name with "quotes" and \\ and \n'
    assert canon.canonicalize(other) == canonicalize(other)
    assert canon.counters() == {"hits": 2, "full_runs": 0, "fallbacks": 0}
    relative = _ob3()
    relative["credentialSubject"]["achievement"]["id"] = "_:blank"  # not a plain absolute IRI: full algorithm
    assert canon.canonicalize(relative) == canonicalize(relative)
    assert canon.counters()["fallbacks"] == 1


def test_a_canonicalizer_answers_the_same_twice() -> None:
    canon = Canonicalizer()
    doc = _vc2()
    assert canon.canonicalize(doc) == canon.canonicalize(doc) == canonicalize(doc)


def test_lru_bound() -> None:
    canon = Canonicalizer(maxsize=2)
    for i in range(4):  # four shapes: lists of different lengths
        canon.canonicalize(_vc2(credentialSubject={"id": "did:example:s", "name": ["a"] * (i + 1)}))
    assert len(canon._templates) == 2
