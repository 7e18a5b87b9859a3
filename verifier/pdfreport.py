"""The printable verification report (PDF) that carries its own integrity, and its check.

``report_pdf`` draws the report (verdict, every check, the recognition scorecard, the credential's digest, the
verifier's did:key, the times), then embeds the signed content (verifier/reportsign.py) as the attached file
``anchorcred-report.json``: ``{"content": {...}, "signature": "<detached JWS>"}``. The content includes
``pages_sha256``, the SHA-256 of the pages' content streams, so the printed text is covered by the signature too:
the pages are drawn once, hashed, then drawn again identically with the attachment (and the result checked).

``read_report_pdf`` is what ``anchorcred verify-report`` runs: it finds the attachment, checks the signature, and
recomputes the page digest. A changed attachment fails the signature; changed page text fails the page digest.
What is not covered: the embedded font programs (a forged font could draw other glyphs for the same text) and the
PDF's document information (title, dates): the signed JSON is the record; the pages are its faithful picture.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from verifier import pdffonts
from verifier.report import Report
from verifier.reportsign import ReportKey, ReportSignatureError, report_content, verify_report_signature

FONT_DIR = pdffonts.FONT_DIR  # issuer/europass.py reads it here
ATTACHMENT_NAME = "anchorcred-report.json"
MAX_PDF_BYTES = 16 << 20
STATUS_WORDS = {"pass": "PASSED", "fail": "FAILED", "skipped": "SKIPPED", "indeterminate": "NOT CHECKED"}
VERDICT_WORDS = {"verified": "VERIFIED", "partially_verified": "PARTIALLY VERIFIED", "failed": "FAILED"}


def _clean(text: Any) -> str:
    """NFC text the font draws: control characters become spaces, uncovered characters U+FFFD (the JSON keeps all)."""
    covered = pdffonts.covered()
    out = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if unicodedata.category(ch) in ("Cc", "Cf"):
            out.append(" ")
        else:
            out.append(ch if ord(ch) in covered else "\ufffd")
    return "".join(out)


def _draw(content: dict[str, Any], attachment: bytes | None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdffonts.add_fonts(pdf)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title("Verification report")
    pdf.set_creator("anchorcred verifier")
    pdf.set_lang("en")
    pdf.set_creation_date(datetime.fromisoformat(content["generated_at"].replace("Z", "+00:00")))
    pdf.add_page()

    def text(value: Any, size: float = 9, *, bold: bool = False, gap: float = 0.6, wrap: str = "WORD") -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(0, size * 0.47, _clean(value), align="L", wrapmode=wrap, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def facts(rows: list[tuple[str, Any]]) -> None:
        for label, value in rows:
            if value in (None, ""):
                continue
            pdf.set_font("DejaVu", "B", 8.5)
            pdf.cell(38, 4.2, _clean(label))
            pdf.set_font("DejaVu", "", 8.5)
            pdf.multi_cell(0, 4.2, _clean(value), align="L", wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    text("Verification report", 16, bold=True, gap=1)
    text("anchorcred verifier · a signed record of one credential's verification", 9, gap=3)
    verdict = content["verdict"]
    text(f"Verdict: {VERDICT_WORDS.get(verdict, verdict)}", 13, bold=True, gap=2)
    cred = content["credential"]
    issuer = content.get("issuer") or {}
    facts([("Credential", cred.get("id") or "(none)"), ("Credential digest", cred["digest"]),
           ("Source", cred.get("source")), ("Issuer", " ".join(str(x) for x in (issuer.get("name"), issuer.get("id"))
                                                              if x)),
           ("Verified at", content["verified_at"]), ("Report made at", content["generated_at"]),
           ("Signed by", content["verifier"])])

    text("Checks", 12, bold=True, gap=1)
    for n, check in enumerate(content["checks"], 1):
        text(f"{n}. {check['title']}: {STATUS_WORDS.get(check['status'], check['status'])}", 9.5, bold=True, gap=0.2)
        text(check["reason"], 8.5, gap=1)
    anchor = content.get("anchor") or {}
    if anchor:
        pdf.ln(1)
        facts([("Ledger", anchor.get("ledger")), ("Transaction", anchor.get("transaction")),
               ("Block", anchor.get("block")), ("Anchor time", anchor.get("time")),
               ("Confirmations", anchor.get("confirmations")), ("Merkle root", anchor.get("merkle_root"))])

    card = content.get("recognition")
    if card:
        text("Recognition scorecard", 12, bold=True, gap=0.5)
        text(f"Seven criteria after the Nuffic traffic-light model, each 0 to 3: {card['total']} of {card['max']}. "
             "It supports a recognition decision; it is not one.", 8.5, gap=1.5)
        for c in card["criteria"]:
            text(f"{c['title']}: {c['score']} of 3 ({c['light']}, {c['words']})", 9.5, bold=True, gap=0.2)
            text(c["reason"], 8.5, gap=0.2)
            for e in c["evidence"]:
                text("· " + e, 7.5, gap=0.1, wrap="CHAR")
            pdf.ln(1)
        eu = card["eu_elements"]
        text(f"EU elements: {STATUS_WORDS.get(eu['status'], eu['status'])}: {eu['reason']}", 9, bold=True, gap=2)

    pdf.ln(2)
    text("How to check this report", 10, bold=True, gap=0.5)
    text("This PDF carries the signed report as the attached file anchorcred-report.json. Check it with "
         "'anchorcred verify-report FILE.pdf': it verifies the signature by the verifier key named above and that "
         "these pages are the ones that were signed. Add --credential FILE.json to check that a credential is the "
         "one this report is about (same digest).", 8.5)
    if attachment is not None:
        pdf.embed_file(bytes=attachment, basename=ATTACHMENT_NAME, mime_type="application/json",
                       modification_date=datetime.fromisoformat(content["generated_at"].replace("Z", "+00:00")),
                       desc="Signed verification report (content and detached EdDSA JWS)")
    return bytes(pdf.output())


def pages_digest(data: bytes) -> str:
    """``sha256:<hex>`` over every page's decoded content stream, in page order, each prefixed by its length."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    h = hashlib.sha256()
    for page in reader.pages:
        contents = page.get_contents()
        stream = contents.get_data() if contents is not None else b""
        h.update(len(stream).to_bytes(8, "big") + stream)
    return "sha256:" + h.hexdigest()


def report_pdf(report: Report, document: Any, key: ReportKey, *, now: datetime | None = None) -> bytes:
    """The signed PDF verification report of ``report`` (made from ``document``)."""
    now = now or datetime.now(timezone.utc)
    content = report_content(report, document, verifier_did=key.did,
                             generated_at=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    digest = pages_digest(_draw(content, None))
    content["pages_sha256"] = digest
    signed = {"content": content, "signature": key.sign(content)}
    data = _draw(content, json.dumps(signed, ensure_ascii=False, indent=1).encode("utf-8"))
    if pages_digest(data) != digest:  # the two drawings must have the same pages, else the report would not verify
        raise RuntimeError("the report's pages changed between the two drawings; not signing a report that fails")
    return data


@dataclass(frozen=True)
class SignedReport:
    signer: str  # the verifier's did:key
    content: dict[str, Any]


def read_report_pdf(data: bytes) -> SignedReport:
    """The signed report in a PDF, checked: signature by the did:key it names, and the pages it was signed with.

    ReportSignatureError says what is wrong (no attachment, bad JSON, bad signature, changed pages).
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if len(data) > MAX_PDF_BYTES:
        raise ReportSignatureError(f"the file is larger than {MAX_PDF_BYTES} bytes; not a verification report")
    try:
        reader = PdfReader(io.BytesIO(data))
        attachments = reader.attachments
        found = attachments.get(ATTACHMENT_NAME)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ReportSignatureError(f"not a readable PDF: {exc}") from exc
    if not found:
        raise ReportSignatureError(f"the PDF has no attached {ATTACHMENT_NAME}: not a signed anchorcred report")
    if len(found) != 1:
        raise ReportSignatureError(f"the PDF has {len(found)} attachments named {ATTACHMENT_NAME}, expected one")
    try:
        signed = json.loads(found[0])
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportSignatureError(f"{ATTACHMENT_NAME}: not JSON ({exc})") from exc
    if not isinstance(signed, dict) or set(signed) != {"content", "signature"}:
        raise ReportSignatureError(f"{ATTACHMENT_NAME}: expected an object with 'content' and 'signature'")
    signer = verify_report_signature(signed["content"], signed["signature"])
    content = signed["content"]
    try:
        actual = pages_digest(data)
    except Exception as exc:  # pypdf raises many kinds on a damaged page tree
        raise ReportSignatureError(f"the PDF's pages cannot be read: {exc}") from exc
    if content.get("pages_sha256") != actual:
        raise ReportSignatureError(
            f"the PDF's pages were changed after signing: page digest {actual[:19]}… ≠ signed "
            f"{str(content.get('pages_sha256'))[:19]}…")
    return SignedReport(signer, content)
