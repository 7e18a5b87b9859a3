"""The committed AnchorRegistry artifact matches its source (DESIGN.md "Anchoring": a test fails when a source changes
without its artifact), and the verifier's hand-computed selectors match the ABI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from contracts import load_artifact
from tests.contractkit import recompile
from verifier.ledger.base import keccak256
from verifier.ledger.evm import ANCHOR_OF_SELECTOR, ANCHOR_SELECTOR, registry_selectors
from verifier.ledger.registry import KEY_EVENT_RECORDED_TOPIC, STATUS_PUBLISHED_TOPIC, status_selectors

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "contracts" / "AnchorRegistry.sol"


def _abi_signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"


def test_artifact_records_the_sha256_of_the_current_source():
    artifact = load_artifact("AnchorRegistry")
    actual = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert artifact["sourceSha256"] == actual, (
        f"contracts/AnchorRegistry.sol changed (sha256 {actual}) but the artifact was built from "
        f"{artifact['sourceSha256']}: run `npm run compile` and commit contracts/build/AnchorRegistry.json"
    )


def test_artifact_pins_compiler_and_evm_version():
    artifact = load_artifact("AnchorRegistry")
    package = json.loads((REPO / "package.json").read_text())
    assert artifact["compiler"]["version"].startswith(package["devDependencies"]["solc"] + "+commit.")
    assert artifact["evmVersion"] == "cancun"
    assert artifact["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact["bytecode"].startswith("0x") and artifact["deployedBytecode"].startswith("0x")
    assert len(artifact["deployedBytecode"]) > 100


def test_abi_has_the_documented_interface():
    abi = load_artifact("AnchorRegistry")["abi"]
    signatures = {(e["type"], _abi_signature(e)) for e in abi}
    assert signatures == {
        ("function", "anchor(bytes32)"),
        ("function", "anchorOf(bytes32)"),
        ("event", "RootAnchored(bytes32,address,uint64)"),
        ("error", "AnchorRegistry__AlreadyAnchored(bytes32,address,uint64)"),
        ("error", "AnchorRegistry__ZeroRoot()"),
        # issue 4: status lists and key events
        ("function", "publishStatus(bytes32,bytes32)"),
        ("function", "statusOf(address,bytes32)"),
        ("function", "recordKeyEvent(bytes32,uint8,bytes32)"),
        ("event", "StatusPublished(address,bytes32,bytes32,uint64,uint64)"),
        ("event", "KeyEventRecorded(address,bytes32,uint8,bytes32,uint64)"),
        ("error", "AnchorRegistry__ZeroDigest()"),
        ("error", "AnchorRegistry__UnknownKeyEventKind(uint8)"),
    }
    events = {e["name"]: [i["indexed"] for i in e["inputs"]] for e in abi if e["type"] == "event"}
    assert events == {
        "RootAnchored": [True, True, False],
        "StatusPublished": [True, True, False, False, False],
        "KeyEventRecorded": [True, True, False, False, False],
    }
    anchor_of = next(e for e in abi if e.get("name") == "anchorOf")
    assert anchor_of["stateMutability"] == "view"
    assert [o["type"] for o in anchor_of["outputs"]] == ["address", "uint64"]
    status_of = next(e for e in abi if e.get("name") == "statusOf")
    assert status_of["stateMutability"] == "view"
    assert [(o["name"], o["type"]) for o in status_of["outputs"]] == [
        ("digest", "bytes32"), ("version", "uint64"), ("time", "uint64")]


def test_verifier_selectors_equal_the_abi_selectors():
    abi = load_artifact("AnchorRegistry")["abi"]
    from_abi = {_abi_signature(e): keccak256(_abi_signature(e).encode())[:4] for e in abi if e["type"] == "function"}
    assert {**registry_selectors(), **status_selectors()} == from_abi
    topics = {_abi_signature(e): keccak256(_abi_signature(e).encode()) for e in abi if e["type"] == "event"}
    assert topics["StatusPublished(address,bytes32,bytes32,uint64,uint64)"] == STATUS_PUBLISHED_TOPIC
    assert topics["KeyEventRecorded(address,bytes32,uint8,bytes32,uint64)"] == KEY_EVENT_RECORDED_TOPIC
    # Known values, computed independently with eth_utils.keccak when this test was written.
    assert ANCHOR_SELECTOR.hex() == "eecdf927"
    assert ANCHOR_OF_SELECTOR.hex() == "cf4ff901"


def test_keccak_is_ethereum_keccak_not_sha3():
    # keccak256("") from the Ethereum yellow paper; SHA3-256("") would be a7ffc6f8...
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@pytest.mark.node
def test_recompiling_with_pinned_solc_reproduces_the_artifact(tmp_path):
    recompile(REPO / "contracts" / "compile.mjs", tmp_path, timeout=300)
    rebuilt = json.loads((tmp_path / "AnchorRegistry.json").read_text())
    committed = load_artifact("AnchorRegistry")
    assert bytes.fromhex(rebuilt["bytecode"][2:]) == bytes.fromhex(committed["bytecode"][2:])
    assert bytes.fromhex(rebuilt["deployedBytecode"][2:]) == bytes.fromhex(committed["deployedBytecode"][2:])
    assert rebuilt == committed
