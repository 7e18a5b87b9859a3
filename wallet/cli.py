"""`anchorcred wallet …`: the learner's commands.

    init            make a wallet (a passphrase, a new did:key for the learner)
    config          what the wallet may contact: the verifier its links open, the networks file, dev hosts
    claim LINK|QR   fetch a credential from the issuer's claim link (or a QR code image of it), verify, keep
    import FILE     the same from a JSON file
    list / show ID  credentials with verdicts, titles, issuers, ECTS, EQF; stacking toward larger qualifications
    verify [ID]     verify again (status and anchors may have changed)
    share ID        verification link, LinkedIn link; --qr FILE, --pdf FILE      (wallet/clishare.py)
    present ID…     a presentation signed by the learner's did:key, bound to a verifier's challenge and domain
    bundle ID       an offline bundle (anchorcred verify --offline checks it with no network)
    remove ID       forget a credential
    serve           the wallet's page on 127.0.0.1

The passphrase comes from --passphrase-file, else $ANCHORCRED_WALLET_PASSPHRASE, else a prompt; it is never printed.
Exit codes: 0 done (and verified, where something was verified), 1 done but not verified, 2 usage or error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from verifier.cli import EXIT_NOT_VERIFIED, EXIT_USAGE, EXIT_VERIFIED, render
from verifier.errors import AnchorcredError
from verifier.report import Report
from wallet.store import Entry, Wallet

console = Console(highlight=False, emoji=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
app = typer.Typer(name="wallet", help="The learner's wallet: keep, present, share, verify offline.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

WalletDir = Annotated[Optional[Path], typer.Option("--wallet", help="Wallet folder (default: $ANCHORCRED_WALLET or "
                                                                    "~/.anchorcred/wallet)")]
PassFile = Annotated[Optional[Path], typer.Option("--passphrase-file", help="File whose first line is the passphrase")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


def wallet_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get("ANCHORCRED_WALLET")
    return Path(env) if env else Path.home() / ".anchorcred" / "wallet"


def passphrase(file: Path | None, *, confirm: bool = False) -> str:
    if file is not None:
        try:
            return file.read_text("utf-8").splitlines()[0] if file.stat().st_size <= 4096 else fail(
                f"{file}: a passphrase file holds one line")
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            fail(f"{file}: cannot read a passphrase from it ({type(exc).__name__})")
    env = os.environ.get("ANCHORCRED_WALLET_PASSPHRASE")
    if env:
        return env
    return typer.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def open_wallet(folder: Path | None, pass_file: Path | None) -> Wallet:
    try:
        return Wallet.open(wallet_dir(folder), passphrase(pass_file))
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    raise AssertionError  # fail() exits


def _verifier(wallet: Wallet, networks: Path | None = None):
    from wallet.verifying import WalletConfig, WalletVerifier

    try:
        return WalletVerifier(WalletConfig.from_settings(wallet.settings(), networks_file=networks))
    except AnchorcredError as exc:
        fail(exc.diagnostics())


def _exit_for(report: dict[str, Any] | None) -> None:
    raise typer.Exit(EXIT_VERIFIED if report and report.get("verdict") == "verified" else EXIT_NOT_VERIFIED)


# ── init / config ─────────────────────────────────────────────────────────────────────────────────────────────
@app.command("init")
def init_command(folder: WalletDir = None, pass_file: PassFile = None,
                 verifier_url: Annotated[Optional[str], typer.Option(help="Verifier whose page share links open")] = None,
                 networks: Annotated[Optional[Path], typer.Option(help="Networks file (ledgers to read)")] = None,
                 allow_http_host: Annotated[list[str], typer.Option(help="A host that may be fetched over http and on "
                                                                         "a local address (development)")] = []) -> None:
    """Make a new wallet with a did:key for the learner."""
    try:
        wallet = Wallet.create(wallet_dir(folder), passphrase(pass_file, confirm=True))
    except ValueError as exc:
        fail(str(exc))
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    _configure(wallet, verifier_url, networks, allow_http_host, None)
    console.print(f"wallet created in {wallet.path}\nyour DID (give it to your university): {wallet.holder_did}")


@app.command("config")
def config_command(folder: WalletDir = None, pass_file: PassFile = None,
                   verifier_url: Annotated[Optional[str], typer.Option(help="Verifier share links open")] = None,
                   networks: Annotated[Optional[Path], typer.Option(help="Networks file (ledgers to read)")] = None,
                   allow_http_host: Annotated[list[str], typer.Option(help="A host that may be fetched over http and "
                                                                           "on a local address")] = [],
                   did_web_fetch: Annotated[Optional[bool], typer.Option("--did-web-fetch/--no-did-web-fetch",
                                                                         help="Fetch issuers' did:web documents")] = None,
                   did_document: Annotated[list[Path], typer.Option(help="A DID document to trust (repeatable; "
                                                                         "replaces the list)")] = [],
                   ) -> None:
    """Show or change what the wallet may contact."""
    wallet = open_wallet(folder, pass_file)
    if did_document:
        from wallet.verifying import read_did_documents

        try:
            read_did_documents(did_document)
        except AnchorcredError as exc:
            fail(exc.diagnostics())
        wallet.update_settings(did_documents=[str(p.resolve()) for p in did_document])
    settings = _configure(wallet, verifier_url, networks, allow_http_host, did_web_fetch)
    console.print(json.dumps({"holder": wallet.holder_did, **settings}, indent=2))


def _configure(wallet: Wallet, verifier_url, networks, hosts, did_web_fetch) -> dict[str, Any]:
    if verifier_url is not None and not verifier_url.startswith(("http://", "https://")):
        fail(f"--verifier-url must be an http(s) URL, got {verifier_url!r}")
    if networks is not None:
        from verifier.config import load_networks

        try:
            load_networks(networks)
        except AnchorcredError as exc:
            fail(exc.diagnostics())
    hosts = [h.lower() for h in hosts]
    return wallet.update_settings(verifier_url=verifier_url,
                                  networks_file=str(networks.resolve()) if networks else None,
                                  allow_http_hosts=hosts or None, allow_hosts=hosts or None,
                                  did_web_fetch=did_web_fetch)


# ── claim / import / verify ───────────────────────────────────────────────────────────────────────────────────
def _keep(wallet: Wallet, credential: dict[str, Any], source: dict[str, Any], *, replace: bool,
          networks: Path | None) -> Entry:
    from wallet.intake import keep_credential

    with _verifier(wallet, networks) as wv:
        try:
            entry, report = keep_credential(wallet, wv, credential, source=source, replace=replace)
        except AnchorcredError as exc:
            fail(exc.diagnostics())
    render(console, report)
    console.print(f"kept as {entry.id}" + ("" if report.verdict.value == "verified" else
                                           f" (verdict: {report.verdict.value.replace('_', ' ')})"))
    from wallet.present import subject_ids

    subjects = subject_ids(credential)
    if wallet.holder_did not in subjects:
        err.print(f"note: this credential is about {', '.join(subjects) or 'a subject without an id'}, not your DID "
                  f"{wallet.holder_did}: you can share it, but not present it as its holder")
    return entry


@app.command("claim")
def claim_command(link: Annotated[str, typer.Argument(help="The claim link, or an image file of its QR code")],
                  folder: WalletDir = None, pass_file: PassFile = None,
                  networks: Annotated[Optional[Path], typer.Option(help="Networks file for this run")] = None) -> None:
    """Fetch a credential from the issuer's claim link (or its QR code), verify it, keep it. The same credential
    claimed again replaces the kept one (the link serves its latest form)."""
    from wallet.claim import decode_qr, fetch_credential

    wallet = open_wallet(folder, pass_file)
    kind = "link"
    try:
        if Path(link).is_file():
            link, kind = decode_qr(Path(link)), "qr"
        with _verifier(wallet, networks) as wv:
            url, credential = fetch_credential(link, wv.fetcher)
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    entry = _keep(wallet, credential, {"kind": kind, "url": url}, replace=True, networks=networks)
    _exit_for(entry.report)


@app.command("import")
def import_command(file: Annotated[Path, typer.Argument(help="A credential JSON file")],
                   folder: WalletDir = None, pass_file: PassFile = None,
                   replace: Annotated[bool, typer.Option(help="Replace a kept credential with the same id")] = False,
                   networks: Annotated[Optional[Path], typer.Option(help="Networks file for this run")] = None) -> None:
    """Import a credential file, verify it, keep it."""
    from wallet.claim import load_credential_file

    wallet = open_wallet(folder, pass_file)
    try:
        credential = load_credential_file(file)
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    entry = _keep(wallet, credential, {"kind": "file", "name": file.name}, replace=replace, networks=networks)
    _exit_for(entry.report)


@app.command("verify")
def verify_command(ref: Annotated[Optional[str], typer.Argument(help="Entry id (default: every credential)")] = None,
                   folder: WalletDir = None, pass_file: PassFile = None,
                   networks: Annotated[Optional[Path], typer.Option(help="Networks file for this run")] = None) -> None:
    """Verify kept credentials again and keep the new reports."""
    from wallet.intake import reverify

    wallet = open_wallet(folder, pass_file)
    try:
        entries = [wallet.get(ref)] if ref else wallet.entries()
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    reports: list[Report] = []
    with _verifier(wallet, networks) as wv:
        for entry in entries:
            report = reverify(wallet, wv, entry)
            render(console, report)
            reports.append(report)
    all_ok = bool(reports) and all(r.verdict.value == "verified" for r in reports)
    raise typer.Exit(EXIT_VERIFIED if all_ok else EXIT_NOT_VERIFIED)


# ── list / show / remove ──────────────────────────────────────────────────────────────────────────────────────
@app.command("list")
def list_command(folder: WalletDir = None, pass_file: PassFile = None, as_json: AsJson = False) -> None:
    """Credentials with their verdicts, and how they stack toward larger qualifications."""
    from wallet.summary import stacks, summarize

    wallet = open_wallet(folder, pass_file)
    try:
        summaries = [summarize(e) for e in wallet.entries()]
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    piles = stacks(summaries)
    if as_json:
        print(json.dumps({
            "holder": wallet.holder_did,
            "credentials": [{"id": s.entry_id, "credential_id": s.credential_id, "title": s.title,
                             "issuer": s.issuer_name, "issued": s.issued, "ects": s.ects, "eqf_level": s.eqf_level,
                             "verdict": s.verdict, "checked_at": s.checked_at} for s in summaries],
            "stacks": [{"target": p.target.id, "title": p.target.title, "ects": p.credits,
                        "counted": [s.entry_id for s in p.counted],
                        "not_counted": [{"id": s.entry_id, "why": why} for s, why in p.not_counted]} for p in piles],
        }, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(summaries)} credential(s) — holder {wallet.holder_did}")
    for column in ("id", "verdict", "title", "issuer", "issued", "ECTS", "EQF"):
        table.add_column(column)
    for s in summaries:
        table.add_row(s.entry_id, (s.verdict or "not verified").replace("_", " "), s.title, s.issuer_name,
                      s.issued or "", s.ects_text, s.eqf_level or "")
    console.print(table)
    for p in piles:
        console.print(f"toward {p.target.title}: {p.credits:g} ECTS from {len(p.counted)} credential(s)"
                      + "".join(f"; {s.entry_id} not counted ({why})" for s, why in p.not_counted))


@app.command("show")
def show_command(ref: Annotated[str, typer.Argument(help="Entry id, a prefix of it, or the credential id")],
                 folder: WalletDir = None, pass_file: PassFile = None, as_json: AsJson = False) -> None:
    """One credential: its facts and the last verification report."""
    from wallet.summary import summarize

    wallet = open_wallet(folder, pass_file)
    try:
        entry = wallet.get(ref)
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    if as_json:
        print(json.dumps(entry.to_json(), indent=2, ensure_ascii=False))
        return
    s = summarize(entry)
    for label, value in (("entry", s.entry_id), ("credential", s.credential_id), ("title", s.title),
                         ("learner", s.learner_name), ("subject", s.subject_id), ("issuer", f"{s.issuer_name} "
                         f"({s.issuer_id})"), ("issued", s.issued), ("valid until", s.expires), ("ECTS", s.ects_text),
                         ("EQF level", s.eqf_level), ("grade", s.grade), ("claimed from", s.share_url),
                         ("counts toward", "; ".join(t.title for t in s.targets))):
        if value:
            console.print(f"{label:>14}: {value}")
    if entry.report:
        console.print(f"\nlast verified {entry.report.get('verified_at')}: {entry.report.get('verdict')}")
        for c in entry.report.get("checks", []):
            console.print(f"  {c.get('status'):>13}  {c.get('title')}: {c.get('reason')}")


@app.command("remove")
def remove_command(ref: Annotated[str, typer.Argument(help="Entry id")], folder: WalletDir = None,
                   pass_file: PassFile = None) -> None:
    """Forget a credential (its file is deleted from the wallet)."""
    wallet = open_wallet(folder, pass_file)
    try:
        entry = wallet.remove(ref)
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    console.print(f"removed {entry.id} ({entry.credential_id})")


from wallet import clishare  # noqa: E402,F401 - registers share, present, bundle and serve on ``app``


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="wallet")


__all__ = ["app", "register"]
