"""``finai models approve | card | challenge``: four eyes, model cards and the challenger."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from finai import registry
from finai.cli import app
from finai.context import Platform
from finai.security import Role, audit
from tests.factories import key_id, register_versions


def _approve(cli: CliRunner, ref: str, token: str, comment: str = "reviewed") -> Result:
    return cli.invoke(
        app, ["models", "approve", ref, "--comment", comment], env={"FINAI_KEY": token}
    )


def test_approve_records_the_reviewers_key_and_refuses_the_registering_one(
    cli: CliRunner, platform: Platform, tokens: dict[Role, str]
) -> None:
    admin = tokens[Role.ADMIN]
    register_versions(platform, [{}], actor=key_id(admin))
    own = cli.invoke(
        app, ["models", "approve", "pd-model:1", "--comment", "mine"], env={"FINAI_KEY": admin}
    )
    assert own.exit_code == 1
    assert "four-eyes rule" in own.stderr
    assert "Traceback" not in own.output
    second_admin = _second_admin(cli)
    # the key is asked for when FINAI_KEY is not set, and never echoed
    done = cli.invoke(
        app,
        ["models", "approve", "pd-model:1", "--comment", "holdout AUC checked"],
        input=f"{second_admin}\n",
        env={"FINAI_KEY": None},
    )
    assert done.exit_code == 0, done.output
    assert second_admin not in done.output
    assert f"pd-model:1 approved by key {key_id(second_admin)}" in done.stderr
    with platform.sessions() as session:
        (approval,) = registry.approvals(session, "pd-model", 1)
        assert (approval.approved_by, approval.comment) == (
            key_id(second_admin),
            "holdout AUC checked",
        )
        assert audit.entries(session, limit=1)[0].action == "model.approve"


def _second_admin(cli: CliRunner) -> str:
    created = cli.invoke(app, ["keys", "create", "--name", "reviewer", "--role", "admin"])
    assert created.exit_code == 0, created.output
    return created.stdout.strip()


def test_approve_needs_a_version_an_admin_key_and_a_comment(
    cli: CliRunner, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{}])
    admin = tokens[Role.ADMIN]
    cases = [
        (["pd-model"], admin, "approve needs NAME:VERSION"),
        (["pd-model:1"], tokens[Role.ANALYST], "only an admin key may approve"),
        (["pd-model:1"], "finai_000000000000_" + "x" * 43, "missing or invalid API key"),
    ]
    for ref, token, message in cases:
        result = cli.invoke(
            app, ["models", "approve", *ref, "--comment", "ok"], env={"FINAI_KEY": token}
        )
        assert result.exit_code == 1, ref
        assert message in result.stderr
    empty = cli.invoke(
        app, ["models", "approve", "pd-model:1", "--comment", " "], env={"FINAI_KEY": admin}
    )
    assert (empty.exit_code, empty.stderr.strip()) == (1, "error: an approval needs a comment")
    missing = cli.invoke(app, ["models", "approve", "pd-model:1"], env={"FINAI_KEY": admin})
    assert missing.exit_code == 2
    with platform.sessions() as session:
        assert registry.approvals(session, "pd-model", 1) == []


def test_card_prints_markdown_or_writes_html(
    cli: CliRunner, platform: Platform, tokens: dict[Role, str], tmp_path: Path
) -> None:
    register_versions(platform, [{"auc": 0.75}])
    assert _approve(cli, "pd-model:1", tokens[Role.ADMIN], "AUC 0.75 accepted").exit_code == 0
    printed = cli.invoke(app, ["models", "card", "pd-model"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith("# Model card: pd-model v1\n")
    assert "| auc | 0.75 |" in printed.stdout
    assert "> AUC 0.75 accepted" in printed.stdout
    target = tmp_path / "card.html"
    written = cli.invoke(app, ["models", "card", "pd-model:1", "--html", "--output", str(target)])
    assert written.exit_code == 0, written.output
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "AUC 0.75 accepted" in html
    assert f"wrote the card of pd-model:1 to {target}" in written.stderr.replace("\n", "")
    missing = cli.invoke(app, ["models", "card", "pd-model:4"])
    assert missing.exit_code == 1
    assert "has no version 4" in missing.stderr


def test_challenge_sets_and_ends_the_challenger(cli: CliRunner, platform: Platform) -> None:
    register_versions(platform, [{}, {}])
    made = cli.invoke(app, ["models", "challenge", "pd-model:2"])
    assert made.exit_code == 0, made.output
    assert "pd-model:2 is now the challenger" in made.stderr
    with platform.sessions() as session:
        found = registry.challenger(session, "pd-model")
        assert found is not None and found.version == 2
    card = cli.invoke(app, ["models", "card", "pd-model:2"]).stdout
    assert "| Stage | challenger |" in card
    for args, message in (
        (["pd-model"], "challenge needs NAME:VERSION, or NAME --end"),
        (["pd-model:2", "--end"], "--end takes NAME only"),
    ):
        refused = cli.invoke(app, ["models", "challenge", *args])
        assert (refused.exit_code, message in refused.stderr) == (1, True)
    ended = cli.invoke(app, ["models", "challenge", "pd-model", "--end"])
    assert ended.exit_code == 0
    assert "pd-model has no challenger any more" in ended.stderr
    again = cli.invoke(app, ["models", "challenge", "pd-model", "--end"])
    assert again.exit_code == 1
    assert "has no challenger" in again.stderr
