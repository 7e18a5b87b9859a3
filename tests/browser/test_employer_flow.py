"""The employer's flow in headless Chromium, against the verifier service run for real over an anvil-anchored batch.

A share link opens the report: every check green, the verdict "Verified", the anchor of the real transaction. A
tampered credential shows a red failed check whose reason is on the page. A pasted credential is verified too.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

SIGNATURE_REASON = "signature does not verify"


def rgb(page, selector_or_locator) -> tuple[int, int, int]:
    locator = page.locator(selector_or_locator) if isinstance(selector_or_locator, str) else selector_or_locator
    color = locator.evaluate("el => getComputedStyle(el).color")
    r, g, b = (int(v) for v in re.findall(r"\d+", color)[:3])
    return r, g, b


def is_green(color: tuple[int, int, int]) -> bool:
    r, g, b = color
    return g > r + 40 and g > b + 40


def is_red(color: tuple[int, int, int]) -> bool:
    r, g, b = color
    return r > g + 80 and r > b + 80


NOT_ASKED = ("Issuer accreditation", "Status")  # skipped when not configured / no status entry: they do not count


def assert_all_checks_green(page) -> None:
    checks = page.locator("ol.checks > li.check")
    assert checks.count() >= 6  # format, signature, integrity, inclusion, anchor, validity at least
    for i in range(checks.count()):
        check = checks.nth(i)
        assert check.is_visible()
        text = check.inner_text()
        if "check-skipped" in (check.get_attribute("class") or "") and any(n in text for n in NOT_ASKED):
            continue
        assert "check-pass" in (check.get_attribute("class") or ""), text
        assert check.locator(".status").inner_text() == "Passed:", text
        assert is_green(rgb(page, check.locator(".status"))), text
        assert check.locator(".reason").inner_text().strip(" —"), f"a passed check says why, too: {text}"


def open_link(page, verifier_url: str, link: str) -> None:
    response = page.goto(f"{verifier_url}/verify/link?url={quote(link, safe='')}")
    assert response is not None and response.status == 200, response and response.text()


def test_a_share_link_shows_every_check_green_and_verified(page, verifier_url, credential_site, anchored):
    open_link(page, verifier_url, credential_site.good)
    assert page.title().startswith("Verification results")
    assert page.locator(".summary").inner_text().startswith("1 credential: 1 verified, 0 partially verified, 0 failed")
    verdict = page.locator(".verdict")
    assert verdict.inner_text().startswith("Verdict: Verified")
    assert "verdict-verified" in verdict.get_attribute("class")
    assert page.locator(".report h2").inner_text() == credential_site.good  # the source is the link followed
    assert_all_checks_green(page)
    # The anchor shown is the real transaction of the batch on the devnet.
    receipt = anchored.batch.result.receipt
    facts = page.locator("dl.facts").first.inner_text()
    assert receipt.tx_hash in facts and str(receipt.block_number) in facts and "devnet" in facts
    assert anchored.batch.identity.did in page.locator("article.report").inner_text()


def test_a_tampered_credential_shows_the_red_check_and_its_reason(page, verifier_url, credential_site):
    open_link(page, verifier_url, credential_site.tampered)
    verdict = page.locator(".verdict")
    assert verdict.inner_text().startswith("Verdict: Failed")
    assert "verdict-failed" in verdict.get_attribute("class")
    failed = page.locator("li.check-fail")
    assert failed.count() >= 1
    signature = failed.filter(has_text=SIGNATURE_REASON)
    assert signature.count() == 1, failed.all_inner_texts()
    assert signature.is_visible()
    assert signature.locator(".status").inner_text() == "Failed:"
    assert is_red(rgb(page, signature.locator(".status")))
    reason = signature.locator(".reason")
    assert reason.is_visible() and SIGNATURE_REASON in reason.inner_text()
    # Nothing failed is shown green.
    assert not any(is_green(rgb(page, failed.nth(i).locator(".status"))) for i in range(failed.count()))


def test_the_link_form_on_the_page_opens_the_report(page, verifier_url, credential_site):
    page.goto(verifier_url + "/")
    page.get_by_label("Link to a credential (https)").fill(credential_site.good)
    page.get_by_role("button", name="Verify the link").click()
    page.wait_for_url(re.compile(r"/verify/link\?url="))
    assert page.locator(".verdict").inner_text().startswith("Verdict: Verified")


def test_a_pasted_credential_is_verified(page, verifier_url, credential_site):
    page.goto(verifier_url + "/")
    page.get_by_label("Credential (JSON)").fill(json.dumps(credential_site.good_document, indent=2))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_url(verifier_url + "/verify")
    assert page.locator(".verdict").inner_text().startswith("Verdict: Verified")
    assert_all_checks_green(page)
    assert credential_site.good_document["id"] in page.locator(".credential-id").inner_text()


def test_a_refused_link_is_explained_on_the_page(page, verifier_url, credential_site):
    """A link the guard refuses (here: http to a host not allowed) gets a visible, announced message, no report."""
    refused = credential_site.good.replace("127.0.0.1", "localhost")
    page.goto(f"{verifier_url}/verify/link?url={quote(refused, safe='')}")
    alert = page.get_by_role("alert")
    assert alert.is_visible() and "http is not allowed" in alert.inner_text()
    assert page.locator(".verdict").count() == 0
    assert page.get_by_label("Link to a credential (https)").input_value() == refused
