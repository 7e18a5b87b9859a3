"""``anchorcred verify --offline BUNDLE…``: the rendering and exit code, called by verifier/cli.py.

A ledger node is asked only if the networks configuration names the bundle's chain (and then only for the block
hash at the anchor's height and the latest height); nothing else is contacted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from verifier.config import NetworkConfig
from verifier.errors import AnchorcredError
from verifier.ledger.evm import HttpTransport, redact_url
from verifier.report import Status
from wallet.bundle import read_bundle
from wallet.errors import BundleError
from wallet.offline import BundleReport, NodeConfirmer, verify_bundle

STYLE = {Status.PASS: ("✔", "green"), Status.FAIL: ("✘", "red"), Status.SKIPPED: ("–", "bright_black"),
         Status.INDETERMINATE: ("?", "yellow")}
VERDICT = {"verified": ("VERIFIED", "bold green"), "partially_verified": ("PARTIALLY VERIFIED", "bold yellow"),
           "failed": ("FAILED", "bold red")}
NODE_TIMEOUT = 5.0


def _failed(source: str, reason: str) -> dict:
    return {"source": source, "kind": "offline bundle", "verdict": "failed",
            "checks": [{"id": "bundle_format", "title": "Offline bundle", "status": "fail", "reason": reason}]}


def render(console: Console, report: BundleReport) -> None:
    console.print(f"\n[bold]{report.source}[/bold]  offline bundle exported {report.exported_at or '(date unknown)'}",
                  highlight=False)
    for n, c in enumerate(report.checks, 1):
        sym, colour = STYLE[c.status]
        console.print(f"  [{colour}]{sym} {n:>2}. {c.title:<34}[/{colour}] {c.reason}", highlight=False)
    if report.evidence:
        console.print("  evidence used:")
        for check, text in report.evidence:
            console.print(f"    {check}: {text}", highlight=False)
    label, style = VERDICT[report.verdict.value]
    console.print(f"  [{style}]{label}[/{style}]")


def verify_offline(files: Iterable[Path], networks: list[NetworkConfig], *, as_json: bool, console: Console,
                   max_bytes: int, trusted_documents: Mapping[str, tuple[dict, str]] | None = None) -> int:
    """Verify each bundle; 0 when every one is verified, else 1. ``trusted_documents`` (DID -> (document, source)):
    the issuers' DID documents the verifier was given, which a bundle's own must agree with."""
    now = datetime.now(timezone.utc)
    results: list[dict] = []
    all_ok = True
    for path in files:
        try:
            with path.open("rb") as fh:
                raw = fh.read(max_bytes + 1)
            bundle = read_bundle(raw, str(path))
        except OSError as exc:
            results.append(_failed(str(path), f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"))
            all_ok = False
            continue
        except BundleError as exc:
            results.append(_failed(str(path), exc.diagnostics()))
            all_ok = False
            continue
        chain = bundle.get("anchor", {}).get("chain_id") if isinstance(bundle.get("anchor"), dict) else None
        network = next((n for n in networks if n.chain_id == chain), None)
        transport = HttpTransport(network.rpc_url, timeout=NODE_TIMEOUT) if network else None
        try:
            node = NodeConfirmer(transport, chain_id=network.chain_id, where=redact_url(network.rpc_url)) \
                if network else None
            report = verify_bundle(bundle, now=now, source=str(path), node=node, trusted_documents=trusted_documents)
        except AnchorcredError as exc:
            results.append(_failed(str(path), exc.diagnostics()))
            all_ok = False
            continue
        finally:
            if transport is not None:
                transport.close()
        all_ok = all_ok and report.verdict.value == "verified"
        if as_json:
            results.append(report.to_json())
        else:
            render(console, report)
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for r in results:  # unreadable bundles
            console.print(f"\n[bold]{r['source']}[/bold]\n  [red]✘ {r['checks'][0]['reason']}[/red]\n  "
                          "[bold red]FAILED[/bold red]", highlight=False)
    return 0 if all_ok else 1


__all__ = ["render", "verify_offline"]
