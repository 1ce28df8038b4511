"""The ``finai fraud`` contract that scripts rely on."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import redis
from typer.testing import CliRunner

from finai import governance
from finai.cli import app
from finai.config import get_settings
from finai.context import Platform
from finai.fraud.pipeline import register_model
from finai.fraud.records import recent_scores, save_labels, save_scores
from finai.fraud.scoring import FraudScorer, Transaction
from finai.fraud.state import MemoryStore
from finai.fraud.stream import publish
from finai.fraud.transactions import load_transactions
from tests.conftest import REDIS_URL, drop_keys, unique_prefix
from tests.fraud.simulations import (
    TEST_END,
    TEST_START,
    TRAIN_END,
    TRAIN_START,
    history,
    trained,
)

HANDBOOK = {
    "transaction_id": "TX_ID",
    "timestamp": "TX_DATETIME",
    "customer_id": "CUSTOMER_ID",
    "terminal_id": "TERMINAL_ID",
    "amount": "TX_AMOUNT",
    "is_fraud": "TX_FRAUD",
}
COLUMNS = ",".join(f"{name}={source}" for name, source in HANDBOOK.items())
WINDOW = ["--train-start", TRAIN_START, "--train-end", TRAIN_END]


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fraud") / "transactions.csv"
    history().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def handbook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulation with the Handbook's column names, as Parquet."""
    path = tmp_path_factory.mktemp("fraud") / "handbook.parquet"
    history().rename(columns=HANDBOOK).to_parquet(path, index=False)
    return path


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_simulate_writes_csv_or_parquet_and_prints_rows_and_fraud_rate(
    cli: CliRunner, tmp_path: Path
) -> None:
    for name in ("tx.csv", "tx.parquet"):
        out = tmp_path / name
        result = cli.invoke(
            app,
            ["fraud", "simulate", "--days", "5", "--customers", "50", "--terminals", "100",
             "--seed", "3", "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        frame = load_transactions(out)
        assert f"wrote {len(frame):,} transactions" in result.stdout
        assert f"fraud rate {frame['is_fraud'].mean():.2%}" in result.stdout
    csv, parquet = (
        load_transactions(tmp_path / "tx.csv"),
        load_transactions(tmp_path / "tx.parquet"),
    )
    pd.testing.assert_frame_equal(csv.drop(columns="fraud_scenario"),
                                  parquet.drop(columns="fraud_scenario"))  # fmt: skip
    bad = cli.invoke(app, ["fraud", "simulate", "--days", "2", "--out", str(tmp_path / "x.txt")])
    assert bad.exit_code == 1 and len(errors(bad.stderr)) == 1
    assert "use a .csv, .parquet or .pq file" in bad.stderr
    assert cli.invoke(app, ["fraud", "simulate", "--days", "0", "--out", "x.csv"]).exit_code == 2


def test_train_registers_and_evaluate_prints_json(
    cli: CliRunner, platform: Platform, handbook_file: Path, tmp_path: Path
) -> None:
    trained = cli.invoke(
        app,
        ["fraud", "train", "--transactions", str(handbook_file), *WINDOW, "--delay-days", "7",
         "--columns", COLUMNS, "--name", "fraud-cli"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "registered fraud-cli:1 (lightgbm)" in trained.stdout
    assert "validated on 2026-04-29..2026-05-05" in trained.stdout
    assert "card_precision_at_100" in trained.stdout
    shown = json.loads(cli.invoke(app, ["models", "show", "fraud-cli:1", "--json"]).stdout)[0]
    assert shown["kind"] == "fraud.score"
    assert shown["params"]["windows"]["train"] == {"start": TRAIN_START, "end": TRAIN_END}
    assert shown["params"]["features"]["delay_days"] == 7
    assert 0 <= shown["params"]["thresholds"]["review"] <= shown["params"]["thresholds"]["block"]
    assert shown["metrics"]["roc_auc"] > 0.7
    assert shown["data_fingerprint"]
    with platform.sessions() as session:
        card = governance.model_card(session, "fraud-cli", 1)
    assert card.written_by == "cli"  # the card is stored as the version is registered
    assert "| Rows fitted |" in card.markdown

    # the mapping from a dataset spec, one pair of it replaced by --columns
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "columns:\n" + "".join(f"  {k}: {v}\n" for k, v in {**HANDBOOK, "amount": "X"}.items())
    )
    evaluated = cli.invoke(
        app,
        ["fraud", "evaluate", "--model", "fraud-cli", "--transactions", str(handbook_file),
         "--start", TEST_START, "--end", TEST_END, "--spec", str(spec),
         "--columns", "amount=TX_AMOUNT", "--json"],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert {"roc_auc", "average_precision", "card_precision_at_100", "n", "fraud_rate"} <= set(
        report
    )
    frame = history()
    period = (frame["timestamp"] >= pd.Timestamp(TEST_START, tz="UTC")) & (
        frame["timestamp"] < pd.Timestamp(TEST_END, tz="UTC") + pd.Timedelta(days=1)
    )
    assert report["n"] == int(period.sum())
    assert report["fraud_rate"] == pytest.approx(frame.loc[period, "is_fraud"].mean())
    assert report["roc_auc"] > 0.7
    assert report["average_precision"] > 5 * report["fraud_rate"]
    assert report["model"] == "fraud-cli:1"
    assert "warning" not in evaluated.stderr


def test_train_other_models_and_cost_thresholds(
    cli: CliRunner, platform: Platform, transactions: Path
) -> None:
    result = cli.invoke(
        app,
        ["fraud", "train", "--transactions", str(transactions), *WINDOW, "--model", "logistic",
         "--thresholds", "cost", "--review-cost", "2", "--name", "lr"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "registered lr:1 (logistic)" in result.stdout
    shown = json.loads(cli.invoke(app, ["models", "show", "lr:1", "--json"]).stdout)[0]
    assert shown["params"]["thresholds"]["method"] == "cost"
    assert shown["params"]["thresholds"]["review_cost"] == 2.0
    table = cli.invoke(
        app,
        ["fraud", "evaluate", "--model", "lr:1", "--transactions", str(transactions),
         "--start", "2026-05-01", "--end", TEST_END],
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "average_precision" in table.stdout and "net_savings" in table.stdout
    assert "warning:" in table.stderr and "optimistic" in table.stderr


def _rewritten(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "bad.csv"
        change(history().head(20_000).copy()).to_csv(path, index=False)
        return path

    return write


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame

    return change


@pytest.mark.parametrize(
    ("data", "flags", "words"),
    [
        (None, ["--train-start", "2026-04-31"], "train_start must be a date"),
        (None, ["--train-end", "2026-03-01"], "train_end 2026-03-01 is before train_start"),
        (None, ["--train-start", "2027-01-01", "--train-end", "2027-02-01"],
         "no transactions in the fit part"),
        (None, ["--train-end", "2026-04-05"], "train window .* needs at least"),
        (None, ["--columns", "id=TX_ID"], "--columns names unknown column 'id'"),
        (_rewritten(lambda f: f.assign(is_fraud=0)), [], "one class only"),
        (_rewritten(lambda f: f.drop(columns="transaction_id")), [],
         "missing column transaction_id"),
        (_rewritten(_set("transaction_id", 5, None)), [],
         "column transaction_id has a missing or empty value"),
        (_rewritten(_set("timestamp", 5, "yesterday")), [], "not an ISO 8601 date-time"),
        (_rewritten(_set("amount", 5, -3.0)), [], "column amount is negative"),
        (_rewritten(_set("amount", 5, float("inf"))), [], "column amount is infinite"),
        (_rewritten(_set("transaction_id", 5, "t0000000001")), [],
         "transaction id 't0000000001' appears twice"),
    ],
)  # fmt: skip
def test_train_refuses_bad_input_in_one_line_and_registers_nothing(
    cli: CliRunner,
    platform: Platform,
    transactions: Path,
    tmp_path: Path,
    data: Callable[[Path], Path] | None,
    flags: list[str],
    words: str,
) -> None:
    path = transactions if data is None else data(tmp_path)
    arguments = {"--train-start": TRAIN_START, "--train-end": TRAIN_END}
    extra = []
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in arguments:
            arguments[flag] = value
        else:
            extra += [flag, value]
    result = cli.invoke(
        app,
        ["fraud", "train", "--transactions", str(path), "--model", "logistic",
         *[item for pair in arguments.items() for item in pair], *extra, "--name", "refused"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    found = errors(result.stderr)
    assert len(found) == 1, result.stderr
    assert re.search(words, found[0]), found[0]
    assert "Traceback" not in result.output
    assert cli.invoke(app, ["models", "show", "refused"]).exit_code == 1


def test_usage_errors_exit_2(cli: CliRunner, transactions: Path) -> None:
    wrong_model = cli.invoke(
        app,
        ["fraud", "train", "--transactions", str(transactions), *WINDOW, "--model", "forest",
         "--name", "x"],
    )  # fmt: skip
    assert wrong_model.exit_code == 2
    no_name = cli.invoke(app, ["fraud", "train", "--transactions", str(transactions), *WINDOW])
    assert no_name.exit_code == 2


def test_evaluate_refuses_bad_input_in_one_line(
    cli: CliRunner, platform: Platform, transactions: Path, tmp_path: Path
) -> None:
    base = ["fraud", "evaluate", "--transactions", str(transactions), "--json"]
    unknown = cli.invoke(app, [*base, "--model", "nope", "--start", TEST_START, "--end", TEST_END])
    assert unknown.exit_code == 1 and len(errors(unknown.stderr)) == 1
    trained = cli.invoke(
        app,
        ["fraud", "train", "--transactions", str(transactions), *WINDOW, "--model", "logistic",
         "--name", "m"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    for start, end, words in [
        (TEST_END, TEST_START, "end 2026-05-13 is before start"),
        ("13/05/2026", TEST_END, "start must be a date"),
        ("2027-01-01", "2027-01-02", "no transactions from 2027-01-01"),
    ]:
        result = cli.invoke(app, [*base, "--model", "m", "--start", start, "--end", end])
        assert result.exit_code == 1, result.output
        found = errors(result.stderr)
        assert len(found) == 1 and words in found[0], result.stderr
        assert result.stdout == ""
    missing = cli.invoke(
        app,
        ["fraud", "evaluate", "--model", "m", "--transactions", str(tmp_path / "no.csv"),
         "--start", TEST_START, "--end", TEST_END],
    )  # fmt: skip
    assert missing.exit_code == 1 and "no.csv" in missing.stderr


# -- consume ------------------------------------------------------------------------------


@pytest.fixture
def redis_url(redis_client: redis.Redis) -> str:
    """The test Redis's URL (skips locally without it, fails in CI)."""
    return REDIS_URL


def _row(stdout: str, name: str) -> str:
    found = re.search(rf"{name}\s*│\s*([\d,.]+)", stdout)
    assert found, stdout
    return found.group(1)


def test_consume_scores_a_stream_stores_alerts_and_prints_a_summary(
    cli: CliRunner, platform: Platform, redis_url: str
) -> None:
    with platform.sessions() as session:
        register_model(
            session, platform.audit_key, platform.artifact_dir, name="fraud-stream",
            result=trained(), actor="t",
        )  # fmt: skip
        session.commit()
    tag = uuid.uuid4().hex  # the CLI's state keys live under finai:fraud:, tagged by the ids
    prefix = unique_prefix()
    frame = history()
    frame = frame[frame["timestamp"] >= pd.Timestamp(TEST_START, tz="UTC")].head(60)
    txs: list[dict[str, object]] = [
        {**row, "transaction_id": f"{tag}-{row['transaction_id']}",
         "customer_id": f"{tag}-{row['customer_id']}", "terminal_id": f"{tag}-{row['terminal_id']}"}
        for row in frame[["transaction_id", "timestamp", "customer_id", "terminal_id", "amount"]]
        .to_dict("records")
    ]  # fmt: skip
    txs.insert(10, {**txs[0], "transaction_id": f"{tag}-bad", "amount": -1.0})
    client = redis.Redis.from_url(redis_url)
    streams = ["--stream", f"{prefix}in", "--output", f"{prefix}out", "--dead", f"{prefix}dead",
               "--group", "g"]  # fmt: skip
    try:
        publish(client, txs, f"{prefix}in")
        result = cli.invoke(
            app,
            ["fraud", "consume", "--redis-url", redis_url, "--model", "fraud-stream", *streams,
             "--consumer", "cli-1", "--batch", "25", "--max-messages", "61"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert _row(result.stdout, "messages") == "61"
        assert _row(result.stdout, "scored") == "60"
        assert _row(result.stdout, "dead letters") == "1"
        assert _row(result.stdout, "replayed") == "0"
        assert int(client.xlen(f"{prefix}out")) == 60 and int(client.xlen(f"{prefix}dead")) == 1
        with platform.sessions() as session:
            rows = recent_scores(session)
        assert len(rows) == 60 and {r.actor for r in rows} == {"stream:cli-1"}
        assert _row(result.stdout, "alerts") == str(sum(r.action.value != "allow" for r in rows))
        # the model and the Redis URL come from the settings; nothing is left: idle exit
        cli_env = {"FINAI_REDIS_URL": redis_url, "FINAI_FRAUD_MODEL": "fraud-stream"}
        get_settings.cache_clear()
        again = cli.invoke(app, ["fraud", "consume", *streams, "--idle-exit", "0.2"], env=cli_env)
        assert again.exit_code == 0, again.output
        assert _row(again.stdout, "messages") == "0"
    finally:
        drop_keys(client, prefix)
        for key in client.scan_iter(match=f"finai:fraud:*{tag}*", count=1000):
            client.delete(key)
        client.close()


def test_consume_refuses_without_redis_or_with_an_unknown_model_in_one_line(
    cli: CliRunner, platform: Platform, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINAI_REDIS_URL", raising=False)
    get_settings.cache_clear()
    no_redis = cli.invoke(app, ["fraud", "consume", "--max-messages", "1"])
    assert no_redis.exit_code == 1 and len(errors(no_redis.stderr)) == 1
    assert "--redis-url" in no_redis.stderr
    unknown = cli.invoke(
        app,
        ["fraud", "consume", "--redis-url", redis_url, "--model", "nope", "--max-messages", "1"],
    )
    assert unknown.exit_code == 1 and len(errors(unknown.stderr)) == 1
    assert "nope" in unknown.stderr and "Traceback" not in unknown.output
    bad = cli.invoke(app, ["fraud", "consume", "--batch", "0"])
    assert bad.exit_code == 2


def test_export_writes_stored_scores_with_their_latest_labels(
    cli: CliRunner, platform: Platform, tmp_path: Path
) -> None:
    scorer = FraudScorer(trained().model, "fraud-cli", 1, MemoryStore())
    rows = history().head(20)
    with platform.sessions() as session:
        results = []
        for row in rows.iloc[:, :5].itertuples(index=False):
            tx = Transaction(*row)
            results.append((tx, scorer.score(tx)))
        save_scores(session, platform.audit_key, results, actor="t", source="api")
        first = str(rows["transaction_id"].iloc[0])
        save_labels(session, platform.audit_key, [(first, True)], source="chargeback", actor="t")
        session.commit()
    out = tmp_path / "labelled.csv"
    done = cli.invoke(app, ["fraud", "export", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "wrote 20 transactions" in done.stderr and "(1 labelled)" in done.stderr
    back = load_transactions(out)
    assert len(back) == 20
    assert back.set_index("transaction_id")["is_fraud"].dropna().to_dict() == {first: 1}
    settled = cli.invoke(app, ["fraud", "export", "--out", str(out), "--genuine-after", "0"])
    assert settled.exit_code == 0 and "(20 labelled)" in settled.stderr
    assert load_transactions(out)["is_fraud"].sum() == 1  # the rest counted genuine


def test_spec_errors_are_one_line(cli: CliRunner, transactions: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    for text, reason in (("columns: [a, b]\n", "'columns' mapping"),
                         ("columns:\n  card: CARD\n", "unknown column 'card'"),
                         ("columns: {a: [\n", "not valid YAML")):  # fmt: skip
        spec.write_text(text)
        done = cli.invoke(
            app,
            ["fraud", "train", "--transactions", str(transactions), *WINDOW, "--name", "m",
             "--spec", str(spec)],
        )  # fmt: skip
        assert done.exit_code == 1
        [line] = errors(done.stderr)
        assert reason in line
