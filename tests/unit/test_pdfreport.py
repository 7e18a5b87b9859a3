"""The signed PDF verification report: it verifies offline; a changed page, attachment or signature fails; the key
file is made once and reused; `anchorcred verify-report` checks the signer and the credential."""

from __future__ import annotations

import io
import json
import re

import pytest
from typer.testing import CliRunner

from anchorcred_cli import app
from verifier.pdfreport import ATTACHMENT_NAME, pages_digest, read_report_pdf, report_pdf
from verifier.reportsign import (
    REPORT_TYPE, ReportSignatureError, credential_digest, generate_report_key, load_or_create_report_key,
    verify_report_signature,
)

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def made(embedded):
    _, batch = embedded
    document = batch.credential(0)
    report = batch.verifier().verify(document)
    key = generate_report_key()
    return document, report, key, report_pdf(report, document, key)


def attachment(data: bytes) -> dict:
    return json.loads(pypdf.PdfReader(io.BytesIO(data)).attachments[ATTACHMENT_NAME][0])


def test_the_report_verifies_and_states_what_was_found(made):
    document, report, key, data = made
    signed = read_report_pdf(data)
    assert signed.signer == key.did
    c = signed.content
    assert c["type"] == REPORT_TYPE and c["verifier"] == key.did
    assert c["credential"] == {"id": document["id"], "digest": credential_digest(document), "source": ""}
    assert c["verdict"] == report.verdict.value == "verified"
    assert [x["id"] for x in c["checks"]] == [x.id for x in report.checks]
    assert [x["score"] for x in c["recognition"]["criteria"]] == [x.score for x in report.recognition.criteria]
    assert c["pages_sha256"] == pages_digest(data)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    flat = re.sub(r"\s+", "", text)
    for needle in ("Verdict:VERIFIED", key.did, credential_digest(document), "Level:3of3", "Workload:3of3"):
        assert needle in flat


def test_digest_ignores_layout_not_values(made):
    document = made[0]
    reordered = json.loads(json.dumps(document, indent=4, sort_keys=True))
    assert credential_digest(reordered) == credential_digest(document)
    changed = json.loads(json.dumps(document))
    changed["credentialSubject"]["result"][0]["value"] = "1.0"
    assert credential_digest(changed) != credential_digest(document)


def _replace_page_text(data: bytes, old: bytes, new: bytes) -> bytes:
    """The PDF with a string in the first page's content stream replaced (a forger editing the printed verdict)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    writer = pypdf.PdfWriter(clone_from=reader)
    page = writer.pages[0]
    contents = page.get_contents()
    raw = contents.get_data()
    assert old in raw
    contents.set_data(raw.replace(old, new, 1))
    page.replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_changed_page_content_fails(made):
    data = made[3]
    raw = pypdf.PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()
    # Shift one text position: invisible to a reader's eye, but not the signed pages any more.
    number = re.search(rb"(\d+\.\d+) Td", raw).group(1)
    tampered = _replace_page_text(data, number + b" Td", number + b"1 Td")
    assert attachment(tampered) == attachment(data)  # the signed JSON is untouched
    with pytest.raises(ReportSignatureError, match="pages were changed after signing"):
        read_report_pdf(tampered)


def test_changed_attachment_fails(made):
    _, _, key, data = made
    signed = attachment(data)
    signed["content"]["verdict"] = "verified" if signed["content"]["verdict"] != "verified" else "failed"
    with pytest.raises(ReportSignatureError, match="changed after signing"):
        verify_report_signature(signed["content"], signed["signature"])


def test_another_key_or_a_bad_signature_fails(made):
    _, _, key, data = made
    signed = attachment(data)
    other = generate_report_key()
    with pytest.raises(ReportSignatureError, match="names verifier .* but was signed by"):
        verify_report_signature(signed["content"], other.sign(signed["content"]))
    header, _, sig = signed["signature"].split(".")
    with pytest.raises(ReportSignatureError, match="detached JWS"):
        verify_report_signature(signed["content"], f"{header}.e30.{sig}")
    with pytest.raises(ReportSignatureError, match="alg expected 'EdDSA'"):
        verify_report_signature(signed["content"], "eyJhbGciOiJub25lIn0.." + sig)


def test_a_pdf_without_the_attachment_fails():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    with pytest.raises(ReportSignatureError, match="no attached anchorcred-report.json"):
        read_report_pdf(bytes(pdf.output()))
    with pytest.raises(ReportSignatureError, match="not a readable PDF"):
        read_report_pdf(b"%PDF-1.4 nonsense")


def test_the_key_file_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / "data" / "report-key.pem"
    key, created = load_or_create_report_key(path)
    assert created and path.stat().st_mode & 0o777 == 0o600
    again, created_again = load_or_create_report_key(path)
    assert not created_again and again.did == key.did and key.did.startswith("did:key:z6Mk")
    assert "PRIVATE" not in repr(key) and repr(key) == f"ReportKey({key.did})"
    path.write_text("not a key")
    with pytest.raises(ValueError, match="expected an unencrypted PEM"):
        load_or_create_report_key(path)


def test_verify_report_command(made, tmp_path):
    document, _, key, data = made
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    cred = tmp_path / "credential.json"
    cred.write_text(json.dumps(document))
    runner = CliRunner()
    ok = runner.invoke(app, ["verify-report", str(pdf), "--credential", str(cred), "--key", key.did])
    assert ok.exit_code == 0, ok.output
    assert f"VALID {pdf}: signature by {key.did} verifies" in ok.output
    other = tmp_path / "other.json"
    changed = json.loads(json.dumps(document))
    changed["credentialSubject"]["result"][0]["value"] = "1.0"
    other.write_text(json.dumps(changed))
    wrong = runner.invoke(app, ["verify-report", str(pdf), "--credential", str(other),
                                "--key", generate_report_key().did, "--json"])
    assert wrong.exit_code == 1
    body = json.loads(wrong.output)
    assert body["valid"] is False and len(body["problems"]) == 2
    assert body["problems"][0].startswith(f"signed by {key.did}, not by the expected key")
    assert "another credential, or a changed one" in body["problems"][1]
    raw = pypdf.PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()
    number = re.search(rb"(\d+\.\d+) Td", raw).group(1)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_replace_page_text(data, number + b" Td", number + b"1 Td"))
    bad = runner.invoke(app, ["verify-report", str(tampered)])
    assert bad.exit_code == 1 and "NOT VALID" in bad.output and "pages were changed after signing" in bad.output
    missing = runner.invoke(app, ["verify-report", str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 2 and "no such file" in missing.output
