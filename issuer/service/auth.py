"""Who may do what: tenant API keys with scopes (the API), admin users with a session and CSRF tokens (the pages).

API keys are ``ac_<prefix>_<secret>``: 12 hex characters that find the row, then 256 random bits. Only the SHA-256 of
the whole key is stored (the key is high-entropy, so a slow KDF adds nothing) and it is compared in constant time; an
unknown prefix costs the same comparison against a dummy hash. A key belongs to one tenant, and every lookup of a
tenant's object filters on that tenant, so another tenant's object is "not found" (404), never "forbidden".
Scopes: ``issue``, ``revoke``, ``admin``; ``admin`` implies the others.

Admin passwords are hashed with scrypt (``hashlib.scrypt``, n=2^14, r=8, p=1, 16-byte salt), stored with their
parameters so they can be raised later. The admin session is Starlette's signed cookie (HttpOnly, SameSite=Lax) holding
the user and tenant ids; every admin form carries a CSRF token kept in that session and checked in constant time.
Nothing here logs a key, a password or a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Callable, Iterable

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.service.deps import DbDep
from issuer.service.problems import LoginRequired, ProblemError
from issuer.store.models import AdminUser, ApiKey, Scope, Tenant

__all__ = [
    "AdminSession", "AdminDep", "Principal", "CSRF_FIELD", "authenticate_admin", "check_csrf", "create_admin_user",
    "create_api_key", "csrf_token", "find_api_key", "hash_api_key", "hash_password", "login", "logout",
    "parse_scopes", "require_admin_session", "require_csrf", "require_key", "require_scope", "revoke_api_key",
    "verify_password",
]

REALM = "anchorcred-issuer"
KEY_RE = re.compile(r"^ac_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY_HASH = hashlib.sha256(b"anchorcred: no such key").hexdigest()
LAST_USED_EVERY = timedelta(minutes=1)
# Only documents the scheme in OpenAPI (the /docs "Authorize" button); ``authenticate`` reads the header itself, so a
# missing or malformed one gets this service's 401 problem with its challenge, not FastAPI's 403.
BEARER = HTTPBearer(auto_error=False, scheme_name="apiKey",
                    description="A tenant API key: `Authorization: Bearer ac_<prefix>_<secret>`")  # last_used_at is a hint, not an audit log: at most one write a minute

# ── API keys ────────────────────────────────────────────────────────────────────────────────────────────────


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[str]:
    """The scopes, validated and de-duplicated in a fixed order; ``ValueError`` names an unknown one."""
    known = [s.value for s in Scope]
    wanted = set()
    for value in values:
        if value not in known:
            raise ValueError(f"unknown scope {value!r} (known: {', '.join(known)})")
        wanted.add(value)
    if not wanted:
        raise ValueError(f"a key needs at least one scope ({', '.join(known)})")
    return [s for s in known if s in wanted]


def create_api_key(session: Session, tenant: Tenant, *, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """A new key for ``tenant`` (added to the session, not committed) and its plaintext, which exists only here:
    show it once, never store or log it."""
    if not name or len(name) > 200:
        raise ValueError("a key needs a name of 1 to 200 characters")
    scope_list = parse_scopes(scopes)
    while True:
        prefix = secrets.token_hex(6)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    plaintext = f"ac_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(tenant_id=tenant.id, name=name, prefix=prefix, secret_hash=hash_api_key(plaintext), scopes=scope_list)
    session.add(key)
    session.flush()
    return key, plaintext


def find_api_key(session: Session, presented: str) -> ApiKey | None:
    """The key row whose hash matches ``presented`` (revoked or not), or None; constant time in the secret."""
    m = KEY_RE.match(presented)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == m.group(1))) if m else None
    expected = key.secret_hash if key is not None else _DUMMY_HASH
    ok = hmac.compare_digest(expected.encode(), hash_api_key(presented).encode())
    return key if (ok and key is not None) else None


def revoke_api_key(key: ApiKey, *, now: datetime | None = None) -> None:
    if key.revoked_at is None:
        key.revoked_at = now or datetime.now(timezone.utc)


@dataclass
class Principal:
    """The caller of an API request: a tenant, through one of its keys."""

    tenant: Tenant
    key_id: int
    scopes: frozenset[str]

    @property
    def tenant_id(self) -> int:
        return self.tenant.id

    def allows(self, scope: str) -> bool:
        return Scope.ADMIN.value in self.scopes or scope in self.scopes


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    """RFC 6750 §3: the WWW-Authenticate challenge of a bearer-token resource."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def _unauthorized(detail: str, error: str | None = "invalid_token") -> ProblemError:
    return ProblemError(401, "unauthorized", "Unauthorized", detail, headers=_challenge(error))


def authenticate(request: Request, session: Session) -> Principal:
    """The principal of an ``Authorization: Bearer ac_…`` header; a 401 problem with a challenge otherwise."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("this operation needs an API key: send 'Authorization: Bearer ac_<prefix>_<secret>'",
                            error=None)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer ac_<prefix>_<secret>'", error="invalid_request")
    key = find_api_key(session, token.strip())
    if key is None:
        raise _unauthorized("the API key is not valid")
    if key.revoked_at is not None:
        raise _unauthorized("the API key has been revoked")
    tenant = session.get(Tenant, key.tenant_id)
    if tenant is None:  # the tenant was deleted (cascade would have removed the key; be safe anyway)
        raise _unauthorized("the API key is not valid")
    now = datetime.now(timezone.utc)
    last = key.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=timezone.utc)) < now - LAST_USED_EVERY:
        key.last_used_at = now
        session.commit()
    return Principal(tenant=tenant, key_id=key.id, scopes=frozenset(key.scopes))


def require_scope(scope: Scope | str | None) -> Callable[..., Principal]:
    """A dependency: the caller's principal, holding ``scope`` (any valid key when None); 401 / 403 otherwise."""
    needed = Scope(scope).value if scope is not None else None

    def dependency(request: Request, session: DbDep, _documented: Annotated[Any, Security(BEARER)] = None,
                   ) -> Principal:
        principal = authenticate(request, session)
        if needed is not None and not principal.allows(needed):
            raise ProblemError(403, "insufficient-scope", "Forbidden",
                               f"this operation needs an API key with scope {needed!r} (or 'admin'); this key has "
                               f"{', '.join(sorted(principal.scopes))}",
                               headers=_challenge("insufficient_scope", needed))
        return principal

    dependency.__name__ = f"require_scope_{needed or 'any'}"
    return dependency


require_key = require_scope(None)
KeyDep = Annotated[Principal, Depends(require_key)]
IssueDep = Annotated[Principal, Depends(require_scope(Scope.ISSUE))]
RevokeDep = Annotated[Principal, Depends(require_scope(Scope.REVOKE))]
AdminKeyDep = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]

# ── admin passwords (scrypt) ────────────────────────────────────────────────────────────────────────────────

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
MIN_PASSWORD, MAX_PASSWORD = 12, 1024  # the upper bound keeps a login from costing more than one hash of 1 KiB


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2**26)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64); ``ValueError`` for a password that is too short or too long."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters, got {len(password)}")
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


_DUMMY_PASSWORD_HASH = "scrypt$16384$8$1$" + _b64(b"\0" * 16) + "$" + _b64(b"\0" * 32)


def verify_password(password: str, stored: str) -> bool:
    """Constant time in the password; False for a malformed or out-of-bounds stored hash (never an exception)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        salt_b, digest_b = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except ValueError:
        return False
    if kind != "scrypt" or not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16 and 16 <= len(digest_b) <= 64):
        return False
    if len(password) > MAX_PASSWORD:
        password = ""  # still spend one hash, then fail
    try:
        candidate = _scrypt(password, salt_b, n_, r_, p_, len(digest_b))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest_b) and 0 < len(password)


def create_admin_user(session: Session, tenant: Tenant, *, username: str, password: str) -> AdminUser:
    """A new admin user of ``tenant`` (added, not committed); ``ValueError`` for a bad name or password."""
    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,100}", username):
        raise ValueError("a username has 1 to 100 letters, digits or . _ @ -")
    user = AdminUser(tenant_id=tenant.id, username=username, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_admin_password(user: AdminUser, password: str) -> None:
    user.password_hash = hash_password(password)


def authenticate_admin(session: Session, *, tenant_slug: str, username: str, password: str) -> AdminUser | None:
    """The user whose password this is, or None; an unknown tenant or user costs the same scrypt."""
    user = session.scalar(select(AdminUser).join(Tenant, Tenant.id == AdminUser.tenant_id)
                          .where(Tenant.slug == tenant_slug, AdminUser.username == username))
    ok = verify_password(password, user.password_hash if user is not None else _DUMMY_PASSWORD_HASH)
    return user if (ok and user is not None) else None


class LoginThrottle:
    """Failed admin logins remembered per account (tenant, username) and per client address for ``window`` seconds;
    past the limit the login is refused before the password is even checked (429), so guessing costs the guesser
    time, not just scrypt. In memory, per process: with several workers each keeps its own count (documented)."""

    def __init__(self, *, per_account: int, per_client: int, window: float, clock=time.monotonic):
        self.per_account, self.per_client, self.window, self._clock = per_account, per_client, window, clock
        self._failures: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, ()) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def retry_after(self, account: tuple[str, str], client: str) -> int | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        with self._lock:
            now = self._clock()
            waits = []
            for key, limit in (((*account,), self.per_account), (("client", client), self.per_client)):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    waits.append(recent[-limit] + self.window - now)
            return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, account: tuple[str, str], client: str) -> None:
        with self._lock:
            now = self._clock()
            if len(self._failures) > 100_000:  # bounded: forget the oldest keys rather than grow without end
                for key in list(self._failures)[:50_000]:
                    del self._failures[key]
            for key in ((*account,), ("client", client)):
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, account: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop((*account,), None)


# ── admin sessions and CSRF ─────────────────────────────────────────────────────────────────────────────────

SESSION_KEY = "admin"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"  # the hidden form field; an ``X-CSRF-Token`` header is accepted too


@dataclass
class AdminSession:
    """The logged-in admin of a page request."""

    tenant: Tenant
    user: AdminUser

    @property
    def tenant_id(self) -> int:
        return self.tenant.id


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use); put it in every admin form as ``csrf_token``."""
    token = request.session.get(CSRF_KEY)
    if not token:
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, presented: str | None) -> bool:
    expected = request.session.get(CSRF_KEY)
    return bool(expected and presented) and hmac.compare_digest(expected.encode(), str(presented).encode())


async def require_csrf(request: Request) -> None:
    """A dependency for every page form post: the form's ``csrf_token`` must match the session's (403 otherwise)."""
    presented = request.headers.get("x-csrf-token")
    if presented is None:
        form = await request.form()  # Starlette caches the parsed form: the route reads it again for free
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not check_csrf(request, presented):
        raise ProblemError(403, "csrf", "Forbidden", "the form's CSRF token is missing or does not match this "
                                                     "session; reload the page and try again")


def login(request: Request, user: AdminUser, tenant: Tenant) -> None:
    """Start a fresh session for ``user`` (a new CSRF token: no fixation of a token seen before login)."""
    request.session.clear()
    request.session[SESSION_KEY] = {"user_id": user.id, "tenant_id": tenant.id}
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def logout(request: Request) -> None:
    request.session.clear()


def current_admin(request: Request, session: Session) -> AdminSession | None:
    """The session's admin, if the cookie names one that still exists (a deleted user is logged out)."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    user = session.get(AdminUser, data.get("user_id")) if isinstance(data.get("user_id"), int) else None
    if user is None or user.tenant_id != data.get("tenant_id"):
        return None
    tenant = session.get(Tenant, user.tenant_id)
    return AdminSession(tenant=tenant, user=user) if tenant is not None else None


def require_admin_session(request: Request, session: DbDep) -> AdminSession:
    """A dependency for every admin page: the logged-in admin, or a redirect (303) to the login page."""
    admin = current_admin(request, session)
    if admin is None:
        raise LoginRequired(request.url.path)
    return admin


AdminDep = Annotated[AdminSession, Depends(require_admin_session)]
