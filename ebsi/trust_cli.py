"""``anchorcred trust …`` (also ``python -m ebsi.trust_cli``): make and register trust marks on the EBSI-like ledger.

    anchorcred trust party "Ministry of Education" --out ministry.json [--alg ES256K]
    anchorcred trust accredit --ebsi-url URL --as root --by ministry.json --admin-key-file admin.key --type … --country DE
    anchorcred trust accredit --ebsi-url URL --as tao  --by ministry.json --subject agency.json --type … --country DE
    anchorcred trust accredit --ebsi-url URL --as ti   --by agency.json --subject-did did:web:uni.example --type …
    anchorcred trust revoke   --ebsi-url URL --by ministry.json --did DID --attribute 0x…
    anchorcred trust demo     --ebsi-url URL --admin-key-file admin.key --university-did DID --folder DIR

A party file holds an organisation's DID, its credential-signing key and the key controlling its DID on the ledger
(JSON, written 0600; never printed). Each party file also records the accreditations it holds (``accreditations``),
so the next step can name it with ``--by`` alone.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from ebsi.trust import TO_ACCREDIT, TO_ATTEST, Accreditation, AccreditedFor, Party, accredit, make_root
from issuer.ebsi_jwt import JwtSigner, new_ebsi_did

app = typer.Typer(help="Trust marks: accreditations RootTAO -> TAO -> TI on the EBSI-like ledger.", no_args_is_help=True)
MAX_PARTY_BYTES = 64 * 1024
DEFAULT_TYPES = ("VerifiableCredential", "OpenBadgeCredential")


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


# ── party files ────────────────────────────────────────────────────────────────────────────────────────────────
def save_party(path: Path, party: Party, accreditations: list[Accreditation] | None = None) -> None:
    data = {"name": party.name, "did": party.did, "alg": party.signer.alg, "signingKey": party.signer.private_jwk(),
            "controllerKey": party.controller_secret.hex() if party.controller_secret else None,
            "accreditations": [asdict(a) for a in accreditations or []]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    tmp.replace(path)


def load_party(path: Path) -> tuple[Party, list[Accreditation]]:
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_PARTY_BYTES:
            raise ValueError(f"larger than {MAX_PARTY_BYTES} bytes")
        data = json.loads(raw)
        signer = JwtSigner.from_private_jwk(data["did"], data["signingKey"], data["alg"])
        controller = bytes.fromhex(data["controllerKey"]) if data.get("controllerKey") else None
        held = [Accreditation(**a) for a in data.get("accreditations", [])]
        return Party(data["name"], signer, controller), held
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from exc
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise ValueError(f"{path}: not a party file ({type(exc).__name__}: {exc})") from exc


def new_party(name: str, alg: str = "ES256", did: str | None = None) -> Party:
    return Party(name, JwtSigner.generate(did or new_ebsi_did(), alg), secrets.token_bytes(32))


def _secret_from_file(path: Path) -> bytes:
    text = path.read_text("utf-8").strip().removeprefix("0x")
    if len(text) != 64:
        fail(f"{path}: expected a 32-byte hex secp256k1 key")
    return bytes.fromhex(text)


def _writer(ebsi_url: str, admin_key_file: Path | None):
    from ebsi.trustledger import LedgerRegistryWriter

    if not ebsi_url.startswith(("http://", "https://")):
        fail(f"--ebsi-url must be an http(s) URL, got {ebsi_url!r}")
    return LedgerRegistryWriter(ebsi_url, admin_secret=_secret_from_file(admin_key_file) if admin_key_file else None)


def _period(valid_from: Optional[str], valid_until: Optional[str], days: int) -> tuple[datetime, datetime]:
    try:
        start = datetime.fromisoformat(valid_from.replace("Z", "+00:00")) if valid_from else datetime.now(timezone.utc)
        end = datetime.fromisoformat(valid_until.replace("Z", "+00:00")) if valid_until else start + timedelta(days=days)
    except ValueError as exc:
        fail(f"--valid-from/--valid-until: {exc}")
    if start.tzinfo is None or end.tzinfo is None:
        fail("--valid-from/--valid-until need a time zone (e.g. 2026-01-01T00:00:00Z)")
    return start.replace(microsecond=0), end.replace(microsecond=0)


# ── commands ───────────────────────────────────────────────────────────────────────────────────────────────────
@app.command("party")
def party_command(
    name: Annotated[str, typer.Argument(help="The organisation's name")],
    out: Annotated[Path, typer.Option(help="Party file to write (JSON, mode 0600)")],
    alg: Annotated[str, typer.Option(help="ES256 (P-256) or ES256K (secp256k1) for its credentials")] = "ES256",
) -> None:
    """Make a new organisation: a did:ebsi, its credential-signing key and its ledger key."""
    if out.exists():
        fail(f"{out} exists: a party file is never overwritten")
    if alg not in ("ES256", "ES256K"):
        fail(f"--alg must be ES256 or ES256K, got {alg!r}")
    party = new_party(name, alg)
    save_party(out, party)
    typer.echo(party.did)


@app.command("accredit")
def accredit_command(
    ebsi_url: Annotated[str, typer.Option(help="The EBSI-like ledger's URL")],
    role: Annotated[str, typer.Option("--as", help="root (RootTAO, an admin write), tao or ti")],
    by: Annotated[Path, typer.Option(help="The accreditor's party file (for --as root: the root itself)")],
    subject: Annotated[Optional[Path], typer.Option(help="The accredited party's file (registered in the DID Registry)")] = None,
    subject_did: Annotated[Optional[str], typer.Option(help="Or just its DID (e.g. a university's did:web)")] = None,
    types: Annotated[list[str], typer.Option("--type", help="Credential types accredited for (repeatable)")] = list(DEFAULT_TYPES),
    schema: Annotated[str, typer.Option(help="Schema id accredited for")] = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
    countries: Annotated[list[str], typer.Option("--country", help="Jurisdiction, ISO alpha-2 (repeatable)")] = ["DE"],
    valid_from: Annotated[Optional[str], typer.Option(help="Start (default: now)")] = None,
    valid_until: Annotated[Optional[str], typer.Option(help="End (default: a year on)")] = None,
    admin_key_file: Annotated[Optional[Path], typer.Option(help="The ledger admin's key (hex), for --as root")] = None,
) -> None:
    """Accredit a RootTAO (admin), a TAO (by a RootTAO) or a TI (by a TAO), and register the accreditation."""
    if role not in ("root", "tao", "ti"):
        fail(f"--as must be root, tao or ti, got {role!r}")
    try:
        accreditor, held = load_party(by)
        target: Party | str | None = load_party(subject)[0] if subject else subject_did
        scope = [AccreditedFor.for_countries(schema, types, countries)]
    except ValueError as exc:
        fail(str(exc))
    start, end = _period(valid_from, valid_until, 365)
    writer = _writer(ebsi_url, admin_key_file)
    try:
        if role == "root":
            made = make_root(writer, accreditor, accredited_for=scope, valid_from=start, valid_until=end,
                             registry_url=ebsi_url)
            save_party(by, accreditor, [*held, made])
        else:
            if target is None:
                fail("--as tao/ti needs --subject FILE or --subject-did DID")
            wanted = "RootTAO" if role == "tao" else "TAO"
            own = next((a for a in reversed(held) if a.role == wanted), None)
            if own is None:
                fail(f"{by} records no {wanted} accreditation of {accreditor.did}: accredit it first")
            made = accredit(writer, accreditor, own, target, kind=TO_ACCREDIT if role == "tao" else TO_ATTEST,
                            accredited_for=scope, valid_from=start, valid_until=end, registry_url=ebsi_url)
            if subject:
                party, theirs = load_party(subject)
                save_party(subject, party, [*theirs, made])
    finally:
        writer.close()
    typer.echo(json.dumps({"did": made.subject, "role": made.role, "attributeId": made.attribute_id,
                           "accreditor": made.accreditor, "link": made.link(ebsi_url)}))


@app.command("revoke")
def revoke_command(
    ebsi_url: Annotated[str, typer.Option(help="The EBSI-like ledger's URL")],
    by: Annotated[Path, typer.Option(help="Party file of the accreditor (or of the chain's root)")],
    did: Annotated[str, typer.Option(help="The accredited DID")],
    attribute: Annotated[str, typer.Option(help="Its attribute id (0x…)")],
) -> None:
    """Revoke an accreditation (its registry attribute becomes Revoked): every chain through it fails from then on."""
    try:
        actor, _ = load_party(by)
    except ValueError as exc:
        fail(str(exc))
    writer = _writer(ebsi_url, None)
    try:
        writer.revoke(actor, did, attribute)
    finally:
        writer.close()
    typer.echo(f"revoked {attribute} of {did}")


@app.command("demo")
def demo_command(
    ebsi_url: Annotated[str, typer.Option(help="The EBSI-like ledger's URL")],
    admin_key_file: Annotated[Path, typer.Option(help="The ledger admin's key (hex)")],
    university_did: Annotated[str, typer.Option(help="The university to accredit as a TI")],
    folder: Annotated[Path, typer.Option(help="Where the ministry's and the agency's party files are kept")],
    country: Annotated[str, typer.Option(help="Jurisdiction, ISO alpha-2")] = "DE",
) -> None:
    """The demo chain: a ministry (RootTAO) -> a QA agency (TAO) -> the university (TI); idempotent."""
    from ebsi.trustdemo import ensure_demo_trust

    summary = ensure_demo_trust(ebsi_url, admin_secret=_secret_from_file(admin_key_file), folder=folder,
                                university_did=university_did, country=country)
    typer.echo(json.dumps(summary, indent=2))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

