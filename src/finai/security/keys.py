"""API keys: ``finai_<id>_<secret>``, shown once, kept only as a sha256 of the secret.

The secret carries 256 bits of randomness, so a plain sha256 suffices (no slow
password hash is needed) and comparison is constant-time. Unknown ids are compared
against a dummy hash so they take as long as known ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai.exceptions import AuthenticationError, Conflict, NotFound, ValidationError
from finai.security import audit
from finai.security.roles import Role
from finai.store import ApiKeyRow, utcnow

PREFIX = "finai"
_TOKEN = re.compile(r"^finai_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[\w .@-]{1,100}$")
_DUMMY_HASH = hashlib.sha256(b"finai-dummy-secret").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A key as the rest of FinAI sees it: never its secret."""

    id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        """True when the key is neither revoked nor expired."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > utcnow()


def expiry(days: float | None) -> datetime | None:
    """Return the expiry time ``days`` from now (None: never expires)."""
    return utcnow() + timedelta(days=days) if days is not None else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def create_key(
    session: Session,
    audit_key: bytes,
    *,
    name: str,
    role: Role | str,
    actor: str,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and audit it; returns the key and its token (shown once).

    Raises
    ------
    ValidationError
        For an unknown role, a bad name, or an expiry in the past.
    """
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role {role!r}; one of {allowed}", field="role") from None
    if not _NAME.match(name):
        raise ValidationError("name must be 1-100 letters, digits, spaces or . @ _ -", field="name")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationError("expiry must carry a timezone", field="expires_at")
        if expires_at <= utcnow():
            raise ValidationError("expiry must lie in the future", field="expires_at")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        role=role.value,
        secret_hash=_hash(secret),
        created_at=utcnow(),
        created_by=actor,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="key.create",
        object_type="api_key",
        object_id=key_id,
        payload={"name": name, "role": role.value, "expires_at": expires_at},
    )
    return _view(row), f"{PREFIX}_{key_id}_{secret}"


def authenticate(session: Session, token: str | None) -> ApiKey:
    """Return the active key a token belongs to.

    Raises
    ------
    AuthenticationError
        For a missing, malformed, unknown, revoked or expired key (one message for
        all, so callers learn nothing about which).
    """
    match = _TOKEN.match(token or "")
    row = session.get(ApiKeyRow, match.group(1)) if match else None
    expected = row.secret_hash if row is not None else _DUMMY_HASH
    presented = _hash(match.group(2)) if match else _hash("")
    valid = hmac.compare_digest(expected, presented) and row is not None
    if not valid or row is None:
        raise AuthenticationError("missing or invalid API key")
    key = _view(row)
    if not key.active:
        raise AuthenticationError("missing or invalid API key")
    return key


def touch(session: Session, key_id: str) -> None:
    """Record that a key was just used."""
    row = session.get(ApiKeyRow, key_id)
    if row is not None:
        row.last_used_at = utcnow()


def list_keys(session: Session) -> list[ApiKey]:
    """Return every key, newest first."""
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc()))
    return [_view(row) for row in rows]


def get_key(session: Session, key_id: str) -> ApiKey:
    """Return one key by id."""
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id!r}", field="key_id")
    return _view(row)


def revoke_key(session: Session, audit_key: bytes, *, key_id: str, actor: str) -> ApiKey:
    """Revoke a key and audit it; revoking twice is a conflict."""
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id!r}", field="key_id")
    if row.revoked_at is not None:
        raise Conflict(f"API key {key_id!r} is already revoked", field="key_id")
    if row.role == Role.ADMIN.value and _view(row).active and count_active_admins(session) <= 1:
        raise Conflict("refusing to revoke the last active admin key", field="key_id")
    row.revoked_at = utcnow()
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="key.revoke",
        object_type="api_key",
        object_id=key_id,
    )
    return _view(row)


def count_active_admins(session: Session) -> int:
    """Count admin keys that are not revoked and not expired."""
    now = utcnow()
    query = select(func.count()).where(
        ApiKeyRow.role == Role.ADMIN.value,
        ApiKeyRow.revoked_at.is_(None),
        (ApiKeyRow.expires_at.is_(None)) | (ApiKeyRow.expires_at > now),
    )
    return int(session.scalar(query) or 0)
