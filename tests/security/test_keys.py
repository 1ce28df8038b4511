from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finai.context import Platform
from finai.exceptions import AuthenticationError, Conflict, NotFound, ValidationError
from finai.security import (
    Role,
    authenticate,
    count_active_admins,
    create_key,
    list_keys,
    revoke_key,
)
from finai.security.keys import _TOKEN
from finai.store import ApiKeyRow, utcnow


def test_token_format_and_hash_only_storage(platform: Platform) -> None:
    with platform.sessions() as session:
        key, token = create_key(
            session, platform.audit_key, name="ops", role=Role.OPERATOR, actor="t"
        )
        session.commit()
        assert _TOKEN.match(token)
        assert token.startswith(f"finai_{key.id}_")
        row = session.get(ApiKeyRow, key.id)
        assert row is not None
        secret = token.split("_", 2)[2]
        assert secret not in row.secret_hash
        assert len(row.secret_hash) == 64
        assert authenticate(session, token).id == key.id


def test_wrong_secret_unknown_id_and_garbage_are_refused(platform: Platform) -> None:
    with platform.sessions() as session:
        _key, token = create_key(session, platform.audit_key, name="a", role=Role.ADMIN, actor="t")
        session.commit()
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
        for bad in (wrong, f"finai_000000000000_{token.split('_', 2)[2]}", "", None, "x" * 90):
            with pytest.raises(AuthenticationError):
                authenticate(session, bad)


def test_revoked_and_expired_keys_stop_working(platform: Platform) -> None:
    with platform.sessions() as session:
        _admin, _ = create_key(session, platform.audit_key, name="a", role=Role.ADMIN, actor="t")
        key, token = create_key(session, platform.audit_key, name="b", role=Role.ANALYST, actor="t")
        session.commit()
        revoke_key(session, platform.audit_key, key_id=key.id, actor="t")
        session.commit()
        with pytest.raises(AuthenticationError):
            authenticate(session, token)
        with pytest.raises(Conflict):
            revoke_key(session, platform.audit_key, key_id=key.id, actor="t")
        soon, token2 = create_key(
            session,
            platform.audit_key,
            name="c",
            role=Role.AUDITOR,
            actor="t",
            expires_at=utcnow() + timedelta(hours=1),
        )
        session.commit()
        assert authenticate(session, token2).id == soon.id
        row = session.get(ApiKeyRow, soon.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
        with pytest.raises(AuthenticationError):
            authenticate(session, token2)


def test_last_admin_cannot_be_revoked(platform: Platform) -> None:
    with platform.sessions() as session:
        admin, _ = create_key(session, platform.audit_key, name="a", role=Role.ADMIN, actor="t")
        session.commit()
        with pytest.raises(Conflict, match="last active admin"):
            revoke_key(session, platform.audit_key, key_id=admin.id, actor="t")
        assert count_active_admins(session) == 1


def test_bad_input_is_refused_and_nothing_is_written(platform: Platform) -> None:
    with platform.sessions() as session:
        with pytest.raises(ValidationError, match="unknown role"):
            create_key(session, platform.audit_key, name="x", role="root", actor="t")
        with pytest.raises(ValidationError) as exc:
            create_key(session, platform.audit_key, name="<script>", role="admin", actor="t")
        assert exc.value.field == "name"
        with pytest.raises(ValidationError, match="future"):
            create_key(
                session,
                platform.audit_key,
                name="x",
                role="admin",
                actor="t",
                expires_at=utcnow() - timedelta(days=1),
            )
        with pytest.raises(NotFound):
            revoke_key(session, platform.audit_key, key_id="ffffffffffff", actor="t")
        session.rollback()
        assert list_keys(session) == []


@given(st.text(max_size=120))
def test_token_pattern_accepts_only_well_formed_tokens(candidate: str) -> None:
    match = _TOKEN.match(candidate)
    if match:
        assert candidate.startswith("finai_")
        assert len(candidate) == len("finai_") + 12 + 1 + 43
