"""Key rotation and revocation on a real anvil devnet, through the registrar's commands: `anchorcred issue`,
`anchorcred keys rotate|revoke|show`, `anchorcred verify`. A batch slipped in with the revoked key afterwards (signed
with it, anchored by the issuer's address) is refused; batches anchored before stay valid."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from eth_account import Account
from web3 import Web3

from issuer.achievement import load_achievement
from issuer.batch import build_documents, issue_batch
from issuer.keys import read_key_file
from issuer.ledger.evm import EvmWriter
from issuer.roster import load_roster
from tests.devnet.test_issue_verify_cli import ROOT, cli, devnet_cli  # noqa: F401

pytestmark = pytest.mark.devnet
EXAMPLES = ROOT / "examples"


def test_rotate_then_revoke_the_signing_key_on_anvil(devnet_cli, tmp_path):  # noqa: F811
    port, data = devnet_cli
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join((EXAMPLES / "roster.csv").read_text("utf-8").splitlines()[:3]) + "\n", "utf-8")
    out_a, out_b, out_c = tmp_path / "a", tmp_path / "b", tmp_path / "c"

    def issue(out):
        proc = cli("issue", "--achievement", "examples/achievement.yaml", "--roster", str(roster), "--out", str(out),
                   "--devnet-port", port, data=data)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    issue(out_a)
    proc = cli("keys", "rotate", "signing", "--devnet-port", port, "--out", str(out_a), data=data)
    assert proc.returncode == 0 and "signing key 2 is now current" in proc.stdout, proc.stdout + proc.stderr
    assert proc.stdout.count("recorded:") == 2
    issue(out_b)
    compromised = read_key_file(data / "issuer" / "keys.json").identity
    proc = cli("keys", "revoke", "signing", "--devnet-port", port, "--out", str(out_b), data=data)
    assert proc.returncode == 0 and "signing key 3 is current" in proc.stdout, proc.stdout + proc.stderr
    shown = cli("keys", "show", data=data)
    assert shown.returncode == 0 and shown.stdout.count("signing") >= 3, shown.stdout

    # The thief's batch: signed with the revoked key 2, anchored afterwards from the issuer's (unchanged) address.
    networks = json.loads((data / "networks.json").read_text("utf-8"))["networks"][0]
    w3 = Web3(Web3.HTTPProvider(networks["rpc_url"]))
    thief = compromised  # its history makes it sign as #key-2
    assert thief.signing_method.endswith("#key-2")
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    docs = build_documents(achievement, load_roster(roster, achievement), issuer_did=thief.did, issued=issued)
    writer = EvmWriter(w3, Account.from_key(thief.secp256k1_secret), registry_address=networks["registry_address"])
    issue_batch(docs, identity=thief, writer=writer, ledger_label="devnet", out_dir=out_c,
                created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"))

    files = {name: sorted(out.glob("*.json")) for name, out in (("a", out_a), ("b", out_b), ("c", out_c))}
    every = [str(p) for name in "abc" for p in files[name]]
    proc = cli("verify", "--json", "--did-document", str(out_b / ".well-known" / "did.json"), *every, data=data)
    reports = json.loads(proc.stdout)
    verdicts = [r["verdict"] for r in reports]
    assert verdicts == ["verified"] * 4 + ["failed"] * 2, [
        (r["verdict"], [c["reason"] for c in r["checks"] if c["status"] != "pass"]) for r in reports]
    signature = next(c for c in reports[4]["checks"] if c["id"] == "signature")["reason"]
    assert f"{compromised.did}#key-2 was revoked" in signature and "cannot be backdated" in signature
    old = next(c for c in reports[0]["checks"] if c["id"] == "signature")["reason"]
    assert "#key-1" in old and "key retired" in old
