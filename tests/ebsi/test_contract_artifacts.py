"""The committed EBSI-like contract artifacts match their sources (DESIGN.md "Anchoring": a test fails when a source
changes without its artifact), and their ABIs carry EBSI's function names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ebsi.contracts import load_artifact
from tests.contractkit import recompile

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "ebsi" / "contracts"
NAMES = ("Timestamp", "TrustedIssuersRegistry", "DidRegistry")


@pytest.mark.parametrize("name", NAMES)
def test_artifact_records_the_sha256_of_the_current_source(name):
    artifact = load_artifact(name)
    actual = hashlib.sha256((SOURCES / f"{name}.sol").read_bytes()).hexdigest()
    assert artifact["sourceSha256"] == actual, (
        f"ebsi/contracts/{name}.sol changed (sha256 {actual}) but its artifact was built from "
        f"{artifact['sourceSha256']}: run `node ebsi/contracts/compile.mjs` and commit ebsi/contracts/build/{name}.json"
    )


@pytest.mark.parametrize("name", NAMES)
def test_artifact_pins_the_projects_compiler_and_evm_version(name):
    artifact = load_artifact(name)
    package = json.loads((REPO / "package.json").read_text())
    assert artifact["compiler"]["version"].startswith(package["devDependencies"]["solc"] + "+commit.")
    assert artifact["evmVersion"] == "cancun"
    assert artifact["optimizer"] == {"enabled": True, "runs": 200}
    assert len(artifact["deployedBytecode"]) > 1000


def _functions(name: str) -> set[str]:
    return {e["name"] for e in load_artifact(name)["abi"] if e["type"] == "function"}


def test_abis_carry_ebsis_function_names():
    assert {"timestampHashes", "insertHashAlgorithm", "updateHashAlgorithm", "getTimestamp",
            "getHashAlgorithm"} <= _functions("Timestamp")
    assert {"setAttributeMetadata", "setAttributeData", "addIssuerProxy", "updateIssuerProxy",
            "removeIssuerProxy", "getAttribute", "getRevision"} <= _functions("TrustedIssuersRegistry")
    assert {"insertDidDocument", "updateBaseDocument", "addController", "revokeController", "addVerificationMethod",
            "addVerificationRelationship", "revokeVerificationMethod", "addService", "revokeService",
            "isController"} <= _functions("DidRegistry")


def test_every_custom_error_is_prefixed_with_its_contract():
    for name in NAMES:
        errors = [e["name"] for e in load_artifact(name)["abi"] if e["type"] == "error"]
        assert errors and all(e.startswith(f"{name}__") for e in errors), errors


def test_sources_are_written_here_under_the_projects_licence():
    for name in NAMES:
        source = (SOURCES / f"{name}.sol").read_text()
        assert source.startswith("// SPDX-License-Identifier: Apache-2.0\n"), name
        assert "EUPL" not in source and "GPL" not in source


@pytest.mark.node
def test_recompiling_with_pinned_solc_reproduces_the_artifacts(tmp_path):
    recompile(SOURCES / "compile.mjs", tmp_path, timeout=600)
    for name in NAMES:
        assert json.loads((tmp_path / f"{name}.json").read_text()) == load_artifact(name), name
