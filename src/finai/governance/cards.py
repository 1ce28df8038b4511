"""Model cards: what a version is for, what it was trained on, how good it is, who approved it.

A card is built only from stored facts: the registered version (kind, data fingerprint,
parameters, seed, library versions, metrics), its approvals and stage changes, and the
newest fairness report recorded in the audit chain (action ``model.fairness``). It is
rendered twice from the same values, as Markdown and as an HTML fragment (Jinja with
autoescape: no script, no style, nothing from elsewhere), and stored in ``model_cards``
with the sha256 of its Markdown. The product writes a card when a credit or fraud
version is registered and rewrites it after every approval and stage change, so the
stored card says what the registry says.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from finai import credit, fraud, registry
from finai.governance.fairness import RecordedFairness, recorded_fairness
from finai.registry import Approval, ModelVersion, StageChange
from finai.store import ModelCardRow, utcnow

FAIRNESS_COMMAND = (
    "finai governance fairness --model {ref} --data PATH --target COLUMN --protected COLUMN[:CUTS]"
)

_INTENDED_USE = {
    credit.KIND: (
        "Estimates the probability of default (PD) of a loan applicant over the performance"
        " window of the training data. The PD becomes a credit score and, with the lending"
        " policy, an approve / refer / decline outcome with reason codes. It supports a"
        " lending decision; it does not make one without the policy, and every adverse"
        " outcome carries the reasons to give the applicant."
    ),
    fraud.KIND: (
        "Scores a card transaction for fraud risk from its features and the recent history of"
        " its card and terminal; the thresholds route it to allow, review or block. It"
        " supports fraud analysts, who confirm or clear the transactions it alerts."
    ),
}
_LIMITATIONS = {
    credit.KIND: (
        "The metrics are out-of-fold estimates on the training data. They hold for applicants"
        " like those in it; a new product, channel, population or economy makes them stale."
        " Watch drift and realised outcomes.",
        "A PD model learns only from loans that were granted and observed; applicants the"
        " lender used to decline are outside what it has seen.",
        "Columns declared protected in the dataset spec are kept out of the inputs, but other"
        " inputs can stand in for them. Read the fairness summary before use.",
    ),
    fraud.KIND: (
        "The metrics come from the validation window named in the parameters only; fraud"
        " patterns change quickly, so they age fast.",
        "Fraud is reported late: frauds not yet reported when the model was trained count as"
        " genuine in its training and validation data.",
        "The thresholds fit the alert budget or review cost they were chosen for; another"
        " review capacity needs new thresholds.",
    ),
}
_GENERAL_LIMITATION = (
    "This card reports what was recorded at training, review and promotion. It is not an"
    " independent validation of the model."
)
_METRIC_MEANING = {
    "auc": "area under the ROC curve (ranking of bad above good)",
    "roc_auc": "area under the ROC curve (ranking of fraud above genuine)",
    "gini": "2 * AUC - 1",
    "ks": "Kolmogorov-Smirnov: largest gap between the PD distributions of bad and good",
    "brier": "mean squared error of the PD",
    "log_loss": "mean negative log-likelihood of the PD",
    "calibration_gap": (
        "row-weighted mean absolute gap between predicted PD and observed bad rate over PD deciles"
    ),
    "bad_rate": "observed share of bad rows",
    "n": "rows evaluated",
    "auc_fold_std": "spread (standard deviation) of the AUC across folds",
    "score_auc": "AUC of the credit score",
    "fit_seconds": "seconds to fit",
    "average_precision": "area under the precision-recall curve",
    "fraud_rate": "share of fraud in the validation window",
    "n_fraud": "fraud transactions in the validation window",
    "days": "days in the validation window",
    "k": "cards checked a day for card precision",
    "alert_rate": "share of transactions alerted (review or block)",
    "alerts_per_day": "alerts a day",
    "block_rate": "share of transactions blocked",
    "fraud_caught_rate": "share of fraud alerted",
    "money_saved": "amount of the fraud alerted",
    "review_cost": "cost of reviewing every alert",
    "net_savings": "money saved minus review cost",
}
_CALIBRATION_METRICS = ("brier", "calibration_gap", "log_loss")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


@dataclass(frozen=True)
class CardFacts:
    """Everything a card shows, as stored: the version, its approvals, stages and fairness."""

    version: ModelVersion
    approvals: list[Approval]
    history: list[StageChange]
    fairness: RecordedFairness | None


@dataclass(frozen=True)
class RenderedCard:
    """A card in both forms; ``sha256`` is the hash of the Markdown (UTF-8)."""

    markdown: str
    html: str
    sha256: str


@dataclass(frozen=True)
class ModelCard:
    """A version's card and when it was written.

    ``written_at`` and ``written_by`` are None for a card rendered on request for a
    version that has none stored (one registered outside the credit and fraud paths).
    """

    name: str
    version: int
    markdown: str
    html: str
    sha256: str
    written_at: datetime | None
    written_by: str | None

    def document(self) -> str:
        """Return the card as a standalone HTML page (no script, style or outside reference)."""
        title = escape(f"Model card: {self.name} v{self.version}")
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n</head>\n<body>\n{self.html}</body>\n</html>\n"
        )


def _number(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "-"
    if value is None:
        return "-"
    return str(value)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _markdown_text(value: object) -> str:
    """Escape text for Markdown: specials backslashed, one line."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown_quote(value: str) -> str:
    """Quote a multi-line text as a Markdown block quote, specials backslashed."""
    lines = [_MARKDOWN_SPECIAL.sub(r"\\\1", line.rstrip()) for line in value.splitlines()]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("finai.governance", "templates"),
        autoescape=select_autoescape(default=autoescape, default_for_string=autoescape),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["number"] = _number
    env.filters["when"] = _when
    env.filters["md"] = _markdown_text
    env.filters["quote"] = _markdown_quote
    return env


_MARKDOWN = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _metrics(metrics: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for key in sorted(metrics):
        value = metrics[key]
        if not _scalar(value):
            continue
        meaning = _METRIC_MEANING.get(key, "")
        if key.startswith("card_precision_at_"):
            meaning = "mean daily share of fraud among the top cards checked"
        rows.append((key, _number(value), meaning))
    return rows


def _data_rows(version: ModelVersion) -> list[tuple[str, str]]:
    params, metrics = version.params, version.metrics
    rows = [("Fingerprint (sha256 of the training table)", version.data_fingerprint or "-")]
    if version.kind == fraud.KIND:
        for key, label in (("fit_rows", "Rows fitted"), ("validation_rows", "Rows validated")):
            if key in params:
                rows.append((label, _number(params[key])))
        windows = params.get("windows")
        if isinstance(windows, Mapping):
            for part in ("fit", "validation"):
                window = windows.get(part)
                if isinstance(window, Mapping):
                    rows.append(
                        (f"{part.capitalize()} window", f"{window['start']} .. {window['end']}")
                    )
    elif "n" in metrics:
        rows.append(("Rows", _number(metrics["n"])))
    if "bad_rate" in metrics:
        rows.append(("Bad rate", _number(metrics["bad_rate"])))
    spec = params.get("spec")
    if isinstance(spec, Mapping):
        rows.append(("Target", str(spec.get("target") or "-")))
        protected = spec.get("protected") or []
        rows.append(("Protected columns (kept out of the inputs)", ", ".join(protected) or "-"))
        dropped = spec.get("drop") or []
        if dropped:
            rows.append(("Dropped columns", ", ".join(dropped)))
    return rows


_TRAINING_KEYS = ("algorithm", "folds", "chosen_because", "best_iteration")
# Shown under Data, not again under Training.
_DATA_KEYS = ("fit_rows", "validation_rows")


def _training_rows(version: ModelVersion) -> list[tuple[str, str]]:
    params = version.params
    rows = [("Seed", _number(version.seed))]
    for key in _TRAINING_KEYS:
        if key in params and _scalar(params[key]):
            rows.append((key.replace("_", " ").capitalize(), _number(params[key])))
    thresholds = params.get("thresholds")
    if isinstance(thresholds, Mapping):
        shown = ", ".join(
            f"{k} {_number(v)}" for k, v in thresholds.items() if _scalar(v) and v is not None
        )
        rows.append(("Thresholds", shown))
    other = sorted(
        k for k, v in params.items() if _scalar(v) and k not in _TRAINING_KEYS + _DATA_KEYS
    )
    rows.extend((key, _number(params[key])) for key in other)
    return rows


def _context(facts: CardFacts) -> dict[str, Any]:
    version = facts.version
    calibration = [
        (key, _number(version.metrics[key]), _METRIC_MEANING[key])
        for key in _CALIBRATION_METRICS
        if key in version.metrics
    ]
    return {
        "v": version,
        "ref": f"{version.name}:{version.version}",
        "intended_use": _INTENDED_USE.get(
            version.kind, f"No intended use is recorded for models of kind {version.kind!r}."
        ),
        "limitations": [*_LIMITATIONS.get(version.kind, ()), _GENERAL_LIMITATION],
        "data": _data_rows(version),
        "training": _training_rows(version),
        "libraries": sorted(version.libraries.items()),
        "metrics": _metrics(version.metrics),
        "calibration": calibration,
        "fairness": facts.fairness,
        "fairness_on_training_data": (
            facts.fairness is not None
            and facts.fairness.data_fingerprint is not None
            and facts.fairness.data_fingerprint == version.data_fingerprint
        ),
        "fairness_command": FAIRNESS_COMMAND.format(ref=f"{version.name}:{version.version}"),
        "approvals": facts.approvals,
        "history": facts.history,
    }


def render_card(facts: CardFacts) -> RenderedCard:
    """Render a card as Markdown and as an HTML fragment from the same facts.

    Parameters
    ----------
    facts
        The version, its approvals, its stage history and its newest fairness
        report (see :func:`card_facts`).

    Returns
    -------
    RenderedCard
        Markdown, HTML (escaped; no script, style or outside reference) and the
        sha256 of the Markdown.
    """
    context = _context(facts)
    markdown = _MARKDOWN.get_template("card.md.j2").render(context)
    html = _HTML.get_template("card.html.j2").render(context)
    return RenderedCard(markdown, html, hashlib.sha256(markdown.encode()).hexdigest())


def card_facts(session: Session, name: str, version: int) -> CardFacts:
    """Gather what the card of ``name:version`` shows, from the registry and the audit chain.

    Raises
    ------
    NotFound
        For an unknown name or version.
    """
    info = registry.get_version(session, name, version)
    return CardFacts(
        version=info,
        approvals=registry.approvals(session, name, version),
        history=registry.stage_history(session, name, version),
        fairness=next(iter(recorded_fairness(session, name, [version], limit=1)), None),
    )


def _stored(session: Session, ids: Mapping[int, int]) -> dict[int, ModelCardRow]:
    """Return the stored cards by version number, given row ids by version number."""
    numbers = {row_id: number for number, row_id in ids.items()}
    rows = session.scalars(
        select(ModelCardRow).where(ModelCardRow.model_version_id.in_(list(numbers)))
    )
    return {numbers[row.model_version_id]: row for row in rows}


def _card(name: str, version: int, row: ModelCardRow) -> ModelCard:
    return ModelCard(
        name=name,
        version=version,
        markdown=row.markdown,
        html=row.html,
        sha256=row.sha256,
        written_at=row.created_at,
        written_by=row.created_by,
    )


def write_cards(
    session: Session, *, name: str, actor: str, versions: Iterable[int] = ()
) -> list[ModelCard]:
    """Write the cards of ``versions`` and rewrite every stored card of ``name`` that changed.

    Call it in the transaction that registers, approves, promotes, rolls back or
    changes the challenger of a version, so the stored cards follow every stage
    change of the model (a promotion also retires the previous champion).

    Parameters
    ----------
    session
        Where the cards are stored; the caller commits.
    name
        The model.
    actor
        Key id (or system actor) that caused the write.
    versions
        Versions whose card is written even when none is stored yet.

    Returns
    -------
    list[ModelCard]
        The cards written (unchanged ones are left as they are), by version.

    Raises
    ------
    NotFound
        For an unknown name or version.
    """
    ids = registry.version_ids(session, name)
    stored = _stored(session, ids)
    written = []
    for number in sorted(set(versions) | set(stored)):
        rendered = render_card(card_facts(session, name, number))
        row = stored.get(number)
        if row is not None and row.sha256 == rendered.sha256 and row.html == rendered.html:
            continue
        if row is None:
            row = ModelCardRow(model_version_id=ids[number])
            session.add(row)
        row.markdown, row.html, row.sha256 = rendered.markdown, rendered.html, rendered.sha256
        row.created_at, row.created_by = utcnow(), actor
        written.append(_card(name, number, row))
    session.flush()
    return written


def model_card(session: Session, name: str, version: int | None = None) -> ModelCard:
    """Return the stored card of a version (default: the champion, else the newest).

    A version without a stored card gets one rendered from its facts now, not stored.

    Raises
    ------
    NotFound
        For an unknown name or version.
    """
    info = registry.get_version(session, name, version)
    row = session.get(ModelCardRow, registry.version_ids(session, info.name)[info.version])
    if row is not None:
        return _card(info.name, info.version, row)
    rendered = render_card(card_facts(session, info.name, info.version))
    return ModelCard(
        info.name, info.version, rendered.markdown, rendered.html, rendered.sha256, None, None
    )
