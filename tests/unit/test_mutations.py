"""Property: every mutant of a valid credential fails, and the report names the check that caught it.

Mutations (issue #2, "Tests that can fail"): any value, any key, any proof field, any Merkle path step, the anchor.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.ledger.memory import MemoryLedger
from verifier.merkle import PathStep
from verifier.merkleproof import Anchor, MerkleProof2019, decode_proof_value, encode_proof_value
from verifier.report import Status, Verdict

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
OTHER_CHAIN = 4242


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a scalar leaf (strings, numbers, booleans) in a JSON value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, prefix + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, prefix + (i,))]
    return [prefix]


def _key_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + (k,))
            out.extend(_key_paths(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_key_paths(v, prefix + (i,)))
    return out


def _get(doc, path):
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _other_value(old: Any, data) -> Any:
    if isinstance(old, bool):
        return not old
    if isinstance(old, (int, float)):
        return old + data.draw(st.integers(min_value=1, max_value=10**6))
    new = data.draw(st.text(min_size=0, max_size=20))
    return new if new != old else old + "x"


def _verifier(batch):
    # Two configured chains, so that an anchor moved to the other one is looked up there (and not found).
    return batch.verifier(readers={batch.chain_id: batch.reader, OTHER_CHAIN: MemoryLedger(chain_id=OTHER_CHAIN)})


def _assert_caught(report, expected_checks: set[str]):
    assert report.verdict is Verdict.FAILED, [c.to_json() for c in report.checks]
    failed = {c.id for c in report.checks if c.status is Status.FAIL}
    assert failed & expected_checks, (failed, expected_checks, [c.to_json() for c in report.checks])


@SETTINGS
@given(data=st.data())
def test_any_changed_value_fails(embedded, data):
    chain, batch = embedded
    doc = batch.credential(5)
    paths = [p for p in _paths(doc) if not (p[0] == "proof" and p[-1] == "proofValue" and p[1] == 1)]
    path = data.draw(st.sampled_from(paths))
    parent = _get(doc, path)
    parent[path[-1]] = _other_value(parent[path[-1]], data)
    expected = {"format", "signature", "integrity", "anchor", "merkle_inclusion", "validity"}
    if path[0] != "proof":
        expected = {"format", "signature", "integrity"}  # the signed content: the signature and the leaf cover it
    _assert_caught(_verifier(batch).verify(doc), expected)


@SETTINGS
@given(data=st.data())
def test_any_renamed_or_removed_key_fails(embedded, data):
    chain, batch = embedded
    doc = batch.credential(6)
    path = data.draw(st.sampled_from(_key_paths(doc)))
    parent = _get(doc, path)
    value = parent.pop(path[-1])
    if data.draw(st.booleans()):
        new_key = data.draw(st.sampled_from(["name", "description", "id", "type", "unknownTerm", "value", "salt"]))
        if new_key == path[-1]:
            new_key = "unknownTerm"
        parent[new_key] = value
    _assert_caught(_verifier(batch).verify(doc), {"format", "signature", "integrity", "merkle_inclusion", "anchor", "validity"})


@SETTINGS
@given(data=st.data())
def test_any_changed_path_step_or_anchor_fails(embedded, data):
    chain, batch = embedded
    doc = batch.credential(7)
    proof = doc["proof"][1]
    m = decode_proof_value(proof["proofValue"])
    kind = data.draw(st.sampled_from(["side", "digest", "drop", "extra", "root", "target", "tx", "chain"]))
    path = list(m.path)
    fields = dict(merkle_root=m.merkle_root, target_hash=m.target_hash, path=m.path, anchors=m.anchors)
    i = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
    if kind == "side":
        path[i] = PathStep("right" if path[i].side == "left" else "left", path[i].digest)
    elif kind == "digest":
        bit = data.draw(st.integers(min_value=0, max_value=255))
        d = bytearray(path[i].digest)
        d[bit // 8] ^= 1 << (bit % 8)
        path[i] = PathStep(path[i].side, bytes(d))
    elif kind == "drop":
        del path[i]
    elif kind == "extra":
        path.insert(i, PathStep("left", bytes(data.draw(st.binary(min_size=32, max_size=32)))))
    elif kind == "root":
        fields["merkle_root"] = data.draw(st.binary(min_size=32, max_size=32).filter(lambda b: b != m.merkle_root))
    elif kind == "target":
        fields["target_hash"] = data.draw(st.binary(min_size=32, max_size=32).filter(lambda b: b != m.target_hash))
    elif kind == "tx":
        tx = "0x" + data.draw(st.binary(min_size=32, max_size=32)).hex()
        fields["anchors"] = (Anchor("eth", m.anchors[0].network, tx),)
    elif kind == "chain":
        fields["anchors"] = (Anchor("eth", OTHER_CHAIN, m.anchors[0].tx_hash),)
    fields["path"] = tuple(path)
    proof["proofValue"] = encode_proof_value(MerkleProof2019(**fields))
    expected = {"integrity", "merkle_inclusion", "anchor"}
    _assert_caught(_verifier(batch).verify(copy.deepcopy(doc)), expected)
