"""``finai assist``: train and evaluate intent models, evaluate sentiment, ask, fill the KB."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from finai.cli.common import (
    CLI_ACTOR,
    DataOption,
    fail,
    metric,
    out,
    platform_session,
    progress_bar,
)

app = typer.Typer(
    help="Customer-service assistant: intents, sentiment, questions, knowledge base.",
    no_args_is_help=True,
)
intents_app = typer.Typer(help="Train and evaluate intent models.", no_args_is_help=True)
sentiment_app = typer.Typer(help="Train and evaluate sentiment analyzers.", no_args_is_help=True)
kb_app = typer.Typer(help="The knowledge base the assistant answers from.", no_args_is_help=True)
app.add_typer(intents_app, name="intents")
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(kb_app, name="kb")


class Encoder(StrEnum):
    """The ``--encoder`` choices of ``finai assist intents train``."""

    TFIDF = "tfidf"
    MINILM = "minilm"
    AUTO = "auto"


TextColOption = Annotated[str, typer.Option("--text-col", help="Column of the texts.")]
LabelColOption = Annotated[str, typer.Option("--label-col", help="Column of the labels.")]
OosOption = Annotated[
    str | None,
    typer.Option(
        "--oos-label",
        help="The label of out-of-scope examples: used only to set the handoff threshold"
        " (train) or to report in-scope accuracy and out-of-scope recall (evaluate).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object, nothing else.")]


def _table(title: str, values: dict[str, Any]) -> Table:
    table = Table("metric", "value", title=title)
    for key, value in values.items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            table.add_row(key, metric(value))
    return table


@intents_app.command("train")
def intents_train(
    data: DataOption,
    text_col: TextColOption,
    label_col: LabelColOption,
    name: Annotated[str, typer.Option(help="Register the model under this name.")],
    oos_label: OosOption = None,
    encoder: Annotated[
        Encoder,
        typer.Option(help="tfidf (fast, lexical), minilm (sentence embeddings) or auto."),
    ] = Encoder.AUTO,
    seed: Annotated[int, typer.Option(min=0)] = 42,
) -> None:
    """Train an intent model on labelled utterances, validate it, register a version.

    Validation rows are carved out of the training file (never a test set); they pick
    the encoder with --encoder auto and the confidence threshold below which a message
    is handed to a person.
    """
    from finai.assist import intents

    with platform_session() as (platform, session):
        texts, labels = intents.load_labelled(data, text_col, label_col)
        intents.check_training(texts, labels, oos_label=oos_label)
        with progress_bar("training") as update:
            result = intents.train(
                texts,
                labels,
                oos_label=oos_label,
                encoder=encoder.value,
                seed=seed,
                progress=update,
            )
        version = intents.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=name,
            result=result,
            actor=CLI_ACTOR,
        )
        session.commit()
    out.print(_table("validation", dict(version.metrics)))
    out.print(
        f"registered {version.name}:{version.version} (encoder {result.model.encoder})",
        highlight=False,
        soft_wrap=True,
    )


@intents_app.command("evaluate")
def intents_evaluate(
    model: Annotated[
        str, typer.Option("--model", help="NAME (champion, else newest) or NAME:VERSION.")
    ],
    data: DataOption,
    text_col: TextColOption,
    label_col: LabelColOption,
    oos_label: OosOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure a registered intent model on a labelled file (accuracy, macro-F1, OOS recall)."""
    from finai.assist import intents

    with platform_session() as (platform, session):
        info, loaded = intents.load_model(session, platform.artifact_dir, model)
        texts, labels = intents.load_labelled(data, text_col, label_col)
        report = {
            "model": f"{info.name}:{info.version}",
            **intents.evaluate(loaded, texts, labels, oos_label=oos_label),
        }
    if as_json:
        typer.echo(json.dumps(report))
        return
    out.print(_table(f"{report['model']} on {data.name}", report))


@sentiment_app.command("train")
def sentiment_train(
    data: DataOption,
    text_col: TextColOption,
    label_col: LabelColOption,
    name: Annotated[str, typer.Option(help="Register the model under this name.")],
    seed: Annotated[int, typer.Option(min=0)] = 42,
) -> None:
    """Train a finance-sentiment model on labelled texts and register a version.

    Labels are ``negative``, ``neutral`` and ``positive`` (or 0, 1, 2 as bearish,
    bullish, neutral in the Twitter financial sentiment data). Measure it on other
    texts with ``finai assist sentiment evaluate --model NAME``.
    """
    from finai.assist import sentiment

    with platform_session() as (platform, session):
        texts, labels = sentiment.load_sentiment_labels(data, text_col, label_col)
        with progress_bar("training") as update:
            update(0.0, "fitting")
            model = sentiment.train_sentiment(texts, labels, seed=seed)
            update(1.0, "fitted")
        version = sentiment.register_sentiment_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=name,
            model=model,
            actor=CLI_ACTOR,
        )
        session.commit()
    out.print(f"registered {version.name}:{version.version}", highlight=False, soft_wrap=True)


@sentiment_app.command("evaluate")
def sentiment_evaluate(
    data: DataOption,
    text_col: TextColOption,
    label_col: LabelColOption,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A registered sentiment model, NAME[:VERSION]; default: the customer-message"
            " analyzer the assistant uses (no training needed).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Measure a sentiment analyzer on labelled texts, beside the Loughran-McDonald lexicon.

    The report's top-level figures are the analyzer's; ``baseline`` holds the
    lexicon's on the same texts (and, with --model, ``customer`` the customer-message
    analyzer's). Labels are ``negative``, ``neutral`` and ``positive`` (or 0, 1, 2 as
    bearish, bullish, neutral in the Twitter financial sentiment data).
    """
    from finai.assist import sentiment

    with platform_session() as (platform, session):
        texts, labels = sentiment.load_sentiment_labels(data, text_col, label_col)
        analyzer: sentiment.SentimentAnalyzer | None = None
        if model is not None:
            analyzer = sentiment.load_sentiment_model(session, platform.artifact_dir, model)[1]
        report = sentiment.evaluate_sentiment(texts, labels, analyzer)
        if analyzer is not None:
            customer = sentiment.evaluate_sentiment(texts, labels, sentiment.customer_sentiment())
            report["customer"] = {k: v for k, v in customer.items() if k != "baseline"}
    if as_json:
        typer.echo(json.dumps(report))
        return
    out.print(_table(f"{report.get('analyzer', 'sentiment')} on {data.name}", report))
    for title, key in (
        ("Loughran-McDonald lexicon (baseline)", "baseline"),
        ("customer-message analyzer", "customer"),
    ):
        if isinstance(report.get(key), dict):
            out.print(_table(title, report[key]))


@app.command("ask")
def ask(
    text: Annotated[str, typer.Argument(help="The customer's question.")],
    as_json: JsonOption = False,
) -> None:
    """Show what the assistant would answer to a question (a preview: nothing is stored)."""
    from finai.assist.pipeline import Assistants

    with platform_session() as (platform, session):
        assistants = Assistants.from_settings(platform.settings)
        turn = assistants.get(session).understand(text)
    report: dict[str, Any] = {
        "intent": turn.intent,
        "confidence": turn.confidence,
        "action": turn.action,
        "sentiment": {"label": turn.sentiment, "score": turn.sentiment_score},
        "answer": turn.answer,
        "sources": [{"key": s.key, "version": s.version, "title": s.title} for s in turn.sources],
        "handoff": turn.handoff_reason,
        "redacted": turn.redacted,
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    intent = turn.intent or "none (out of scope)"
    out.print(f"intent: {intent} ({turn.confidence:.2f})", highlight=False, soft_wrap=True)
    out.print(
        f"sentiment: {turn.sentiment} ({turn.sentiment_score:+.2f})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"action: {turn.action}", highlight=False, soft_wrap=True)
    if turn.answer is not None:
        out.print(f"answer: {turn.answer}", highlight=False, soft_wrap=True, markup=False)
    for source in turn.sources:
        out.print(
            f"source: {source.key} version {source.version} ({source.title})",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if turn.handoff_reason is not None:
        out.print(f"handoff: {turn.handoff_reason}", highlight=False, soft_wrap=True)
    elif turn.answer is None:
        out.print(f"reply: {turn.reply}", highlight=False, soft_wrap=True, markup=False)


@kb_app.command("add")
def kb_add(
    path: Annotated[
        Path, typer.Argument(help="Markdown (.md) or CSV file of entries.", dir_okay=False)
    ],
) -> None:
    """Add FAQ entries or policy passages: new keys get version 1, changed ones a new version.

    Prints the current ``KEY vVERSION`` of every entry in the file, unchanged ones too.
    """
    from finai.assist.pipeline import add_knowledge

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {str(path)!r}: {exc.strerror}") from None
    with platform_session() as (platform, session):
        stored = add_knowledge(
            session, platform.audit_key, data=data, filename=path.name, actor=CLI_ACTOR
        )
        session.commit()
    for entry in stored:
        out.print(f"{entry.key} v{entry.version}", highlight=False, soft_wrap=True, markup=False)
    out.print(
        f"{len(stored)} entr{'y' if len(stored) == 1 else 'ies'} of {path.name} current"
        " (new keys at version 1, changed ones at their next version)",
        highlight=False,
        soft_wrap=True,
    )
