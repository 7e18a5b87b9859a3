"""Claim links and QR codes in, share artefacts out: each decoded or read back by an independent tool."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pypdf import PdfReader

from tests.tools import required_tool
from tests.wallet.kit import new_wallet
from verifier.fetch import FetchPolicy, GuardedFetcher
from wallet import share
from wallet.claim import credential_url, decode_qr_bytes, fetch_credential, parse_credential_bytes
from wallet.errors import ClaimError, ClaimUnavailableError, ShareError
from wallet.summary import stacks, summarize

PUBLIC = "https://issuer.example/share/AbCdEfGhIjKlMnOpQrStUv"
VERIFIER = "https://verify.example"
LINK = f"{VERIFIER}/verify/link?url=https%3A%2F%2Fissuer.example%2Fshare%2FAbCdEfGhIjKlMnOpQrStUv"
ROOT = Path(__file__).resolve().parents[2]
WHY = "to read QR codes and PDFs independently"


# ── claim links ────────────────────────────────────────────────────────────────────────────────────────────────

def test_a_verifier_share_link_is_followed_to_the_credentials_own_url():
    assert credential_url(LINK) == PUBLIC
    assert credential_url(f"  {PUBLIC}\n") == PUBLIC
    for bad, message in (("ftp://issuer.example/x", "http\\(s\\) URL"), ("", "1-4096 characters"),
                         (f"{VERIFIER}/verify/link?x=1", "url= parameter is missing"),
                         (f"{VERIFIER}/verify/link?url=javascript%3Aalert(1)", "http\\(s\\) URL")):
        with pytest.raises(ClaimError, match=message):
            credential_url(bad)


def _fetcher(handler) -> GuardedFetcher:
    # issuer.example resolves to a public address; the mock transport answers in its place.
    return GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(handler), resolver={"issuer.example": ["93.184.216.34"]})


def test_a_claim_link_is_fetched_through_the_guarded_fetcher():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["host"], request.url.path))
        return httpx.Response(200, json={"verifiableCredential": {"id": "urn:uuid:1"}},
                              headers={"content-type": "application/json"})

    url, doc = fetch_credential(LINK, _fetcher(handler))
    assert doc == {"id": "urn:uuid:1"} and url == PUBLIC and seen == [("issuer.example", "/share/AbCdEfGhIjKlMnOpQrStUv")]

    down = _fetcher(lambda r: httpx.Response(503, headers={"content-type": "application/json"}, content=b"{}"))
    with pytest.raises(ClaimUnavailableError, match="issuer.example answered HTTP 503"):
        fetch_credential(PUBLIC, down)
    html = _fetcher(lambda r: httpx.Response(200, headers={"content-type": "text/html"}, content=b"<p>"))
    with pytest.raises(ClaimError, match="not JSON"):
        fetch_credential(PUBLIC, html)
    with pytest.raises(ClaimError, match="loopback"):  # the policy's address checks hold for claim links too
        fetch_credential("https://127.0.0.1/share/x", GuardedFetcher(FetchPolicy()))


def test_a_file_that_is_not_a_credential_is_refused_with_the_reason():
    assert parse_credential_bytes(b'{"verifiableCredential": {"id": "x"}}', "f") == {"id": "x"}
    for raw, message in ((b"[1]", "a credential is a JSON object"), (b"{", "not valid JSON"),
                         (b"{\"a\": \"\xc3\x28\"}", "not UTF-8"), (b" " * (2 << 20) + b"{}", "larger than")):
        with pytest.raises(ClaimError, match=message):
            parse_credential_bytes(raw, "f")


# ── QR codes ───────────────────────────────────────────────────────────────────────────────────────────────────

def test_qr_codes_of_the_verification_link_read_back_as_claim_links():
    required_tool("zbarimg", "zbar-tools", WHY)
    assert decode_qr_bytes(share.qr_png(LINK), "qr.png") == LINK
    svg = share.qr_svg(LINK)
    assert svg.startswith(b"<?xml") and b"<title>QR code of the verification link" in svg
    assert decode_qr_bytes(svg, "qr.svg") == LINK  # drawn from its path, then read by zbar
    assert credential_url(decode_qr_bytes(svg, "qr.svg")) == PUBLIC
    with pytest.raises(ClaimError, match="no QR code found"):
        from PIL import Image

        blank = io.BytesIO()
        Image.new("L", (64, 64), 255).save(blank, format="PNG")
        decode_qr_bytes(blank.getvalue(), "blank.png")


# ── share artefacts ────────────────────────────────────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """The wallet holding the example credential issued to its holder (and the DID document it was verified with)."""
    from tests.wallet.kit import holder_batch

    tmp = tmp_path_factory.mktemp("share")
    wallet = new_wallet(tmp / "w")
    _chain, batch = holder_batch(tmp / "out", wallet)
    entry = wallet.add(batch.credential(0), source={"kind": "link", "url": PUBLIC}, report={"verdict": "verified"})
    return wallet, entry, batch


def test_the_verification_link_and_linkedin_link(kept):
    wallet, entry, batch = kept
    assert share.verification_link(VERIFIER + "/", entry.share_url) == LINK
    with pytest.raises(ShareError, match="imported from a file"):
        share.verification_link(VERIFIER, None)
    summary = summarize(entry)
    linkedin = share.linkedin_link(summary, LINK)
    parts = urlsplit(linkedin)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.linkedin.com/profile/add"
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    issued, until = batch.credential(0)["validFrom"], batch.credential(0)["validUntil"]
    assert params == {
        "startTask": "CERTIFICATION_NAME", "name": "Applied Data Protection Engineering",
        "organizationName": "Technische Universität Example", "issueYear": issued[:4],
        "issueMonth": str(int(issued[5:7])), "expirationYear": until[:4], "expirationMonth": str(int(until[5:7])),
        "certUrl": LINK, "certId": entry.credential_id}
    assert summary.learner_name not in linkedin  # the learner's own name never leaves in the link


def test_the_pdf_prints_the_facts_and_its_qr_code_scans_to_the_link(kept, tmp_path):
    _wallet, entry, _batch = kept
    summary = summarize(entry)
    pdf = share.certificate_pdf(summary, LINK)
    assert pdf == share.certificate_pdf(summary, LINK)  # the same credential gives the same bytes
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for fact in ("Applied Data Protection Engineering", "Technische Universität Example", summary.learner_name):
        assert fact in text
    for label, value in (("ECTS credits", "5"), ("EQF level", "6")):
        assert re.search(rf"{label}\s+{value}\b", text), text
    assert LINK in re.sub(r"\s+", "", text)
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run([required_tool("pdftoppm", "poppler-utils", WHY), "-r", "150", "-png", "-singlefile",
                    str(tmp_path / "c.pdf"), str(tmp_path / "page")], check=True, capture_output=True, timeout=60)
    required_tool("zbarimg", "zbar-tools", WHY)
    assert decode_qr_bytes((tmp_path / "page.png").read_bytes(), "page.png") == LINK


# ── stacking ───────────────────────────────────────────────────────────────────────────────────────────────────

def test_ects_stack_per_target_once_per_achievement_and_only_when_not_failed(kept):
    wallet, entry, batch = kept
    base = batch.credential(0)
    other = json.loads(json.dumps(base))
    other["id"] = "urn:uuid:other-achievement"
    ach = other["credentialSubject"]["achievement"]
    ach["id"], ach["creditPoint"]["point"] = "https://www.tu-example.de/micro-credentials/other", "3"
    ach.pop("creditsAvailable", None)
    other["credentialSubject"].pop("creditsEarned", None)
    twice = {**json.loads(json.dumps(base)), "id": "urn:uuid:same-achievement-again"}
    failed = json.loads(json.dumps(other))
    failed["id"], failed["credentialSubject"]["achievement"]["id"] = "urn:uuid:failed", "https://x.example/failed"
    entries = [entry,
               wallet.add(other, source={"kind": "file"}, report={"verdict": "partially_verified"}),
               wallet.add(twice, source={"kind": "file"}, report={"verdict": "verified"}),
               wallet.add(failed, source={"kind": "file"}, report={"verdict": "failed"})]
    [pile] = stacks([summarize(e) for e in entries])
    assert pile.target.id == "https://www.tu-example.de/programmes/msc-cybersecurity"
    assert pile.target.title.startswith("M.Sc. Cybersecurity")
    assert pile.credits == 8.0 and [s.entry_id for s in pile.counted] == [entries[0].id, entries[1].id]
    assert [(s.entry_id, why) for s, why in pile.not_counted] == [
        (entries[2].id, "same achievement already counted"), (entries[3].id, "failed verification")]
    for e in entries[1:]:
        wallet.remove(e.id)
