"""Score one transaction as it happens: online features, model, thresholds, reasons.

:class:`FraudScorer` is what the service calls per event (and the stream consumer per
batch, below). It reads the card's and terminal's state, scores, records the event
and remembers the answer, in that order, so that a retried transaction id gets its
first answer and counts once in the state, even after a crash between the steps (the
features of an event ignore its own record).

When the state store is down (:class:`~finai.fraud.state.StateUnavailable`) the
scorer still answers: the features are computed from the transaction alone (no
history, as for a new card at a new terminal), the result says ``degraded=True``,
nothing is recorded, and the store is left alone for ``retry_after`` so that each
request does not wait on it.

:meth:`FraudScorer.score_batch` scores a batch (the stream consumer's) as
:meth:`FraudScorer.score` one by one would, with a few state round trips and one model
pass for the whole batch, and never degraded: when the store is down it raises.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.artifact import FraudModel, Reason
from finai.fraud.features import OnlineFeatures
from finai.fraud.state import MemoryStore, StateStore, StateUnavailable
from finai.fraud.thresholds import Action
from finai.fraud.transactions import AMOUNT, CARD, ID, TERMINAL, TIME

__all__ = [
    "MAX_AHEAD",
    "REASONS",
    "FraudScorer",
    "ScoreResult",
    "Transaction",
    "state_store",
]

REASONS = 3
"""Reasons given with each score."""

MAX_AHEAD = timedelta(minutes=5)
"""How far ahead of this machine's clock a transaction may be dated (clock skew)."""

_MAX_ID = 128


def _text(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} is required and must be non-empty text", field=name)
    value = value.strip()
    if len(value) > _MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(f"{name} must be at most {_MAX_ID} printable characters", field=name)
    return value


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{TIME} must be an ISO 8601 date-time, got {text[:40]!r}", field=TIME
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{TIME} is required (ISO 8601 date-time)", field=TIME)
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)  # naive times are UTC, as in the batch tables
    return value.astimezone(UTC)


def _amount(value: object) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValidationError(f"{AMOUNT} must be a number", field=AMOUNT) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{AMOUNT} is required and must be a number", field=AMOUNT)
    amount = float(value)
    if not math.isfinite(amount):
        raise ValidationError(f"{AMOUNT} must be finite", field=AMOUNT)
    if amount < 0:
        raise ValidationError(f"{AMOUNT} must not be negative", field=AMOUNT)
    return amount


@dataclass(frozen=True)
class Transaction:
    """One card transaction to score (a :class:`~finai.fraud.features.TransactionEvent`).

    Build it with :meth:`from_mapping` to validate raw input.
    """

    transaction_id: str
    timestamp: datetime
    customer_id: str
    terminal_id: str
    amount: float

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Transaction:
        """Validate a mapping of the canonical fields (extra keys are ignored).

        Ids may be text or whole numbers; ``timestamp`` ISO 8601 text or a datetime
        (naive = UTC), at most :data:`MAX_AHEAD` in the future (a later one would make
        every real transaction of its card and terminal too late); ``amount`` a number
        or its text.

        Raises
        ------
        ValidationError
            Naming the first bad field and the reason.
        """
        timestamp = _timestamp(data.get(TIME))
        if timestamp > datetime.now(UTC) + MAX_AHEAD:
            raise ValidationError(
                f"{TIME} {timestamp.isoformat()} is in the future (more than"
                f" {MAX_AHEAD.total_seconds() / 60:g} minutes ahead of this clock)",
                field=TIME,
            )
        return cls(
            transaction_id=_text(data, ID),
            timestamp=timestamp,
            customer_id=_text(data, CARD),
            terminal_id=_text(data, TERMINAL),
            amount=_amount(data.get(AMOUNT)),
        )


@dataclass(frozen=True)
class ScoreResult:
    """The answer for one transaction.

    Attributes
    ----------
    score
        Fraud score in [0, 1]; higher = more suspect.
    action
        Allow, review or block by the model's thresholds.
    reasons
        Up to :data:`REASONS` features that raised the score, strongest first; given
        for review and block, and for allow only when asked for.
    degraded
        The state store was down: the features ignore the card's and terminal's history.
    replayed
        This is the remembered first answer for a transaction id seen before.
    """

    transaction_id: str
    score: float
    action: Action
    reasons: tuple[Reason, ...]
    model_name: str
    model_version: int
    degraded: bool
    scored_at: datetime
    replayed: bool = False

    def to_json(self) -> str:
        """Serialise for the store's memory of first answers (``replayed`` is not kept)."""
        return json.dumps(
            {
                "transaction_id": self.transaction_id,
                "score": self.score,
                "action": self.action.value,
                "reasons": [[r.feature, r.value, r.contribution] for r in self.reasons],
                "model_name": self.model_name,
                "model_version": self.model_version,
                "degraded": self.degraded,
                "scored_at": self.scored_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str, *, replayed: bool = False) -> ScoreResult:
        """Read what :meth:`to_json` wrote."""
        data = json.loads(text)
        return cls(
            transaction_id=data["transaction_id"],
            score=float(data["score"]),
            action=Action(data["action"]),
            reasons=tuple(Reason(str(f), float(v), float(c)) for f, v, c in data["reasons"]),
            model_name=data["model_name"],
            model_version=int(data["model_version"]),
            degraded=bool(data["degraded"]),
            scored_at=datetime.fromisoformat(data["scored_at"]),
            replayed=replayed,
        )


@dataclass
class _Breaker:
    """Skips the store for a while after it failed, so requests stay within budget."""

    retry_after: float
    _until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> bool:
        return time.monotonic() < self._until

    def trip(self) -> None:
        with self._lock:
            self._until = time.monotonic() + self.retry_after


class FraudScorer:
    """Scores transactions one by one against a shared state store.

    Parameters
    ----------
    model
        The fraud model; its feature configuration defines the online features.
    model_name, model_version
        The registered version, reported with every result.
    store
        The state (:class:`~finai.fraud.state.MemoryStore`,
        :class:`~finai.fraud.state_redis.RedisStore`).
    max_lateness
        How much older than its card's or terminal's newest event a transaction may be.
    retry_after
        How long to score degraded without trying the store after it failed.
    """

    def __init__(
        self,
        model: FraudModel,
        model_name: str,
        model_version: int,
        store: StateStore,
        *,
        max_lateness: timedelta = timedelta(days=1),
        retry_after: timedelta = timedelta(seconds=1),
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.model_version = model_version
        self.online = OnlineFeatures(store, model.config, max_lateness=max_lateness)
        self._breaker = _Breaker(retry_after.total_seconds())

    def _result(
        self, tx: Transaction, features: dict[str, float], *, degraded: bool, explain: bool
    ) -> ScoreResult:
        score = self.model.score_row(features)
        action = self.model.thresholds.decide([score])[0]
        reasons: list[Reason] = []
        if explain or action is not Action.ALLOW:
            reasons = self.model.assess_row(features, REASONS)[1]
        return ScoreResult(
            transaction_id=tx.transaction_id,
            score=score,
            action=action,
            reasons=tuple(reasons),
            model_name=self.model_name,
            model_version=self.model_version,
            degraded=degraded,
            scored_at=datetime.now(UTC),
        )

    def _degraded(self, tx: Transaction, explain: bool) -> ScoreResult:
        alone = OnlineFeatures(MemoryStore(), self.model.config)
        return self._result(tx, alone.features(tx), degraded=True, explain=explain)

    def score(self, tx: Transaction, *, explain: bool = False) -> ScoreResult:
        """Score a transaction, record it in the state and remember the answer.

        Reasons come with every review and block; an allowed transaction gets them only
        with ``explain`` (they cost a TreeSHAP pass, several times the score itself).

        Returns
        -------
        ScoreResult
            The first answer for this transaction id (``replayed=True``) when it was
            scored before; then the state is not changed again.

        Raises
        ------
        ValidationError
            (``field="timestamp"``) when the transaction is older than its card's or
            terminal's newest event by more than ``max_lateness``.
        """
        if self._breaker.open():
            return self._degraded(tx, explain)
        try:
            features = self.online.features(tx)
            result = self._result(tx, features, degraded=False, explain=explain)
            self.online.record(tx)  # a retry records nothing: the first record wins
            first = self.online.store.remember(tx.transaction_id, result.to_json())
        except StateUnavailable:
            self._breaker.trip()
            return self._degraded(tx, explain)
        return result if first is None else ScoreResult.from_json(first, replayed=True)

    def score_batch(
        self, transactions: Sequence[Transaction], *, explain: bool = False
    ) -> list[ScoreResult | ValidationError]:
        """Score transactions in order, as :meth:`score` one by one, with one model pass.

        The features come from :meth:`OnlineFeatures.features_and_record
        <finai.fraud.features.OnlineFeatures.features_and_record>` (a transaction sees
        the ones before it in the batch; each is recorded once), the batch is scored
        at once (reasons for alerts only, unless ``explain``), then the first answers
        are remembered together: a repeated id, in the batch or from before, gets the
        first answer (``replayed=True``). Recording comes before scoring here; a retry
        after a failure anywhere computes the same features (an event's own record is
        ignored) and gets the remembered answers.

        Parameters
        ----------
        transactions
            The transactions, in the order they happened (or arrived).
        explain
            Give reasons for allowed transactions too.

        Returns
        -------
        list of ScoreResult or ValidationError
            Per transaction, in order: its answer, or why it was refused (too late
            for its card's or terminal's state, ``field="timestamp"``); a refused
            transaction changes nothing.

        Raises
        ------
        StateUnavailable
            When the store is down: no answer is degraded, the caller retries the
            batch (the transactions recorded so far count once).
        """
        batch = self.online.features_and_record(transactions)
        model = self.model
        frame = pd.DataFrame(batch.values, columns=list(batch.names))
        reasons: dict[int, list[Reason]] = {}
        if explain:
            scores, found = model.assess(frame, REASONS)
            reasons = dict(enumerate(found))
        else:
            scores = model.score(frame)
        actions = model.thresholds.decide(scores)
        alerts = [row for row, action in enumerate(actions) if action is not Action.ALLOW]
        if alerts and not explain:
            reasons = dict(zip(alerts, model.reasons(frame.iloc[alerts], REASONS), strict=True))
        now = datetime.now(UTC)
        scored: dict[int, ScoreResult] = {}
        for i, (tx, row) in enumerate(zip(transactions, batch.outcomes, strict=True)):
            if not isinstance(row, ValidationError):
                scored[i] = ScoreResult(
                    transaction_id=tx.transaction_id,
                    score=float(scores[row]),
                    action=actions[row],
                    reasons=tuple(reasons.get(row, ())),
                    model_name=self.model_name,
                    model_version=self.model_version,
                    degraded=False,
                    scored_at=now,
                )
        firsts = self.online.store.remember_many(
            [(result.transaction_id, result.to_json()) for result in scored.values()]
        )
        for i, first in zip(list(scored), firsts, strict=True):
            if first is not None:
                scored[i] = ScoreResult.from_json(first, replayed=True)
        return [
            outcome if isinstance(outcome, ValidationError) else scored[i]
            for i, outcome in enumerate(batch.outcomes)
        ]

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Pass a verdict to the state (delayed terminal risk).

        Returns
        -------
        bool
            Whether the state knows the transaction; ``False`` also when the store is
            down (the label is still kept by whoever stores labels).
        """
        try:
            return self.online.label(transaction_id, is_fraud)
        except StateUnavailable:
            self._breaker.trip()
            return False


def state_store(redis_url: str | None, *, prefix: str = "finai:fraud:") -> StateStore:
    """Return the state store of a deployment: Redis at ``redis_url``, else in memory.

    The Redis client fails fast (50 ms to connect, 100 ms per reply) so that a
    store that is down degrades answers instead of delaying them.
    """
    if redis_url is None:
        return MemoryStore()
    import redis

    from finai.fraud.state_redis import RedisStore

    client = redis.Redis.from_url(
        redis_url, socket_connect_timeout=0.05, socket_timeout=0.1, decode_responses=False
    )
    return RedisStore(client, prefix=prefix)
