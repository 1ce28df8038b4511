"""API keys over HTTP (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from finai import security
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.schemas import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from finai.security.keys import expiry

router = APIRouter(prefix="/v1/keys", dependencies=[Depends(authorize_api)], tags=["keys"])

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


@router.get("")
def list_keys(session: SessionDep) -> KeysPublic:
    """List every key (never their secrets)."""
    data = [KeyPublic.from_domain(k) for k in security.list_keys(session)]
    return KeysPublic(data=data, count=len(data))


@router.post("", status_code=201)
def create_key(
    body: KeyCreate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> KeyCreated:
    """Create a key; the response holds its token, which is never shown again."""
    created, token = security.create_key(
        session,
        platform.audit_key,
        name=body.name,
        role=body.role,
        expires_at=expiry(body.expires_in_days),
        actor=key.id,
    )
    session.commit()
    return KeyCreated(**KeyPublic.from_domain(created).model_dump(), token=token)


@router.get("/{key_id}")
def get_key(key_id: KeyId, session: SessionDep) -> KeyPublic:
    """Show one key."""
    return KeyPublic.from_domain(security.get_key(session, key_id))


@router.delete("/{key_id}")
def revoke_key(
    key_id: KeyId, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> KeyPublic:
    """Revoke a key; it stops working at once."""
    revoked = security.revoke_key(session, platform.audit_key, key_id=key_id, actor=key.id)
    session.commit()
    return KeyPublic.from_domain(revoked)
