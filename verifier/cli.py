"""`anchorcred verify`: the employer's command. Works where only the verifier is installed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from verifier.config import NetworkConfig, load_networks, parse_networks
from verifier.did import DidResolver
from verifier.errors import AnchorcredError
from verifier.report import Report, Status, Verdict
from verifier.setup import build_verifier
from verifier.statuslists import StatusListSource
from verifier.verify import unreadable_report

MAX_CREDENTIAL_BYTES = 2 << 20  # 2 MiB: far above any real credential, far below harm
EXIT_VERIFIED, EXIT_NOT_VERIFIED, EXIT_USAGE = 0, 1, 2

STYLE = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "red"),
    Status.SKIPPED: ("–", "bright_black"),
    Status.INDETERMINATE: ("?", "yellow"),
}
VERDICT_STYLE = {
    Verdict.VERIFIED: ("VERIFIED", "bold green"),
    Verdict.PARTIALLY_VERIFIED: ("PARTIALLY VERIFIED", "bold yellow"),
    Verdict.FAILED: ("FAILED", "bold red"),
}


def data_dir_default() -> Path:
    return Path(os.environ.get("ANCHORCRED_DATA", ".anchorcred"))


def fail_usage(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


@dataclass(frozen=True)
class Unreadable:
    reason: str


def read_limited(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a file (a FIFO or /dev/zero reports size 0: read, never trust st_size)."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than the {limit}-byte limit")
    return data


def read_credential(path: Path) -> Any:
    """The parsed JSON, or Unreadable saying why it could not be read (reported as a failed format check)."""
    if not path.exists():
        fail_usage(f"{path}: no such file")
    try:
        raw = read_limited(path, MAX_CREDENTIAL_BYTES)
    except OSError as exc:
        return Unreadable(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})")
    except ValueError as exc:
        return Unreadable(f"{path}: {exc}")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        return Unreadable(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
    except ValueError as exc:
        return Unreadable(f"{path}: not valid JSON ({exc})")
    except RecursionError:
        return Unreadable(f"{path}: JSON nested too deep to be a credential")


def render(console: Console, report: Report) -> None:
    console.print(f"\n[bold]{report.source}[/bold]  {report.credential_id or ''}", highlight=False)
    for n, c in enumerate(report.checks, 1):
        sym, colour = STYLE[c.status]
        console.print(f"  [{colour}]{sym} {n}. {c.title:<26}[/{colour}] {c.reason}", highlight=False)
    label, style = VERDICT_STYLE[report.verdict]
    console.print(f"  [{style}]{label}[/{style}]", highlight=False)


def verify_command(
    files: Annotated[list[Path], typer.Argument(help="Credential JSON files")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of reports")] = False,
    networks_file: Annotated[Optional[Path], typer.Option("--networks", help="Networks file (JSON)")] = None,
    rpc_url: Annotated[Optional[str], typer.Option("--rpc-url", help="An EVM JSON-RPC endpoint to read anchors from")] = None,
    chain_id: Annotated[Optional[int], typer.Option("--chain-id", help="Chain id of --rpc-url")] = None,
    registry: Annotated[Optional[str], typer.Option("--registry", help="AnchorRegistry address on --rpc-url")] = None,
    did_documents: Annotated[list[Path], typer.Option("--did-document", help="A DID document to trust (repeatable)")] = [],
    status_lists: Annotated[list[Path], typer.Option(
        "--status-list", help="A status list credential (snapshot) to check status with; never fetched (repeatable)",
    )] = [],
    min_confirmations: Annotated[int, typer.Option(help="Confirmations an anchor needs")] = 1,
    trust_roots: Annotated[list[str], typer.Option("--trust-root", help="A RootTAO DID whose accreditation chains "
                                                   "are trusted (repeatable); none: issuer trust is not checked")] = [],
    trust_registry: Annotated[Optional[str], typer.Option("--trust-registry", help="EBSI-like ledger URL to read "
                                                          "accreditations from (default: the networks file's)")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Data folder (default: $ANCHORCRED_DATA or .anchorcred)")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="FILES are offline bundles (anchorcred wallet bundle): "
                                          "checked with no network; a ledger node of the networks configuration, if "
                                          "any, confirms the block")] = False,
) -> None:
    """Verify credentials: signature, integrity, Merkle inclusion, anchor, status, validity; exit 0 only if all
    verify."""
    data_dir = data_dir or data_dir_default()
    networks: list[NetworkConfig] = []
    try:
        if networks_file is not None:
            networks = load_networks(networks_file)
        elif (data_dir / "networks.json").exists() and rpc_url is None:
            networks = load_networks(data_dir / "networks.json")
    except AnchorcredError as exc:
        fail_usage(exc.diagnostics())
    if rpc_url is not None:
        if chain_id is None:
            fail_usage("--rpc-url needs --chain-id (the verifier does not guess which chain a node serves)")
        given = {"chain_id": chain_id, "label": f"chain-{chain_id}", "rpc_url": rpc_url, "registry_address": registry}
        try:  # the same validation as a networks file
            extra = parse_networks({"networks": [given]}, where="--rpc-url/--chain-id/--registry")
        except AnchorcredError as exc:
            fail_usage(exc.diagnostics())
        networks = [n for n in networks if n.chain_id != chain_id] + extra
    if offline:  # the bundle brings its own evidence (wallet/offline.py); the networks only confirm its block
        from wallet.offlinecli import verify_offline

        console = Console(highlight=False, emoji=False, soft_wrap=True)
        trusted: dict[str, tuple[dict, str]] = {}
        for p in did_documents:  # only documents named here confirm a bundle's own (never one found beside it)
            try:
                doc = json.loads(read_limited(p, MAX_CREDENTIAL_BYTES))
            except (OSError, ValueError, RecursionError) as exc:
                fail_usage(f"DID document {p}: {exc}")
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                fail_usage(f"DID document {p}: not a JSON object with an 'id'")
            trusted[doc["id"]] = (doc, f"file {p}")
        raise typer.Exit(verify_offline(files, networks, as_json=as_json, console=console, max_bytes=64 << 20,
                                        trusted_documents=trusted))

    resolver = DidResolver()
    try:
        for p in did_documents:
            resolver.add(json.loads(read_limited(p, MAX_CREDENTIAL_BYTES)), f"file {p}")
        # The issuer writes its did:web document beside the credentials, at <out>/.well-known/did.json. Such a file
        # travels with the credentials, so it never replaces a document named with --did-document, and every check
        # that uses it says where it came from.
        for folder in sorted({f.parent for f in files}):
            for candidate in (folder / ".well-known" / "did.json", folder / "did.json"):
                if candidate.is_file():
                    doc = json.loads(read_limited(candidate, MAX_CREDENTIAL_BYTES))
                    resolver.add(doc, f"file {candidate} beside the credentials", replace=False)
    except (OSError, ValueError, RecursionError) as exc:
        fail_usage(f"DID document: {exc}")

    # Status lists: only snapshots given here (the CLI never fetches); each is checked against the digest the
    # issuer anchored, so a snapshot needs no website but an old one is reported as a rollback.
    lists = StatusListSource()
    for p in status_lists:
        try:
            lists.add_snapshot(json.loads(read_limited(p, MAX_CREDENTIAL_BYTES)), f"snapshot file {p}")
        except (OSError, ValueError, RecursionError) as exc:
            fail_usage(f"status list {p}: {exc}")
        except AnchorcredError as exc:
            fail_usage(f"status list {p}: {exc.diagnostics()}")
    if trust_registry is not None and not trust_registry.startswith(("http://", "https://")):
        fail_usage(f"--trust-registry must be an http(s) URL, got {trust_registry!r}")
    if any(not d.startswith("did:") for d in trust_roots):
        fail_usage(f"--trust-root expects DIDs, got {[d for d in trust_roots if not d.startswith('did:')]!r}")
    setup = build_verifier(networks, resolver, min_confirmations=min_confirmations, status_source=lists,
                           trust_roots=trust_roots, trust_registry_url=trust_registry)
    verifier = setup.verifier
    now = datetime.now(timezone.utc)
    console = Console(highlight=False)
    loaded = [(str(path), read_credential(path)) for path in files]
    readable = [(src, doc) for src, doc in loaded if not isinstance(doc, Unreadable)]
    try:
        verified = iter(verifier.verify_many(readable, now=now, workers=min(os.cpu_count() or 1, 4)))
    finally:
        setup.close()
    reports = [
        unreadable_report(src, doc.reason, now=now) if isinstance(doc, Unreadable) else next(verified)
        for src, doc in loaded
    ]
    if not as_json:
        for report in reports:
            render(console, report)
    if as_json:
        print(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        counts = {v: sum(r.verdict is v for r in reports) for v in Verdict}
        console.print(
            f"\n{len(reports)} credential(s): {counts[Verdict.VERIFIED]} verified, "
            f"{counts[Verdict.PARTIALLY_VERIFIED]} partially verified, {counts[Verdict.FAILED]} failed"
        )
    all_ok = bool(reports) and all(r.verdict is Verdict.VERIFIED for r in reports)
    raise typer.Exit(EXIT_VERIFIED if all_ok else EXIT_NOT_VERIFIED)
