from __future__ import annotations

import time

from finai.web.session import (
    SESSION_INFO,
    Flash,
    WebSession,
    cipher,
    new_session,
    open_flash,
    open_session,
    seal_flash,
    seal_session,
)

SECRET = b"s" * 48


def test_a_sealed_session_opens_to_what_was_sealed() -> None:
    session = new_session("abcdef012345")
    value = seal_session(SECRET, session)
    assert "abcdef012345" not in value
    assert session.csrf not in value
    assert open_session(SECRET, value, 3600) == session
    assert len(session.csrf) >= 40


def test_sessions_differ_in_their_csrf_token() -> None:
    assert new_session("a").csrf != new_session("a").csrf


def test_an_expired_session_does_not_open() -> None:
    old = WebSession("abcdef012345", "token", int(time.time()) - 7200)
    assert open_session(SECRET, seal_session(SECRET, old), 3600) is None
    assert open_session(SECRET, seal_session(SECRET, old), 10_000) == old


def test_a_forged_or_foreign_session_does_not_open() -> None:
    value = seal_session(SECRET, new_session("abcdef012345"))
    tampered = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
    assert open_session(SECRET, tampered, 3600) is None
    assert open_session(b"other" * 10, value, 3600) is None
    assert open_session(SECRET, "not-a-token", 3600) is None
    assert open_session(SECRET, None, 3600) is None
    assert open_session(SECRET, "", 3600) is None


def test_a_well_sealed_but_malformed_payload_does_not_open() -> None:
    fernet = cipher(SECRET, SESSION_INFO)
    for body in (b"[]", b"{}", b'{"key_id": 1, "csrf": "x", "issued": 1}', b"not json"):
        assert open_session(SECRET, fernet.encrypt(body).decode(), 3600) is None


def test_a_flash_is_not_a_session_and_back() -> None:
    flash = seal_flash(SECRET, Flash("ok", "done"))
    assert open_flash(SECRET, flash) == Flash("ok", "done")
    assert open_session(SECRET, flash, 3600) is None
    session = seal_session(SECRET, new_session("abcdef012345"))
    assert open_flash(SECRET, session) is None
