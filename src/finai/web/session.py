"""Dashboard cookies: sealed (encrypted and authenticated) with Fernet, never the API key.

The session cookie holds the key's id, a random CSRF token and when it was issued;
the flash cookie carries one message across a redirect. Each sealed cookie has its own
key, derived from the platform secret with HKDF under a distinct ``info`` label. The
sign-in cookie is not sealed: a random token the sign-in form echoes (against login CSRF).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

from finai.security.keyring import derive_key

SESSION_COOKIE = "finai_session"
FLASH_COOKIE = "finai_flash"
LOGIN_COOKIE = "finai_login"
LOGIN_SECONDS = 3600
SESSION_INFO = b"finai-web-session"
FLASH_INFO = b"finai-web-flash"
FLASH_SECONDS = 120


@dataclass(frozen=True)
class WebSession:
    """What the session cookie holds.

    Attributes
    ----------
    key_id
        Id of the API key that signed in (re-checked on every request).
    csrf
        Random token every form must send back.
    issued
        When the session began, in Unix seconds (UTC).
    """

    key_id: str
    csrf: str
    issued: int


@dataclass(frozen=True)
class Flash:
    """A one-off message shown on the next page."""

    kind: Literal["ok", "error"]
    text: str


def cipher(secret: bytes, info: bytes) -> Fernet:
    """Return the Fernet cipher for one purpose, derived from the platform secret.

    Parameters
    ----------
    secret
        The platform secret (``Platform.audit_key``).
    info
        HKDF context label; a different label gives an unrelated key.

    Returns
    -------
    Fernet
        The cipher sealing and opening that purpose's cookies.
    """
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, info)))


def new_session(key_id: str) -> WebSession:
    """Return a fresh session for ``key_id`` with a new CSRF token."""
    return WebSession(key_id=key_id, csrf=secrets.token_urlsafe(32), issued=int(time.time()))


def seal_session(secret: bytes, session: WebSession) -> str:
    """Encrypt and authenticate ``session`` into a cookie value.

    Parameters
    ----------
    secret
        The platform secret.
    session
        What to seal.

    Returns
    -------
    str
        A Fernet token, safe to put in a cookie.
    """
    body = json.dumps({"key_id": session.key_id, "csrf": session.csrf, "issued": session.issued})
    return cipher(secret, SESSION_INFO).encrypt_at_time(body.encode(), session.issued).decode()


def open_session(secret: bytes, value: str | None, ttl_seconds: int) -> WebSession | None:
    """Return the session in a cookie value, or None when absent, forged or expired.

    Parameters
    ----------
    secret
        The platform secret.
    value
        The cookie value as received.
    ttl_seconds
        How long a session lasts after it was issued.
    """
    if not value:
        return None
    try:
        body = json.loads(cipher(secret, SESSION_INFO).decrypt(value.encode(), ttl=ttl_seconds))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    key_id, csrf, issued = body.get("key_id"), body.get("csrf"), body.get("issued")
    if not (isinstance(key_id, str) and isinstance(csrf, str) and isinstance(issued, int)):
        return None
    return WebSession(key_id=key_id, csrf=csrf, issued=issued)


def seal_flash(secret: bytes, flash: Flash) -> str:
    """Encrypt and authenticate a flash message into a cookie value."""
    body = json.dumps({"kind": flash.kind, "text": flash.text})
    return cipher(secret, FLASH_INFO).encrypt(body.encode()).decode()


def open_flash(secret: bytes, value: str | None) -> Flash | None:
    """Return the flash message in a cookie value, or None when absent, forged or stale."""
    if not value:
        return None
    try:
        body = json.loads(cipher(secret, FLASH_INFO).decrypt(value.encode(), ttl=FLASH_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    kind, text = body.get("kind"), body.get("text")
    if kind not in ("ok", "error") or not isinstance(text, str):
        return None
    return Flash(kind="ok" if kind == "ok" else "error", text=text)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """Set a dashboard cookie: HttpOnly, SameSite=Strict, Path=/, Secure over https.

    Parameters
    ----------
    response
        The response to carry the cookie.
    request
        The request being answered (its scheme decides ``Secure``).
    name, value
        The cookie.
    max_age
        Lifetime in seconds.
    """
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Tell the browser to drop a dashboard cookie."""
    response.delete_cookie(
        name, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
