"""Creating tenants with their first admin user and API key: the CLI's ``create-tenant`` and the service's first start.

``ISSUER_BOOTSTRAP_TENANT`` (+ ``ISSUER_ADMIN_PASSWORD``) makes a fresh deployment usable at once: on the start that
creates the tenant, one API key with scope ``admin`` is printed to the console (stdout), exactly once; it is stored
only as a hash and never logged. Later starts find the tenant and print nothing. Two processes starting together race
on the tenant's unique slug: one creates it (and prints), the other finds it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from issuer.service.auth import create_admin_user, create_api_key
from issuer.service.settings import IssuerSettings
from issuer.store.errors import TenantExistsError
from issuer.store.models import AdminUser, Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import create_tenant, get_tenant

log = logging.getLogger("issuer.service")
ADMIN_USERNAME = "admin"


@dataclass
class NewTenant:
    tenant: Tenant
    api_key: str = field(repr=False)  # the plaintext, shown once
    admin_user: AdminUser | None = None


def create_tenant_with_admin(session: Session, box: SecretBox, *, slug: str, name: str, public_url: str,
                             admin_password: str | None, scopes: tuple[str, ...] = ("admin",),
                             profile: dict | None = None) -> NewTenant:
    """The tenant, its ``admin`` user (when a password is given) and a first API key; added and flushed, the caller
    commits. ``TenantExistsError`` / ``ValueError`` name what is wrong."""
    tenant = create_tenant(session, box, slug=slug, name=name, public_url=public_url, profile=profile)
    user = (create_admin_user(session, tenant, username=ADMIN_USERNAME, password=admin_password)
            if admin_password else None)
    _, plaintext = create_api_key(session, tenant, name="bootstrap admin key", scopes=scopes)
    return NewTenant(tenant, plaintext, user)


def announce_key(slug: str, plaintext: str, out: Callable[[str], None] | None = None) -> None:
    """The one time a key is shown: to the console, not to the log."""
    write = out or (lambda line: print(line, file=sys.stdout, flush=True))
    write(f"anchorcred issuer: API key for tenant {slug!r} (scope admin), shown only this once; keep it:\n"
          f"  {plaintext}")


def bootstrap(settings: IssuerSettings, maker: sessionmaker[Session], box: SecretBox,
              *, out: Callable[[str], None] | None = None) -> bool:
    """Create the bootstrap tenant (and its admin user) if configured and missing; True if this call created it."""
    slug = settings.bootstrap_tenant
    if not slug:
        return False
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    with maker() as session:
        tenant = get_tenant(session, slug)
        if tenant is not None:
            _ensure_admin(session, tenant, password)
            return False
        try:
            new = create_tenant_with_admin(session, box, slug=slug, name=settings.bootstrap_tenant_name or slug,
                                           public_url=settings.public_url, admin_password=password)
            session.commit()
        except (IntegrityError, TenantExistsError):  # another process created it in between
            session.rollback()
            return False
    if password is None:
        log.warning("bootstrap tenant %r has no admin user: set ISSUER_ADMIN_PASSWORD to create user 'admin'", slug)
    log.info("bootstrap tenant %r created (DID %s)", slug, new.tenant.did)
    announce_key(slug, new.api_key, out)
    return True


def _ensure_admin(session: Session, tenant: Tenant, password: str | None) -> None:
    """A tenant created without a password gets its admin user once a password is configured (never reset here)."""
    if password is None:
        return
    if session.scalar(select(AdminUser.id).where(AdminUser.tenant_id == tenant.id)) is not None:
        return
    try:
        create_admin_user(session, tenant, username=ADMIN_USERNAME, password=password)
        session.commit()
        log.info("admin user %r created for tenant %r", ADMIN_USERNAME, tenant.slug)
    except IntegrityError:
        session.rollback()
