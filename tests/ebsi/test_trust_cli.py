"""``anchorcred trust …`` and the demo chain, against the EBSI-like ledger's facade served on a free local port."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from ebsi.trust_cli import app, load_party
from ebsi.trustdemo import ensure_demo_trust
from verifier.ledger.ebsi import EbsiReadClient
from verifier.trust import TrustScope, evaluate_trust
from verifier.trustregistry import EbsiTrustReader, gather_trust

UNIVERSITY = "did:web:localhost%3A8081:tenants:demo-university"
OB3 = TrustScope(frozenset({"OpenBadgeCredential"}), (), "DE")


@pytest.fixture(scope="module")
def facade():
    import uvicorn

    from ebsi.embedded import EmbeddedEbsiChain
    from ebsi.service.app import create_app
    from ebsi.service.settings import EbsiSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    chain = EmbeddedEbsiChain()
    app_ = create_app(EbsiSettings(onboarding="open", public_url=base), ledger=chain.ledger())
    server = uvicorn.Server(uvicorn.Config(app_, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the facade did not start"
        time.sleep(0.05)
    yield base, chain.admin.key
    server.should_exit = True
    thread.join(timeout=10)


def _judge(base: str, did: str, root: str, scope: TrustScope = OB3):
    reader = EbsiTrustReader(EbsiReadClient(base))
    return evaluate_trust(gather_trust(reader, did, [root]), did, scope, at=datetime.now(timezone.utc), roots=[root])


def test_the_demo_chain_is_made_once_and_accredits_the_university(facade, tmp_path):
    base, admin = facade
    first = ensure_demo_trust(base, admin_secret=admin, folder=tmp_path, university_did=UNIVERSITY)
    again = ensure_demo_trust(base, admin_secret=admin, folder=tmp_path, university_did=UNIVERSITY)
    assert again == first
    outcome = _judge(base, UNIVERSITY, first["root"])
    assert outcome.ok, outcome.reason
    assert outcome.chain() == f"{UNIVERSITY} (TI) ← {first['tao']} (TAO) ← {first['root']} (RootTAO)"
    edc = TrustScope(frozenset({"EuropeanDigitalCredential"}), (), "DE")
    assert _judge(base, UNIVERSITY, first["root"], edc).ok  # also accredited for the EBSI-profile JWTs
    for name in ("ministry.json", "agency.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_the_cli_makes_parties_accredits_and_revokes(facade, tmp_path):
    base, admin = facade
    runner = CliRunner()
    (tmp_path / "admin.key").write_text(admin.hex(), "utf-8")
    for name, alg in (("ministry", "ES256K"), ("agency", "ES256")):
        made = runner.invoke(app, ["party", name.title(), "--out", str(tmp_path / f"{name}.json"), "--alg", alg])
        assert made.exit_code == 0, made.output
        assert made.output.strip() == load_party(tmp_path / f"{name}.json")[0].did
    assert runner.invoke(app, ["party", "X", "--out", str(tmp_path / "agency.json")]).exit_code == 2  # never overwritten
    common = ["--ebsi-url", base, "--country", "DE", "--type", "VerifiableCredential", "--type", "OpenBadgeCredential"]
    steps = [
        ["accredit", "--as", "root", "--by", str(tmp_path / "ministry.json"), "--admin-key-file",
         str(tmp_path / "admin.key"), *common],
        ["accredit", "--as", "tao", "--by", str(tmp_path / "ministry.json"), "--subject", str(tmp_path / "agency.json"),
         *common],
        ["accredit", "--as", "ti", "--by", str(tmp_path / "agency.json"), "--subject-did", "did:web:college.example",
         *common],
    ]
    out = []
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        out.append(json.loads(result.output))
    assert [o["role"] for o in out] == ["RootTAO", "TAO", "TI"]
    root = out[0]["did"]
    assert _judge(base, "did:web:college.example", root).ok
    revoked = runner.invoke(app, ["revoke", "--ebsi-url", base, "--by", str(tmp_path / "ministry.json"),
                                  "--did", out[1]["did"], "--attribute", out[1]["attributeId"]])
    assert revoked.exit_code == 0, revoked.output
    assert _judge(base, "did:web:college.example", root).reason.startswith(f"revoked: {out[1]['did']}'s TAO")


def test_cli_misuse_is_one_line_with_exit_2(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["accredit", "--ebsi-url", "http://x", "--as", "king", "--by", str(tmp_path / "p.json")])
    assert bad.exit_code == 2 and "--as must be root, tao or ti" in bad.output
    missing = runner.invoke(app, ["accredit", "--ebsi-url", "http://x", "--as", "ti", "--by", str(tmp_path / "p.json")])
    assert missing.exit_code == 2 and "cannot be read" in missing.output


def test_anchorcred_verify_checks_the_issuers_accreditation_on_an_ebsi_anchored_batch(facade, tmp_path):
    """Issue on the EBSI-like ledger, accredit the issuer with the demo chain, verify with the CLI and --trust-root."""
    from anchorcred_cli import app as cli
    from tests.batchkit import EXAMPLES

    base, admin = facade
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "out"
    issued = runner.invoke(cli, ["issue", "--achievement", str(EXAMPLES / "achievement.yaml"), "--roster",
                                 str(EXAMPLES / "roster.csv"), "--out", str(out), "--ledger", "ebsi", "--ebsi-url", base,
                                 "--data-dir", str(data)])
    assert issued.exit_code == 0, issued.output
    first = sorted(out.glob("*.json"))[0]
    issuer = json.loads(first.read_text("utf-8"))["issuer"]["id"]
    # (issue --ledger ebsi records the ledger in <data>/networks.json; verify reads it from there)

    def verify(*extra: str) -> dict:
        result = runner.invoke(cli, ["verify", "--json", str(first), "--data-dir", str(data), *extra])
        return {c["id"]: c for c in json.loads(result.output)[0]["checks"]}

    untrusted = verify()
    assert untrusted["issuer_trust"]["status"] == "skipped" and untrusted["anchor"]["status"] == "pass"
    trust = ensure_demo_trust(base, admin_secret=admin, folder=tmp_path / "trust", university_did=issuer)
    checks = verify("--trust-root", trust["root"])
    assert checks["issuer_trust"]["status"] == "pass", checks["issuer_trust"]["reason"]
    assert f"{issuer} (TI) ← {trust['tao']} (TAO) ← {trust['root']} (RootTAO)" in checks["issuer_trust"]["reason"]
    other = verify("--trust-root", "did:ebsi:zSomeOtherMinistry")
    assert other["issuer_trust"]["status"] == "fail"
    assert other["issuer_trust"]["reason"].startswith("no path to a configured root")
