"""SecretBox, tenants (keys sealed, did:web under the public URL), the SQLite engine's settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from issuer.store.db import default_url, make_engine, normalize_url
from issuer.store.errors import SecretBoxError, TenantExistsError
from issuer.store.models import Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import create_tenant, did_document, did_for, get_tenant, identity_of
from tests.store.conftest import MASTER


def test_secretbox_round_trip_and_binding():
    box = SecretBox(MASTER)
    blob = box.seal(b"seed" * 8, b"tenant a")
    assert b"seed" not in blob
    assert box.open(blob, b"tenant a") == b"seed" * 8
    with pytest.raises(SecretBoxError, match="another record"):
        box.open(blob, b"tenant b")
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SecretBoxError, match="damaged"):
        box.open(damaged, b"tenant a")


def test_secretbox_wrong_master_secret_is_named():
    blob = SecretBox(MASTER).seal(b"x", b"aad")
    with pytest.raises(SecretBoxError, match="another master secret.*ISSUER_SECRET_KEY"):
        SecretBox("another master secret entirely").open(blob, b"aad")


def test_secretbox_refuses_a_short_master_and_hides_it():
    with pytest.raises(ValueError, match="at least 16"):
        SecretBox("short")
    assert MASTER not in repr(SecretBox(MASTER))


@pytest.mark.parametrize(
    "url, slug, did",
    [
        ("http://localhost:8081", "tu-berlin", "did:web:localhost%3A8081:tenants:tu-berlin"),
        ("https://issuer.example.eu/", "uni", "did:web:issuer.example.eu:tenants:uni"),
        ("https://Issuer.Example.eu:8443/base/path", "u1", "did:web:issuer.example.eu%3A8443:base:path:tenants:u1"),
    ],
)
def test_did_for(url, slug, did):
    assert did_for(url, slug) == did


@pytest.mark.parametrize("slug", ["", "A", "-x", "x-", "a_b", "a" * 65, "a/b"])
def test_bad_slugs_are_refused(slug):
    with pytest.raises(ValueError, match="slug"):
        did_for("http://localhost:8081", slug)


def test_create_tenant_seals_keys_and_serves_its_did_document(sessions, box):
    with sessions() as s:
        tenant = create_tenant(s, box, slug="tu-example", name="TU Example", public_url="http://localhost:8081",
                               profile={"country": "DE"})
        s.commit()
        tid = tenant.id
    with sessions() as s:
        tenant = get_tenant(s, "tu-example")
        assert tenant is not None and tenant.id == tid and tenant.profile == {"country": "DE"}
        identity = identity_of(tenant, box)
        assert identity.did == "did:web:localhost%3A8081:tenants:tu-example"
        assert identity.anchoring_address == tenant.anchoring_address
        assert identity.ed25519_seed not in tenant.signing_key_enc
        assert identity.secp256k1_secret not in tenant.anchoring_key_enc
        doc = did_document(tenant, box, [31337])
        assert doc["id"] == tenant.did
        assert doc["verificationMethod"][1]["blockchainAccountId"] == f"eip155:31337:{tenant.anchoring_address}"
        with pytest.raises(SecretBoxError, match="another master secret"):
            identity_of(tenant, SecretBox("a different master secret"))
        assert get_tenant(s, "nobody") is None


def test_two_tenants_get_different_keys_and_a_taken_slug_is_refused(sessions, box):
    with sessions() as s:
        a = create_tenant(s, box, slug="a", name="A", public_url="http://localhost:8081")
        b = create_tenant(s, box, slug="b", name="B", public_url="http://localhost:8081")
        assert a.anchoring_address != b.anchoring_address
        assert identity_of(a, box).ed25519_public != identity_of(b, box).ed25519_public
        with pytest.raises(TenantExistsError, match="'a' exists already"):
            create_tenant(s, box, slug="a", name="A again", public_url="http://localhost:8081")
        s.commit()
    with sessions() as s:
        assert s.query(Tenant).count() == 2


def test_sealed_key_moved_to_another_tenant_does_not_open(sessions, box):
    with sessions() as s:
        a = create_tenant(s, box, slug="a", name="A", public_url="http://localhost:8081")
        b = create_tenant(s, box, slug="b", name="B", public_url="http://localhost:8081")
        b.signing_key_enc = a.signing_key_enc
        with pytest.raises(SecretBoxError, match="another record"):
            identity_of(b, box)


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(default_url(tmp_path / "nested" / "dir"))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.commit()
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "dir" / "issuer.db").exists()


def test_urls_are_mapped_to_psycopg_and_others_refused():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u:p@h/db").startswith("postgresql+psycopg://u:p@h/db")
    with pytest.raises(ValueError, match="unsupported driver 'mysql'"):
        normalize_url("mysql://u@h/db")
