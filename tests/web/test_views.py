"""The dashboard through the app in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from finai import registry
from finai.api.permissions import PERMISSIONS, PUBLIC
from finai.context import Platform
from finai.security import Role, audit, get_key
from finai.store import AuditEntryRow
from finai.web.routing import WebRoute
from finai.web.session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    WebSession,
    open_session,
    seal_session,
)
from tests.conftest import auth
from tests.factories import approve, promote, register_versions

MODEL = "pd-credit"
PAGES = ["/", "/models", "/models/{name}", "/audit", "/keys"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAT = re.compile(r'stat-value">(\d+)</span>\s*<span class="stat-label">([^<]+)<')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def post_login(client: TestClient, token: str, *, follow_redirects: bool = True) -> Response:
    """Open the sign-in form as a browser would, then submit ``token`` with its hidden token."""
    form = client.get("/login")
    assert form.status_code == 200
    data = {"api_key": token, "csrf_token": csrf_of(form.text)}
    return client.post("/login", data=data, follow_redirects=follow_redirects)


def sign_in(client: TestClient, token: str) -> str:
    """Sign ``client`` in with ``token``; return the session's CSRF token."""
    response = post_login(client, token)
    assert response.status_code == 200
    assert str(response.url).endswith("/")
    return csrf_of(response.text)


def key_id(token: str) -> str:
    return token.split("_")[1]


def stats(html: str) -> dict[str, int]:
    return {label: int(value) for value, label in STAT.findall(html)}


def set_cookies(response_headers: list[str], name: str) -> list[str]:
    return [c for c in response_headers if c.startswith(f"{name}=")]


def flags_of(cookie: str) -> list[str]:
    return [part.strip().lower() for part in cookie.split(";")]


def last_used(platform: Platform, token: str) -> object:
    with platform.sessions() as session:
        return get_key(session, key_id(token)).last_used_at


def audit_log(platform: Platform) -> list[audit.AuditEntry]:
    with platform.sessions() as session:
        return audit.entries(session, limit=1000)


def stage_of(platform: Platform, version: int) -> str:
    with platform.sessions() as session:
        return registry.get_version(session, MODEL, version).stage.value


@pytest.fixture
def model(platform: Platform) -> str:
    """A model with two candidate versions that carry metrics, both approved for promotion."""
    register_versions(
        platform, [{"auc": 0.8, "ks": 0.41}, {"auc": 0.83, "ks": 0.45}], name=MODEL, kind="test"
    )
    with platform.sessions() as session:
        for version in (1, 2):
            approve(session, platform, name=MODEL, version=version)
        session.commit()
    return MODEL


# signing in and out


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_login(client: TestClient, model: str, path: str) -> None:
    response = client.get(path.format(name=model), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="api_key"' in page.text
    assert 'type="password"' in page.text


def test_a_bad_key_shows_an_error_and_sets_no_cookie(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    forged = tokens[Role.ADMIN][:-4] + "AAAA"
    for value in (forged, "nonsense", ""):
        response = post_login(client, value, follow_redirects=False)
        assert response.status_code == 401
        assert "not valid" in response.text
        assert not set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
        # a fresh form token, so the person can simply try again
        [fresh] = set_cookies(response.headers.get_list("set-cookie"), LOGIN_COOKIE)
        assert csrf_of(response.text) in fresh
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_key_cannot_sign_in(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    from finai.security import revoke_key

    with platform.sessions() as session:
        revoke_key(session, platform.audit_key, key_id=key_id(tokens[Role.ANALYST]), actor="test")
        session.commit()
    response = post_login(client, tokens[Role.ANALYST])
    assert response.status_code == 401
    assert SESSION_COOKIE not in client.cookies


def test_the_session_cookie_is_locked_down_and_holds_no_key(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.ADMIN]
    response = post_login(client, token, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    [cookie] = set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
    flags = flags_of(cookie)
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # plain http here; see the https test
    assert f"max-age={int(platform.settings.session_hours * 3600)}" in flags
    value = cookie.split(";", 1)[0].split("=", 1)[1].strip('"')
    assert token not in value
    assert token.split("_")[2] not in value
    opened = open_session(platform.audit_key, value, 3600)
    assert opened is not None
    assert opened.key_id == key_id(token)


def test_the_cookie_is_secure_over_https(client: TestClient, tokens: dict[Role, str]) -> None:
    https = TestClient(client.app, base_url="https://testserver")
    form = https.get("/login")
    [login_cookie] = set_cookies(form.headers.get_list("set-cookie"), LOGIN_COOKIE)
    assert "secure" in flags_of(login_cookie)
    response = post_login(https, tokens[Role.ADMIN], follow_redirects=False)
    assert response.status_code == 303
    [cookie] = set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
    assert "secure" in flags_of(cookie)


# login CSRF: the sign-in form carries a token that must match its pre-session cookie


def test_the_sign_in_form_sets_a_locked_down_pre_session_cookie(client: TestClient) -> None:
    page = client.get("/login")
    [cookie] = set_cookies(page.headers.get_list("set-cookie"), LOGIN_COOKIE)
    flags = flags_of(cookie)
    assert {"httponly", "samesite=strict", "path=/", "max-age=3600"} <= set(flags)
    assert "secure" not in flags  # plain http here; see the https test
    token = csrf_of(page.text)
    assert len(token) >= 43
    assert client.cookies[LOGIN_COOKIE] == token
    assert csrf_of(client.get("/login").text) != token  # a new one each time


@pytest.mark.parametrize("sent", [None, "", "wrong"])
def test_signing_in_without_the_form_token_is_refused(
    client: TestClient, platform: Platform, tokens: dict[Role, str], sent: str | None
) -> None:
    token = tokens[Role.ADMIN]
    client.get("/login")
    data = {"api_key": token} if sent is None else {"api_key": token, "csrf_token": sent}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "Your sign-in form expired; please try again." in response.text
    assert 'name="api_key"' in response.text
    assert not set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
    [fresh] = set_cookies(response.headers.get_list("set-cookie"), LOGIN_COOKIE)
    assert csrf_of(response.text) in fresh
    assert SESSION_COOKIE not in client.cookies
    assert last_used(platform, token) is None  # the key was never even looked at
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_form_token_from_another_browser_is_refused(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    attacker = TestClient(client.app)
    planted = csrf_of(attacker.get("/login").text)
    token = tokens[Role.ANALYST]
    data = {"api_key": token, "csrf_token": planted}
    # the victim has no sign-in cookie yet, then one of their own
    for _ in range(2):
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert not set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
    assert client.cookies[LOGIN_COOKIE] != planted
    assert SESSION_COOKIE not in client.cookies
    assert last_used(platform, token) is None


def test_a_good_sign_in_clears_the_pre_session_cookie(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    response = post_login(client, tokens[Role.ADMIN], follow_redirects=False)
    assert response.status_code == 303
    [cleared] = set_cookies(response.headers.get_list("set-cookie"), LOGIN_COOKIE)
    assert "max-age=0" in flags_of(cleared)
    assert LOGIN_COOKIE not in client.cookies
    assert SESSION_COOKIE in client.cookies


def test_signing_in_shows_who_and_signing_out_ends_the_session(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, tokens[Role.AUDITOR])
    home = client.get("/")
    assert "test auditor" in home.text
    assert 'data-role="auditor"' in home.text
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    [cleared] = set_cookies(response.headers.get_list("set-cookie"), SESSION_COOKIE)
    assert "max-age=0" in cleared.lower()
    assert SESSION_COOKIE not in client.cookies
    assert "Signed out test auditor" in client.get("/login").text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_expired_or_foreign_session_is_signed_out(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    admin = key_id(tokens[Role.ADMIN])
    old = WebSession(admin, "x" * 43, int(time.time()) - 9 * 3600)
    foreign = seal_session(b"another-secret-" + b"y" * 40, WebSession(admin, "x", int(time.time())))
    for value in (seal_session(platform.audit_key, old), foreign, "garbage"):
        client.cookies.set(SESSION_COOKIE, value)
        response = client.get("/keys", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        client.cookies.clear()


def test_revoking_the_key_signs_its_session_out(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    analyst = TestClient(client.app)
    sign_in(analyst, tokens[Role.ANALYST])
    assert analyst.get("/models").status_code == 200
    csrf = sign_in(client, tokens[Role.ADMIN])
    target = key_id(tokens[Role.ANALYST])
    done = client.post(f"/keys/{target}/revoke", data={"csrf_token": csrf})
    assert "Revoked key &#39;test analyst&#39;" in done.text
    assert f'data-key="{target}"' in done.text
    response = analyst.get("/models", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert SESSION_COOKIE not in analyst.cookies
    assert client.get("/v1/whoami", headers=auth(tokens[Role.ANALYST])).status_code == 401


# roles


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_what_the_permission_table_allows(
    client: TestClient, tokens: dict[Role, str], model: str, role: Role
) -> None:
    sign_in(client, tokens[role])
    home = client.get("/")
    for path in PAGES:
        allowed = role.value in PERMISSIONS[("GET", path)]
        response = client.get(path.format(name=model))
        if allowed:
            assert response.status_code == 200, path
            assert "<h1>" in response.text
        else:
            assert response.status_code == 403, path
            assert "Forbidden" in response.text
            assert f"<strong>{role.value}</strong>, which may not open this page" in response.text
        if path != "/models/{name}":
            assert (f'href="{path}"' in home.text) is allowed, (role, path)


def test_auditor_gets_403_on_keys_and_cannot_create_one(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, tokens[Role.AUDITOR])
    page = client.get("/keys")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "auditor" in page.text
    before = len(audit_log(platform))
    response = client.post("/keys", data={"csrf_token": csrf, "name": "sneaky", "role": "admin"})
    assert response.status_code == 403
    assert len(audit_log(platform)) == before


def test_analyst_sees_models_but_no_stage_buttons(
    client: TestClient, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.ANALYST])
    page = client.get(f"/models/{model}")
    assert page.status_code == 200
    assert "Promote" not in page.text
    assert "Promote" not in client.get("/models").text
    assert "/promote" not in page.text
    response = client.post(f"/models/{model}/versions/1/promote", data={"csrf_token": csrf})
    assert response.status_code == 403


# CSRF


def test_posts_without_the_right_csrf_token_are_refused_and_change_nothing(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    other = TestClient(client.app)
    stolen = sign_in(other, tokens[Role.ADMIN])
    sign_in(client, tokens[Role.ADMIN])
    before = len(audit_log(platform))
    posts = [
        (f"/models/{model}/versions/2/promote", {}),
        (f"/models/{model}/versions/2/approve", {"comment": "looks fine"}),
        (f"/models/{model}/challenger", {"version": "2"}),
        (f"/models/{model}/rollback", {}),
        ("/keys", {"name": "x", "role": "admin"}),
        (f"/keys/{key_id(tokens[Role.ANALYST])}/revoke", {}),
        ("/audit/verify", {}),
        ("/logout", {}),
    ]
    for url, form in posts:
        for token in (None, "wrong", stolen):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            response = client.post(url, data=data, follow_redirects=False)
            assert response.status_code == 403, (url, token)
            assert "security token" in response.text
    assert stage_of(platform, 2) == "candidate"
    assert len(audit_log(platform)) == before
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


# models


def test_models_pages_show_versions_metrics_and_a_chart(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    sign_in(client, tokens[Role.ADMIN])
    listing = client.get("/models")
    assert f'href="/models/{model}">{model}</a>' in listing.text
    assert "v2" in listing.text
    page = client.get(f"/models/{model}")
    with platform.sessions() as session:
        versions = registry.list_versions(session, model)
    for version in versions:
        assert f'data-version="{version.version}"' in page.text
        assert f">{version.sha256[:12]}</code>" in page.text
    assert page.text.count("stage-candidate") == 2 + 1  # both rows and the review of v2
    assert "0.83" in page.text
    assert "0.41" in page.text
    assert page.text.count("Promote</button>") == 2
    assert 'class="plotly-graph-div"' in page.text
    assert '<script src="/static/plotly.min.js"></script>' in page.text
    assert "auc by version" in page.text
    ks = client.get(f"/models/{model}", params={"metric": "ks"})
    assert '<option value="ks" selected>' in ks.text
    assert "ks by version" in ks.text
    unknown = client.get(f"/models/{model}", params={"metric": "nope"})
    assert "auc by version" in unknown.text


def test_the_models_list_shows_each_models_newest_versions(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    with platform.sessions() as session:
        for n in range(7):
            registry.register(
                session, platform.audit_key, platform.artifact_dir, name="fraud-gbm",
                model={"n": n}, kind="test", actor="t",
            )  # fmt: skip
        promote(session, platform, name="fraud-gbm", version=3)
        session.commit()
    sign_in(client, tokens[Role.ADMIN])
    listing = client.get("/models").text
    start, middle = listing.index('data-model="fraud-gbm"'), listing.index(f'data-model="{model}"')
    fraud, credit = listing[start:middle], listing[middle:]  # sorted by name
    assert credit.count("data-version=") == 2
    assert "no champion" in credit
    assert fraud.count("data-version=") == 5
    assert 'data-version="7"' in fraud
    assert 'data-version="2"' not in fraud
    assert "All 7 versions" in fraud
    assert '<span class="badge stage-champion">v3</span>' in fraud
    assert "Roll back champion" in fraud
    assert "Roll back champion" not in credit
    # the credit model's versions are approved; fraud-gbm's other versions are not
    assert listing.count("Promote</button>") == 2
    assert fraud.count("needs approval</a>") == 4


def test_stored_values_are_escaped_in_tables_and_charts(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    evil = "<script>alert(1)</script>"
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="xss", model=b"x",
            kind=evil, actor="t", metrics={evil: 0.5},
        )  # fmt: skip
        session.commit()
    sign_in(client, tokens[Role.ADMIN])
    page = client.get("/models/xss").text
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="plotly-graph-div"' in page  # the metric is charted, JSON-escaped


def test_the_sign_in_page_states_the_session_length(client: TestClient) -> None:
    assert "a session lasts 8 hours" in client.get("/login").text


def test_a_model_without_metrics_has_no_chart(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="plain", model=b"x",
            kind="test", actor="t",
        )  # fmt: skip
        session.commit()
    sign_in(client, tokens[Role.ADMIN])
    page = client.get("/models/plain")
    assert page.status_code == 200
    assert "plotly-graph-div" not in page.text
    assert "/static/plotly.min.js" not in page.text


def test_promoting_changes_the_stage_and_appends_an_audit_entry(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    before = len(audit_log(platform))
    response = client.post(f"/models/{model}/versions/2/promote", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert str(response.url).endswith(f"/models/{model}?version=2")
    assert f"{model} v2 is now the champion." in response.text
    assert stage_of(platform, 2) == "champion"
    assert response.text.count("Promote</button>") == 1
    log = audit_log(platform)
    assert len(log) == before + 1
    assert (log[0].action, log[0].object_id, log[0].actor) == (
        "model.promote",
        f"{model}:2",
        key_id(tokens[Role.ADMIN]),
    )
    # the flash is shown once
    assert "is now the champion" not in client.get(f"/models/{model}").text


def test_promoting_the_champion_again_shows_the_conflict(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    client.post(f"/models/{model}/versions/2/promote", data={"csrf_token": csrf})
    before = len(audit_log(platform))
    again = client.post(f"/models/{model}/versions/2/promote", data={"csrf_token": csrf})
    assert again.status_code == 200
    assert "flash-error" in again.text
    assert f"{model}:2 is already the champion" in again.text
    assert "Traceback" not in again.text
    assert len(audit_log(platform)) == before


def test_rollback_reinstates_the_previous_champion(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    nothing = client.post(f"/models/{model}/rollback", data={"csrf_token": csrf})
    assert "has no champion to roll back" in nothing.text
    for version in (1, 2):
        client.post(f"/models/{model}/versions/{version}/promote", data={"csrf_token": csrf})
    page = client.post(f"/models/{model}/rollback", data={"csrf_token": csrf})
    assert f"{model} v1 is the champion again" in page.text
    assert (stage_of(platform, 1), stage_of(platform, 2)) == ("champion", "retired")
    assert audit_log(platform)[0].action == "model.rollback"


def test_unknown_models_and_bad_addresses_are_html_error_pages(
    client: TestClient, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    missing = client.get("/models/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no model named &#39;nope&#39;" in missing.text
    bad = client.post(f"/models/{model}/versions/abc/promote", data={"csrf_token": csrf})
    assert bad.status_code == 422
    assert "Invalid input" in bad.text
    gone = client.post(f"/models/{model}/versions/9/promote", data={"csrf_token": csrf})
    assert f"model &#39;{model}&#39; has no version 9" in gone.text


# overview, audit, keys


def test_overview_counts_and_charts(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    sign_in(client, tokens[Role.ADMIN])
    page = client.get("/")
    assert stats(page.text) == {
        "Models": 1,
        "Champions": 0,
        "Versions": 2,
        "Active keys": len(Role),
        "Audit entries": len(audit_log(platform)),
    }
    assert page.text.count('class="plotly-graph-div"') == 2
    assert "Audit activity" in page.text
    assert "model.register" in page.text
    client.cookies.clear()
    sign_in(client, tokens[Role.OPERATOR])
    operator = client.get("/")
    assert set(stats(operator.text)) == {"Models", "Champions", "Versions"}
    assert operator.text.count('class="plotly-graph-div"') == 1


def test_audit_page_lists_entries_and_verifies_the_chain(
    client: TestClient, platform: Platform, tokens: dict[Role, str], model: str
) -> None:
    csrf = sign_in(client, tokens[Role.AUDITOR])
    log = audit_log(platform)
    page = client.get("/audit")
    for entry in log:
        assert f'<td class="num">{entry.seq}</td>' in page.text
    assert "model.register" in page.text
    assert "key.create" in page.text
    assert f"<code>{model}:2</code>" in page.text
    intact = client.post("/audit/verify", data={"csrf_token": csrf})
    assert intact.status_code == 200
    assert f"Chain intact: {len(log)} entries" in intact.text
    with platform.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2).values(actor="mallory"))
    broken = client.post("/audit/verify", data={"csrf_token": csrf})
    assert "Chain broken at entry 2: entry MAC does not match its contents" in broken.text


def test_audit_pages_through_older_entries(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    with platform.sessions() as session:
        for n in range(60):
            audit.append(
                session, platform.audit_key, actor="t", action="test.tick",
                object_type="tick", object_id=f"tick-{n}",
            )  # fmt: skip
        session.commit()
    total = len(audit_log(platform))
    sign_in(client, tokens[Role.AUDITOR])
    first = client.get("/audit")
    assert f'<td class="num">{total}</td>' in first.text
    assert '<td class="num">1</td>' not in first.text
    older = client.get(f"/audit?before={total - 49}")
    assert '<td class="num">1</td>' in older.text
    assert f'<td class="num">{total}</td>' not in older.text


def test_keys_page_creates_a_key_and_shows_its_token_once(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    page = client.get("/keys")
    for role in Role:
        assert f"test {role.value}" in page.text
        assert tokens[role] not in page.text
    created = client.post(
        "/keys",
        data={"csrf_token": csrf, "name": "scoring service", "role": "operator", "expires": "30"},
    )
    assert created.status_code == 200
    match = re.search(r'id="new-token">(finai_[^<]+)</code>', created.text)
    assert match
    token = match.group(1)
    whoami = client.get("/v1/whoami", headers=auth(token)).json()
    assert whoami["role"] == "operator"
    assert whoami["name"] == "scoring service"
    assert audit_log(platform)[0].action == "key.create"
    again = client.get("/keys")
    assert token not in again.text
    assert "scoring service" in again.text
    assert created.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "x", "role": "boss"}, "unknown role &#39;boss&#39;"),
        ({"name": "x", "role": "admin", "expires": "soon"}, "whole number of days"),
        ({"name": "<b>x</b>", "role": "admin"}, "name must be"),
    ],
)
def test_a_bad_key_form_shows_the_error_and_creates_nothing(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    form: dict[str, str],
    message: str,
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    before = len(audit_log(platform))
    response = client.post("/keys", data={"csrf_token": csrf, **form})
    assert response.status_code == 422
    assert message in response.text
    assert 'id="new-token"' not in response.text
    assert len(audit_log(platform)) == before


def test_the_last_admin_cannot_be_revoked_from_the_dashboard(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    page = client.post(f"/keys/{key_id(tokens[Role.ADMIN])}/revoke", data={"csrf_token": csrf})
    assert "refusing to revoke the last active admin key" in page.text
    assert client.get("/", follow_redirects=False).status_code == 200


# static files and the route table


def test_plotly_js_is_served_by_the_app(client: TestClient) -> None:
    import plotly

    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert len(response.content) > 1_000_000
    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert response.content == bundled.read_bytes()
    css = client.get("/static/app.css")
    assert css.headers["content-type"].startswith("text/css")
    assert ":root" in css.text


@pytest.mark.parametrize("name", ["nope.js", "plotly.js", "app.cs", "..%2Fviews.py", "__init__.py"])
def test_unknown_static_files_are_404(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 404


def test_pages_carry_security_headers(client: TestClient, tokens: dict[Role, str]) -> None:
    sign_in(client, tokens[Role.ADMIN])
    for response in (client.get("/"), client.get("/login")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_every_dashboard_route_is_in_the_table_and_hidden_from_openapi(
    client: TestClient,
) -> None:
    web = {
        (method, context.path)
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(context.original_route, WebRoute)
        for method in context.methods or ()
        if method != "HEAD"
    }
    assert len(web) == 33  # + approve, challenger, model card, governance, monitoring, assist (7)
    assert web <= PERMISSIONS.keys()
    public = {route for route in web if PERMISSIONS[route] is PUBLIC}
    assert public == {("GET", "/static/{filename}"), ("GET", "/login"), ("POST", "/login")}
    documented = client.get("/openapi.json").json()["paths"]
    assert not {path for _, path in web} & documented.keys()
