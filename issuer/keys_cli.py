"""`anchorcred keys show|rotate|revoke|record`: the key history of the CLI's issuer (``<data>/issuer/keys.json``).

Rotating or revoking writes the new keys and the ledger events to record into the key file first, then the DID
document (``--out``: ``<out>/.well-known/did.json``, which the issuer publishes), then sends the events, one
transaction each (``issuer.keyevents``). Whatever stops it midway, ``keys record`` finishes; ``issue`` refuses to run
while events are pending (a new anchoring key must be on the ledger before it anchors).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console

from issuer.cli import DEVNET_CHAIN_ID, DEVNET_PORT, _fail, _fail_on, console
from issuer.errors import IssuerError, OptionError
from issuer.keyevents import KeyEventWriter, record_pending
from issuer.keyrotation import KeyUpdate, revoke_key, rotate_key
from issuer.keys import ANCHORING, ROLES, KeyFile, read_key_file, write_key_file
from verifier.cli import data_dir_default
from verifier.errors import AnchorcredError
from verifier.ledger.base import KEY_EVENT_KINDS

keys_app = typer.Typer(help="The issuer's key history: show, rotate, revoke (recorded on the ledger).",
                       no_args_is_help=True)

DataDir = Annotated[Optional[Path], typer.Option(help="Data folder (default: $ANCHORCRED_DATA or .anchorcred)")]
Ledger = Annotated[str, typer.Option(help="devnet (started on demand) or rpc")]
RpcUrl = Annotated[Optional[str], typer.Option(help="JSON-RPC endpoint for --ledger rpc")]
Registry = Annotated[Optional[str], typer.Option(help="AnchorRegistry address for --ledger rpc")]
DevnetPort = Annotated[int, typer.Option(help="Port of the local devnet (--ledger devnet)")]
Out = Annotated[Optional[Path], typer.Option(help="Output folder whose .well-known/did.json is rewritten")]


def _key_file(data_dir: Optional[Path]) -> Path:
    path = (data_dir or data_dir_default()) / "issuer" / "keys.json"
    if not path.exists():
        _fail(f"{path}: no issuer keys here yet (they are made by the first `anchorcred issue`)")
    return path


def _role(role: str) -> str:
    if role not in ROLES:
        _fail(f"ROLE must be one of {', '.join(ROLES)}, got {role!r}")
    return role


# ── ledgers ─────────────────────────────────────────────────────────────────────────────────────────────────────
def open_event_ledger(data_dir: Path, keyfile: KeyFile, ledger: str, rpc_url: str | None, registry: str | None,
                      devnet_port: int) -> tuple[int, Callable[[bytes], KeyEventWriter], Callable[[str], None] | None]:
    """(chain id, a writer per sending key, a funding function on the devnet) for the key events."""
    from eth_account import Account
    from web3 import Web3

    from issuer.ledger.evm import EvmWriter, ensure_registry, map_errors
    from issuer.ledger.errors import redact_url

    fund = None
    if ledger == "devnet":
        from issuer.ledger.devnet import Devnet, fund_from_dev_account

        devnet = Devnet(data_dir / "devnet", chain_id=DEVNET_CHAIN_ID, port=devnet_port)
        if not devnet.status().running:
            console.print(f"starting the local devnet (anvil) on 127.0.0.1:{devnet_port} …")
            devnet.start()
        rpc_url = devnet.status().rpc_url
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))

        def fund(address: str) -> None:
            with map_errors(f"devnet at {redact_url(rpc_url)}: balance", w3):
                low = w3.eth.get_balance(address) < 10**17
            if low:
                fund_from_dev_account(w3, address, 10**18)

        current = Account.from_key(keyfile.identity.secp256k1_secret)
        fund(current.address)
        registry = ensure_registry(w3, current, data_dir / "devnet" / "registry.json")
    elif ledger == "rpc":
        if not rpc_url or not registry:
            _fail("--ledger rpc needs --rpc-url URL and --registry ADDRESS (key events live in the registry)")
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    else:
        _fail(f"--ledger must be devnet or rpc, got {ledger!r}")
    with map_errors(f"ledger at {redact_url(rpc_url)}: chain id", w3):
        chain_id = int(w3.eth.chain_id)

    def writer_for(secret: bytes) -> KeyEventWriter:
        return EvmWriter(w3, Account.from_key(secret), mode="contract", registry_address=registry)

    return chain_id, writer_for, fund


# ── the commands ────────────────────────────────────────────────────────────────────────────────────────────────
def publish_did_document(keyfile: KeyFile, out: Path, chain_id: int | None) -> Path:
    """Rewrites ``<out>/.well-known/did.json`` with the whole history, on every chain it bound before and this one."""
    path = out / ".well-known" / "did.json"
    chains = {chain_id} if chain_id is not None else set()
    if path.exists():
        try:
            chains |= keyfile.identity.bound_chains(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise OptionError(f"{path}: the DID document there is unreadable ({type(exc).__name__})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(keyfile.identity.did_document(chains), indent=2) + "\n", "utf-8")
    tmp.replace(path)
    return path


def change_keys(path: Path, update: Callable[[KeyFile], KeyUpdate], *, out: Optional[Path],
                open_ledger: Callable[[KeyFile], tuple[int, Callable[[bytes], KeyEventWriter], Callable | None]]
                ) -> KeyFile:
    """Applies ``update`` to the key file (written before anything is sent), publishes the DID document, records."""
    keyfile = read_key_file(path)
    if keyfile.pending:
        raise OptionError(f"{len(keyfile.pending)} key event(s) are still to be recorded; run `anchorcred keys "
                          "record` first")
    before = keyfile
    result = update(keyfile)
    keyfile = KeyFile(result.identity, result.retiring_secret, result.changes, keyfile.recorded)
    chain_id, writer_for, fund = open_ledger(before)  # the ledger answers before the keys change
    write_key_file(path, keyfile)
    if out is not None:
        console.print(f"DID document written: {publish_did_document(keyfile, out, chain_id)} (publish it)")
    return record_pending(path, keyfile, chain_id=chain_id, writer_for=writer_for, fund=fund, say=console.print)


def _opener(data_dir: Path, ledger: str, rpc_url, registry, devnet_port):
    return lambda keyfile: open_event_ledger(data_dir, keyfile, ledger, rpc_url, registry, devnet_port)


@keys_app.command("show")
def keys_show(data_dir: DataDir = None) -> None:
    """List every key the issuer used, with its dates, and the key events still to record."""
    try:
        keyfile = read_key_file(_key_file(data_dir))
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    identity = keyfile.identity
    # One line per key, never cut to the terminal's width (a table folds dates and keys mid-word at 80 columns).
    out = Console(highlight=False, soft_wrap=True, emoji=False)
    out.print(f"Keys of {identity.did}")
    for r in identity.records():
        current = " (current)" if r == identity.current(r.role) else ""
        out.print(f"  {r.role} key {r.number}{current}: created {r.created or '-'}, retired {r.retired or '-'}, "
                  f"revoked {r.revoked or '-'}; {'address' if r.address else 'public key'} "
                  f"{r.address or r.public.hex()}")
    for change in keyfile.pending:
        console.print(f"pending: {change.role} key {change.number} {KEY_EVENT_KINDS[change.kind]} "
                      f"(sent by anchoring key {change.sender})")


@keys_app.command("rotate")
def keys_rotate(role: Annotated[str, typer.Argument(help="signing or anchoring")], data_dir: DataDir = None,
                ledger: Ledger = "devnet", rpc_url: RpcUrl = None, registry: Registry = None,
                devnet_port: DevnetPort = DEVNET_PORT, out: Out = None) -> None:
    """Replace the current key of ROLE by a new one; the old one is retired (what it signed or anchored stays valid)."""
    data_dir = data_dir or data_dir_default()
    now = datetime.now(timezone.utc)
    try:
        path = _key_file(data_dir)
        keyfile = change_keys(path, lambda kf: rotate_key(kf.identity, _role(role), now=now), out=out,
                              open_ledger=_opener(data_dir, ledger, rpc_url, registry, devnet_port))
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    current = keyfile.identity.current(role)
    console.print(f"{role} key {current.number} is now current"
                  + (f" (address {current.address})" if role == ANCHORING else ""))


@keys_app.command("revoke")
def keys_revoke(role: Annotated[str, typer.Argument(help="signing or anchoring")],
                number: Annotated[Optional[int], typer.Option(help="Which key (default: the current one)")] = None,
                data_dir: DataDir = None, ledger: Ledger = "devnet", rpc_url: RpcUrl = None,
                registry: Registry = None, devnet_port: DevnetPort = DEVNET_PORT, out: Out = None) -> None:
    """Revoke a key of ROLE (compromised): credentials anchored after now that rely on it fail verification."""
    data_dir = data_dir or data_dir_default()
    now = datetime.now(timezone.utc)
    try:
        path = _key_file(data_dir)
        keyfile = change_keys(path, lambda kf: revoke_key(kf.identity, _role(role), number, now=now), out=out,
                              open_ledger=_opener(data_dir, ledger, rpc_url, registry, devnet_port))
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    console.print(f"revoked; {role} key {keyfile.identity.current(role).number} is current")


@keys_app.command("record")
def keys_record(data_dir: DataDir = None, ledger: Ledger = "devnet", rpc_url: RpcUrl = None, registry: Registry = None,
                devnet_port: DevnetPort = DEVNET_PORT) -> None:
    """Send the key events a rotation or revocation could not record (ledger down, address not funded)."""
    data_dir = data_dir or data_dir_default()
    try:
        path = _key_file(data_dir)
        keyfile = read_key_file(path)
        if not keyfile.pending:
            console.print("no key event to record")
            return
        chain_id, writer_for, fund = open_event_ledger(data_dir, keyfile, ledger, rpc_url, registry, devnet_port)
        record_pending(path, keyfile, chain_id=chain_id, writer_for=writer_for, fund=fund, say=console.print)
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
