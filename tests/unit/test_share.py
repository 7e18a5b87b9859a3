"""Share link, QR codes and the PDF certificate (issuer/share.py).

The QR codes are decoded by an independent reader, zbar (Debian ``zbar-tools``): the PNG directly, the SVG after
rasterising its path (with the wallet's reader of segno SVGs, ``wallet.claim.rasterise_svg``), the PDF's vector code
after rendering the page with poppler (``poppler-utils``). Without those tools the tests skip with the reason; under
CI they fail.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader

from issuer.achievement import load_achievement
from issuer.credential import IssuerProfile, build_credential
from issuer.roster import Learner
from issuer.share import (MAX_LINK_LENGTH, QUIET_ZONE, certificate_facts, certificate_pdf, qr_png, qr_svg, share_link,
                          share_url)
from tests.tools import required_tool
from wallet.claim import rasterise_svg

ROOT = Path(__file__).resolve().parents[2]
WHY = "to decode QR codes independently"
TOKEN = "k3J9x_Qp-7vLm2Zr8TfW1aYcDe5GhUiOsNbVq0XyZ4A"
LINK = share_link("http://localhost:8080", "http://localhost:8081", TOKEN)
ISSUED = datetime(2025, 7, 1, 9, 30, tzinfo=timezone.utc)


def _zbar(png: bytes, tmp_path: Path) -> list[str]:
    """The QR codes zbarimg finds in a PNG image (one per line)."""
    image = tmp_path / "code.png"
    image.write_bytes(png)
    zbar = required_tool("zbarimg", "zbar-tools", WHY)
    done = subprocess.run([zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)], capture_output=True,
                          timeout=30, check=False)
    assert done.returncode == 0, f"zbarimg found no QR code: {done.stderr.decode(errors='replace')[-300:]}"
    return done.stdout.decode("utf-8").splitlines()


def _credential(given: str, family: str) -> dict:
    achievement = load_achievement(ROOT / "examples" / "achievement.yaml")
    learner = Learner(row=2, given_name=given, family_name=family, email="learner@students.example.eu",
                      learner_did=None, grade="1.3", ects=5.0, completion_date=date(2025, 6, 20))
    issuer = IssuerProfile(id="did:web:localhost%3A8081:tenants:tu-example", name="Technische Universität Example",
                           url="https://www.tu-example.de/", country_code="DE", locality="München")
    return build_credential(achievement, learner, issuer=issuer, issued=ISSUED,
                            credential_id="urn:uuid:0b7c1a52-4d1e-4c4f-9a53-6f0d2b8e9c11", salt="c2FsdA")


# --- share link ------------------------------------------------------------------------------------------------


def test_share_link_opens_the_verifier_on_the_percent_encoded_share_url():
    link = share_link("https://verify.example.eu/", "https://issuer.example.eu/", TOKEN)
    assert link.startswith("https://verify.example.eu/verify/link?url=https%3A%2F%2Fissuer.example.eu%2Fshare%2F")
    parts = urlsplit(link)
    assert parse_qs(parts.query) == {"url": [f"https://issuer.example.eu/share/{TOKEN}"]}
    assert share_url("https://issuer.example.eu", TOKEN) == f"https://issuer.example.eu/share/{TOKEN}"


@pytest.mark.parametrize("token", ["short", "x" * 65, "abc/def" * 4, "a b" * 8, ""])
def test_share_link_refuses_a_malformed_token(token):
    with pytest.raises(ValueError, match="share token"):
        share_link("https://v.example", "https://i.example", token)


def test_share_link_refuses_non_http_urls():
    with pytest.raises(ValueError, match="verifier URL"):
        share_link("javascript:alert(1)", "https://i.example", TOKEN)
    with pytest.raises(ValueError, match="public URL"):
        share_link("https://v.example", "ftp://i.example", TOKEN)


# --- QR codes --------------------------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _modules(image: Image.Image, scale: int) -> list[list[bool]]:
    """The image read back as modules (dark = True), sampling each module's centre."""
    gray = image.convert("L")
    n = gray.width // scale
    return [[gray.getpixel((c * scale + scale // 2, r * scale + scale // 2)) < 128 for c in range(n)] for r in range(n)]


def test_qr_png_decodes_to_the_link_and_has_the_promised_size_quiet_zone_and_level_m(tmp_path):
    scale = 6
    png = qr_png(LINK, scale)
    width, height = _png_size(png)
    assert width == height and width % scale == 0
    side = width // scale - 2 * QUIET_ZONE  # modules of the symbol itself: 17 + 4 * version
    assert (side - 17) % 4 == 0 and 1 <= (side - 17) // 4 <= 40

    modules = _modules(Image.open(io.BytesIO(png)), scale)
    quiet = [modules[r][c] for r in range(len(modules)) for c in range(len(modules))
             if min(r, c) < QUIET_ZONE or max(r, c) >= len(modules) - QUIET_ZONE]
    assert not any(quiet), "the quiet zone must be light"
    q = QUIET_ZONE
    assert all(modules[q][q:q + 7]) and not modules[q][q + 7], "the finder pattern starts right after the quiet zone"
    # Format information (ISO/IEC 18004 §7.9): 15 bits beside the top-left finder, XOR 101010000010010;
    # the top two bits are the error correction level, 00 = M.
    bits = ([modules[q + 8][q + c] for c in (0, 1, 2, 3, 4, 5, 7, 8)]
            + [modules[q + r][q + 8] for r in (7, 5, 4, 3, 2, 1, 0)])
    fmt = int("".join("1" if b else "0" for b in bits), 2) ^ 0b101010000010010
    assert fmt >> 13 == 0b00, f"error correction level bits {fmt >> 13:02b}, expected 00 (M)"

    assert _zbar(png, tmp_path) == [LINK]


@pytest.mark.parametrize("scale", [0, 41, -3, 2.5, "8"])
def test_qr_png_refuses_a_scale_out_of_range(scale):
    with pytest.raises(ValueError, match="scale"):
        qr_png(LINK, scale)


def test_qr_refuses_an_empty_or_overlong_link():
    with pytest.raises(ValueError, match="1-2048"):
        qr_svg("")
    with pytest.raises(ValueError, match="1-2048"):
        qr_png("https://x.example/" + "a" * MAX_LINK_LENGTH)


def test_qr_svg_is_titled_svg_with_a_light_background_and_decodes_to_the_link(tmp_path):
    svg = qr_svg(LINK)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == f"QR code of the share link {LINK}"
    assert b'fill="#fff"' in svg, "an opaque light background, so the code scans on dark pages too"
    path = root.find(".//{http://www.w3.org/2000/svg}path[@class='qrline']")
    assert path is not None and path.get("stroke") == "#000"
    assert _zbar(rasterise_svg(svg, "qr.svg"), tmp_path) == [LINK]


# --- PDF certificate -------------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("given, family", [("Łukasz", "Żółć"), ("Αθηνά", "Παπαδοπούλου"), ("Йордан", "Петров"),
                                           ("Siobhán", "Ní Dhomhnaill"), ("Đorđe", "Šćepanović")])
def test_certificate_prints_the_name_exactly_and_the_facts(given, family):
    pdf = certificate_pdf(_credential(given, family), LINK)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842), "A4 portrait in points"
    text = _pdf_text(pdf)
    assert f"{given} {family}" in text
    assert "Applied Data Protection Engineering" in text
    assert "Technische Universität Example" in text
    for label, value in (("Completed on", "2025-06-20"), ("Issued on", "2025-07-01"), ("ECTS credits", "5"),
                         ("EQF level", "6"), ("Grade", "1.3")):
        assert re.search(rf"{label}\s+{re.escape(value)}\b", text), f"{label} {value} missing in:\n{text}"
    assert "Classify the personal data an information system processes" in text
    flat = re.sub(r"\s+", "", text)
    assert LINK in flat
    assert "urn:uuid:0b7c1a52-4d1e-4c4f-9a53-6f0d2b8e9c11" in flat
    assert reader.metadata.title == f"Applied Data Protection Engineering — {given} {family}"


def test_certificate_qr_code_scans_to_the_link(tmp_path):
    pdf_file = tmp_path / "certificate.pdf"
    pdf_file.write_bytes(certificate_pdf(_credential("Αθηνά", "Παπαδοπούλου"), LINK))
    subprocess.run([required_tool("pdftoppm", "poppler-utils", WHY), "-r", "150", "-png", "-singlefile", str(pdf_file),
                    str(tmp_path / "page")], check=True, capture_output=True, timeout=60)
    assert _zbar((tmp_path / "page.png").read_bytes(), tmp_path) == [LINK]


def test_certificate_is_the_same_bytes_for_the_same_credential():
    credential = _credential("Łukasz", "Żółć")
    assert certificate_pdf(credential, LINK) == certificate_pdf(credential, LINK)


def test_a_character_outside_the_font_is_printed_as_replacement_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="issuer.share"):
        text = _pdf_text(certificate_pdf(_credential("Wei", "李"), LINK))
    assert "Wei \ufffd" in text
    assert "U+674E" in caplog.text and "printed as U+FFFD" in caplog.text


def test_certificate_of_a_sparse_vc_api_credential_names_what_is_missing():
    credential = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:1",
                  "type": ["VerifiableCredential"],
                  "issuer": "did:web:issuer.example", "validFrom": "2025-01-02T03:04:05Z",
                  "credentialSubject": {"id": "did:example:learner", "name": "Ana\x07 Andromeda"}}
    facts = certificate_facts(credential)
    assert (facts.learner_name, facts.title, facts.awarding_body, facts.ects, facts.eqf_level, facts.outcomes) == (
        "Ana\x07 Andromeda", "(untitled achievement)", "did:web:issuer.example", None, None, ())
    text = _pdf_text(certificate_pdf(credential, LINK))
    assert "Ana  Andromeda" in text, "control characters become spaces"
    assert "Issued on 2025-01-02" in re.sub(r"\s+", " ", text)
    assert "ECTS" not in text and "Learning outcomes" not in text


def test_certificate_lists_a_few_outcomes_and_counts_the_rest():
    credential = _credential("Ana", "Andromeda")
    outcomes = credential["credentialSubject"]["achievement"]["learningOutcome"]
    outcomes.extend({"type": ["LearningOutcome"], "title": {"en": f"Extra outcome {i}"}} for i in range(4))
    facts = certificate_facts(credential)
    assert len(facts.outcomes) == 5 and facts.more_outcomes == 3
    assert "and 3 more in the digital credential" in _pdf_text(certificate_pdf(credential, LINK))
