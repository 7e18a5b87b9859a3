"""The registrar's flow in headless Chromium, over the local stack run for real (`anchorcred stack up --no-demo`):
anvil devnet, the issuer service (SQLite) and the verifier service, each in its own process.

The registrar logs in, uploads a roster on the achievement's page (one row wrong: the preview names it and Issue is
disabled), uploads the corrected roster, issues, watches the batch page until it says delivered, downloads a PDF
certificate, and follows a share link: the verifier's page on that credential says Verified, every check green.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.browser.conftest import missing
from tests.deploy.serving import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.devnet]
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Running:
    issuer: str
    verifier: str
    password: str
    achievement_id: str
    data: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Running]:
    from issuer.ledger.devnet import ensure_anvil
    from issuer.ledger.errors import DevnetError
    from issuer.stack import Ports, Stack

    try:
        ensure_anvil()
    except DevnetError as exc:
        missing(f"anvil unavailable (needs Node 20+ and `npm ci`): {exc}")
    data = tmp_path_factory.mktemp("registrar") / "data"
    stack = Stack(data, Ports(issuer=free_port(), verifier=free_port(), devnet=free_port()))
    try:
        urls = stack.up(say=lambda *_: None)
        # The achievement comes through the API (the admin form has its own tests); the browser takes over from the
        # roster on.
        spec = yaml.safe_load((EXAMPLES / "achievement.yaml").read_text("utf-8"))
        spec["awarding_body"].pop("did", None)
        created = httpx.post(f"{urls['issuer']}/achievements", json=spec, timeout=30,
                             headers={"Authorization": f"Bearer {stack.api_key()}"})
        assert created.status_code == 201, created.text
        yield Running(urls["issuer"], urls["verifier"], (stack.folder / "admin-password").read_text().strip(),
                      created.json()["id"], data)
    finally:
        stack.down(say=lambda *_: None)


def log_in(page, stack: Running) -> None:
    page.goto(f"{stack.issuer}/admin")
    assert "/admin/login" in page.url  # the admin pages need a login
    page.get_by_label("Issuer (tenant)").fill("demo-university")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{stack.issuer}/admin")


def test_registrar_uploads_issues_downloads_and_shares(page, stack, tmp_path):
    log_in(page, stack)
    roster = (EXAMPLES / "roster.csv").read_text("utf-8").splitlines()
    bad = roster[:2] + [roster[2].replace("@", " at ", 1)] + roster[3:]  # row 3: an e-mail address without @
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n", "utf-8")
    (tmp_path / "roster.csv").write_text("\n".join(roster) + "\n", "utf-8")

    page.goto(f"{stack.issuer}/admin/achievements/{stack.achievement_id}")
    page.get_by_label(re.compile("Roster CSV file")).set_input_files(str(tmp_path / "bad.csv"))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/admin/rosters/"))
    body = page.locator("main").inner_text()
    assert "row 3" in body and "email" in body, body[:2000]
    issue = page.get_by_role("button", name=re.compile(r"^Issue \d+ credentials?"))
    assert issue.is_disabled()

    page.goto(f"{stack.issuer}/admin/achievements/{stack.achievement_id}")
    page.get_by_label(re.compile("Roster CSV file")).set_input_files(str(tmp_path / "roster.csv"))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/admin/rosters/"))
    issue = page.get_by_role("button", name=f"Issue {len(roster) - 1} credentials")
    assert issue.is_enabled()
    issue.click()
    page.wait_for_url(re.compile(r"/admin/batches/"))
    # The batch page reloads itself while the batch runs; wait for the words, not for a timer.
    page.get_by_text(re.compile(r"\bdelivered\b", re.I)).first.wait_for(timeout=120_000)
    pdf_link = page.get_by_role("link", name="PDF certificate").first
    pdf = page.request.get(pdf_link.get_attribute("href") if pdf_link.get_attribute("href").startswith("http")
                           else f"{stack.issuer}{pdf_link.get_attribute('href')}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    assert pdf.headers["content-type"].startswith("application/pdf")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download JSON").first.click()
    assert Path(download.value.path()).read_bytes().lstrip().startswith(b"{")

    share = page.get_by_role("link", name="Share link").first.get_attribute("href")
    assert share.startswith(f"{stack.verifier}/verify/link?url=")
    page.goto(share)
    assert "Verdict: Verified" in page.locator("main").inner_text()
    checks = page.locator("ol.checks > li.check")
    texts = [checks.nth(i).inner_text() for i in range(checks.count())]
    passed = [t for t in texts if t.lstrip("✔ ").startswith("Passed")]
    # Every check that ran passed (a check not configured here, e.g. accreditation, says "Skipped" and why).
    assert all(t in passed or "Skipped" in t for t in texts), texts
    for name in ("Signature by the issuer", "Merkle inclusion", "Anchor on the ledger"):
        assert any(name in t for t in passed), (name, texts)


def test_stack_files_stay_owner_only(stack):
    for name in ("secret-key", "admin-password", "api-key"):
        assert oct((stack.data / "stack" / name).stat().st_mode & 0o777) == "0o600", name
