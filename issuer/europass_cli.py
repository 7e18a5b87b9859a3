"""`anchorcred export-europass CREDENTIAL.json`: write a credential as a Europass Digital Credential (ELM 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from issuer.europass import EuropassExportError, to_europass
from verifier.cli import EXIT_USAGE, MAX_CREDENTIAL_BYTES, fail_usage, read_limited


def export_europass_command(
    credential: Annotated[Path, typer.Argument(help="An anchorcred credential (JSON)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the EDC here (default: standard output)")] = None,
) -> None:
    """Export a credential as a Europass Digital Credential (ELM 3 JSON-LD, EDC generic profile; docs/europass.md)."""
    if not credential.is_file():
        fail_usage(f"{credential}: no such file")
    try:
        document = json.loads(read_limited(credential, MAX_CREDENTIAL_BYTES))
    except (OSError, ValueError, RecursionError) as exc:
        fail_usage(f"{credential}: not a readable JSON credential ({exc})")
    try:
        edc = to_europass(document)
    except EuropassExportError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        typer.echo(f"error: {credential} cannot be exported to Europass ({len(exc.problems)} problem(s)):\n{lines}",
                   err=True)
        raise typer.Exit(EXIT_USAGE) from None
    text = json.dumps(edc, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
