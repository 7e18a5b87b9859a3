"""The EBSI-like ledger on anvil: the facade as the stack runs it (its own process, contracts deployed once on the
devnet, writers funded), a batch issued on it with the ``ebsi`` ledger backend and verified from the networks file
the issuer wrote; a restarted facade finds its contracts again (devnet marker: starts anvil, stopped by PID)."""

from __future__ import annotations

import json

import pytest

from issuer.ledger.ebsi import open_ebsi_writer
from issuer.keys import new_identity
from issuer.stack import Ports, Stack
from tests.batchkit import issue_example_batch
from tests.devnet.conftest import anvil_path, devnet_factory, free_port  # noqa: F401 (fixtures)
from verifier.config import load_networks
from verifier.did import DidResolver
from verifier.report import Status
from verifier.setup import build_verifier

pytestmark = [pytest.mark.devnet, pytest.mark.slow]


def test_issue_on_the_facade_over_anvil_and_verify_from_the_networks_file(devnet_factory, tmp_path):
    node = devnet_factory(chain_id=31337)
    node.start()
    stack = Stack(tmp_path / "data", Ports(devnet=node.port, ebsi=free_port()), ebsi=True)
    service = stack.ebsi_service(node.rpc_url)
    try:
        assert service.start(timeout=120.0)
        health = __import__("httpx").get(f"{service.url}/health", timeout=10).json()
        assert health["chainId"] == 31337
        deployment = json.loads((tmp_path / "data" / "ebsi" / "deployment-31337.json").read_text())
        assert deployment["timestamp"] == health["contracts"]["timestamp"]

        identity = new_identity("did:web:www.tu-example.de")
        batch = issue_example_batch(
            tmp_path / "out", lambda ident: open_ebsi_writer(tmp_path / "data", ident.secp256k1_secret, service.url),
            chain_id=31337, reader=None, identity=identity)
        networks = load_networks(tmp_path / "data" / "networks.json")
        assert [(n.ledger, n.chain_id, n.ebsi_url) for n in networks] == [("ebsi", 31337, service.url)]
        resolver = DidResolver()
        resolver.add(batch.did_document, "file did.json")
        setup = build_verifier(networks, resolver)
        try:
            report = setup.verifier.verify(batch.credential(0))
        finally:
            setup.close()
        anchor = next(c for c in report.checks if c.id == "anchor")
        assert anchor.status is Status.PASS, anchor.reason
        assert "EBSI-like ledger timestamp record" in anchor.reason

        # Restarted, the facade reuses its contracts: the timestamp is still there.
        service.stop()
        assert service.start(timeout=120.0)
        assert __import__("httpx").get(f"{service.url}/health", timeout=10).json()["contracts"] == health["contracts"]
        setup = build_verifier(networks, resolver)
        try:
            again = setup.verifier.verify(batch.credential(1))
        finally:
            setup.close()
        assert next(c for c in again.checks if c.id == "anchor").status is Status.PASS
    finally:
        service.stop()


def test_the_cli_issues_with_ledger_ebsi_and_verifies(devnet_factory, tmp_path):
    from tests.devnet.test_issue_verify_cli import cli

    node = devnet_factory(chain_id=31337)
    node.start()
    data = tmp_path / "data"
    stack = Stack(data, Ports(devnet=node.port, ebsi=free_port()), ebsi=True)
    service = stack.ebsi_service(node.rpc_url)
    try:
        service.start(timeout=120.0)
        missing = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
                      "--out", str(tmp_path / "none"), "--ledger", "ebsi", data=data)
        assert missing.returncode == 2 and "--ebsi-url" in missing.stdout + missing.stderr
        out = tmp_path / "out"
        proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
                   "--out", str(out), "--ledger", "ebsi", "--ebsi-url", service.url, data=data)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "ebsi-31337" in proc.stdout
        files = sorted(out.glob("*.json"))
        proc = cli("verify", "--json", *map(str, files[:3]), data=data)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        reports = json.loads(proc.stdout)
        assert [r["verdict"] for r in reports] == ["verified"] * 3
        assert reports[0]["anchor"]["ledger"] == "ebsi-31337" and reports[0]["anchor"]["mode"] == "timestamp"
    finally:
        service.stop()


def test_stack_up_with_ebsi_runs_the_facade_on_the_devnet_and_down_stops_it(anvil_path, tmp_path):  # noqa: F811
    import httpx

    ports = Ports(issuer=free_port(), verifier=free_port(), devnet=free_port(), ebsi=free_port())
    stack = Stack(tmp_path / "data", ports, ebsi=True)
    said: list[str] = []
    try:
        urls = stack.up(say=said.append)
        assert urls["ebsi"] == f"http://localhost:{ports.ebsi}"
        assert httpx.get(f"{urls['ebsi']}/health", timeout=10).json()["chainId"] == 31337
        networks = json.loads((tmp_path / "data" / "networks.json").read_text())["networks"]
        assert {(n.get("ledger", "evm"), n["chain_id"]) for n in networks} == {("evm", 31337), ("ebsi", 31337)}
        assert any("--ledger ebsi --ebsi-url" in line for line in said)
    finally:
        stack.down(say=said.append)
    assert "stopped the ebsi service" in said
    assert stack.ebsi_service().pid() is None
