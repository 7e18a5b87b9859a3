"""What a learner takes away from a credential: its share link, a QR code of that link, a printable PDF certificate.

The share link opens the verifier's page on the credential's public URL
(``{verifier}/verify/link?url={public}/share/{token}``, the public URL percent-encoded), so whoever scans the QR code
sees the verification, not merely a claim. QR codes are ISO/IEC 18004 with error correction level M (15 % of the
code may be damaged, enough for a printed sheet that was folded) and the standard 4-module quiet zone, made by
``verifier.qr`` (the wallet makes its codes there too).

The certificate is a printed *view*: it repeats the main facts for a human reader and carries the QR code; the
signed JSON, checked through the link, is what counts (the PDF says so). Names are printed exactly in Latin, Greek
and Cyrillic scripts with a DejaVu Sans subset shipped in ``verifier/fonts`` (why and how: its README); a character
outside that coverage becomes U+FFFD and is logged, never silently dropped.

Pure functions of their inputs (no I/O beyond reading the packaged fonts); the service decides who may see what.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fpdf import FPDF

from verifier import pdffonts, qr
from verifier.pdffonts import FONT_DIR  # the verifier owns the fonts: its PDF reports use them too
from verifier.qr import MAX_LINK_LENGTH, MAX_PNG_SCALE, QUIET_ZONE

__all__ = ["share_url", "share_link", "qr_svg", "qr_png", "certificate_pdf", "certificate_facts", "CertificateFacts",
           "MAX_LINK_LENGTH", "MAX_PNG_SCALE", "QUIET_ZONE", "FONT_DIR"]

log = logging.getLogger(__name__)

MAX_OUTCOMES = 5        # learning outcomes printed; the rest are counted ("and 3 more")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def share_url(public_url: str, token: str) -> str:
    """The credential's public JSON URL on the issuer service."""
    if not _TOKEN_RE.match(token):
        raise ValueError(f"share token must be 16-64 URL-safe base64 characters, got {token[:20]!r}")
    if not public_url.startswith(("https://", "http://")):
        raise ValueError(f"public URL must be an http(s) URL, got {public_url!r}")
    return f"{public_url.rstrip('/')}/share/{token}"


def share_link(verifier_url: str, public_url: str, token: str) -> str:
    """The link a learner shares: the verifier's page fetching the credential's public URL (fully percent-encoded, so
    the verifier's query string cannot be confused by the issuer's URL)."""
    if not verifier_url.startswith(("https://", "http://")):
        raise ValueError(f"verifier URL must be an http(s) URL, got {verifier_url!r}")
    return f"{verifier_url.rstrip('/')}/verify/link?url={quote(share_url(public_url, token), safe='')}"


def qr_svg(link: str) -> bytes:
    """SVG of the link's QR code (scalable; 4 px per module at 100 %), titled with the link for screen readers."""
    return qr.svg(qr.make_qr(link), title=f"QR code of the share link {link}")


def qr_png(link: str, scale: int = 8) -> bytes:
    """PNG of the link's QR code, ``scale`` pixels per module (1..MAX_PNG_SCALE), quiet zone included."""
    return qr.png(qr.make_qr(link), scale)


# --------------------------------------------------------------------------------------------------------------------
# Certificate


@dataclass(frozen=True)
class CertificateFacts:
    """What the certificate prints, read from a credential (OB 3.0 / our EU extension); absent facts are None."""

    credential_id: str
    learner_name: str | None
    title: str
    awarding_body: str
    awarding_body_place: str | None
    issuer_id: str
    completed: str | None  # YYYY-MM-DD
    issued: str | None     # YYYY-MM-DD
    ects: str | None
    eqf_level: str | None
    grade: str | None
    outcomes: tuple[str, ...]
    more_outcomes: int
    language: str


def _text(value: Any, language: str, limit: int) -> str | None:
    """A plain string, or the text of a language map in ``language`` (else its first entry); cut at ``limit``."""
    if isinstance(value, dict):
        value = value.get(language, next(iter(value.values()), None)) if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return f"{float(value):g}"
    except ValueError:
        return None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def certificate_facts(credential: dict) -> CertificateFacts:
    """Read the printable facts; tolerant of credentials issued through the VC-API (any missing part is None)."""
    subject = credential.get("credentialSubject")
    subject = (_list(subject) or [{}])[0]
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    language = achievement.get("inLanguage") if isinstance(achievement.get("inLanguage"), str) else "en"
    issuer = credential.get("issuer")
    issuer = issuer if isinstance(issuer, dict) else {"id": issuer}

    name = None
    for ident in _list(subject.get("identifier")):
        if isinstance(ident, dict) and ident.get("identityType") == "name" and ident.get("hashed") is False:
            name = _text(ident.get("identityHash"), language, 200)
    name = name or _text(subject.get("name"), language, 200)

    eqf = None
    for align in _list(achievement.get("alignment")):
        if isinstance(align, dict) and align.get("targetType") == "ext:EQFLevel":
            eqf = _text(align.get("targetCode"), language, 10)
    address = issuer.get("address") if isinstance(issuer.get("address"), dict) else {}
    place = ", ".join(p for p in (address.get("addressLocality"), address.get("addressRegion"),
                                  address.get("addressCountryCode")) if isinstance(p, str) and p) or None
    grade = None
    for result in _list(subject.get("result")):
        if isinstance(result, dict) and grade is None:
            grade = _text(result.get("value"), language, 64)
    outcomes = [t for o in _list(achievement.get("learningOutcome"))
                if isinstance(o, dict) and (t := _text(o.get("title"), language, 300))]
    credit_point = achievement.get("creditPoint") if isinstance(achievement.get("creditPoint"), dict) else {}
    return CertificateFacts(
        credential_id=_text(credential.get("id"), language, 200) or "(no id)",
        learner_name=name,
        title=(_text(achievement.get("name"), language, 300) or _text(achievement.get("title"), language, 300)
               or _text(credential.get("name"), language, 300) or "(untitled achievement)"),
        awarding_body=_text(issuer.get("name"), language, 300) or _text(issuer.get("id"), language, 300) or "(unknown)",
        awarding_body_place=place,
        issuer_id=_text(issuer.get("id"), language, 300) or "(unknown)",
        completed=_day(subject.get("activityEndDate")),
        issued=_day(credential.get("validFrom") or credential.get("issuanceDate")),
        ects=_number(subject.get("creditsEarned")) or _number(credit_point.get("point"))
        or _number(achievement.get("creditsAvailable")),
        eqf_level=eqf,
        grade=grade,
        outcomes=tuple(outcomes[:MAX_OUTCOMES]),
        more_outcomes=max(0, len(outcomes) - MAX_OUTCOMES),
        language=language,
    )


class _Certificate(FPDF):
    def __init__(self, credential_id: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.credential_id = credential_id
        self.missing: set[str] = set()
        pdffonts.add_fonts(self)
        self.set_margins(22, 22, 22)
        self.set_auto_page_break(True, margin=22)

    def clean(self, text: str) -> str:
        """NFC (so 'Z' + combining dot is one glyph, Ż), no control characters, U+FFFD for what the font lacks."""
        covered = pdffonts.covered()
        out = []
        for ch in unicodedata.normalize("NFC", _CONTROL_RE.sub(" ", text)):
            if ord(ch) in covered:
                out.append(ch)
            else:
                self.missing.add(f"U+{ord(ch):04X}")
                out.append("\ufffd")
        return "".join(out)

    def para(self, text: str, size: float, *, bold: bool = False, align: str = "C", gap: float = 0,
             color: tuple[int, int, int] = (20, 20, 20)) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, self.clean(text), align=align, new_x="LMARGIN", new_y="NEXT")
        if gap:
            self.ln(gap)


def certificate_pdf(credential: dict, link: str) -> bytes:
    """A one-page A4 certificate: awarding body, learner, achievement, date, ECTS, EQF level, grade, a few learning
    outcomes, the QR code of ``link`` with the link in text, and the credential id."""
    facts = certificate_facts(credential)
    code = qr.make_qr(link)  # the link is checked before anything is drawn
    pdf = _Certificate(facts.credential_id)
    pdf.set_title(pdf.clean(f"{facts.title} — {facts.learner_name or 'certificate'}"))
    pdf.set_author(pdf.clean(facts.awarding_body))
    pdf.set_creator("anchorcred")
    pdf.set_lang(facts.language)
    if facts.issued:  # a fixed creation date makes the same credential give the same PDF
        pdf.set_creation_date(datetime.fromisoformat(facts.issued + "T00:00:00+00:00"))
    pdf.add_page()
    pdf.set_draw_color(40, 60, 110)
    pdf.set_line_width(0.8)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.25)
    pdf.rect(13, 13, 184, 271)

    pdf.para(facts.awarding_body, 16, bold=True, gap=1)
    if facts.awarding_body_place:
        pdf.para(facts.awarding_body_place, 9, color=(90, 90, 90))
    pdf.ln(10)
    pdf.para("MICRO-CREDENTIAL", 11, bold=True, color=(40, 60, 110), gap=8)
    pdf.para("This certifies that", 11, gap=3)
    pdf.para(facts.learner_name or "(the learner named in the digital credential)", 24, bold=True, gap=4)
    pdf.para("has successfully completed", 11, gap=3)
    pdf.para(facts.title, 17, bold=True, gap=8)

    rows = [("Completed on", facts.completed), ("Issued on", facts.issued), ("ECTS credits", facts.ects),
            ("EQF level", facts.eqf_level), ("Grade", facts.grade)]
    for label, value in rows:
        if value is None:
            continue
        pdf.set_x(55)
        pdf.set_font("DejaVu", "", 10)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(40, 6.5, label, align="R")
        pdf.set_font("DejaVu", "B", 11)
        pdf.set_text_color(20, 20, 20)
        pdf.cell(0, 6.5, "   " + pdf.clean(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    if facts.outcomes:
        pdf.para("Learning outcomes", 11, bold=True, align="L", gap=1.5)
        for outcome in facts.outcomes:
            pdf.para("•  " + outcome, 9.5, align="L", gap=1)
        if facts.more_outcomes:
            pdf.para(f"… and {facts.more_outcomes} more in the digital credential", 9, align="L",
                     color=(90, 90, 90))

    block = 48
    if pdf.get_y() + block > pdf.h - 22:
        pdf.add_page()
    top = pdf.h - 22 - block
    qr.draw(pdf, code, link, 22, top, block)  # vector: prints sharp at any size
    pdf.set_xy(22 + block + 6, top + 2)
    pdf.set_font("DejaVu", "B", 10)
    pdf.set_text_color(20, 20, 20)
    pdf.multi_cell(0, 5, "Verify this credential: scan the code or open", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(22 + block + 6)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(30, 50, 140)
    pdf.multi_cell(0, 3.6, pdf.clean(link), link=link, wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(60, 60, 60)
    notice = ("This sheet is a printed view. The signed digital credential, checked through the link, is the "
              "authoritative record.")
    for line, wrap in ((f"Credential id: {facts.credential_id}", "CHAR"), (f"Issuer: {facts.issuer_id}", "CHAR"),
                       (notice, "WORD")):
        pdf.set_x(22 + block + 6)
        pdf.multi_cell(0, 3.6, pdf.clean(line), wrapmode=wrap, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.8)
    if pdf.missing:
        log.warning("certificate for %s: %d character(s) outside the certificate font (%s) printed as U+FFFD",
                    facts.credential_id, len(pdf.missing), ", ".join(sorted(pdf.missing)))
    return bytes(pdf.output())
