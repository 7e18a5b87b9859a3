"""The registrar's commands: `anchorcred issue`, `anchorcred devnet start|stop|status`, `anchorcred demo`."""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from issuer.achievement import load_achievement
from issuer.batch import BatchResult, build_documents, issue_batch
from issuer.errors import IssuerError
from issuer.keys import IssuerIdentity, check_issuer_did, load_or_create_identity
from issuer.ledger.base import LedgerWriter
from issuer.ledger.errors import redact_url
from issuer.roster import load_roster
from verifier.cli import EXIT_USAGE, data_dir_default, render
from verifier.errors import AnchorcredError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEVNET_CHAIN_ID = 31337
DEVNET_PORT = 8545
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, lines: list[str] | tuple[str, ...] = ()) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    for line in lines:
        err_console.print(f"  {line}")
    raise typer.Exit(EXIT_USAGE)


def _fail_on(exc: Exception) -> None:
    problems = getattr(exc, "problems", None)
    if problems:
        _fail(f"{len(problems)} problem(s) in the {getattr(exc, 'what', 'input')}; nothing was issued", problems)
    diagnostics = getattr(exc, "diagnostics", None)
    _fail(diagnostics() if diagnostics else str(exc))


@dataclass
class Ledger:
    writer: LedgerWriter
    label: str
    rpc_url: str | None
    registry_address: str | None


# ── ledgers ─────────────────────────────────────────────────────────────────────────────────────────────────────
def _write_networks(data_dir: Path, chain_id: int, label: str, rpc_url: str, registry: str | None) -> None:
    """Tell the verifier (same data folder) where this chain is; other chains already listed are kept."""
    from issuer.ledger.networks import publish_network

    publish_network(data_dir, chain_id, label, rpc_url, registry)


def open_devnet_ledger(
    data_dir: Path, identity: IssuerIdentity, mode: str, *, port: int = DEVNET_PORT, confirmations: int = 1
) -> Ledger:
    from eth_account import Account
    from web3 import Web3

    from issuer.ledger.devnet import Devnet, fund_from_dev_account
    from issuer.ledger.evm import EvmWriter, ensure_registry, map_errors

    devnet = Devnet(data_dir / "devnet", chain_id=DEVNET_CHAIN_ID, port=port)
    status = devnet.status()
    if not status.running:
        console.print(f"starting the local devnet (anvil) on 127.0.0.1:{port} …")
        devnet.start()
        status = devnet.status()
    w3 = Web3(Web3.HTTPProvider(status.rpc_url, request_kwargs={"timeout": 30}))
    account = Account.from_key(identity.secp256k1_secret)
    # A node that stops answering here is an error line, not a requests traceback (map_errors).
    with map_errors(f"devnet at {redact_url(status.rpc_url)}: balance", w3):
        balance = w3.eth.get_balance(account.address)
    if balance < 10**17:
        fund_from_dev_account(w3, account.address, 10**18)
    registry = None
    if mode == "contract":
        registry = ensure_registry(w3, account, data_dir / "devnet" / "registry.json")
    _write_networks(data_dir, DEVNET_CHAIN_ID, "devnet", status.rpc_url, registry)
    writer = EvmWriter(w3, account, mode=mode, registry_address=registry, confirmations=confirmations)
    return Ledger(writer, "devnet", status.rpc_url, registry)


def open_rpc_ledger(
    data_dir: Path, identity: IssuerIdentity, mode: str, rpc_url: str, registry: str | None, *, confirmations: int = 1
) -> Ledger:
    from eth_account import Account
    from web3 import Web3

    from issuer.ledger.evm import EvmWriter, map_errors

    if mode == "contract" and not registry:
        _fail("--ledger rpc in contract mode needs --registry ADDRESS (or use --mode calldata)")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    account = Account.from_key(identity.secp256k1_secret)
    with map_errors(f"ledger at {redact_url(rpc_url)}: chain id", w3):
        chain_id = int(w3.eth.chain_id)
    _write_networks(data_dir, chain_id, f"chain-{chain_id}", rpc_url, registry)
    writer = EvmWriter(w3, account, mode=mode, registry_address=registry, confirmations=confirmations)
    return Ledger(writer, f"chain-{chain_id}", rpc_url, registry)


# ── issue ───────────────────────────────────────────────────────────────────────────────────────────────────────
@contextmanager
def _progress_bar(enabled: bool) -> Iterator:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield update


def run_issue(
    achievement_path: Path,
    roster_path: Path,
    out_dir: Path,
    *,
    data_dir: Path,
    open_ledger,
    did: str | None = None,
    show_progress: bool = True,
) -> BatchResult:
    """Validate everything, then sign, anchor and write. Raises IssuerError before anything is signed."""
    if did is not None:
        check_issuer_did(did)  # before any key file is created for it
    achievement = load_achievement(achievement_path)
    learners = load_roster(roster_path, achievement)
    identity = load_or_create_identity(data_dir / "issuer" / "keys.json", did or achievement.awarding_body.did)
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    docs = build_documents(achievement, learners, issuer_did=identity.did, issued=issued)
    ledger = open_ledger(identity)
    with _progress_bar(show_progress) as progress:
        return issue_batch(
            docs,
            identity=identity,
            writer=ledger.writer,
            ledger_label=ledger.label,
            out_dir=out_dir,
            created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
            progress=progress,
        )


def print_summary(result: BatchResult, seconds: float) -> None:
    table = Table(title="Batch issued", show_header=False, title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a root or a transaction hash is shown whole, never cut with an ellipsis
    r = result.receipt
    rows = [
        ("credentials", str(result.count)),
        ("Merkle root", result.merkle_root.hex()),
        ("ledger", f"{result.ledger_label} (chain {r.chain_id}, {r.mode} mode)"),
        ("transaction", r.tx_hash),
        ("block", str(r.block_number)),
        ("gas used", f"{r.gas_used:,}"),
        ("gas per credential", f"{result.gas_per_credential:,.2f}"),
        ("output folder", str(result.out_dir)),
        ("issuer DID document", str(result.did_document) if result.did_document else "derived from did:key"),
        ("time", f"{seconds:.2f} s"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


def issue_command(
    achievement: Annotated[Path, typer.Option(help="Achievement description (YAML)")],
    roster: Annotated[Path, typer.Option(help="Roster of learners (CSV, UTF-8)")],
    out: Annotated[Path, typer.Option(help="Output folder for the credentials")],
    ledger: Annotated[str, typer.Option(help="devnet (started on demand), rpc, or ebsi (the EBSI-like ledger)")] = "devnet",
    rpc_url: Annotated[Optional[str], typer.Option(help="JSON-RPC endpoint for --ledger rpc")] = None,
    ebsi_url: Annotated[Optional[str], typer.Option(help="The EBSI-like ledger's URL for --ledger ebsi")] = None,
    registry: Annotated[Optional[str], typer.Option(help="AnchorRegistry address for --ledger rpc")] = None,
    mode: Annotated[str, typer.Option(help="contract (AnchorRegistry) or calldata (root in a plain transaction)")] = "contract",
    did: Annotated[Optional[str], typer.Option(help="Issuer DID (default: the achievement's awarding body DID)")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Data folder (default: $ANCHORCRED_DATA or .anchorcred)")] = None,
    devnet_port: Annotated[int, typer.Option(help="Port of the local devnet (--ledger devnet)")] = DEVNET_PORT,
    confirmations: Annotated[int, typer.Option(min=1, max=1000, help="Blocks to wait for before the batch counts as anchored")] = 1,
) -> None:
    """Validate an achievement and a roster, then sign, anchor (one transaction) and write the batch."""
    data_dir = data_dir or data_dir_default()
    if ledger not in ("devnet", "rpc", "ebsi"):
        _fail(f"--ledger must be devnet, rpc or ebsi, got {ledger!r}")
    if ledger == "ebsi" and not (ebsi_url or "").startswith(("http://", "https://")):
        _fail("--ledger ebsi needs --ebsi-url http(s)://HOST:PORT (e.g. the one `anchorcred stack up --ebsi` prints)")
    if mode not in ("contract", "calldata"):
        _fail(f"--mode must be contract or calldata, got {mode!r}")
    if ledger == "rpc" and not rpc_url:
        _fail("--ledger rpc needs --rpc-url URL")
    if did is not None:
        try:
            check_issuer_did(did)
        except IssuerError as exc:
            _fail(f"--did: {exc}")  # before anything is read, created or contacted

    def opener(identity: IssuerIdentity) -> Ledger:
        if ledger == "devnet":
            return open_devnet_ledger(data_dir, identity, mode, port=devnet_port, confirmations=confirmations)
        if ledger == "ebsi":
            from issuer.ledger.ebsi import open_ebsi_writer

            writer = open_ebsi_writer(data_dir, identity.secp256k1_secret, ebsi_url)
            return Ledger(writer, f"ebsi-{writer.chain_id}", ebsi_url, None)
        return open_rpc_ledger(data_dir, identity, mode, rpc_url, registry, confirmations=confirmations)

    start = time.perf_counter()
    try:
        result = run_issue(achievement, roster, out, data_dir=data_dir, open_ledger=opener, did=did)
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    print_summary(result, time.perf_counter() - start)


# ── devnet ──────────────────────────────────────────────────────────────────────────────────────────────────────
devnet_app = typer.Typer(help="The local devnet (anvil from the npm registry), managed by PID.", no_args_is_help=True)


def _devnet(data_dir: Optional[Path], port: int):
    from issuer.ledger.devnet import Devnet

    return Devnet((data_dir or data_dir_default()) / "devnet", chain_id=DEVNET_CHAIN_ID, port=port)


@devnet_app.command("start")
def devnet_start(
    data_dir: Annotated[Optional[Path], typer.Option()] = None, port: Annotated[int, typer.Option()] = DEVNET_PORT
) -> None:
    """Start anvil in the background (state kept in the data folder)."""
    try:
        status = _devnet(data_dir, port).start()
    except AnchorcredError as exc:
        _fail(exc.diagnostics())
    console.print(f"devnet running: pid {status.pid}, {status.rpc_url}, chain {status.chain_id}")


@devnet_app.command("stop")
def devnet_stop(
    data_dir: Annotated[Optional[Path], typer.Option()] = None, port: Annotated[int, typer.Option()] = DEVNET_PORT
) -> None:
    """Stop the devnet by its PID; its state is saved."""
    try:
        _devnet(data_dir, port).stop()
    except AnchorcredError as exc:
        _fail(exc.diagnostics())
    console.print("devnet stopped")


@devnet_app.command("status")
def devnet_status(
    data_dir: Annotated[Optional[Path], typer.Option()] = None, port: Annotated[int, typer.Option()] = DEVNET_PORT
) -> None:
    """Whether the devnet runs, its PID, RPC URL, chain id and block."""
    status = _devnet(data_dir, port).status()
    if status.running:
        console.print(f"running: pid {status.pid}, {status.rpc_url}, chain {status.chain_id}, block {status.block_number}")
    else:
        console.print("not running")
        raise typer.Exit(1)


# ── demo ────────────────────────────────────────────────────────────────────────────────────────────────────────
def demo_command(
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default: a temporary folder)")] = None,
) -> None:
    """One process, no setup: issue the example batch on the embedded chain and verify it."""
    # The keys (data folder) and, without --out, the credentials live in a temporary folder, deleted at the end:
    # a demo leaves behind only the output it was asked for.
    with tempfile.TemporaryDirectory(prefix="anchorcred-demo-") as tmp:
        workdir = Path(tmp)
        verified = _demo(out or workdir / "out", workdir / "data")
    raise typer.Exit(0 if verified else 1)


def _demo(out: Path, data_dir: Path) -> bool:
    """Issues the example batch on a fresh embedded chain into ``out`` and verifies it: True if every one verified."""
    from eth_account import Account

    from issuer.ledger.embedded import EmbeddedChain
    from verifier.did import DidResolver
    from verifier.ledger.evm import CachingReader, EvmReader, LedgerRouter
    from verifier.report import Verdict
    from verifier.verify import Verifier, VerifierOptions

    console.print("[bold]anchorcred demo[/bold]: embedded chain (eth-tester + py-evm), example achievement and roster")
    chain = EmbeddedChain()
    holder: dict[str, object] = {}

    def opener(identity: IssuerIdentity) -> Ledger:
        account = Account.from_key(identity.secp256k1_secret)
        chain.fund(account.address, 10**18)
        holder["identity"] = identity
        return Ledger(chain.writer(account, mode="contract"), "embedded", None, chain.registry_address)

    start = time.perf_counter()
    try:
        result = run_issue(EXAMPLES / "achievement.yaml", EXAMPLES / "roster.csv", out, data_dir=data_dir, open_ledger=opener)
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    print_summary(result, time.perf_counter() - start)

    identity: IssuerIdentity = holder["identity"]  # type: ignore[assignment]
    resolver = DidResolver()
    if result.did_document is not None:
        resolver.add(json.loads(result.did_document.read_text("utf-8")), f"file {result.did_document}")
    reader = EvmReader(chain.transport(), chain_id=chain.chain_id, registry_address=chain.registry_address)
    verifier = Verifier(
        ledger=CachingReader(LedgerRouter({chain.chain_id: reader})),
        did_resolver=resolver,
        options=VerifierOptions(network_labels={"embedded": chain.chain_id}),
    )
    now = datetime.now(timezone.utc)
    reports = [verifier.verify(json.loads(p.read_text("utf-8")), now=now, source=p.name) for p in result.files]
    render(console, reports[0])
    ok = sum(r.verdict is Verdict.VERIFIED for r in reports)
    console.print(f"\nverified {ok} of {len(reports)} credentials issued by {identity.did}")
    return ok == len(reports)


stack_app = typer.Typer(help="The local stack: devnet, verifier and issuer services, a demo university (development).",
                        no_args_is_help=True)


def _stack(data_dir: Optional[Path], issuer_port: int, verifier_port: int, devnet_port: int, *, ebsi: bool = False,
           ebsi_port: int = 8090):
    from issuer.stack import Ports, Stack

    return Stack(data_dir or data_dir_default(),
                 Ports(issuer=issuer_port, verifier=verifier_port, devnet=devnet_port, ebsi=ebsi_port), ebsi=ebsi)


StackData = Annotated[Optional[Path], typer.Option("--data-dir", help="Data folder (default $ANCHORCRED_DATA or .anchorcred)")]
IssuerPort = Annotated[int, typer.Option(help="Issuer service port")]
VerifierPort = Annotated[int, typer.Option(help="Verifier service port")]
DevnetPort = Annotated[int, typer.Option(help="Devnet (anvil) port")]


@stack_app.command("up")
def stack_up(data_dir: StackData = None, issuer_port: IssuerPort = 8081, verifier_port: VerifierPort = 8080,
             devnet_port: DevnetPort = DEVNET_PORT,
             demo: Annotated[bool, typer.Option(help="Issue the example batch for the demo university")] = True,
             ebsi: Annotated[bool, typer.Option(help="Also run the EBSI-like ledger on the devnet")] = False,
             ebsi_port: Annotated[int, typer.Option(help="EBSI-like ledger port (--ebsi)")] = 8090) -> None:
    """Start the devnet, deploy the registry once, start both services; issue and verify the example batch."""
    from issuer.stack import DEMO_TENANT

    stack = _stack(data_dir, issuer_port, verifier_port, devnet_port, ebsi=ebsi, ebsi_port=ebsi_port)
    out = Console(highlight=False, soft_wrap=True)  # links stay on one line, whatever the terminal width
    try:
        urls = stack.up(say=out.print)
        if not demo:
            return
        result = stack.issue_example(urls, say=out.print)
    except (IssuerError, AnchorcredError) as exc:
        _fail_on(exc)
    batch = result["batch"]
    out.print(f"\n[bold]batch {batch['id']}[/bold]: {result['count']} credentials, state {batch['state']}, "
                  f"root {batch.get('root')}, transaction {batch.get('tx')} (block {batch.get('block')})")
    colour = "green" if result["verified"] == result["count"] else "red"
    out.print(f"[{colour}]verified {result['verified']} of {result['count']} at the verifier service[/{colour}]")
    out.print("\nOpen:")
    out.print(f"  admin pages     {result['admin']}  (user admin, tenant {DEMO_TENANT}; password in "
                  f"{stack.folder / 'admin-password'})")
    out.print(f"  a share link    {result['share_link']}")
    out.print(f"  its certificate {result['pdf']}")
    out.print(f"  verifier page   {result['verifier']}")
    out.print("Stop everything with: .venv/bin/anchorcred stack down")
    if result["verified"] != result["count"]:
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down(data_dir: StackData = None, issuer_port: IssuerPort = 8081, verifier_port: VerifierPort = 8080,
               devnet_port: DevnetPort = DEVNET_PORT,
               ebsi_port: Annotated[int, typer.Option(help="EBSI-like ledger port")] = 8090) -> None:
    """Stop the services and the devnet started by `stack up` (and the EBSI-like ledger, if it runs)."""
    _stack(data_dir, issuer_port, verifier_port, devnet_port, ebsi_port=ebsi_port).down(say=console.print)


def register(app: typer.Typer) -> None:
    app.command("issue")(issue_command)
    app.add_typer(devnet_app, name="devnet")
    app.add_typer(stack_app, name="stack")
    app.command("demo")(demo_command)
    from issuer.keys_cli import keys_app  # imports this module: registered once both are loaded

    app.add_typer(keys_app, name="keys")
    from issuer.europass_cli import export_europass_command

    app.command("export-europass")(export_europass_command)
