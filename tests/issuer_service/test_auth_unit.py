"""auth.py below the HTTP layer: scrypt passwords, API keys (format, hashed storage, constant-time lookup), scopes,
CSRF tokens, and the settings' refusal of placeholder secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from issuer.service import auth
from issuer.service.settings import IssuerSettings, SettingsError
from issuer.store.db import default_url, make_engine, make_sessionmaker, migrate
from issuer.store.models import ApiKey, Scope
from issuer.store.secrets import SecretBox
from issuer.store.tenants import create_tenant

MASTER = "unit-test master secret that is long enough"


@pytest.fixture
def db(tmp_path: Path):
    url = default_url(tmp_path / "data")
    migrate(url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    with maker() as session:
        tenant = create_tenant(session, SecretBox(MASTER), slug="uni", name="Uni", public_url="http://localhost:8081")
        session.commit()
        yield session, tenant, tmp_path / "data" / "issuer.db"
    engine.dispose()


# ── passwords ───────────────────────────────────────────────────────────────────────────────────────────────

def test_password_hash_round_trip_and_format():
    stored = auth.hash_password("correct horse battery")
    kind, n, r, p, salt, digest = stored.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterx", stored)
    assert not auth.verify_password("", stored)
    assert auth.hash_password("correct horse battery") != stored  # a fresh salt each time


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_password_length_is_bounded(password):
    with pytest.raises(ValueError, match="12 to 1024"):
        auth.hash_password(password)


@pytest.mark.parametrize("stored", ["", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==",
                                    "scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # n above the bound
                                    "scrypt$16384$8$1$!!$AA=="])
def test_a_malformed_or_unbounded_stored_hash_never_verifies_and_never_raises(stored):
    assert auth.verify_password("correct horse battery", stored) is False


# ── API keys ────────────────────────────────────────────────────────────────────────────────────────────────

def test_api_key_format_lookup_and_hashed_storage(db):
    session, tenant, db_file = db
    key, plaintext = auth.create_api_key(session, tenant, name="ci", scopes=["issue"])
    session.commit()
    assert re.fullmatch(r"ac_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", plaintext)
    assert key.prefix == plaintext.split("_")[1]
    assert key.secret_hash == auth.hash_api_key(plaintext) != plaintext
    assert auth.find_api_key(session, plaintext).id == key.id
    # the secret part is nowhere in the database file, only its hash
    secret = plaintext.split("_", 2)[2]
    raw = db_file.read_bytes() + (db_file.with_name("issuer.db-wal").read_bytes()
                                  if db_file.with_name("issuer.db-wal").exists() else b"")
    assert secret.encode() not in raw and plaintext.encode() not in raw


def test_a_key_with_one_character_changed_or_an_unknown_prefix_is_not_found(db):
    session, tenant, _ = db
    _, plaintext = auth.create_api_key(session, tenant, name="ci", scopes=["admin"])
    last = plaintext[-1]
    assert auth.find_api_key(session, plaintext[:-1] + ("A" if last != "A" else "B")) is None
    assert auth.find_api_key(session, "ac_000000000000_" + plaintext.split("_", 2)[2]) is None
    assert auth.find_api_key(session, "not a key") is None
    assert auth.find_api_key(session, plaintext + "x") is None


def test_scopes_are_validated_and_admin_implies_the_others(db):
    session, tenant, _ = db
    with pytest.raises(ValueError, match="unknown scope 'root'"):
        auth.create_api_key(session, tenant, name="x", scopes=["root"])
    with pytest.raises(ValueError, match="at least one scope"):
        auth.create_api_key(session, tenant, name="x", scopes=[])
    assert auth.parse_scopes(["admin", "issue", "issue"]) == ["issue", "admin"]
    admin = auth.Principal(tenant=tenant, key_id=1, scopes=frozenset({"admin"}))
    issuer = auth.Principal(tenant=tenant, key_id=2, scopes=frozenset({"issue"}))
    assert all(admin.allows(s.value) for s in Scope)
    assert issuer.allows("issue") and not issuer.allows("revoke") and not issuer.allows("admin")


def test_revoking_sets_the_time_once(db):
    session, tenant, _ = db
    key, _ = auth.create_api_key(session, tenant, name="ci", scopes=["issue"])
    auth.revoke_api_key(key)
    first = key.revoked_at
    auth.revoke_api_key(key)
    assert first is not None and key.revoked_at == first


def test_admin_users_authenticate_per_tenant(db):
    session, tenant, _ = db
    auth.create_admin_user(session, tenant, username="admin", password="a long enough password")
    session.commit()
    ok = auth.authenticate_admin(session, tenant_slug="uni", username="admin", password="a long enough password")
    assert ok is not None and ok.tenant_id == tenant.id
    assert auth.authenticate_admin(session, tenant_slug="uni", username="admin", password="wrong password!!") is None
    assert auth.authenticate_admin(session, tenant_slug="other", username="admin",
                                   password="a long enough password") is None
    with pytest.raises(ValueError, match="username"):
        auth.create_admin_user(session, tenant, username="no spaces please", password="a long enough password")


# ── CSRF ────────────────────────────────────────────────────────────────────────────────────────────────────

class _FakeRequest:
    def __init__(self):
        self.session: dict = {}


def test_csrf_token_is_stable_per_session_and_checked_exactly():
    request = _FakeRequest()
    assert not auth.check_csrf(request, "anything")  # no token in the session yet
    token = auth.csrf_token(request)
    assert auth.csrf_token(request) == token and len(token) >= 40
    assert auth.check_csrf(request, token)
    assert not auth.check_csrf(request, token[:-1])
    assert not auth.check_csrf(request, None)
    assert not auth.check_csrf(request, "")


# ── settings ────────────────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("secret", ["changeme", "short-secret", "x" * 31])
def test_placeholder_or_short_secrets_are_refused(secret):
    with pytest.raises(SettingsError, match="ISSUER_SECRET_KEY"):
        IssuerSettings(secret_key=secret).master_secret()


def test_no_secret_is_refused_unless_dev_which_says_so():
    with pytest.raises(SettingsError, match="ISSUER_SECRET_KEY is not set"):
        IssuerSettings().master_secret()
    dev = IssuerSettings(dev=True)
    assert dev.uses_dev_secret and len(dev.master_secret()) >= 32
    good = IssuerSettings(secret_key="y" * 48)
    assert good.master_secret() == "y" * 48 and not good.uses_dev_secret


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ISSUER_PUBLIC_URL", "https://issuer.example/")
    monkeypatch.setenv("ISSUER_CONFIRMATIONS", "3")
    monkeypatch.setenv("ISSUER_BOOTSTRAP_TENANT", "tu-example")
    s = IssuerSettings()
    assert (s.public_url, s.confirmations, s.bootstrap_tenant) == ("https://issuer.example", 3, "tu-example")
    monkeypatch.setenv("ISSUER_ADMIN_PASSWORD", "short")
    with pytest.raises(ValidationError, match="12 to 1024"):
        IssuerSettings()
