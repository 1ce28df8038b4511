"""The credit page through the app in-process, on SQLite and PostgreSQL.

The demo model is trained once per module (as ``finai.demo.load_demo`` trains it) and
registered into each test's clean database, which takes milliseconds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from finai import credit, registry
from finai.api.permissions import PERMISSIONS
from finai.context import Platform
from finai.datasets import make_loan_book
from finai.demo import DEMO_MODEL, DEMO_ROWS, DEMO_SEED
from finai.security import Role
from finai.security.audit import SYSTEM_ACTOR
from finai.web.credit import NO_CURVES
from tests.conftest import auth
from tests.factories import promote
from tests.web.test_views import audit_log, csrf_of, key_id, sign_in

DECISION_LINK = re.compile(r'href="/credit/decisions/([0-9a-f]{32})"')
APPLICANT = {
    "age": "35",
    "monthly_income": "3200",
    "monthly_debt": "900",
    "employment_years": "4",
    "loan_amount": "8000",
    "term_months": "36",
    "credit_utilisation": "0.45",
    "prior_defaults": "0",
    "inquiries_6m": "2",
    "region": "north",
    "home_ownership": "rent",
    "purpose": "car",
}


@dataclasses.dataclass(frozen=True)
class Trained:
    """A model trained once per module, and the table it learned from."""

    result: credit.TrainResult
    data: pd.DataFrame


@pytest.fixture(scope="module")
def demo_training() -> Trained:
    """A scorecard on the demo's data (the demo itself picks by cross-validated AUC)."""
    book = make_loan_book(DEMO_ROWS, seed=DEMO_SEED)
    result = credit.train(book.frame, book.spec, algorithm="scorecard", seed=DEMO_SEED, folds=3)
    return Trained(result, book.frame)


@pytest.fixture(scope="module")
def gbm_training() -> Trained:
    """A small gradient-boosting model."""
    book = make_loan_book(1_500, seed=3)
    result = credit.train(book.frame, book.spec, algorithm="gbm", seed=3, folds=3)
    return Trained(result, book.frame)


def register(
    platform: Platform, name: str, trained: Trained, model: credit.CreditModel | None = None
) -> int:
    """Register (and promote) a trained model; return its version."""
    result = trained.result if model is None else dataclasses.replace(trained.result, model=model)
    with platform.sessions() as session:
        version = credit.register_model(
            session, platform.audit_key, platform.artifact_dir, name=name, result=result,
            data=trained.data, actor=SYSTEM_ACTOR,
        )  # fmt: skip
        promote(session, platform, name=name, version=version.version, actor=SYSTEM_ACTOR)
        session.commit()
    return version.version


@pytest.fixture
def demo(platform: Platform, demo_training: Trained) -> Iterator[str]:
    """What ``load_demo`` stores: the default policy and the promoted demo model."""
    with platform.sessions() as session:
        credit.save_policy(
            session, platform.audit_key, text=credit.DEFAULT_POLICY, actor=SYSTEM_ACTOR
        )
        session.commit()
    register(platform, DEMO_MODEL, demo_training)
    yield DEMO_MODEL


def form(csrf: str | None, model: str = f"{DEMO_MODEL}:1", **changes: str) -> dict[str, str]:
    """The decide form as a browser posts it, with ``APPLICANT``'s values changed."""
    values = {**APPLICANT, **changes}
    data = {"model": model, **{f"f:{name}": value for name, value in values.items()}}
    return data if csrf is None else {"csrf_token": csrf, **data}


def decisions(platform: Platform) -> list[credit.Decision]:
    with platform.sessions() as session:
        return credit.recent_decisions(session, 100)


def flash_error(html: str) -> str:
    match = re.search(r'class="flash flash-error" role="alert">([^<]*)<', html)
    assert match, "page shows no error"
    return match.group(1)


# the page


def test_the_page_shows_the_model_its_validation_and_the_scorecard(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    sign_in(client, tokens[Role.ANALYST])
    page = client.get("/credit")
    assert page.status_code == 200
    html = page.text
    with platform.sessions() as session:
        info = registry.get_version(session, demo)
    # which model, which version, why it was chosen, its cross-validated metrics
    assert f'data-model="{demo}" data-version="{info.version}"' in html
    assert f'<option value="{demo}" selected>{demo} (champion v1)</option>' in html
    assert info.params["chosen_because"] in html
    for label, key in (("AUC", "auc"), ("Gini", "gini"), ("KS", "ks")):
        assert re.search(
            rf'data-metric="{label}">\s*<span class="metric-value">{info.metrics[key]:.3f}<', html
        ), label
    assert f"{info.metrics['brier']:.4f}" in html
    # the candidates of cross-validation, the chosen one marked
    for row in info.params["cv"]:
        assert f'data-algorithm="{row["algorithm"]}"' in html
        assert f"{row['auc']:.4f}" in html
    assert re.search(r'class="chosen-row">\s*<td>scorecard <span[^>]*>chosen<', html)
    # four plotly figures, plotly.js loaded once, no note about missing curves
    assert html.count('class="plotly-graph-div"') == 4
    assert html.count('<script src="/static/plotly.min.js"></script>') == 1
    auc = info.metrics["auc"]
    for title in (f"AUC {auc:.3f}", "KS ", "Calibration by PD decile", "Score distribution"):
        assert title in html, title
    assert NO_CURVES not in html
    # the scorecard: every bin with its points
    with platform.sessions() as session:
        _, model = credit.load_model(session, platform.artifact_dir, f"{demo}:{info.version}")
    assert isinstance(model.estimator, credit.ScorecardModel)
    table = model.estimator.table()
    scorecard = html[html.index('class="card table-wrap scorecard"') :]
    assert scorecard.count("<tr") == len(table) + 1
    for name in table["characteristic"].unique():
        assert f"<strong>{name}</strong>" in scorecard
    assert f"<strong>{table['points'].iloc[0]:.1f}</strong>" in scorecard
    assert "Feature importance" not in html
    # the policy, read-only
    assert "Policy v1" in html
    assert "PD &lt; 8.0%" in html
    assert "25,000.00" in html
    assert "Applicants must be at least 18 years old" in html
    # an analyst may not decide: no form
    assert 'action="/credit/decide"' not in html
    assert "No decisions yet." in html


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_page_and_only_deciders_get_the_form(
    client: TestClient, tokens: dict[Role, str], demo: str, role: Role
) -> None:
    sign_in(client, tokens[role])
    home = client.get("/")
    assert 'href="/credit"' in home.text
    page = client.get("/credit")
    assert page.status_code == 200
    assert '<a href="/credit" class="active" aria-current="page">Credit</a>' in page.text
    deciders = PERMISSIONS[("POST", "/credit/decide")]
    assert ('action="/credit/decide"' in page.text) is (role.value in deciders)
    assert role.value in PERMISSIONS[("GET", "/credit")]


def test_the_form_is_built_from_the_spec_and_the_policy(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    sign_in(client, tokens[Role.OPERATOR])
    html = client.get("/credit").text
    with platform.sessions() as session:
        _, model = credit.load_model(session, platform.artifact_dir, demo)
    for name in model.spec.numeric or ():
        assert f'<input type="number" step="any" name="f:{name}"' in html
    for name in model.spec.categorical or ():
        assert f'<input type="text" name="f:{name}"' in html
    # the categories the scorecard saw are suggested
    assert re.search(r'name="f:purpose"[^>]*list="(choices-\d+)"', html)
    assert '<option value="debt_consolidation"></option>' in html
    # the policy's knock-out reads a field the model does not: a yes/no select
    assert '<select name="f:declared_bankruptcy">' in html
    assert "read by the policy only" in html
    assert '<input type="hidden" name="model" value="credit-demo:1">' in html


# deciding


def test_deciding_stores_audits_and_shows_the_decision(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    csrf = sign_in(client, tokens[Role.OPERATOR])
    before = len(audit_log(platform))
    response = client.post("/credit/decide", data=form(csrf), follow_redirects=False)
    assert response.status_code == 303
    [decision] = decisions(platform)
    assert response.headers["location"] == f"/credit/decisions/{decision.id}"
    assert (decision.model_name, decision.model_version, decision.policy_version) == (demo, 1, 1)
    log = audit_log(platform)
    assert len(log) == before + 1
    assert (log[0].action, log[0].object_id, log[0].actor) == (
        "credit.decision",
        decision.id,
        key_id(tokens[Role.OPERATOR]),
    )
    # the same applicant through the API gets the same input hash
    body = {"model": f"{demo}:1", "applicant": {k: _json(v) for k, v in APPLICANT.items()}}
    api = client.post("/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR]))
    assert api.status_code == 201
    assert api.json()["input_hash"] == decision.input_hash

    page = client.get(response.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert f"Decided: {decision.outcome.value} (PD {decision.pd:.1%}" in html  # the flash
    assert f"outcome-{decision.outcome.value}" in html
    assert f"{decision.pd * 100:.2f}%" in html
    assert f"<code>{decision.id}</code>" in html
    assert f'href="/credit?model={demo}%3A1"' in html
    assert decision.reasons
    for reason in decision.reasons:
        assert reason.text.replace("'", "&#39;") in html
    assert 'class="plotly-graph-div"' in html
    assert "What lowered this decision (points lost)" in html

    listing = client.get("/credit").text
    assert DECISION_LINK.findall(listing) == [api.json()["id"], decision.id]
    row = listing[listing.index(f'data-decision="{decision.id}"') :]
    assert f"{demo} v1" in row
    assert decision.reasons[0].text.replace("'", "&#39;") in row


def _json(text: str) -> object:
    """A form value as the API's JSON would carry it."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def test_a_policy_knockout_declines_with_its_reason(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    page = client.post("/credit/decide", data=form(csrf, declared_bankruptcy="yes"))
    assert page.status_code == 200
    [decision] = decisions(platform)
    assert decision.outcome == credit.Outcome.DECLINE
    assert decision.knockouts == ("bankruptcy",)
    assert "A bankruptcy has been declared" in page.text
    assert "<code>bankruptcy</code>" in page.text


def test_empty_inputs_are_missing_values(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    response = client.post("/credit/decide", data=form(csrf, monthly_income=""))
    assert response.status_code == 200
    [decision] = decisions(platform)
    # without income the limit cannot be set, so a person decides
    assert decision.outcome == credit.Outcome.REFER
    assert decision.limit is None
    assert decision.reasons[0].feature == "monthly_income"
    assert decision.reasons[0].value == "missing"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"age": "thirty"}, "age", "age must be a number"),
        ({"monthly_income": "-50"}, "monthly_income", "must not be negative"),
        ({"declared_bankruptcy": "maybe"}, "declared_bankruptcy", "must be one of yes, no"),
    ],
)
def test_invalid_input_shows_the_error_keeps_the_values_and_stores_nothing(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    demo: str,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    csrf = sign_in(client, tokens[Role.OPERATOR])
    before = len(audit_log(platform))
    page = client.post("/credit/decide", data=form(csrf, **changes))
    assert page.status_code == 422
    assert message in flash_error(page.text)
    assert "Traceback" not in page.text
    assert f'class="field field-error" data-field="{field}"' in page.text
    assert 'aria-invalid="true"' in page.text
    for name, value in {**APPLICANT, **changes}.items():
        if name != "declared_bankruptcy":
            assert f'name="f:{name}" value="{value}"' in page.text, name
    assert 'action="/credit/decide"' in page.text  # the form is there to fix and resend
    assert decisions(platform) == []
    assert len(audit_log(platform)) == before


def test_deciding_needs_the_session_csrf_token(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str
) -> None:
    other = TestClient(client.app)
    stolen = sign_in(other, tokens[Role.ADMIN])
    sign_in(client, tokens[Role.ADMIN])
    before = len(audit_log(platform))
    for token in (None, "", "wrong", stolen):
        data = form(None) if token is None else {**form(None), "csrf_token": token}
        response = client.post("/credit/decide", data=data, follow_redirects=False)
        assert response.status_code == 403, token
        assert "security token" in response.text
    assert decisions(platform) == []
    assert len(audit_log(platform)) == before


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ANALYST])
def test_readers_see_the_page_but_may_not_decide(
    client: TestClient, platform: Platform, tokens: dict[Role, str], demo: str, role: Role
) -> None:
    csrf = sign_in(client, tokens[role])
    page = client.get("/credit")
    assert page.status_code == 200
    assert "Decide an applicant" not in page.text
    assert csrf_of(page.text) == csrf  # only the sign-out form carries it
    before = len(audit_log(platform))
    response = client.post("/credit/decide", data=form(csrf))
    assert response.status_code == 403
    assert f"<strong>{role.value}</strong>, which may not open this page" in response.text
    assert decisions(platform) == []
    assert len(audit_log(platform)) == before


# other models and empty states


def test_a_gbm_model_shows_its_feature_importance(
    client: TestClient, platform: Platform, tokens: dict[Role, str], gbm_training: Trained
) -> None:
    register(platform, "pd-gbm", gbm_training)
    sign_in(client, tokens[Role.ANALYST])
    html = client.get("/credit").text  # the only credit model is the default
    assert 'data-model="pd-gbm"' in html
    assert '<span class="badge algorithm">gbm</span>' in html
    importance = html[html.index('class="card table-wrap importance"') :]
    model = gbm_training.result.model
    assert isinstance(model.estimator, credit.GBMModel)
    for feature in model.estimator.feature_importance().index:
        assert f"<td>{feature}</td>" in importance
    assert "Scorecard" not in html
    assert html.count('class="plotly-graph-div"') == 4


def test_other_models_and_versions_can_be_chosen(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    demo: str,
    demo_training: Trained,
) -> None:
    unlabelled = dataclasses.replace(demo_training.result.model, oof_pd=None, oof_y=None)
    register(platform, "a-old", demo_training, unlabelled)
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="fraud", model={"w": 1},
            kind="fraud.test", actor="t",
        )  # fmt: skip
        session.commit()
    sign_in(client, tokens[Role.ADMIN])
    html = client.get("/credit").text
    # the demo model is the default though another sorts first; non-credit models are left out
    assert f'data-model="{demo}"' in html
    assert '<option value="a-old">a-old (champion v1)</option>' in html
    assert 'value="fraud"' not in html
    older = client.get("/credit", params={"model": "a-old:1"}).text
    assert 'data-model="a-old" data-version="1"' in older
    assert '<option value="a-old" selected>' in older
    # without out-of-fold predictions only the score distribution can be drawn
    assert NO_CURVES in older
    assert older.count('class="plotly-graph-div"') == 1
    missing = client.get("/credit", params={"model": "nope"})
    assert missing.status_code == 404
    assert "no model named &#39;nope&#39;" in missing.text
    wrong = client.get("/credit", params={"model": "fraud"})
    assert wrong.status_code == 422
    assert "is not a credit model" in wrong.text


def test_without_a_model_or_policy_the_page_says_so(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    sign_in(client, tokens[Role.ADMIN])
    page = client.get("/credit")
    assert page.status_code == 200
    assert "No credit model is registered yet" in page.text
    assert "No lending policy is stored" in page.text
    assert "plotly" not in page.text
    assert 'action="/credit/decide"' not in page.text


def test_unknown_decisions_are_not_found(client: TestClient, tokens: dict[Role, str]) -> None:
    sign_in(client, tokens[Role.AUDITOR])
    missing = client.get("/credit/decisions/" + "0" * 32)
    assert missing.status_code == 404
    assert "no decision with id" in missing.text
    assert client.get("/credit/decisions/not-an-id").status_code == 422
    assert client.get("/credit", follow_redirects=False).status_code == 200
    client.cookies.clear()
    assert client.get("/credit", follow_redirects=False).headers["location"] == "/login"
