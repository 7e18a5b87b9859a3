"""`anchorcred wallet bundle` over JSON-RPC (anvil), then `anchorcred verify --offline` with and without the node."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from anchorcred_cli import app
from tests.devnet.conftest import anvil_path, devnet_factory  # noqa: F401 - fixtures (anvil started and stopped by PID)
from tests.wallet.kit import PASSPHRASE, new_wallet

pytestmark = [pytest.mark.devnet, pytest.mark.slow]
runner = CliRunner()


def test_bundle_exported_over_rpc_verifies_offline_and_the_node_confirms_it(devnet_factory, tmp_path):
    from eth_account import Account

    from issuer.ledger.devnet import fund_from_dev_account
    from issuer.ledger.evm import EvmWriter, ensure_registry
    from tests.batchkit import issue_example_batch
    from verifier.ledger.evm import EvmReader, HttpTransport

    node = devnet_factory(chain_id=31337)
    node.start()
    w3 = node.web3()
    registry: dict[str, str] = {}

    def writer(identity):
        account = Account.from_key(identity.secp256k1_secret)
        fund_from_dev_account(w3, account.address, 10**18)
        registry["address"] = ensure_registry(w3, account, tmp_path / "registry.json")
        return EvmWriter(w3, account, registry_address=registry["address"], poll_interval=0.05)

    with HttpTransport(node.rpc_url) as transport:
        batch = issue_example_batch(tmp_path / "out", writer, chain_id=31337,
                                    reader=EvmReader(transport, chain_id=31337))
    networks = tmp_path / "networks.json"
    networks.write_text(json.dumps({"networks": [{"chain_id": 31337, "label": "devnet", "rpc_url": node.rpc_url,
                                                  "registry_address": registry["address"]}]}))
    (tmp_path / "did.json").write_text(json.dumps(batch.did_document))
    (tmp_path / "c.json").write_text(json.dumps(batch.credential(3)))
    new_wallet(tmp_path / "w")
    env = {"ANCHORCRED_WALLET": str(tmp_path / "w"), "ANCHORCRED_WALLET_PASSPHRASE": PASSPHRASE}
    configured = runner.invoke(app, ["wallet", "config", "--networks", str(networks), "--did-document",
                                     str(tmp_path / "did.json"), "--no-did-web-fetch"], env=env)
    assert configured.exit_code == 0, configured.output
    imported = runner.invoke(app, ["wallet", "import", str(tmp_path / "c.json")], env=env)
    assert imported.exit_code == 0, imported.output  # verified: the ledger is configured now
    entry_id = imported.output.split("kept as ")[1].split()[0]
    out = tmp_path / "bundle.json"
    exported = runner.invoke(app, ["wallet", "bundle", entry_id, "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    assert "1 block(s)" in exported.output and "anchorcred verify --offline" in exported.output

    unconfirmed = runner.invoke(app, ["verify", "--offline", "--networks", str(networks), str(out)])
    assert unconfirmed.exit_code == 1 and "nothing offline shows it is the issuer's" in unconfirmed.output
    confirmed = runner.invoke(app, ["verify", "--offline", "--networks", str(networks), "--did-document",
                                    str(tmp_path / "did.json"), str(out)])
    assert confirmed.exit_code == 0, confirmed.output
    assert "has the same block" in confirmed.output and "VERIFIED" in confirmed.output
    alone = runner.invoke(app, ["verify", "--offline", "--data-dir", str(tmp_path / "none"), str(out)])
    assert alone.exit_code == 1 and "no ledger node configured" in alone.output
    node.stop()  # the chain gone too: the node is configured but unreachable, so the check cannot be done
    down = runner.invoke(app, ["verify", "--offline", "--json", "--networks", str(networks), str(out)])
    [report] = json.loads(down.output)
    check = next(c for c in report["checks"] if c["id"] == "ledger_confirmation")
    assert down.exit_code == 1 and check["status"] == "indeterminate" and "could not confirm" in check["reason"]
