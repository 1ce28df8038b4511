"""First start: migrate the database and make sure an admin key exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from finai.context import Platform
from finai.security import ApiKey, Role, count_active_admins, create_key
from finai.security.audit import SYSTEM_ACTOR
from finai.store import upgrade


@dataclass(frozen=True)
class InitResult:
    """What ``initialise`` did; ``admin_token`` is set only when a key was created."""

    database_url: str
    admin: ApiKey | None
    admin_token: str | None


def initialise(platform: Platform) -> InitResult:
    """Apply migrations and create the first admin key if there is no active one.

    Safe to run on every start: a second run creates no second admin.
    """
    settings = platform.settings
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.db_url)
    with platform.sessions() as session:
        if count_active_admins(session) > 0:
            return InitResult(_redacted(settings.db_url), None, None)
        key, token = create_key(
            session, platform.audit_key, name="first admin", role=Role.ADMIN, actor=SYSTEM_ACTOR
        )
        session.commit()
    return InitResult(_redacted(settings.db_url), key, token)


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
