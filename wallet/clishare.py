"""`anchorcred wallet share|present|bundle|serve`: what leaves the wallet (registered on wallet.cli's ``app``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from verifier.errors import AnchorcredError
from wallet.cli import AsJson, PassFile, WalletDir, _verifier, app, console, err, fail, open_wallet, wallet_dir


# ── share / present / bundle ──────────────────────────────────────────────────────────────────────────────────
@app.command("share")
def share_command(ref: Annotated[str, typer.Argument(help="Entry id")], folder: WalletDir = None,
                  pass_file: PassFile = None,
                  qr: Annotated[Optional[Path], typer.Option(help="Write the QR code here (.svg or .png)")] = None,
                  pdf: Annotated[Optional[Path], typer.Option(help="Write a PDF with the QR code here")] = None,
                  verifier_url: Annotated[Optional[str], typer.Option(help="Verifier for this link")] = None,
                  as_json: AsJson = False) -> None:
    """The verification link, a LinkedIn "add to profile" link, and optionally a QR code and a PDF."""
    from wallet import share
    from wallet.summary import summarize

    wallet = open_wallet(folder, pass_file)
    try:
        entry = wallet.get(ref)
        summary = summarize(entry)
        link = share.verification_link(verifier_url or wallet.settings().get("verifier_url")
                                       or "http://localhost:8080", entry.share_url)
        linkedin = share.linkedin_link(summary, link)
        if qr is not None:
            qr.write_bytes(share.qr_png(link) if qr.suffix.lower() == ".png" else share.qr_svg(link))
        if pdf is not None:
            pdf.write_bytes(share.certificate_pdf(summary, link))
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    except OSError as exc:
        fail(f"cannot write the file: {exc.strerror or exc}")
    if as_json:
        print(json.dumps({"verification_link": link, "linkedin": linkedin, "qr": str(qr) if qr else None,
                          "pdf": str(pdf) if pdf else None}, indent=2))
        return
    console.print(f"verification link: {link}\nadd to LinkedIn:   {linkedin}", soft_wrap=True)
    for what, path in (("QR code", qr), ("PDF", pdf)):
        if path is not None:
            console.print(f"{what} written to {path}")


@app.command("present")
def present_command(refs: Annotated[list[str], typer.Argument(help="Entry ids of the credentials to present")],
                    challenge: Annotated[Optional[str], typer.Option(help="The verifier's challenge (a nonce)")] = None,
                    domain: Annotated[Optional[str], typer.Option(help="The verifier's domain")] = None,
                    out: Annotated[Optional[Path], typer.Option(help="Write the presentation here (default: "
                                                                     "standard output)")] = None,
                    folder: WalletDir = None, pass_file: PassFile = None) -> None:
    """A Verifiable Presentation of the chosen credentials, signed by your did:key for this challenge and domain."""
    from wallet.present import build_presentation

    wallet = open_wallet(folder, pass_file)
    if challenge is None:
        err.print("warning: no --challenge: the presentation is not bound to a request and a verifier reports that")
    try:
        vp = build_presentation(wallet, [wallet.get(r) for r in refs], challenge=challenge, domain=domain)
    except AnchorcredError as exc:
        fail(exc.diagnostics())
    text = json.dumps(vp, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n", "utf-8")
        console.print(f"presentation of {len(refs)} credential(s) by {wallet.holder_did} written to {out}")


@app.command("bundle")
def bundle_command(ref: Annotated[str, typer.Argument(help="Entry id")],
                   out: Annotated[Path, typer.Option(help="Write the bundle here")],
                   folder: WalletDir = None, pass_file: PassFile = None,
                   networks: Annotated[Optional[Path], typer.Option(help="Networks file (the ledger to read)")] = None,
                   ) -> None:
    """An offline bundle: the credential with its Merkle path, anchoring transaction and block, the issuer's DID
    document and key history, and its status lists with their anchored digests (anchorcred verify --offline)."""
    from verifier.ledger.evm import HttpTransport
    from wallet.bundle import write_bundle
    from wallet.exporting import anchor_chain, bundle_entry

    wallet = open_wallet(folder, pass_file)
    with _verifier(wallet, networks) as wv:
        try:
            entry = wallet.get(ref)
            chain_id = anchor_chain(entry)
            network = next((n for n in wv.config.networks if n.chain_id == chain_id), None)
            if network is None:
                fail(f"no ledger configured for chain {chain_id} (the credential's anchor): give a networks file with "
                     "--networks or anchorcred wallet config --networks")
            with HttpTransport(network.rpc_url, timeout=10.0) as transport:
                bundle = bundle_entry(entry, wv, transport=transport, chain_id=chain_id,
                                      registry=network.registry_address, say=lambda m: err.print(m))
            out.write_bytes(write_bundle(bundle))
        except AnchorcredError as exc:
            fail(exc.diagnostics())
        except OSError as exc:
            fail(f"{out}: cannot write the bundle ({exc.strerror or exc})")
    blocks = len(bundle["ledger"]["blocks"])
    console.print(f"offline bundle of {entry.id} written to {out}: {blocks} block(s), "
                  f"{len(bundle['ledger']['descendants'])} later header(s), {len(bundle['issuer']['key_events'])} key "
                  f"event(s), {len(bundle['status'])} status list(s); check it with: anchorcred verify --offline {out}")


@app.command("serve")
def serve_command(folder: WalletDir = None,
                  port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8085) -> None:
    """The wallet's page on http://127.0.0.1:PORT (local only; unlock it with the passphrase in the page)."""
    import uvicorn

    os.environ["WALLET_DIR"] = str(wallet_dir(folder))
    uvicorn.run("wallet.service.app:create_app", factory=True, host="127.0.0.1", port=port)
