"""The ``finai assist`` contract that scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from finai.assist import sentiment
from finai.cli import app
from finai.context import Platform
from finai.store import KnowledgeEntryRow, ModelVersionRow
from tests.cli.test_fraud_cli import errors

UTTERANCES = {
    "card_arrival": [
        "when will my card arrive",
        "my new card has not arrived yet",
        "how long does card delivery take",
        "where is the card you sent me",
        "still waiting for my card in the post",
        "has my card been shipped",
        "card delivery is taking too long",
        "when does the new card come",
    ],
    "lost_or_stolen_card": [
        "i lost my card",
        "my card was stolen",
        "someone took my wallet with my card",
        "i can't find my card anywhere",
        "my card is missing",
        "please block my stolen card",
        "i think i lost my bank card",
        "my purse with the card was stolen",
    ],
    "exchange_rate": [
        "what exchange rate do you use",
        "how much is the euro to pound rate",
        "is your currency exchange rate fair",
        "what rate do i get when i exchange dollars",
        "exchange rates for foreign currency",
        "why is the exchange rate so bad",
        "current rate for converting money",
        "which exchange rate applies to my payment",
    ],
    "oos": [
        "what is the weather today",
        "tell me a joke",
        "who won the football match",
        "how do i cook pasta",
    ],
}


@pytest.fixture(scope="module")
def utterances(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("assist") / "utterances.csv"
    rows = [(text, label) for label, texts in UTTERANCES.items() for text in texts]
    pd.DataFrame(rows, columns=["text", "category"]).to_csv(path, index=False)
    return path


def _train(cli: CliRunner, data: Path, name: str = "intents-test") -> None:
    done = cli.invoke(
        app,
        [
            "assist", "intents", "train", "--data", str(data), "--text-col", "text",
            "--label-col", "category", "--oos-label", "oos", "--encoder", "tfidf",
            "--name", name,
        ],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"registered {name}:1" in done.stdout


def test_train_then_evaluate_prints_one_json_object(cli: CliRunner, utterances: Path) -> None:
    _train(cli, utterances)
    done = cli.invoke(
        app,
        [
            "assist", "intents", "evaluate", "--model", "intents-test:1", "--data",
            str(utterances), "--text-col", "text", "--label-col", "category", "--oos-label",
            "oos", "--json",
        ],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert {"accuracy", "macro_f1", "n", "in_scope_accuracy", "oos_recall"} <= report.keys()
    assert report["n"] == sum(len(v) for v in UTTERANCES.values())
    assert 0.0 <= report["accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("columns", "message"),
    [(["--text-col", "nope"], "nope"), (["--label-col", "missing"], "missing")],
)
def test_missing_columns_are_one_red_line(
    cli: CliRunner, utterances: Path, columns: list[str], message: str
) -> None:
    args = ["--text-col", "text", "--label-col", "category"]
    args[args.index(columns[0]) + 1] = columns[1]
    done = cli.invoke(
        app,
        ["assist", "intents", "train", "--data", str(utterances), *args, "--name", "x"],
    )
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    assert message in done.stderr and len(errors(done.stderr)) == 1


def test_a_training_file_with_one_label_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "category": ["x", "x", "x"]}).to_csv(path)
    done = cli.invoke(
        app,
        [
            "assist", "intents", "train", "--data", str(path), "--text-col", "text",
            "--label-col", "category", "--name", "one",
        ],
    )  # fmt: skip
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert len(errors(done.stderr)) == 1


SMALL_FINANCE = (
    ["profits surged to a record", "shares rallied on strong growth", "upgrade lifts the stock"] * 5
    + ["the company reported a loss", "shares fell after the warning", "bank cuts jobs"] * 5
    + ["the meeting is on tuesday", "results are due next week", "the firm named a new cfo"] * 5,
    ["positive"] * 15 + ["negative"] * 15 + ["neutral"] * 15,
)


def _sentiment_file(tmp_path: Path) -> Path:
    path = tmp_path / "sentiment.csv"
    pd.DataFrame(
        {
            "text": [
                "Profits surged and the outlook is excellent",
                "The company reported a loss and cut jobs",
                "The meeting is on Tuesday",
            ],
            "label": [1, 0, 2],
        }
    ).to_csv(path, index=False)
    return path


def _evaluate_sentiment(cli: CliRunner, path: Path) -> Result:
    return cli.invoke(
        app,
        [
            "assist", "sentiment", "evaluate", "--data", str(path), "--text-col", "text",
            "--label-col", "label", "--json",
        ],
    )  # fmt: skip


def _finance_file(tmp_path: Path) -> Path:
    path = tmp_path / "finance.csv"
    texts, labels = SMALL_FINANCE
    pd.DataFrame({"headline": texts, "tone": labels}).to_csv(path, index=False)
    return path


def test_sentiment_train_then_evaluate_the_registered_model(
    cli: CliRunner, platform: Platform, tmp_path: Path
) -> None:
    trained = cli.invoke(
        app,
        [
            "assist", "sentiment", "train", "--data", str(_finance_file(tmp_path)),
            "--text-col", "headline", "--label-col", "tone", "--name", "fin-tone",
        ],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "registered fin-tone:1" in trained.stdout
    done = cli.invoke(
        app,
        [
            "assist", "sentiment", "evaluate", "--data", str(_sentiment_file(tmp_path)),
            "--text-col", "text", "--label-col", "label", "--model", "fin-tone", "--json",
        ],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    model = sentiment.train_sentiment(*SMALL_FINANCE)
    expected = sentiment.evaluate_sentiment(*_labelled(tmp_path), model)
    assert report["n"] == 3
    assert (report["accuracy"], report["macro_f1"]) == (expected["accuracy"], expected["macro_f1"])
    assert {"accuracy", "macro_f1"} <= report["baseline"].keys() & report["customer"].keys()


def test_sentiment_evaluate_defaults_to_the_customer_analyzer(
    cli: CliRunner, tmp_path: Path
) -> None:
    done = _evaluate_sentiment(cli, _sentiment_file(tmp_path))
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    expected = sentiment.evaluate_sentiment(*_labelled(tmp_path))
    assert report == expected
    assert "customer" not in report and "accuracy" in report["baseline"]


def test_sentiment_train_refuses_a_file_without_the_label_column(
    cli: CliRunner, platform: Platform, tmp_path: Path
) -> None:
    done = cli.invoke(
        app,
        [
            "assist", "sentiment", "train", "--data", str(_finance_file(tmp_path)),
            "--text-col", "headline", "--label-col", "mood", "--name", "fin-tone",
        ],
    )  # fmt: skip
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert "mood" in done.stderr
    with platform.sessions() as session:
        assert session.query(ModelVersionRow).count() == 0


def _labelled(tmp_path: Path) -> tuple[list[str], list[str]]:
    return sentiment.load_sentiment_labels(tmp_path / "sentiment.csv", "text", "label")


FAQ = """## When will my card arrive?
key: card-arrival
intents: card_arrival

New cards arrive within 5 working days.
"""


def test_kb_add_then_ask(
    cli: CliRunner, platform: Platform, utterances: Path, tmp_path: Path
) -> None:
    faq = tmp_path / "faq.md"
    faq.write_text(FAQ)
    added = cli.invoke(app, ["assist", "kb", "add", str(faq)])
    assert added.exit_code == 0, added.output
    assert "card-arrival v1" in added.stdout
    with platform.sessions() as session:
        assert session.query(KnowledgeEntryRow).count() == 1
    _train(cli, utterances, name="demo-intents")
    asked = cli.invoke(app, ["assist", "ask", "when will my card arrive", "--json"])
    assert asked.exit_code == 0, asked.output
    report = json.loads(asked.stdout)
    assert report["intent"] == "card_arrival"
    assert {"intent", "confidence", "action", "answer", "sources", "handoff"} <= report.keys()
    plain = cli.invoke(app, ["assist", "ask", "when will my card arrive"])
    assert "intent: card_arrival" in plain.stdout and "action:" in plain.stdout


def test_a_bad_kb_file_is_one_red_line_and_stores_nothing(
    cli: CliRunner, platform: Platform, tmp_path: Path
) -> None:
    bad = tmp_path / "faq.csv"
    bad.write_text("title\nno answer column\n")
    done = cli.invoke(app, ["assist", "kb", "add", str(bad)])
    assert done.exit_code == 1 and len(errors(done.stderr)) == 1
    assert "Traceback" not in done.output
    with platform.sessions() as session:
        assert session.query(KnowledgeEntryRow).count() == 0
