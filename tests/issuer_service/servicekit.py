"""The issuer service under test: an app over a fresh database (SQLite file, or a PostgreSQL schema of its own) and
the embedded chain, with two tenants and keys of every scope. Imported by the API, auth and isolation tests.

Fixtures are plain functions here (not a conftest) so each test module states what it uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

with warnings.catch_warnings():  # starlette's TestClient warns that it prefers httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer.service.app import create_app
from issuer.service.auth import create_api_key
from issuer.service.bootstrap import create_tenant_with_admin
from issuer.service.settings import IssuerSettings
from tests.pgkit import fresh_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET = "issuer-service-tests-master-secret-0123456789"
ADMIN_PASSWORD = "registrar password 2025"


def example_spec() -> dict[str, Any]:
    """examples/achievement.yaml as data (the service fills in the tenant's DID as the awarding body's)."""
    spec = yaml.safe_load((EXAMPLES / "achievement.yaml").read_text("utf-8"))
    spec["awarding_body"].pop("did")
    return spec


def settings_for(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> IssuerSettings:
    values: dict[str, Any] = dict(secret_key=SECRET, data_dir=tmp_path / "data", database_url=database_url,
                                  public_url="http://localhost:8081", verifier_url="http://localhost:8080",
                                  seal_after=0.5, seal_at=1000, run_worker=True, worker_poll=0.1)
    values.update(overrides)
    return IssuerSettings(**values)


@dataclass
class TenantKeys:
    slug: str
    did: str
    admin: str  # plaintext keys by scope
    issue: str
    revoke: str

    def auth(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, scope)}"}


@dataclass
class Service:
    app: Any
    client: TestClient
    a: TenantKeys
    b: TenantKeys
    chain: Any
    extra: dict = field(default_factory=dict)

    def db(self):
        return self.app.state.sessionmaker()


def add_tenant(app, slug: str, name: str) -> TenantKeys:
    with app.state.sessionmaker() as session:
        new = create_tenant_with_admin(session, app.state.box, slug=slug, name=name,
                                       public_url=app.state.settings.public_url, admin_password=ADMIN_PASSWORD)
        _, issue = create_api_key(session, new.tenant, name="issue", scopes=["issue"])
        _, revoke = create_api_key(session, new.tenant, name="revoke", scopes=["revoke"])
        session.commit()
        return TenantKeys(slug, new.tenant.did, new.api_key, issue, revoke)


def start_service(settings: IssuerSettings, chain) -> Iterator[Service]:
    app = create_app(settings, ledger=chain.provider())
    with TestClient(app, raise_server_exceptions=True) as client:
        a = add_tenant(app, "uni-a", "Universität A")
        b = add_tenant(app, "uni-b", "Université B")
        yield Service(app, client, a, b, chain)


@pytest.fixture(scope="module")
def chain():
    from issuer.ledger.embedded import EmbeddedChain

    return EmbeddedChain()


@pytest.fixture
def service(tmp_path, chain) -> Iterator[Service]:
    """The service on a fresh SQLite database (batch runner thread running)."""
    yield from start_service(settings_for(tmp_path), chain)


# ── PostgreSQL: one fresh schema per test ───────────────────────────────────────────────────────────────────

@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped after). Unreachable server: skip, but fail under CI=true."""
    with fresh_schema("svc_") as url:
        yield url
