"""`anchorcred verify-report FILE.pdf`: check a signed PDF verification report offline (verifier/pdfreport.py).

Exit 0 when the report's signature verifies, its pages are the signed ones, and (when asked) the signer is the
expected verifier key and the credential given is the one the report is about; 1 otherwise; 2 for bad usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from verifier.cli import EXIT_NOT_VERIFIED, EXIT_USAGE, EXIT_VERIFIED, MAX_CREDENTIAL_BYTES, fail_usage, read_limited
from verifier.pdfreport import MAX_PDF_BYTES, read_report_pdf
from verifier.reportsign import ReportSignatureError, credential_digest


def verify_report_command(
    file: Annotated[Path, typer.Argument(help="A PDF verification report made by an anchorcred verifier")],
    credential: Annotated[Optional[Path], typer.Option(
        "--credential", help="The credential JSON the report should be about (its digest must match)")] = None,
    key: Annotated[Optional[str], typer.Option(
        "--key", help="The did:key of the verifier you trust; the report must be signed by it")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the signed report content as JSON")] = False,
) -> None:
    """Check a signed PDF verification report: the verifier's signature, the pages, and optionally the credential."""
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    if not file.is_file():
        fail_usage(f"{file}: no such file")
    try:
        data = read_limited(file, MAX_PDF_BYTES)
    except (OSError, ValueError) as exc:
        fail_usage(f"{file}: {exc}")
    problems: list[str] = []
    try:
        signed = read_report_pdf(data)
    except ReportSignatureError as exc:
        console.print(f"[bold red]NOT VALID[/bold red] {escape(str(file))}: {escape(exc.diagnostics())}")
        raise typer.Exit(EXIT_NOT_VERIFIED) from None
    content = signed.content
    if key is not None and signed.signer != key:
        problems.append(f"signed by {signed.signer}, not by the expected key {key}")
    if credential is not None:
        try:
            document = json.loads(read_limited(credential, MAX_CREDENTIAL_BYTES))
        except (OSError, ValueError, RecursionError) as exc:
            fail_usage(f"{credential}: not a readable JSON credential ({exc})")
        digest = credential_digest(document)
        if digest != content["credential"]["digest"]:
            problems.append(f"{credential} has digest {digest[:23]}…, the report is about "
                            f"{str(content['credential']['digest'])[:23]}…: another credential, or a changed one")
    if as_json:
        print(json.dumps({"valid": not problems, "signer": signed.signer, "problems": problems, "content": content},
                         indent=2, ensure_ascii=False))
    else:
        mark = "[bold green]VALID[/bold green]" if not problems else "[bold red]NOT VALID[/bold red]"
        console.print(f"{mark} {escape(str(file))}: signature by {signed.signer} verifies; the pages are the signed ones")
        for p in problems:
            console.print(f"  [red]✘[/red] {escape(p)}")
        cred = content["credential"]
        console.print(escape(f"  credential {cred.get('id')}  {cred['digest']}"))
        console.print(escape(f"  verdict {content['verdict']} at {content['verified_at']} (report made {content['generated_at']})"))
        for c in content["checks"]:
            console.print(escape(f"    {c['status']:<13} {c['title']}"))
        card = content.get("recognition")
        if card:
            console.print(escape("  recognition " + " · ".join(f"{c['id']} {c['score']}/3" for c in card["criteria"])))
        if key is None:
            console.print("  [yellow]note:[/yellow] anyone can sign a report; pass --key with the did:key of the "
                          "verifier you trust to require it")
    raise typer.Exit(EXIT_VERIFIED if not problems else EXIT_NOT_VERIFIED)


__all__ = ["verify_report_command", "EXIT_USAGE"]
