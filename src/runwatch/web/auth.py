"""Who is asking: a bearer token (scripts) or a session cookie (the dashboard), and what they may do.

Every answer for a missing, malformed, unknown, wrong or revoked credential is the same 401. A
viewer asking to change something gets 403. A request authenticated by the session cookie that
changes something must also carry the session's CSRF token (X-CSRF-Token header or `csrf` form
field): a cookie is sent by the browser on its own, a header or form field only by our pages.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from runwatch.config import ApiConfig
from runwatch.store.base import AuthStore, SessionRecord, TokenRecord
from runwatch.web.tokens import Role, sha256_hex, verify_token

SESSION_COOKIE = "runwatch_session"
LOGIN_COOKIE = "runwatch_login"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOUCH_INTERVAL_NS = 60 * 10**9  # last-used times are kept to the minute, not written per request


@dataclass(frozen=True, slots=True)
class Principal:
    """The token behind a request, and the dashboard session if it came through one."""

    token_id: str
    name: str
    role: Role
    session: SessionRecord | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        """How changes are attributed: the token's name and id, 'alice (3f2a9c01)'."""
        return f"{self.name} ({self.token_id})"


class Authenticator:
    """Checks credentials against the store; starts and ends dashboard sessions."""

    def __init__(self, auth: AuthStore, settings: ApiConfig) -> None:
        self.auth = auth
        self.settings = settings
        self._touched: dict[str, int] = {}
        self._lock = threading.Lock()

    def authenticate(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            record = verify_token(self.auth, credentials)
            return None if record is None else self._principal(record, None)
        cookie = request.cookies.get(SESSION_COOKIE)
        return None if cookie is None else self.from_session(cookie)

    def from_token(self, token: str) -> Principal | None:
        """The principal of a token given some other way than the header (a webhook URL)."""
        record = verify_token(self.auth, token)
        return None if record is None else self._principal(record, None)

    def from_session(self, cookie: str) -> Principal | None:
        now = time.time_ns()
        session = self.auth.get_session(sha256_hex(cookie))
        if session is None or session.expires_ns <= now:
            return None
        record = self.auth.get_token(session.token_id)
        if record is None or record.revoked_ns is not None:
            return None
        return self._principal(record, session)

    def start_session(self, record: TokenRecord) -> tuple[str, SessionRecord]:
        """A new session for a verified token: the cookie value (kept only hashed) and its record."""
        now = time.time_ns()
        self.auth.delete_expired_sessions(now)
        cookie = secrets.token_urlsafe(32)
        session = SessionRecord(id_sha256=sha256_hex(cookie), token_id=record.id,
                                csrf=secrets.token_urlsafe(24), created_ns=now,
                                expires_ns=now + int(self.settings.session_hours * 3600e9))
        self.auth.add_session(session)
        return cookie, session

    def end_session(self, cookie: str) -> None:
        self.auth.delete_session(sha256_hex(cookie))

    def cookie_is_secure(self, request: Request) -> bool:
        if self.settings.cookie_secure == "auto":
            return request.url.scheme == "https"
        return self.settings.cookie_secure == "true"

    def _principal(self, record: TokenRecord, session: SessionRecord | None) -> Principal:
        now = time.time_ns()
        with self._lock:
            stale = now - self._touched.get(record.id, 0) > _TOUCH_INTERVAL_NS
            if stale:
                self._touched[record.id] = now
        if stale:
            self.auth.touch_token(record.id, now)
        return Principal(token_id=record.id, name=record.name, role=Role(record.role), session=session)


def _unauthorized() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                         headers={"WWW-Authenticate": 'Bearer realm="runwatch"'})


def authenticator_of(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


def require_viewer(request: Request) -> Principal:
    """Any valid token or session that may read (a FastAPI dependency)."""
    principal = authenticator_of(request).authenticate(request)
    if principal is None:
        raise _unauthorized()
    if principal.role == Role.INGEST:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "an ingest token only sends events")
    return principal


def require_ingest(request: Request) -> Principal:
    """An ingest or admin bearer token: what may send events in. Senders that cannot set a
    header (Falco's http_output) may put the token in the URL instead: `?token=...`."""
    authenticator = authenticator_of(request)
    principal = authenticator.authenticate(request)
    in_url = request.query_params.get("token")
    if principal is None and in_url and "authorization" not in request.headers:
        principal = authenticator.from_token(in_url)
    if principal is None:
        raise _unauthorized()
    if principal.role not in (Role.INGEST, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an ingest or admin token")
    return principal


async def require_admin(request: Request) -> Principal:
    """An admin token or session, and for a session that changes something, its CSRF token."""
    principal = await require_csrf(request)
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an admin token")
    return principal


async def require_csrf(request: Request) -> Principal:
    """Any valid credential; a session's unsafe request must carry the session's CSRF token."""
    principal = await run_in_threadpool(require_viewer, request)  # the store blocks
    if principal.session is not None and request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            field = (await request.form()).get("csrf")
            sent = field if isinstance(field, str) else None
        if sent is None or not hmac.compare_digest(sent, principal.session.csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return principal
