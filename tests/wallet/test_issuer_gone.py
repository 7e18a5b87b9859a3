"""A learner's proof outlives the university's website.

The issuer service (in process, SQLite, embedded chain) issues a credential to the wallet's did:key through the
VC-API; the wallet claims it from its share link (fetched through the guarded fetcher, the issuer's did:web fetched
the same way), keeps it, and exports an offline bundle. Then the service is stopped and its data folder deleted:
`anchorcred verify --offline` still checks everything from the bundle alone, and a ledger node (the chain outlives
the university) confirms the block.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
import uuid
from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from anchorcred_cli import app as cli_app
from issuer.achievement import parse_achievement
from issuer.batch import issuer_profile
from issuer.credential import build_credential
from issuer.roster import Learner
from tests.issuer_service.servicekit import example_spec, settings_for, start_service
from tests.wallet.kit import EthTesterTransport, new_wallet
from verifier.fetch import FetchPolicy, GuardedFetcher
from verifier.ledger.evm import CachingReader, LedgerRouter
from wallet.bundle import write_bundle
from wallet.claim import fetch_credential
from wallet.exporting import bundle_entry
from wallet.intake import keep_credential
from wallet.offline import NodeConfirmer, verify_bundle
from wallet.verifying import WalletConfig, WalletVerifier

pytestmark = pytest.mark.slow
DELIVERY_TIMEOUT = 60.0


def _credential_for(tenant_did: str, holder: str) -> dict:
    spec = example_spec()
    spec["awarding_body"]["did"] = tenant_did
    achievement = parse_achievement(spec)
    learner = Learner(row=2, given_name="Ana", family_name="Andromeda", email="ana@example.org", learner_did=holder,
                      grade="1.3", ects=5.0, completion_date=date(2025, 6, 30))
    return build_credential(achievement, learner, issuer=issuer_profile(achievement, tenant_did),
                            issued=datetime.now(timezone.utc).replace(microsecond=0),
                            credential_id=f"urn:uuid:{uuid.uuid4()}", salt=secrets.token_hex(16))


def _delivered(client, tenant, credential_id: str) -> str:
    """The share URL of the credential once its batch is delivered (both proofs)."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        latest = client.get(f"/credentials/{credential_id}", headers=tenant.auth()).json()
        proofs = latest.get("proof") if isinstance(latest, dict) else None
        if isinstance(proofs, list) and len(proofs) == 2:
            for batch in client.get("/batches", headers=tenant.auth()).json()["items"]:
                items = client.get(f"/batches/{batch['id']}/credentials", headers=tenant.auth()).json()["items"]
                for item in items:
                    if item["id"] == credential_id:
                        return item["share_url"]
        time.sleep(0.1)
    raise AssertionError(f"credential {credential_id} not delivered within {DELIVERY_TIMEOUT:.0f} s")


def _published(client, tenant, credential_id: str) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        state = client.get(f"/credentials/{credential_id}/status", headers=tenant.auth()).json()
        if state.get("published"):
            return
        time.sleep(0.1)
    raise AssertionError(f"the status change of {credential_id} not published within {DELIVERY_TIMEOUT:.0f} s")


def _statuses(report: dict) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["status"], c["reason"]) for c in report["checks"]}


def test_a_bundle_verifies_after_the_issuer_service_is_stopped_and_its_files_removed(tmp_path):
    from issuer.ledger.embedded import EmbeddedChain

    chain = EmbeddedChain()
    wallet = new_wallet(tmp_path / "wallet")
    data = tmp_path / "issuer"
    running = start_service(settings_for(data), chain)
    service = next(running)
    client, tenant = service.client, service.a
    ids = []
    for _ in range(2):  # one to keep, one the university revokes before the learner exports it
        issued = client.post("/credentials/issue", headers=tenant.auth("issue"),
                             json={"credential": _credential_for(tenant.did, wallet.holder_did)})
        assert issued.status_code == 201, issued.text
        ids.append(issued.json()["verifiableCredential"]["id"])
    share_urls = [_delivered(client, tenant, cid) for cid in ids]
    assert all(u.startswith("http://localhost:8081/share/") for u in share_urls)

    # The wallet claims from the share link: the request goes into the app (its transport), under the wallet's
    # fetch policy (http and a local address allowed for localhost only, as `wallet config --allow-http-host` does).
    fetcher = GuardedFetcher(FetchPolicy(allow_http_hosts=frozenset({"localhost"}), allow_hosts=frozenset({"localhost"})),
                             transport=client._transport, resolver={"localhost": ["127.0.0.1"]})
    ledger = CachingReader(LedgerRouter({chain.chain_id: chain.reader()}))
    config = WalletConfig(allow_http_hosts=frozenset({"localhost"}), allow_hosts=frozenset({"localhost"}))
    with WalletVerifier(config, fetcher=fetcher, ledger=ledger) as wv:
        entries = []
        for share_url in share_urls:
            url, credential = fetch_credential(share_url, wv.fetcher)
            entry, report = keep_credential(wallet, wv, credential, source={"kind": "link", "url": url}, replace=True)
            failing = {c.id: c.reason for c in report.checks if c.status.value in ("fail", "indeterminate")}
            assert not failing, failing
            entries.append(entry)
        assert entries[0].evidence["issuer_did_source"].startswith("fetched from http://localhost:8081/tenants/uni-a/")
        assert len(entries[0].evidence["status_lists"]) == 2  # revocation and suspension lists, as first seen
    revoked = client.post(f"/credentials/{ids[1]}/revoke", headers=tenant.auth("revoke"),
                          json={"reason": "awarded in error"})
    assert revoked.status_code == 202, revoked.text
    _published(client, tenant, ids[1])
    chain.mine(2)
    with WalletVerifier(config, fetcher=fetcher, ledger=ledger) as wv:
        bundles = [bundle_entry(e, wv, transport=EthTesterTransport(chain.transport()), chain_id=chain.chain_id,
                                registry=None) for e in entries]

    # The university's service goes away, and so does everything it kept.
    with pytest.raises(StopIteration):
        next(running)
    shutil.rmtree(data)
    assert not data.exists()

    paths = [tmp_path / "kept.json", tmp_path / "revoked.json"]
    for path, bundle in zip(paths, bundles):
        path.write_bytes(write_bundle(bundle))
    done = CliRunner().invoke(cli_app, ["verify", "--offline", "--json", "--data-dir", str(tmp_path / "none"),
                                        *map(str, paths)])
    kept, gone = json.loads(done.output)
    statuses = _statuses(kept)
    not_passed = {k: v for k, v in statuses.items() if v[0] != "pass"}
    # Offline, the node's confirmation is missing, and nothing confirms that the DID document the bundle carries is
    # the issuer's (and the accreditation, which nobody asked for, is not checked).
    assert set(not_passed) == {"ledger_confirmation", "issuer_trust", "bundle_issuer"}, not_passed
    assert statuses["ledger_confirmation"][0] == "skipped"
    assert statuses["bundle_issuer"][0] == "indeterminate" and "--did-document" in statuses["bundle_issuer"][1]
    assert "the bundle's DID document, fetched from http://localhost:8081" in statuses["signature"][1]
    assert "not revoked, not suspended" in statuses["status"][1]
    assert kept["verdict"] == "partially_verified"
    # The revocation published before the export is in the bundle: the credential fails offline, with the reason.
    assert _statuses(gone)["status"][0] == "fail" and "revoked" in _statuses(gone)["status"][1]
    assert gone["verdict"] == "failed" and done.exit_code == 1
    status_evidence = [e["evidence"] for e in kept["evidence"] if e["check"] == "status"]
    assert len(status_evidence) == 2 and all("fetched from http://localhost:8081" in e for e in status_evidence)

    node = NodeConfirmer(EthTesterTransport(chain.transport()), chain_id=chain.chain_id, where="the chain")
    confirmed = verify_bundle(json.loads(paths[0].read_text()), node=node)
    assert {c.id for c in confirmed.checks if c.status.value != "pass"} == {"issuer_trust", "bundle_issuer"}, \
        confirmed.to_json()
    # An employer holding the university's DID document (kept from before it went away) confirms the bundle's.
    kept_bundle = json.loads(paths[0].read_text())
    copy = (kept_bundle["issuer"]["document"], "the employer's copy")
    trusted = verify_bundle(kept_bundle, node=node, trusted_documents={kept_bundle["issuer"]["document"]["id"]: copy})
    assert {c.id for c in trusted.checks if c.status.value != "pass"} == {"issuer_trust"}, trusted.to_json()

    # Tampering with the status evidence: the list snapshot, or the registry's record of its digest.
    snapshot = json.loads(paths[1].read_text())
    item = next(i for i in snapshot["status"] if "revocation" in json.dumps(i["list_credential"]["credentialSubject"]))
    item["list_credential"] = entries[1].evidence["status_lists"][item["url"]]["document"]  # as claimed: v1
    older = _statuses(verify_bundle(snapshot).to_json())["status"]  # the list as it was before the revocation
    assert older[0] != "pass" and "rolled back" in older[1], older
    edited = json.loads(paths[0].read_text())
    edited["status"][0]["list_credential"]["credentialSubject"]["encodedList"] += "A"
    changed = _statuses(verify_bundle(edited).to_json())["status"]
    assert changed[0] != "pass", changed
    digest = json.loads(paths[0].read_text())
    publication = digest["status"][0]["publications"][-1]
    block = digest["ledger"]["blocks"][publication["block"]]
    receipt = bytearray(bytes.fromhex(block["receipts"][publication["index"]][2:]))
    receipt[-70] ^= 1  # inside the StatusPublished event's digest
    block["receipts"][publication["index"]] = "0x" + receipt.hex()
    report = _statuses(verify_bundle(digest).to_json())
    assert report["bundle_ledger"][0] == "fail" and "receiptsRoot" in report["bundle_ledger"][1]
    assert report["status"][0] != "pass", report["status"]
