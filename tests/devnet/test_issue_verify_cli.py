"""The registrar's and the employer's commands against a real anvil devnet, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.devnet.conftest import free_port
from verifier.verify import CHECKS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.devnet


def cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANCHORCRED_DATA": str(data), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def devnet_cli(anvil_path, tmp_path):
    port = str(free_port())
    data = tmp_path / "data"
    yield port, data
    # Stop by PID, whatever happened in the test.
    cli("devnet", "stop", "--port", port, data=data)
    assert not (data / "devnet" / "anvil.pid").exists()


@pytest.mark.parametrize("mode", ["contract", "calldata"])
def test_issue_on_devnet_then_verify(devnet_cli, tmp_path, mode):
    port, data = devnet_cli
    out = tmp_path / "out"
    proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
               "--out", str(out), "--devnet-port", port, "--mode", mode, data=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for label in ("credentials", "Merkle root", "transaction", "block", "gas used", "gas per credential", "output folder"):
        assert label in proc.stdout
    files = sorted(out.glob("*.json"))
    assert len(files) == 28

    status = cli("devnet", "status", "--port", port, data=data)
    assert status.returncode == 0 and "running" in status.stdout

    proc = cli("verify", "--json", *map(str, files), data=data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    reports = json.loads(proc.stdout)
    assert [r["verdict"] for r in reports] == ["verified"] * 28
    assert reports[0]["anchor"]["ledger"] == "devnet"
    assert reports[0]["anchor"]["mode"] == mode

    # The human report: numbered, coloured steps and one verdict line per credential.
    proc = cli("verify", str(files[0]), data=data)
    assert proc.returncode == 0
    assert f"{len(CHECKS)}. Validity period" in proc.stdout and "VERIFIED" in proc.stdout  # the last check

    # One tampered credential among good ones: exit 1, and its report says why.
    doc = json.loads(files[1].read_text("utf-8"))
    doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    files[1].write_text(json.dumps(doc), "utf-8")
    proc = cli("verify", "--json", *map(str, files), data=data)
    assert proc.returncode == 1
    bad = json.loads(proc.stdout)[1]
    assert bad["verdict"] == "failed"
    assert "signature does not verify" in next(c["reason"] for c in bad["checks"] if c["id"] == "signature")


def test_stopped_devnet_gives_indeterminate_never_verified(devnet_cli, tmp_path):
    port, data = devnet_cli
    out = tmp_path / "out"
    proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
               "--out", str(out), "--devnet-port", port, data=data)
    assert proc.returncode == 0, proc.stderr
    assert cli("devnet", "stop", "--port", port, data=data).returncode == 0
    proc = cli("verify", "--json", str(next(out.glob("*.json"))), data=data)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)[0]
    assert report["verdict"] == "partially_verified"
    anchor = next(c for c in report["checks"] if c["id"] == "anchor")
    assert anchor["status"] == "indeterminate"


def test_issue_on_any_rpc_node(devnet_factory, tmp_path):
    """--ledger rpc: a node the issuer does not manage; the registry is deployed beforehand, the key funded."""
    from eth_account import Account

    from issuer.keys import load_or_create_identity
    from issuer.ledger.devnet import fund_from_dev_account
    from issuer.ledger.evm import deploy_registry

    node = devnet_factory(chain_id=4242)
    status = node.start()
    w3 = node.web3()
    data = tmp_path / "data"
    identity = load_or_create_identity(data / "issuer" / "keys.json", "did:web:www.tu-example.de")
    account = Account.from_key(identity.secp256k1_secret)
    fund_from_dev_account(w3, account.address, 10**18)
    registry = deploy_registry(w3, account)

    out = tmp_path / "out"
    proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
               "--out", str(out), "--ledger", "rpc", "--rpc-url", status.rpc_url, "--registry", registry, data=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "chain 4242" in proc.stdout
    files = sorted(out.glob("*.json"))
    proc = cli("verify", "--json", "--rpc-url", status.rpc_url, "--chain-id", "4242", "--registry", registry,
               *map(str, files), data=tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert {r["verdict"] for r in json.loads(proc.stdout)} == {"verified"}

    # Without --registry the verifier still finds the root in the transaction, sent by the issuer's bound key.
    proc = cli("verify", "--json", "--rpc-url", status.rpc_url, "--chain-id", "4242", str(files[0]),
               data=tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_unfunded_issuer_gets_a_clear_error_and_no_files(devnet_factory, tmp_path):
    node = devnet_factory(chain_id=4243)
    status = node.start()
    out = tmp_path / "out"
    proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", "examples/roster.csv",
               "--out", str(out), "--ledger", "rpc", "--rpc-url", status.rpc_url, "--mode", "calldata",
               data=tmp_path / "data")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:")
    assert not list(out.glob("*.json")) if out.exists() else True
