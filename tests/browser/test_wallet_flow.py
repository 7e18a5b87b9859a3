"""The learner's flow in a real browser: claim → store → share → verify.

The run command's stack (anvil, registry, issuer and verifier services, the example batch issued through the issuer's
API) gives a share link; the wallet's page (its own uvicorn process) is unlocked, claims the credential from that link,
shows it verified with its ECTS, QR code and links; the verification link opens the verifier's page, which says
Verified; the offline bundle downloaded from the page verifies with `anchorcred verify --offline`, its block
confirmed by the devnet.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from tests.browser.conftest import missing
from tests.deploy.serving import free_port
from tests.wallet.kit import PASSPHRASE, new_wallet

pytestmark = [pytest.mark.browser, pytest.mark.devnet, pytest.mark.slow]
WALLET = "wallet.service.app:create_app"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from issuer.ledger.devnet import ensure_anvil
    from issuer.ledger.errors import DevnetError
    from issuer.stack import Ports, Stack

    try:
        ensure_anvil()
    except DevnetError as exc:
        missing(f"anvil unavailable (needs Node 20+ and `npm ci`): {exc}")
    data = tmp_path_factory.mktemp("wallet-stack") / "data"
    ports = Ports(**{f.name: free_port() for f in dataclasses.fields(Ports)})
    running = Stack(data, ports)
    try:
        urls = running.up(say=lambda _m: None)
        issued = running.issue_example(urls, say=lambda _m: None)
        assert issued["verified"] == issued["count"], issued
        yield urls, issued, data
    finally:
        running.down(say=lambda _m: None)


@pytest.fixture(scope="module")
def wallet_url(stack, run_service, tmp_path_factory):
    urls, _issued, data = stack
    folder = tmp_path_factory.mktemp("wallet") / "w"
    wallet = new_wallet(folder)
    local = ["localhost", "127.0.0.1"]
    wallet.update_settings(verifier_url=urls["verifier"], networks_file=str(data / "networks.json"),
                           allow_http_hosts=local, allow_hosts=local)
    return run_service(WALLET, {"WALLET_DIR": str(folder)})


def test_claim_store_share_verify(stack, wallet_url, page, tmp_path):
    urls, issued, data = stack
    page.goto(wallet_url)
    page.fill("#passphrase", "not it at all")
    page.click("button:has-text('Unlock')")
    assert "wrong passphrase" in page.inner_text("main")
    page.fill("#passphrase", PASSPHRASE)
    page.click("button:has-text('Unlock')")
    page.fill("#link", issued["share_link"])  # the verifier link the issuer hands out, as the QR code holds it
    page.click("button:has-text('Claim and verify')")

    page.wait_for_selector("#verdict")
    assert page.inner_text("#verdict") == "Verified", page.inner_text("main")
    body = page.inner_text("main")
    assert "Applied Data Protection Engineering" in body and "EQF level" in body
    page.wait_for_function("() => { const i = document.querySelector('img[alt^=\"QR code\"]');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    linkedin = page.get_attribute("#linkedin", "href")
    assert linkedin.startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&")

    with page.expect_download() as download:
        page.click("button:has-text('Download an offline bundle')")
    bundle = tmp_path / "bundle.json"
    download.value.save_as(bundle)

    page.goto(wallet_url)
    assert "5 ECTS" in page.inner_text("main")  # stacked toward the M.Sc. the achievement names
    page.click("text=Applied Data Protection Engineering")
    page.click("#verification-link")
    page.wait_for_load_state()
    assert page.url.startswith(urls["verifier"])
    assert "Verdict: Verified" in page.inner_text("body")

    from anchorcred_cli import app

    import httpx

    # The employer keeps the university's DID document (here: read from its service) to confirm the bundle's own.
    did_json = tmp_path / "did.json"
    did_json.write_text(httpx.get(f"{urls['issuer']}/tenants/demo-university/did.json", timeout=30).text)
    done = CliRunner().invoke(app, ["verify", "--offline", "--json", "--networks", str(data / "networks.json"),
                                    "--did-document", str(did_json), str(bundle)])
    [report] = json.loads(done.output)
    not_passed = {c["id"]: c["reason"] for c in report["checks"] if c["status"] != "pass"}
    assert set(not_passed) <= {"issuer_trust"}, not_passed
    assert done.exit_code in (0, 1) and report["credential"]["credential_id"]


def test_the_wallet_pages_have_no_serious_or_critical_axe_violation(stack, wallet_url, browser, axe_source):
    """The unlock page, the list and a credential's page, checked by axe-core (injected past the CSP, as for the
    verifier's pages); the wallet holds the credential claimed above (module order), or claims it here."""
    from tests.browser.test_accessibility import BLOCKING, report, run_axe

    _urls, issued, _data = stack
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(wallet_url)
        found = {"unlock": run_axe(page, axe_source)}
        page.fill("#passphrase", PASSPHRASE)
        page.click("button:has-text('Unlock')")
        if "Applied Data Protection Engineering" not in page.inner_text("main"):
            page.fill("#link", issued["share_link"])
            page.click("button:has-text('Claim and verify')")
            page.goto(wallet_url)
        found["list"] = run_axe(page, axe_source)
        page.click("text=Applied Data Protection Engineering")
        page.wait_for_selector("#verdict")
        found["credential"] = run_axe(page, axe_source)
    finally:
        context.close()
    blocking = {name: [v for v in found[name] if v["impact"] in BLOCKING] for name in found}
    assert not any(blocking.values()), "\n".join(report(n, v) for n, v in blocking.items() if v)
