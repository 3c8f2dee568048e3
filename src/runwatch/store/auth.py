"""API tokens and dashboard sessions in the store's database: hashes only, never a usable secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from runwatch.store.base import SessionRecord, TokenRecord
from runwatch.store.schema import sessions, tokens

Read = Callable[[Any], list[Any]]
Write = Callable[[Any, list[dict[str, object]]], None]
Change = Callable[[Any], int]


class SqlAuthStore:
    """Tokens and sessions, through the owning store's read and write helpers (same engine, errors)."""

    def __init__(self, read: Read, write: Write, change: Change) -> None:
        self._read = read
        self._write = write
        self._change = change

    def add_token(self, record: TokenRecord) -> None:
        self._write(insert(tokens), [{
            "id": record.id, "name": record.name, "role": record.role,
            "secret_sha256": record.secret_sha256, "created_ns": record.created_ns,
            "last_used_ns": record.last_used_ns, "revoked_ns": record.revoked_ns}])

    def get_token(self, token_id: str) -> TokenRecord | None:
        rows = self._read(select(tokens).where(tokens.c.id == token_id))
        return _token(rows[0]) if rows else None

    def list_tokens(self) -> list[TokenRecord]:
        return [_token(row) for row in self._read(select(tokens).order_by(tokens.c.created_ns))]

    def revoke_token(self, token_id: str, now_ns: int) -> TokenRecord | None:
        """Revoke a token and end its sessions; revoking twice keeps the first time."""
        self._change(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_ns.is_(None))
                     .values(revoked_ns=now_ns))
        self._change(delete(sessions).where(sessions.c.token_id == token_id))
        return self.get_token(token_id)

    def touch_token(self, token_id: str, now_ns: int) -> None:
        self._change(update(tokens).where(tokens.c.id == token_id).values(last_used_ns=now_ns))

    def count_tokens(self) -> int:
        return int(self._read(select(func.count()).select_from(tokens))[0][0])

    def add_session(self, record: SessionRecord) -> None:
        self._write(insert(sessions), [{
            "id_sha256": record.id_sha256, "token_id": record.token_id, "csrf": record.csrf,
            "created_ns": record.created_ns, "expires_ns": record.expires_ns}])

    def get_session(self, id_sha256: str) -> SessionRecord | None:
        rows = self._read(select(sessions).where(sessions.c.id_sha256 == id_sha256))
        if not rows:
            return None
        row = rows[0]
        return SessionRecord(id_sha256=row.id_sha256, token_id=row.token_id, csrf=row.csrf,
                             created_ns=row.created_ns, expires_ns=row.expires_ns)

    def delete_session(self, id_sha256: str) -> None:
        self._change(delete(sessions).where(sessions.c.id_sha256 == id_sha256))

    def delete_expired_sessions(self, now_ns: int) -> int:
        return self._change(delete(sessions).where(sessions.c.expires_ns <= now_ns))


def _token(row: Any) -> TokenRecord:
    return TokenRecord(id=row.id, name=row.name, role=row.role, secret_sha256=row.secret_sha256,
                       created_ns=row.created_ns, last_used_ns=row.last_used_ns,
                       revoked_ns=row.revoked_ns)
