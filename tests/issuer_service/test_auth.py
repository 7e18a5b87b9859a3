"""Authentication over HTTP: 401 with a Bearer challenge, 403 for a missing scope, revoked keys, keys stored only as
hashes, the bootstrap key printed exactly once, and every write route of the app refusing an anonymous request."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import MetaData, select

from issuer.store.models import ApiKey
from tests.issuer_service.servicekit import (ADMIN_PASSWORD, TestClient, chain, create_app, example_spec,  # noqa: F401
                                             service, settings_for)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The one write route that must take an anonymous request: the login form itself (it checks the password).
ANONYMOUS_WRITES = {("POST", "/admin/login")}


def test_no_key_is_401_with_a_bearer_challenge(service):
    for method, path in (("GET", "/achievements"), ("POST", "/achievements"), ("GET", "/batches"),
                         ("POST", "/credentials/issue")):
        r = service.client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer realm=")
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "API key" in r.json()["detail"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ac_nope", "Bearer ac_0123456789ab_" + "A" * 43])
def test_a_malformed_or_unknown_key_is_401(service, header):
    r = service.client.get("/achievements", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid' in r.headers["www-authenticate"]


@pytest.mark.parametrize(("scope", "method", "path", "needed"), [
    ("issue", "POST", "/achievements", "admin"),
    ("issue", "POST", "/keys", "admin"),
    ("revoke", "POST", "/credentials/issue", "issue"),
    ("revoke", "POST", "/achievements/x/rosters", "issue"),
    ("revoke", "POST", "/rosters/x/issue", "issue"),
])
def test_a_key_without_the_scope_is_403_naming_it(service, scope, method, path, needed):
    r = service.client.request(method, path, headers=service.a.auth(scope), json={})
    assert r.status_code == 403, r.text
    assert f'scope="{needed}"' in r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert repr(needed) in r.json()["detail"]


def test_admin_implies_issue_and_any_key_reads(service):
    r = service.client.post("/credentials/issue", headers=service.a.auth("admin"), json={"credential": {}})
    assert r.status_code == 422  # past authentication and scope: the body is what is wrong
    assert service.client.get("/batches", headers=service.a.auth("revoke")).status_code == 200


def test_a_revoked_key_is_401(service):
    created = service.client.post("/keys", headers=service.a.auth(), json={"name": "ci", "scopes": ["issue"]})
    assert created.status_code == 201
    key = created.json()
    assert re.fullmatch(r"ac_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key["key"]) and key["prefix"] in key["key"]
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert service.client.get("/batches", headers=headers).status_code == 200
    listed = service.client.get("/keys", headers=service.a.auth()).json()["items"]
    assert all("key" not in k for k in listed) and key["prefix"] in [k["prefix"] for k in listed]
    r = service.client.post(f"/keys/{key['id']}/revoke", headers=service.a.auth())
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = service.client.get("/batches", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def _every_stored_value(service) -> str:
    with service.db() as session:
        meta = MetaData()
        meta.reflect(bind=session.get_bind())
        return "\n".join(repr(tuple(row)) for table in meta.sorted_tables for row in session.execute(select(table)))


def test_api_keys_are_stored_hashed_only(service, tmp_path):
    created = service.client.post("/keys", headers=service.a.auth(), json={"name": "x", "scopes": ["revoke"]}).json()
    everything = _every_stored_value(service)
    db_bytes = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("issuer.db*"))
    for plaintext in (created["key"], service.a.admin, service.a.issue, service.b.admin):
        secret = plaintext.split("_", 2)[2]
        assert secret not in everything and plaintext not in everything
        assert secret.encode() not in db_bytes
    with service.db() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.prefix == created["prefix"]))
    assert stored.secret_hash in everything and len(stored.secret_hash) == 64


def _sample_path(path: str, route: APIRoute) -> str:
    for param in route.dependant.path_params:
        sample = "1" if param.field_info.annotation is int else "abcdefghijklmnopqrstuvwx"
        path = re.sub(r"\{" + param.name + r"(:[a-z]+)?\}", sample, path)
    return path


def write_routes(app) -> list[tuple[str, str]]:
    """(method, sample path) of every write operation, through included routers (FastAPI >= 0.16x includes routers
    lazily: ``app.routes`` holds the routers, ``iter_route_contexts`` walks down to each route)."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            for method in sorted((ctx.methods or set()) & WRITE_METHODS):
                if (method, ctx.path) not in ANONYMOUS_WRITES:
                    found.append((method, _sample_path(ctx.path, route)))
    return found


def test_the_write_route_walk_finds_the_api_routes(service):
    routes = write_routes(service.app)
    for expected in [("POST", "/achievements"), ("POST", "/credentials/issue"), ("POST", "/keys")]:
        assert expected in routes
    assert len(routes) >= 6


@pytest.fixture(scope="module")
def walk_app(tmp_path_factory, chain):  # noqa: F811
    app = create_app(settings_for(tmp_path_factory.mktemp("walk"), run_worker=False), ledger=chain.provider())
    with TestClient(app, raise_server_exceptions=True) as client:
        yield app, client


def _write_route_ids() -> list[tuple[str, str]]:
    """The write routes of an app built (not started: the factory creates nothing) at collection time."""
    return write_routes(create_app(settings_for(Path("/nonexistent"), run_worker=False)))


@pytest.mark.parametrize(("method", "path"), _write_route_ids())
def test_every_write_route_refuses_an_anonymous_request(walk_app, method, path):
    """A new write route without authentication fails here: no session, no key -> 401/403, or for a page a redirect
    to the login page; nothing else."""
    _, client = walk_app
    for body in ({"json": {}}, {"data": {"x": "1"}}, {}):
        r = client.request(method, path, follow_redirects=False, **body)
        if path.startswith("/admin"):
            refused = r.status_code in (401, 403) or (
                r.status_code in (302, 303) and r.headers["location"].startswith("/admin/login"))
        else:
            refused = r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer")
        assert refused, (method, path, r.status_code, r.text[:300])


def test_bootstrap_prints_one_admin_key_once_and_never_logs_it(tmp_path, chain, capsys, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    settings = settings_for(tmp_path, bootstrap_tenant="tu-example", admin_password=ADMIN_PASSWORD, run_worker=False)
    with TestClient(create_app(settings, ledger=chain.provider())) as client:
        printed = capsys.readouterr().out
        keys = re.findall(r"ac_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", printed)
        assert len(keys) == 1 and printed.count(keys[0]) == 1, printed
        r = client.post("/achievements", headers={"Authorization": f"Bearer {keys[0]}"}, json=example_spec())
        assert r.status_code == 201, r.text
        assert r.json()["spec"]["awarding_body"]["did"].endswith(":tenants:tu-example")
    with TestClient(create_app(settings, ledger=chain.provider())):
        assert "ac_" not in capsys.readouterr().out  # second start: the tenant exists, nothing printed
    assert keys[0] not in caplog.text and keys[0].split("_", 2)[2] not in caplog.text
    with TestClient(create_app(settings, ledger=chain.provider())) as client:
        with client.app.state.sessionmaker() as session:
            from issuer.service.auth import authenticate_admin

            assert authenticate_admin(session, tenant_slug="tu-example", username="admin",
                                      password=ADMIN_PASSWORD) is not None
