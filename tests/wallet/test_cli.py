"""`anchorcred wallet …` end to end: init, import, list, share, present (checked by the verifier's presentation
verifier, holder binding included), and `anchorcred verify --offline` on a bundle."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from anchorcred_cli import app
from tests.wallet.kit import PASSPHRASE, EthTesterTransport, holder_batch
from verifier.presentation import PresentationVerifier
from wallet.store import Wallet

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A wallet made with the CLI, the example batch issued to its holder, its DID document trusted."""
    tmp = tmp_path_factory.mktemp("cli")
    env = {"ANCHORCRED_WALLET": str(tmp / "w"), "ANCHORCRED_WALLET_PASSPHRASE": PASSPHRASE}
    done = runner.invoke(app, ["wallet", "init", "--verifier-url", "https://verify.example"], env=env)
    assert done.exit_code == 0, done.output
    wallet = Wallet.open(tmp / "w", PASSPHRASE)
    assert wallet.holder_did in done.output
    chain, batch = holder_batch(tmp / "out", wallet)
    (tmp / "did.json").write_text(json.dumps(batch.did_document))
    for i in range(3):
        (tmp / f"c{i}.json").write_text(json.dumps(batch.credential(i)))
    assert runner.invoke(app, ["wallet", "config", "--did-document", str(tmp / "did.json"),
                               "--no-did-web-fetch"], env=env).exit_code == 0
    return tmp, env, wallet, chain, batch


def cli(env, *args):
    return runner.invoke(app, ["wallet", *args], env=env)


def imported(setup, i: int = 0):
    """The wallet's entry for credential ``i``, imported first if this worker's wallet does not hold it yet (tests
    run in any order, and spread over workers: none may count on another having imported it)."""
    tmp, env, _wallet, _chain, batch = setup
    cid = batch.credential(i)["id"]
    if not any(e.credential_id == cid for e in Wallet.open(tmp / "w", PASSPHRASE).entries()):
        done = cli(env, "import", str(tmp / f"c{i}.json"))
        assert done.exit_code in (0, 1), done.output  # 1: kept as partially verified (no ledger configured here)
    return Wallet.open(tmp / "w", PASSPHRASE).get(cid)


def test_import_keeps_the_credential_with_its_report_and_list_shows_it(setup):
    tmp, env, wallet, _chain, _batch = setup
    opened = Wallet.open(tmp / "w", PASSPHRASE)
    for entry in opened.entries():  # an earlier test on this worker may have imported it
        opened.remove(entry.id)
    done = cli(env, "import", str(tmp / "c0.json"))
    # No ledger configured: the anchor is indeterminate, the credential kept as partially verified (exit 1).
    assert done.exit_code == 1, done.output
    assert "no ledger configured" in done.output and "kept as" in done.output
    [entry] = Wallet.open(tmp / "w", PASSPHRASE).entries()
    assert entry.report["verdict"] == "partially_verified"
    assert {c["id"]: c["status"] for c in entry.report["checks"]}["signature"] == "pass"
    again = cli(env, "import", str(tmp / "c0.json"))
    assert again.exit_code == 2 and f"already in the wallet as {entry.id}" in again.output
    listed = json.loads(cli(env, "list", "--json").output)
    assert listed["holder"] == wallet.holder_did
    assert [(c["id"], c["ects"], c["eqf_level"], c["verdict"]) for c in listed["credentials"]] == \
        [(entry.id, 5.0, "6", "partially_verified")]
    assert listed["stacks"][0]["ects"] == 5.0
    shown = cli(env, "show", entry.id[:6])
    assert shown.exit_code == 0 and "Applied Data Protection Engineering" in shown.output
    bad = runner.invoke(app, ["wallet", "list"], env={**env, "ANCHORCRED_WALLET_PASSPHRASE": "wrong passphrase!"})
    assert bad.exit_code == 2 and "wrong passphrase" in bad.output and "Traceback" not in bad.output


def test_present_signs_for_the_challenge_and_the_verifier_binds_it_to_the_holder(setup):
    tmp, env, wallet, _chain, batch = setup
    entry = imported(setup)
    out = tmp / "vp.json"
    done = cli(env, "present", entry.id, "--challenge", "n-0815", "--domain", "jobs.example", "--out", str(out))
    assert done.exit_code == 0, done.output
    vp = json.loads(out.read_text())
    assert vp["holder"] == wallet.holder_did and vp["proof"]["proofPurpose"] == "authentication"
    assert vp["proof"]["verificationMethod"] == wallet.holder_method
    verifier = PresentationVerifier(batch.verifier())
    now = datetime.now(timezone.utc)
    report = verifier.verify(vp, challenge="n-0815", domain="jobs.example", now=now)
    statuses = {c.id: c.status.value for c in report.checks}
    assert statuses == {"presentation_format": "pass", "presentation_signature": "pass", "challenge": "pass",
                        "credentials": "pass", "holder_binding": "pass"}, report.to_json()
    assert report.check("holder_binding").reason.startswith(wallet.holder_did)
    # The same presentation for another request, or another verifier, fails on the challenge.
    replay = verifier.verify(vp, challenge="n-4711", domain="jobs.example", now=now)
    assert replay.check("challenge").status.value == "fail" and "n-4711" in replay.check("challenge").reason
    elsewhere = verifier.verify(vp, challenge="n-0815", domain="evil.example", now=now)
    assert elsewhere.check("challenge").status.value == "fail"
    # Changed after signing: the holder's signature fails.
    vp["verifiableCredential"][0]["credentialSubject"]["result"][0]["value"] = "1.0"
    assert verifier.verify(vp, challenge="n-0815", domain="jobs.example",
                           now=now).check("presentation_signature").status.value == "fail"


def test_present_refuses_a_credential_about_someone_else(setup):
    tmp, env, wallet, _chain, _batch = setup
    done = cli(env, "import", str(tmp / "c2.json"))
    other = Wallet.open(tmp / "w", PASSPHRASE).get(json.loads((tmp / "c2.json").read_text())["id"])
    refused = cli(env, "present", other.id, "--challenge", "c")
    assert refused.exit_code == 2, done.output + refused.output
    assert "not this wallet's holder" in refused.output and "holder binding" in refused.output


def test_share_writes_the_link_qr_and_pdf_of_a_claimed_credential(setup):
    tmp, env, wallet, _chain, batch = setup
    entry = imported(setup)
    opened = Wallet.open(tmp / "w", PASSPHRASE)
    public = "https://issuer.example/share/AbCdEfGhIjKlMnOpQrStUv"
    opened.add(entry.credential, source={"kind": "link", "url": public}, report=entry.report, replace=True)
    done = cli(env, "share", entry.id, "--qr", str(tmp / "qr.svg"), "--pdf", str(tmp / "c.pdf"), "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["verification_link"] == ("https://verify.example/verify/link?url="
                                        "https%3A%2F%2Fissuer.example%2Fshare%2FAbCdEfGhIjKlMnOpQrStUv")
    assert out["linkedin"].startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&")
    assert (tmp / "qr.svg").read_bytes().startswith(b"<?xml") and (tmp / "c.pdf").read_bytes().startswith(b"%PDF-")
    file_only = imported(setup, 2)
    refused = cli(env, "share", file_only.id)
    assert refused.exit_code == 2 and "imported from a file" in refused.output


def test_verify_offline_reads_a_bundle_and_says_what_each_check_used(setup):
    from wallet.bundle import export_bundle, write_bundle

    tmp, env, _wallet, chain, batch = setup
    chain.mine(2)
    bundle = export_bundle(batch.credential(0), transport=EthTesterTransport(chain.transport()), chain_id=chain.chain_id,
                           registry=None, did_document=(batch.did_document, "file did.json", "2026-01-01T00:00:00Z"))
    (tmp / "b.json").write_bytes(write_bundle(bundle))
    done = runner.invoke(app, ["verify", "--offline", "--data-dir", str(tmp / "nodata"), str(tmp / "b.json")])
    assert done.exit_code == 1, done.output  # no node: the block is only self-consistent (partially verified)
    for expected in ("Ledger evidence in the bundle", "Block confirmed by a ledger node", "no ledger node configured",
                     "evidence used:", "PARTIALLY VERIFIED"):
        assert expected in done.output, done.output
    as_json = runner.invoke(app, ["verify", "--offline", "--json", "--data-dir", str(tmp / "nodata"),
                                  str(tmp / "b.json")])
    [report] = json.loads(as_json.output)
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["signature"] == statuses["anchor"] == statuses["bundle_ledger"] == "pass"
    assert statuses["ledger_confirmation"] == "skipped"
    (tmp / "junk.json").write_text('{"format": "something else"}')
    junk = runner.invoke(app, ["verify", "--offline", "--data-dir", str(tmp / "nodata"), str(tmp / "junk.json")])
    assert junk.exit_code == 1 and "not an anchorcred offline bundle" in junk.output


def test_claim_from_a_qr_code_image_fetches_the_link_it_holds(setup, tmp_path):
    """The QR code on a printed certificate holds the verifier link; the wallet reads it with zbar, follows it to
    the credential's own URL (a local site here, allowed with --allow-http-host), verifies and keeps the credential."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from wallet.share import qr_png

    if shutil.which("zbarimg") is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg (Debian zbar-tools) is required under CI")
        pytest.skip("zbarimg (Debian zbar-tools) is needed to read QR codes")
    tmp, env, _wallet, _chain, batch = setup
    body = json.dumps(batch.credential(1)).encode()

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's interface
            found = self.path == "/share/AbCdEfGhIjKlMnOpQrStUv"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            self.wfile.write(body if found else b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        public = f"http://127.0.0.1:{server.server_address[1]}/share/AbCdEfGhIjKlMnOpQrStUv"
        (tmp_path / "qr.png").write_bytes(qr_png(f"https://verify.example/verify/link?url={public}"))
        refused = cli(env, "claim", str(tmp_path / "qr.png"))
        assert refused.exit_code == 2 and "not allowed" in refused.output  # http to a local address: not by default
        assert cli(env, "config", "--allow-http-host", "127.0.0.1").exit_code == 0
        done = cli(env, "claim", str(tmp_path / "qr.png"))
        assert "kept as" in done.output, done.output
        entry = Wallet.open(tmp / "w", PASSPHRASE).get(batch.credential(1)["id"])
        assert entry.source == {"kind": "qr", "url": public}
        assert {c["id"]: c["status"] for c in entry.report["checks"]}["signature"] == "pass"
    finally:
        server.shutdown()
        server.server_close()


def test_verify_offline_needs_neither_the_issuer_nor_the_service_extras(setup):
    """An employer with only the verifier installed checks a learner's bundle (the blocker of test_independence)."""
    import subprocess
    import sys

    from tests.unit.test_independence import BLOCKER, FORBIDDEN, SERVICE_ONLY
    from wallet.bundle import export_bundle, write_bundle

    tmp, _env, _wallet, chain, batch = setup
    bundle = export_bundle(batch.credential(0), transport=EthTesterTransport(chain.transport()), chain_id=chain.chain_id,
                           registry=None, did_document=(batch.did_document, "file did.json", "2026-01-01T00:00:00Z"))
    (tmp / "alone.json").write_bytes(write_bundle(bundle))
    blocked = set(FORBIDDEN) | set(SERVICE_ONLY) | {"segno", "fpdf"}
    code = BLOCKER.format(blocked=blocked, args=["verify", "--offline", "--json", "--data-dir", str(tmp / "none"),
                                                 str(tmp / "alone.json")])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    [report] = json.loads(done.stdout)
    assert done.returncode == 1 and report["verdict"] == "partially_verified"
    assert {c["id"]: c["status"] for c in report["checks"]}["signature"] == "pass"
