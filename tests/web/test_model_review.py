"""The model page's review: approvals, four-eyes promotion, the challenger and the card page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from finai import registry
from finai.context import Platform
from finai.security import Role, create_key
from tests.factories import register_versions
from tests.web.test_views import audit_log, key_id, sign_in

MODEL = "pd-review"


def _stage(platform: Platform, version: int) -> str:
    with platform.sessions() as session:
        return registry.get_version(session, MODEL, version).stage.value


def _register_as(platform: Platform, actor: str) -> None:
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name=MODEL,
            model={"a": 1}, kind="test", actor=actor, metrics={"auc": 0.8},
        )  # fmt: skip
        session.commit()


def _another_admin(platform: Platform) -> str:
    with platform.sessions() as session:
        _key, token = create_key(
            session, platform.audit_key, name="second admin", role=Role.ADMIN, actor="test"
        )
        session.commit()
    return token


def test_the_registering_admin_cannot_approve_another_can_then_promote(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    _register_as(platform, key_id(tokens[Role.ADMIN]))
    csrf = sign_in(client, tokens[Role.ADMIN])
    page = client.get(f"/models/{MODEL}")
    assert "Promotion needs an approval by another key" in page.text
    assert "Promote</button>" not in page.text
    assert "needs approval</a>" in page.text
    assert 'name="comment"' in page.text and "required" in page.text
    assert f'href="/models/{MODEL}/versions/1/card"' in page.text
    url = f"/models/{MODEL}/versions/1"
    before = len(audit_log(platform))
    own = client.post(f"{url}/approve", data={"csrf_token": csrf, "comment": "mine"})
    assert "flash-error" in own.text
    assert "four-eyes rule" in own.text
    assert len(audit_log(platform)) == before
    refused = client.post(f"{url}/promote", data={"csrf_token": csrf})
    assert "four-eyes rule: pd-review:1 needs an approval" in refused.text
    assert _stage(platform, 1) == "candidate"

    other = TestClient(client.app)
    second = _another_admin(platform)
    other_csrf = sign_in(other, second)
    empty = other.post(f"{url}/approve", data={"csrf_token": other_csrf, "comment": "  "})
    assert "an approval needs a comment" in empty.text
    done = other.post(
        f"{url}/approve",
        data={"csrf_token": other_csrf, "comment": "Holdout <AUC> fine\nsecond line"},
    )
    assert f"{MODEL} v1 approved." in done.text
    assert str(done.url).endswith(f"/models/{MODEL}?version=1")
    assert "Holdout &lt;AUC&gt; fine\nsecond line" in done.text
    assert f'data-approved-by="{key_id(second)}"' in done.text
    assert "Promote v1 to champion</button>" in done.text
    assert "Promote</button>" in done.text  # the versions table too
    promoted = client.post(f"{url}/promote", data={"csrf_token": csrf})
    assert f"{MODEL} v1 is now the champion." in promoted.text
    assert _stage(platform, 1) == "champion"
    actions = [e.action for e in audit_log(platform)[:2]]
    assert actions == ["model.promote", "model.approve"]


def test_the_card_page_shows_the_card_inside_the_dashboard(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{"auc": 0.81}], name=MODEL)
    csrf = sign_in(client, tokens[Role.ADMIN])
    client.post(
        f"/models/{MODEL}/versions/1/approve",
        data={"csrf_token": csrf, "comment": "<script>alert(1)</script>"},
    )
    page = client.get(f"/models/{MODEL}/versions/1/card")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<nav class="nav"' in page.text  # inside the dashboard layout
    assert "<h1>Model card · v1</h1>" in page.text
    assert '<article class="model-card-doc"' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert 'data-metric="auc"' in page.text
    assert "written " in page.text
    assert client.get(f"/models/{MODEL}/versions/7/card").status_code == 404
    analyst = TestClient(client.app)
    sign_in(analyst, tokens[Role.ANALYST])
    assert analyst.get(f"/models/{MODEL}/versions/1/card").status_code == 200


def test_set_and_end_the_challenger_from_the_page(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{}, {}], name=MODEL)
    csrf = sign_in(client, tokens[Role.ADMIN])
    page = client.get(f"/models/{MODEL}", params={"version": 1})
    assert 'data-version="1"' in page.text
    assert "Set as challenger</button>" in page.text
    made = client.post(f"/models/{MODEL}/challenger", data={"csrf_token": csrf, "version": "1"})
    assert f"{MODEL} v1 is now the challenger" in made.text
    assert _stage(platform, 1) == "challenger"
    assert "End challenge</button>" in made.text
    assert "Set as challenger</button>" not in made.text
    # without a version the challenger is the one under review by default
    assert "End challenge</button>" in client.get(f"/models/{MODEL}").text
    ended = client.post(f"/models/{MODEL}/challenger", data={"csrf_token": csrf, "version": ""})
    assert f"{MODEL} has no challenger now." in ended.text
    assert _stage(platform, 1) == "candidate"
    bad = client.post(f"/models/{MODEL}/challenger", data={"csrf_token": csrf, "version": "x"})
    assert "version must be a whole number" in bad.text


def test_an_analyst_sees_approvals_but_no_review_controls(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{}], name=MODEL)
    csrf = sign_in(client, tokens[Role.ANALYST])
    page = client.get(f"/models/{MODEL}")
    assert page.status_code == 200
    assert "No approvals yet." in page.text
    assert 'name="comment"' not in page.text
    assert "challenger</button>" not in page.text
    assert "Model card</a>" in page.text
    url = f"/models/{MODEL}/versions/1/approve"
    assert client.post(url, data={"csrf_token": csrf, "comment": "ok"}).status_code == 403
    challenge = client.post(
        f"/models/{MODEL}/challenger", data={"csrf_token": csrf, "version": "1"}
    )
    assert challenge.status_code == 403
    assert _stage(platform, 1) == "candidate"
