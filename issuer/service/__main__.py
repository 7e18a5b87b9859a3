"""``python -m issuer.service``: migrate the database, create tenants and API keys, serve.

    python -m issuer.service migrate
    python -m issuer.service create-tenant SLUG --name NAME [--admin-password-env VAR]
    python -m issuer.service create-key SLUG --scope issue [--scope revoke ...] [--name NAME]
    python -m issuer.service serve [--host H] [--port P]
    python -m issuer.service rotate-key|revoke-key SLUG signing|anchoring --reason TEXT [--number N]
    python -m issuer.service record-key-events SLUG
    python -m issuer.service revoke|suspend|reinstate SLUG ID... --reason TEXT [--ids-file FILE]

Settings come from ``ISSUER_*`` variables (``issuer/service/settings.py``). A new API key is printed once, to stdout;
it is stored only as a hash. A password is read from the environment variable named by ``--admin-password-env``,
never from the command line (which other users of the machine can read). Errors are one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from issuer.errors import IssuerError
from issuer.service.settings import IssuerSettings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from issuer.store.models import Tenant


class CliError(Exception):
    pass


def _settings() -> IssuerSettings:
    try:
        return IssuerSettings()
    except ValidationError as exc:
        problems = "; ".join(f"ISSUER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise CliError(f"bad settings: {problems}") from None


def _sessions(settings: IssuerSettings):
    from issuer.store.db import make_engine, make_sessionmaker, migrate

    url = settings.database()
    if settings.auto_migrate:
        migrate(url)
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)


def _tenant(session: Session, slug: str) -> Tenant:
    """The tenant ``slug`` (commands that act on one), or a ``CliError`` that says how to create it."""
    from issuer.store.tenants import get_tenant

    tenant = get_tenant(session, slug)
    if tenant is None:
        raise CliError(f"no tenant {slug!r} (create it with: python -m issuer.service create-tenant)")
    return tenant


def cmd_migrate(args: argparse.Namespace) -> int:
    from issuer.store.db import migrate

    settings = _settings()
    migrate(settings.database())
    print("database migrated to the latest revision")
    return 0


def cmd_create_tenant(args: argparse.Namespace) -> int:
    from issuer.service.bootstrap import announce_key, create_tenant_with_admin
    from issuer.store.secrets import SecretBox

    settings = _settings()
    password = None
    if args.admin_password_env:
        password = os.environ.get(args.admin_password_env)
        if not password:
            raise CliError(f"--admin-password-env {args.admin_password_env}: that variable is not set or empty")
    box = SecretBox(settings.master_secret())
    engine, maker = _sessions(settings)
    try:
        with maker() as session:
            new = create_tenant_with_admin(session, box, slug=args.slug, name=args.name,
                                           public_url=args.public_url or settings.public_url, admin_password=password)
            session.commit()
            print(f"tenant {new.tenant.slug!r} created: DID {new.tenant.did}"
                  + (", admin user 'admin'" if new.admin_user else " (no admin user: no --admin-password-env)"))
            announce_key(new.tenant.slug, new.api_key)
    finally:
        engine.dispose()
    return 0


def cmd_create_key(args: argparse.Namespace) -> int:
    from issuer.service.auth import create_api_key

    settings = _settings()
    engine, maker = _sessions(settings)
    try:
        with maker() as session:
            tenant = _tenant(session, args.slug)
            key, plaintext = create_api_key(session, tenant, name=args.name, scopes=args.scope)
            session.commit()
            print(f"API key {key.prefix} for tenant {tenant.slug!r} with scope(s) {', '.join(key.scopes)}, "
                  f"shown only this once:\n  {plaintext}")
    finally:
        engine.dispose()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """revoke / suspend / reinstate: recorded in the database; the running service's status publisher publishes the
    change (one ledger transaction per list, with every other change made meanwhile)."""
    import getpass
    import socket

    from issuer.status.changes import StatusChangeError, change_status

    ids = list(args.ids)
    if args.ids_file:
        try:
            with open(args.ids_file, encoding="utf-8") as fh:
                ids += [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]
        except OSError as exc:
            raise CliError(f"--ids-file {args.ids_file}: {exc.strerror or exc}") from None
    if not ids:
        raise CliError("name at least one credential id (arguments, or --ids-file with one id per line)")
    settings = _settings()
    engine, maker = _sessions(settings)
    try:
        with maker() as session:
            tenant = _tenant(session, args.slug)
            actor = f"cli {getpass.getuser()}@{socket.gethostname()}"[:200]
            try:
                result = change_status(session, tenant.id, ids, args.command, reason=args.reason, actor=actor)
            except StatusChangeError as exc:
                details = [f"  {cid}: no such credential for tenant {tenant.slug!r}" for cid in exc.unknown[:20]]
                details += [f"  {cid}: {why}" for cid, why in list(exc.conflicts.items())[:20]]
                raise CliError("nothing changed: " + str(exc) + ("\n" + "\n".join(details) if details else ""))
            session.commit()
    finally:
        engine.dispose()
    done = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}[args.command]
    print(f"{done} {len(result.changed)} credential(s)" + (f"; {len(result.unchanged)} unchanged (already so)"
                                                         if result.unchanged else ""))
    if result.changed:
        print("the running issuer service publishes the change (one ledger transaction per status list); "
              "follow it with GET /credentials/{id}/status")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """rotate-key / revoke-key / record-key-events: the change is stored, then recorded on the ledger (one
    transaction per event; docs/formats.md "Key history"). Run it against the service's database and ledger."""
    from issuer.service.app import build_ledger
    from issuer.store.keyevents import change_tenant_keys, describe, record_tenant_key_events
    from issuer.store.models import KeyEventState
    from issuer.store.secrets import SecretBox

    settings = _settings()
    box = SecretBox(settings.master_secret())
    engine, maker = _sessions(settings)
    ledger = build_ledger(settings)
    try:
        with maker() as session:
            tenant = _tenant(session, args.slug)
            tenant_id = tenant.id
        if args.command != "record-key-events":
            outcome = change_tenant_keys(maker, box, tenant_id, action=args.command.removesuffix("-key"),
                                         role=args.role, number=args.number, reason=args.reason,
                                         chain_id=ledger.chain_id)
            for batch_id in outcome.failed_batches:
                print(f"batch {batch_id} failed: signed with the revoked key before it was anchored")
        events = record_tenant_key_events(maker, box, ledger, tenant_id, confirmations=settings.confirmations)
    finally:
        close = getattr(ledger, "close", None)
        if callable(close):
            close()
        engine.dispose()
    for event in events:
        where = f" (tx {event.tx_hash}, block {event.block_number})" if event.tx_hash else ""
        print(f"{describe(event)}: {event.state.value}{where}")
    return 0 if all(e.state is KeyEventState.RECORDED for e in events) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from issuer.service.app import create_app

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m issuer.service", description="anchorcred issuer service")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(func=cmd_migrate)
    t = sub.add_parser("create-tenant", help="create a tenant (issuer) with its keys, DID and a first admin API key")
    t.add_argument("slug", help="lower-case letters, digits and hyphens; its DID ends in :tenants:<slug>")
    t.add_argument("--name", required=True, help="the awarding body's name")
    t.add_argument("--admin-password-env", metavar="VAR", help="environment variable holding the admin password")
    t.add_argument("--public-url", help="the service's public URL (default ISSUER_PUBLIC_URL)")
    t.set_defaults(func=cmd_create_tenant)
    k = sub.add_parser("create-key", help="create an API key for a tenant")
    k.add_argument("slug")
    k.add_argument("--scope", action="append", required=True, choices=["issue", "revoke", "admin"])
    k.add_argument("--name", default="cli key")
    k.set_defaults(func=cmd_create_key)
    for name, what in (("revoke", "revoke credentials, for good"), ("suspend", "suspend credentials"),
                       ("reinstate", "lift the suspension of credentials")):
        c = sub.add_parser(name, help=f"{what} (published by the running service)")
        c.add_argument("slug", help="the tenant")
        c.add_argument("ids", nargs="*", metavar="ID", help="credential ids (urn:uuid:...)")
        c.add_argument("--reason", required=True, help="why (kept in the issuer's records)")
        c.add_argument("--ids-file", metavar="FILE", help="more ids, one per line")
        c.set_defaults(func=cmd_status)
    for name, what in (("rotate-key", "rotate a tenant's signing or anchoring key (the old one is retired)"),
                       ("revoke-key", "revoke a tenant's key (compromised); a current key is replaced")):
        r = sub.add_parser(name, help=f"{what}; recorded on the ledger")
        r.add_argument("slug", help="the tenant")
        r.add_argument("role", choices=["signing", "anchoring"])
        r.add_argument("--reason", required=True, help="why (kept in the issuer's records)")
        r.add_argument("--number", type=int, help="which key (default: the current one)")
        r.set_defaults(func=cmd_keys)
    r = sub.add_parser("record-key-events", help="record a tenant's key events still pending on the ledger")
    r.add_argument("slug", help="the tenant")
    r.set_defaults(func=cmd_keys, role=None, number=None, reason=None)
    s = sub.add_parser("serve", help="run the service (uvicorn)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (CliError, SettingsError, IssuerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
