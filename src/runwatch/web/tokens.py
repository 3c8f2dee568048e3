"""API tokens: made here, shown once, kept only as a SHA-256, checked in constant time.

A token reads `rwt_<id>_<secret>`: the id (8 hex characters) finds its row, the secret (32 random
bytes, URL-safe base64) is what proves it. With 256 random bits a plain SHA-256 is as strong as a
slow KDF, and checking costs microseconds per request.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time

from runwatch.store.base import AuthStore, TokenRecord

PREFIX = "rwt_"
_TOKEN = re.compile(r"^rwt_(?P<id>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{43})$")
FIRST_ADMIN_NAME = "initial admin"


class Role(enum.StrEnum):
    """`viewer` reads everything; `admin` also acknowledges alerts, switches rules, undoes responses;
    `ingest` only sends events (the Kubernetes API server's audit webhook) and reads nothing."""

    VIEWER = "viewer"
    ADMIN = "admin"
    INGEST = "ingest"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_token(auth: AuthStore, role: Role, name: str, now_ns: int | None = None) -> tuple[str, TokenRecord]:
    """A new token of `role`; returns the token (the only time it exists in clear) and its record."""
    token_id = secrets.token_hex(4)
    while auth.get_token(token_id) is not None:  # 2^32 ids: a clash is rare, never silent
        token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    record = TokenRecord(id=token_id, name=name, role=str(role), secret_sha256=sha256_hex(secret),
                         created_ns=time.time_ns() if now_ns is None else now_ns)
    auth.add_token(record)
    return f"{PREFIX}{token_id}_{secret}", record


def create_first_admin_token(auth: AuthStore) -> str | None:
    """On the very first start (no token was ever made) an admin token; None afterwards."""
    if auth.count_tokens():
        return None
    token, _ = create_token(auth, Role.ADMIN, FIRST_ADMIN_NAME)
    return token


def verify_token(auth: AuthStore, presented: str) -> TokenRecord | None:
    """The live record a presented token belongs to; None for a malformed, unknown, wrong or
    revoked token (the caller answers 401 in each case, without saying which)."""
    match = _TOKEN.match(presented.strip())
    if match is None:
        return None
    record = auth.get_token(match.group("id"))
    digest = sha256_hex(match.group("secret"))
    if record is None:
        hmac.compare_digest(digest, digest)  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(digest, record.secret_sha256) or record.revoked_ns is not None:
        return None
    return record
