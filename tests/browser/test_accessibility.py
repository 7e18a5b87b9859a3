"""Accessibility of the verifier's pages: axe-core (npm, pinned in package.json) run in headless Chromium.

The pages forbid scripts (Content-Security-Policy ``default-src 'none'``), so axe is injected into a browser context
that bypasses the CSP; the pages themselves are unchanged. No ``serious`` or ``critical`` violation is allowed; every
violation found, of any impact, is printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")


@pytest.fixture
def axe_page(browser, axe_source) -> Iterator:
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def run_axe(page, axe_source) -> list[dict]:
    page.add_script_tag(path=str(axe_source))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core"
    assert result["passes"] or result["violations"], "axe checked nothing"
    return result["violations"]


def report(where: str, violations: list[dict]) -> str:
    lines = [f"{where}: {len(violations)} axe violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"      {json.dumps(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


def pages(verifier_url, site) -> dict[str, str]:
    link = f"{verifier_url}/verify/link?url="
    return {
        "index": f"{verifier_url}/",
        "results, verified": link + quote(site.good, safe=""),
        "results, failed": link + quote(site.tampered, safe=""),
        "index, refused link": link + quote(site.good.replace("127.0.0.1", "localhost"), safe=""),
    }


@pytest.mark.parametrize("name", ["index", "results, verified", "results, failed", "index, refused link"])
def test_no_serious_or_critical_axe_violation(axe_page, axe_source, verifier_url, credential_site, name):
    axe_page.goto(pages(verifier_url, credential_site)[name])
    expected_heading = "Verification results" if name.startswith("results") else "Verify a micro-credential"
    assert axe_page.locator("h1").inner_text() == expected_heading  # axe judged the page meant, not an error page
    violations = run_axe(axe_page, axe_source)
    if violations:
        print(report(name, violations))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, report(name, blocking)


def test_axe_finds_a_violation_when_there_is_one(axe_page, axe_source, verifier_url):
    """The check can fail: an unlabelled field and grey-on-grey text on the real index page are reported."""
    axe_page.goto(verifier_url + "/")
    axe_page.evaluate("""() => {
        document.querySelector('label[for=credential]').remove();
        document.querySelector('main p').style.cssText = 'color: #bbb; background: #ccc';
    }""")
    found = {v["id"]: v["impact"] for v in run_axe(axe_page, axe_source)}
    assert found.get("label") == "critical" and found.get("color-contrast") == "serious", found
