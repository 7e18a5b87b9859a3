"""The registrar's admin pages through FastAPI's TestClient over the embedded chain (batch runner thread running):
login, CSRF, the whole flow through the forms (achievement, roster with a renamed column and a bad row, the fixed
roster, issue, batch delivered, downloads) and tenant isolation on pages."""

from __future__ import annotations

import html
import io
import re
import time
from urllib.parse import parse_qs, quote, urlsplit

from pypdf import PdfReader

from issuer.service.admin_forms import spec_to_form
from tests.issuer_service.servicekit import ADMIN_PASSWORD, chain, example_spec, service  # noqa: F401

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BAD_CSV = ("Vorname,Nachname,E-Mail,grade\n"
           "Łukasz,Żółć,lukasz.zolc@students.example.eu,1.3\n"
           "Ana,Andromeda,not-an-email,2.0\n").encode("utf-8")
GOOD_CSV = ("Vorname,Nachname,E-Mail,grade\n"
            "Łukasz,Żółć,lukasz.zolc@students.example.eu,1.3\n"
            "Αθηνά,Παπαδοπούλου,athina@students.example.eu,2.0\n").encode("utf-8")


def csrf(page_html: str) -> str:
    m = CSRF_RE.search(page_html)
    assert m, "the page has no CSRF token field"
    return m.group(1)


def text_of(page_html: str) -> str:
    """The page's visible text, tags removed and whitespace collapsed (for assertions on what a person reads)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split()).replace(" :", ":")


def log_in(client, slug: str, password: str = ADMIN_PASSWORD, next_path: str = "/admin"):
    token = csrf(client.get("/admin/login").text)
    return client.post("/admin/login", data={"csrf_token": token, "tenant": slug, "username": "admin",
                                             "password": password, "next": next_path}, follow_redirects=False)


def create_achievement(client) -> str:
    page = client.get("/admin/achievements/new")
    assert page.status_code == 200
    form = {**spec_to_form(example_spec()), "csrf_token": csrf(page.text), "action": "save"}
    r = client.post("/admin/achievements/new", data=form, follow_redirects=False)
    assert r.status_code == 303, text_of(r.text)[:2000]
    return r.headers["location"]


def upload(client, achievement_url: str, data: bytes, name: str = "export.csv") -> str:
    token = csrf(client.get(achievement_url).text)
    r = client.post(f"{achievement_url}/rosters", data={"csrf_token": token},
                    files={"file": (name, data, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, text_of(r.text)[:2000]
    return r.headers["location"]


def wait_for_delivery(client, batch_url: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(batch_url)
        assert page.status_code == 200
        if "class=\"status status-good\"" in page.text or time.monotonic() > deadline:
            return page.text
        assert "Failed" not in text_of(page.text).split("Progress")[0], text_of(page.text)[:1500]
        time.sleep(0.2)


# ── login and CSRF ──────────────────────────────────────────────────────────────────────────────────────────────

def test_pages_need_a_login(service):  # noqa: F811
    c = service.client
    for path in ("/admin", "/admin/achievements/new", "/admin/batches/x", "/admin/rosters/x", "/admin/achievements/x"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/admin/login?next={path}"
    page = c.get("/admin/login")
    assert '<html lang="en">' in page.text and '<label for="f-password">' in page.text
    assert "<script" not in page.text


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(service):  # noqa: F811
    c = service.client
    r = log_in(c, service.a.slug, password="not the password at all")
    assert r.status_code == 401
    assert "Not logged in: the issuer, username or password is wrong." in text_of(r.text)
    assert c.get("/admin", follow_redirects=False).status_code == 303
    r = log_in(c, "no-such-tenant")
    assert r.status_code == 401
    r = log_in(c, service.a.slug, next_path="/admin/achievements/new")
    assert (r.status_code, r.headers["location"]) == (303, "/admin/achievements/new")
    page = c.get("/admin")
    assert page.status_code == 200 and "Universität A" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_login_never_redirects_off_site(service):  # noqa: F811
    for target in ("//evil.example/admin", "https://evil.example/", "/admin\\@evil.example", "/elsewhere"):
        service.client.cookies.clear()
        r = log_in(service.client, service.a.slug, next_path=target)
        assert (r.status_code, r.headers["location"]) == (303, "/admin"), target


def test_forms_without_the_csrf_token_are_refused(service):  # noqa: F811
    c = service.client
    c.get("/admin/login")
    r = c.post("/admin/login", data={"tenant": service.a.slug, "username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text
    assert log_in(c, service.a.slug).status_code == 303
    form = {**spec_to_form(example_spec()), "action": "save"}
    for token in (None, "forged-token"):
        data = form if token is None else {**form, "csrf_token": token}
        r = c.post("/admin/achievements/new", data=data, follow_redirects=False)
        assert r.status_code == 403, token
    assert "No achievements yet." in c.get("/admin").text  # nothing was created
    assert c.post("/admin/logout", follow_redirects=False).status_code == 403
    assert c.get("/admin", follow_redirects=False).status_code == 200  # still logged in


def test_logout_ends_the_session(service):  # noqa: F811
    c = service.client
    log_in(c, service.a.slug)
    token = csrf(c.get("/admin").text)
    r = c.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/admin/login")
    assert c.get("/admin", follow_redirects=False).status_code == 303


# ── the achievement form ────────────────────────────────────────────────────────────────────────────────────────

def test_achievement_form_covers_the_16_eu_elements_and_shows_problems_beside_fields(service):  # noqa: F811
    c = service.client
    log_in(c, service.a.slug)
    page = c.get("/admin/achievements/new").text
    legends = re.findall(r"<legend>(\d+)\. ", page)
    assert legends == [str(n) for n in range(1, 17)]
    for name in ("awarding_body.country_code", "ects", "eqf_level", "learning_outcomes[0].esco", "participation",
                 "assessment.type", "quality_assurance.agent.id", "assessment.supervision", "grading.allowed_grades",
                 "stackability.programmes[0].id", "further_information_url"):
        assert f'name="{name}"' in page, name
    assert 'value="Universität A"' in page  # the awarding body's name comes from the tenant

    form = {**spec_to_form(example_spec()), "csrf_token": csrf(page), "action": "save",
            "ects": "five", "title": "", "learning_outcomes[1].esco": "http://example.org/not-esco"}
    r = c.post("/admin/achievements/new", data=form)
    assert r.status_code == 422
    body = r.text
    assert "The achievement was not saved: 3 problems" in text_of(body)
    ects_field = body[body.index('<label for="f-ects">'):body.index('id="f-ects"')]
    assert "Problem:</strong> expected a positive number of ECTS credits, got &#39;five&#39;" in ects_field
    assert 'value="five"' in body and 'aria-invalid="true"' in body  # the form keeps what was typed
    assert "required field is missing" in body[body.index('<label for="f-title">'):body.index('id="f-title"')]
    esco = body[body.index('<label for="f-learning_outcomes-1-esco">'):body.index('id="f-learning_outcomes-1-esco"')]
    assert "an ESCO skill IRI" in esco
    assert 'value="Applied Data Protection Engineering"' not in body  # the emptied title stays empty
    assert 'value="Guide a development team' in body  # other outcomes kept

    more = c.post("/admin/achievements/new", data={**form, "action": "more"})
    assert more.status_code == 200 and 'name="learning_outcomes[5].text"' in more.text
    assert "not saved" not in more.text


# ── the whole flow ──────────────────────────────────────────────────────────────────────────────────────────────

def test_registrar_flow_through_the_pages(service):  # noqa: F811
    c = service.client
    assert log_in(c, service.a.slug).status_code == 303
    achievement_url = create_achievement(c)
    page = c.get(achievement_url).text
    assert "Applied Data Protection Engineering" in page and "EQF level" in page

    # A roster with renamed columns (guessed: Vorname -> given_name ...) and a bad e-mail in row 3.
    roster_url = upload(c, achievement_url, BAD_CSV)
    page = c.get(roster_url).text
    assert '<option value="Vorname" selected>' in page.split('name="map.given_name"')[1].split("</select>")[0]
    assert '<option value="E-Mail" selected>' in page.split('name="map.email"')[1].split("</select>")[0]
    assert "1 problem: nothing can be issued" in text_of(page)
    assert "row 3: email must be an e-mail address, got 'not-an-email'" in text_of(page)
    bad_row = re.search(r'<tr class="bad">\s*<th scope="row">(\d+)</th>', page)
    assert bad_row and bad_row.group(1) == "3"
    assert re.search(r"<button type=\"submit\" disabled aria-describedby=\"issue-reason\">Issue 2 credentials", page)
    assert "Issuing is not possible while the roster has problems" in page
    r = c.post(f"{roster_url}/issue", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 409 and "problem(s)" in text_of(r.text)  # the server refuses too

    # The fixed roster: no problems, issue, follow the batch to delivery.
    roster_url = upload(c, achievement_url, GOOD_CSV, "fixed.csv")
    page = c.get(roster_url).text
    assert "No problems: every row is valid." in text_of(page)
    assert "Αθηνά" in page
    runner = service.app.state.runner
    runner.stop()  # hold the batch at "queued" to see the running page
    r = c.post(f"{roster_url}/issue", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/batches/")
    batch_url = r.headers["location"]
    running = c.get(batch_url).text
    assert '<meta http-equiv="refresh" content="3">' in running, "a running batch page reloads itself"
    assert "Queued: waiting to be signed" in text_of(running)
    assert "Credentials signed waiting" not in text_of(running) and "0 of 2 credentials" in text_of(running)
    assert "Stop reloading" in running
    still = c.get(batch_url, params={"reload": "off"}).text
    assert 'http-equiv="refresh"' not in still and "Automatic reloading is off" in text_of(still)
    assert '<meta http-equiv="refresh" content="3">' in c.get("/admin").text
    runner.start()
    page = wait_for_delivery(c, batch_url)
    words = text_of(page)
    assert "Delivered: all 2 credentials anchored and ready to hand out" in words
    assert "Anchor confirmed done 1 of 1 confirmation" in words
    assert 'http-equiv="refresh"' not in page  # a finished batch stops reloading
    assert "Łukasz Żółć" in words and "Αθηνά Παπαδοπούλου" in words

    # Downloads and sharing.
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>(Download JSON|Share link|QR SVG|QR PNG|PDF certificate)</a>',
                            page)[:5])
    by_label = {label: html.unescape(href) for href, label in links.items()}
    assert set(by_label) == {"Download JSON", "Share link", "QR SVG", "QR PNG", "PDF certificate"}
    credential = c.get(by_label["Download JSON"])
    assert credential.status_code == 200 and "attachment" in credential.headers["content-disposition"]
    document = credential.json()
    assert [p["cryptosuite"] for p in document["proof"]] == ["eddsa-rdfc-2022", "merkle-proof-2019"]
    token = by_label["QR SVG"].split("/")[2]
    share = urlsplit(by_label["Share link"])
    assert (share.scheme, share.netloc, share.path) == ("http", "localhost:8080", "/verify/link")
    assert share.query == "url=" + quote(f"http://localhost:8081/share/{token}", safe="")
    assert parse_qs(share.query)["url"] == [f"http://localhost:8081/share/{token}"]
    assert c.get(f"/share/{token}").json()["id"] == document["id"]
    svg = c.get(by_label["QR SVG"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    png = c.get(by_label["QR PNG"])
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = c.get(by_label["PDF certificate"])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    pdf_text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Łukasz Żółć" in pdf_text and "Applied Data Protection Engineering" in pdf_text

    dashboard = text_of(c.get("/admin").text)
    assert "Applied Data Protection Engineering Delivered 2 delivered" in dashboard


def test_column_mapping_chosen_on_the_page(service):  # noqa: F811
    c = service.client
    log_in(c, service.a.slug)
    achievement_url = create_achievement(c)
    csv_text = b"Student forename,Nachname,E-Mail\nAna,Andromeda,ana@students.example.eu\n"
    roster_url = upload(c, achievement_url, csv_text)
    page = c.get(roster_url).text
    assert "missing required column(s) given_name" in text_of(page)
    assert "unknown column(s) 'student forename'" in text_of(page)
    token = csrf(page)
    mapping = {"csrf_token": token, "map.given_name": "Student forename", "map.family_name": "Nachname",
               "map.email": "E-Mail"}
    r = c.post(f"{roster_url}/mapping", data=mapping, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(roster_url).text
    assert "No problems: every row is valid." in text_of(page)
    assert '<option value="Student forename" selected>' in page.split('name="map.given_name"')[1].split("</select>")[0]
    bad = {**mapping, "map.family_name": "E-Mail"}  # one of their columns for two of ours
    r = c.post(f"{roster_url}/mapping", data=bad)
    assert r.status_code == 422 and "is mapped to more than one of our columns" in text_of(r.text)


# ── tenant isolation ────────────────────────────────────────────────────────────────────────────────────────────

def test_an_admin_of_tenant_a_cannot_open_tenant_bs_pages(service):  # noqa: F811
    c = service.client
    log_in(c, service.b.slug)
    achievement_url = create_achievement(c)
    roster_url = upload(c, achievement_url, GOOD_CSV)
    token = csrf(c.get(roster_url).text)
    batch_url = c.post(f"{roster_url}/issue", data={"csrf_token": token}, follow_redirects=False).headers["location"]
    assert c.get(batch_url).status_code == 200  # B sees its own batch

    c.cookies.clear()
    log_in(c, service.a.slug)
    token = csrf(c.get("/admin").text)
    for path in (batch_url, f"{batch_url}/credentials/0.json", roster_url, achievement_url):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "There is no" in r.text and "Université B" not in r.text, path
    for path, data in ((f"{roster_url}/issue", {}), (f"{roster_url}/mapping", {"map.email": "E-Mail"})):
        assert c.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    r = c.post(f"{achievement_url}/rosters", data={"csrf_token": token}, files={"file": ("r.csv", GOOD_CSV)})
    assert r.status_code == 404
    assert batch_url.split("/")[-1] not in c.get("/admin").text


def test_a_credential_position_beyond_any_integer_column_is_not_found_not_a_server_error(service):  # noqa: F811
    c = service.client
    log_in(c, service.a.slug)
    for position in ("99999999999999999999", "-99999999999999999999"):
        r = c.get(f"/admin/batches/0b5e3b6c-6f8e-4bb4-9c50-0e9a3f2d9a11/credentials/{position}.json")
        assert r.status_code in (404, 422), (position, r.status_code, r.text[:300])


def test_failed_logins_are_throttled_per_account_and_the_right_password_waits_too(service):  # noqa: F811
    c = service.client
    limit = service.client.app.state.settings.login_max_failures
    for _ in range(limit):
        assert log_in(c, service.a.slug, password="guess").status_code == 401
    # Past the limit even the right password is refused until the window passes: guessing costs time.
    r = log_in(c, service.a.slug)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "too many failed logins" in text_of(r.text)
    # Another account (tenant B's admin) is not locked out by A's failures.
    assert log_in(c, service.b.slug).status_code == 303
    # The window passes (the throttle's clock moved on): A logs in, and the count starts again.
    throttle = service.client.app.state.login_throttle
    later = time.monotonic() + throttle.window + 1
    throttle._clock = lambda: later
    assert log_in(c, service.a.slug).status_code == 303


def test_the_throttle_counts_failures_per_client_address_too():
    from issuer.service.auth import LoginThrottle

    now = [0.0]
    t = LoginThrottle(per_account=5, per_client=3, window=60, clock=lambda: now[0])
    for user in ("u1", "u2", "u3"):  # one failure each on three accounts from one address
        assert t.retry_after(("a", user), "10.0.0.1") is None
        t.failed(("a", user), "10.0.0.1")
    assert t.retry_after(("a", "u4"), "10.0.0.1") == 61  # the address is over its limit, whatever the account
    assert t.retry_after(("a", "u4"), "10.0.0.2") is None  # another address is not
    now[0] = 61.0
    assert t.retry_after(("a", "u4"), "10.0.0.1") is None
