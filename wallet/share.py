"""Sharing a credential from the wallet: its verification link, a QR code of it, a PDF with the QR, a LinkedIn link.

The verification link opens the verifier's page on the credential's public URL (the claim link it came from):
``{verifier}/verify/link?url=<percent-encoded public URL>``, the same form the issuer prints, so whoever follows it sees
the verification, not a claim. A credential imported from a file has no public URL: it is shared as a file, a
presentation or an offline bundle instead, and the wallet says so.

QR codes: segno, ISO/IEC 18004 level M, 4-module quiet zone, made by ``verifier.qr`` as the issuer's are. The PDF
is the wallet's own one-page A4 sheet (fpdf2, the DejaVu Sans subsets the verifier ships in verifier/fonts): title,
learner, awarding body, dates, ECTS, EQF, the QR code and the link. The
LinkedIn link is the documented "Add to Profile" certification link (addtoprofile.linkedin.com): ``startTask=
CERTIFICATION_NAME`` with ``name``, ``organizationName``, ``issueYear``, ``issueMonth``, ``expirationYear``,
``expirationMonth``, ``certUrl`` and ``certId``; the learner's own name is never part of it.

segno and fpdf2 are the ``wallet`` extra; they are imported when a QR code or a PDF is made.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from verifier import pdffonts, qr
from verifier.qr import MAX_LINK_LENGTH
from wallet.errors import ShareError
from wallet.summary import Summary

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def verification_link(verifier_url: str, public_url: str | None) -> str:
    """The verifier's page on the credential's public URL."""
    if not public_url:
        raise ShareError("this credential was imported from a file and has no public link: share the file, a "
                         "presentation (anchorcred wallet present) or an offline bundle (anchorcred wallet bundle)")
    for name, url in (("verifier URL", verifier_url), ("public URL", public_url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ShareError(f"the {name} must be an http(s) URL, got {url[:80]!r}")
    link = f"{verifier_url.rstrip('/')}/verify/link?url={quote(public_url, safe='')}"
    if len(link) > MAX_LINK_LENGTH:
        raise ShareError(f"the verification link has {len(link)} characters, over the {MAX_LINK_LENGTH} a QR code and "
                         "the verifier accept")
    return link


def linkedin_link(summary: Summary, cert_url: str) -> str:
    """LinkedIn's "Add to Profile" link for a certification, prefilled from the credential."""
    params: dict[str, str] = {"startTask": "CERTIFICATION_NAME", "name": summary.title,
                              "organizationName": summary.issuer_name}
    if summary.issued:
        year, month, _ = summary.issued.split("-")
        params.update(issueYear=year, issueMonth=str(int(month)))
    if summary.expires:
        year, month, _ = summary.expires.split("-")
        params.update(expirationYear=year, expirationMonth=str(int(month)))
    params["certUrl"] = cert_url
    if summary.credential_id:
        params["certId"] = summary.credential_id
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote)}"


def _qr(link: str) -> Any:
    try:
        return qr.make_qr(link)
    except ValueError as exc:  # an empty or overlong link
        raise ShareError(str(exc)) from None


def qr_svg(link: str) -> bytes:
    return qr.svg(_qr(link), title=f"QR code of the verification link {link}")


def qr_png(link: str, scale: int = 8) -> bytes:
    return qr.png(_qr(link), scale)


def _clean(text: str) -> str:
    """NFC, no control characters, U+FFFD for what the font cannot draw (never a silent drop)."""
    covered = pdffonts.covered()
    return "".join(ch if ord(ch) in covered else "\ufffd"
                   for ch in unicodedata.normalize("NFC", _CONTROL.sub(" ", text)))


def certificate_pdf(summary: Summary, link: str) -> bytes:
    """A one-page A4 sheet: the facts a reader wants at a glance, and the QR code of the verification link."""
    from fpdf import FPDF

    code = _qr(link)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdffonts.add_fonts(pdf)
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_title(_clean(summary.title))
    pdf.set_author(_clean(summary.issuer_name))
    pdf.set_creator("anchorcred wallet")
    if summary.issued:  # the same credential gives the same bytes
        pdf.set_creation_date(datetime.fromisoformat(summary.issued + "T00:00:00+00:00"))
    pdf.add_page()
    pdf.set_draw_color(30, 90, 70)
    pdf.set_line_width(0.6)
    pdf.rect(12, 12, 186, 273)

    def para(text: str, size: float, *, bold: bool = False, gap: float = 0, color=(20, 20, 20), align="C") -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*color)
        pdf.multi_cell(0, size * 0.5, _clean(text), align=align, new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)

    para(summary.issuer_name, 15, bold=True, gap=10)
    para("MICRO-CREDENTIAL", 10, bold=True, color=(30, 90, 70), gap=6)
    para(summary.learner_name or "(the learner named in the digital credential)", 22, bold=True, gap=3)
    para("holds the credential", 11, gap=3)
    para(summary.title, 17, bold=True, gap=8)
    for label, value in (("Issued on", summary.issued), ("Valid until", summary.expires),
                         ("ECTS credits", summary.ects_text or None), ("EQF level", summary.eqf_level),
                         ("Grade", summary.grade)):
        if value:
            pdf.set_x(55)
            pdf.set_font("DejaVu", "", 10)
            pdf.set_text_color(90, 90, 90)
            pdf.cell(40, 6.5, label, align="R")
            pdf.set_font("DejaVu", "B", 11)
            pdf.set_text_color(20, 20, 20)
            pdf.cell(0, 6.5, "   " + _clean(value), new_x="LMARGIN", new_y="NEXT")
    if summary.targets:
        pdf.ln(4)
        para("Counts toward", 10, bold=True, align="L", gap=1)
        for target in summary.targets[:4]:
            para("•  " + target.title, 9, align="L", gap=0.5)

    block = 48
    if pdf.get_y() + block > pdf.h - 22:
        pdf.add_page()
    top = pdf.h - 22 - block
    qr.draw(pdf, code, link, 22, top, block)
    x = 22 + block + 6
    pdf.set_xy(x, top + 2)
    pdf.set_font("DejaVu", "B", 10)
    pdf.set_text_color(20, 20, 20)
    pdf.multi_cell(0, 5, "Verify: scan the code or open", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(x)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_text_color(30, 50, 140)
    pdf.multi_cell(0, 3.6, _clean(link), link=link, wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(60, 60, 60)
    for line in (f"Credential id: {summary.credential_id or '(none)'}", f"Issuer: {summary.issuer_id}",
                 "A printed view from the learner's wallet; the signed credential, checked through the link, is the "
                 "authoritative record."):
        pdf.ln(0.8)
        pdf.set_x(x)
        pdf.multi_cell(0, 3.6, _clean(line), wrapmode="CHAR" if line.startswith(("Credential", "Issuer")) else "WORD",
                       new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


__all__ = ["certificate_pdf", "linkedin_link", "qr_png", "qr_svg", "verification_link"]
