"""Fraud features: one definition, executed offline (vectorised) and online (per event).

The baseline feature set of the Fraud Detection Handbook (Le Borgne et al., ch. 3.4).
For a transaction at time ``t`` (UTC) of amount ``a``, with windows ``w`` in
:attr:`FeatureConfig.windows` (days; 1, 7, 30 by default) and label delay ``D``
(:attr:`FeatureConfig.delay_days`, 7 by default):

``amount``
    ``a``.
``hour``
    Time of day in hours, UTC, with its fraction: 13:45 is ``13.75``; in ``[0, 24)``.
``is_weekend``
    ``1.0`` on Saturday and Sunday (UTC), else ``0.0``.
``is_night``
    ``1.0`` when ``hour < 6`` or ``hour >= 22`` (22:00 up to 05:59:59), else ``0.0``.
``card_count_{w}d``, ``card_mean_amount_{w}d``
    Count and mean amount of the card's transactions with time in ``(t - w, t]``
    that come no later than this one in the event order (below), **this one
    included** (the Handbook's convention): the count is at least 1.
``amount_vs_card_mean_{W}d`` (``W`` the largest window)
    ``a`` divided by the mean amount of the card's transactions in ``(t - W, t]``
    that come **before** this one; ``1.0`` when there are none or their mean is 0
    (nothing to compare with).
``terminal_count_{w}d``, ``terminal_fraud_rate_{w}d``
    Over the terminal's transactions with time in ``(t - D - w, t - D]`` that come
    before this one: their count, and the share of them labelled fraud (``0.0``
    when the count is 0). Labels arrive ``D`` days late (chargebacks), so only
    transactions at least ``D`` days old count. Unlabelled transactions count, not
    as frauds.

Event order and ties: events are ordered by ``(time, transaction_id)``, times
truncated to whole microseconds and ids compared as text (code points). "Before"
means earlier in that order, so of two transactions at the same instant the one with
the smaller id comes first; windows are bounded by time alone.

Every feature is a ``float``. Both executions derive from the same definition: the
window bounds (:func:`_card_after`, :func:`_terminal_span`) and one function that
turns window aggregates into feature values (:func:`_assemble`). Offline sums a
window's amounts with numpy, online with Python, so the means agree to float
rounding (about 1e-15 relative), not bit for bit.

Online, state lives in a :class:`~finai.fraud.state.StateStore`. Each card and
terminal keeps the events of the last ``max(windows) + D + max_lateness`` days
(38 by default, :attr:`OnlineFeatures.retention`). An event older than the newest
event of its card or terminal by more than ``max_lateness`` (1 day by default) is
refused with a :class:`~finai.exceptions.ValidationError` on ``timestamp``;
every accepted event gets exactly the features it would get offline from the events
recorded so far. Fed in event order, with labels recorded as they become known, the
online features equal the offline ones. A batch
(:meth:`OnlineFeatures.features_and_record`) gets exactly the features its events would
get one by one, in a few round trips.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.state import ReadRequest, Recorded, Span, StateStore, StateView, StoredEvent

__all__ = [
    "FEATURE_NAMES",
    "FeatureBatch",
    "FeatureConfig",
    "OnlineFeatures",
    "TransactionEvent",
    "offline_features",
]

Floats: TypeAlias = npt.NDArray[np.float64]
Ints: TypeAlias = npt.NDArray[np.int64]

_TRANSACTION_ID = "transaction_id"
_TIMESTAMP = "timestamp"
_CARD = "customer_id"
_TERMINAL = "terminal_id"
_AMOUNT = "amount"
_LABEL = "is_fraud"

_US = 1_000_000
_HOUR_US = 3_600 * _US
_DAY_US = 24 * _HOUR_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_THURSDAY = 3
"""Weekday of 1970-01-01, Monday being 0."""
_NIGHT_ENDS, _NIGHT_STARTS = 6.0, 22.0
_NO_BASELINE = 1.0
"""``amount_vs_card_mean`` when the card has no earlier amounts to compare with."""


# -- configuration ------------------------------------------------------------------------


def _whole(value: object, name: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValidationError(f"{name} must be a whole number >= {least}", field=name)
    return int(value)


@dataclass(frozen=True)
class FeatureConfig:
    """Which windows the fraud features use.

    Parameters
    ----------
    windows
        Window lengths in days, strictly increasing (default 1, 7, 30). The largest
        is also the baseline of ``amount_vs_card_mean``.
    delay_days
        Days until a transaction's label is known (default 7): terminal fraud rates
        only count transactions at least this old. ``0`` counts labels at once.

    Raises
    ------
    ValidationError
        When a window is not a whole number of days >= 1, windows repeat or are out
        of order, or the delay is not a whole number >= 0.

    Examples
    --------
    >>> FeatureConfig().feature_names[:6]
    ('amount', 'hour', 'is_weekend', 'is_night', 'card_count_1d', 'card_mean_amount_1d')
    >>> FeatureConfig(windows=(1, 14), delay_days=3).feature_names[-1]
    'terminal_fraud_rate_14d'
    """

    windows: tuple[int, ...] = (1, 7, 30)
    delay_days: int = 7

    def __post_init__(self) -> None:
        if isinstance(self.windows, str | bytes) or not isinstance(self.windows, Sequence):
            raise ValidationError("windows must be a sequence of days", field="windows")
        windows = tuple(_whole(w, "windows", least=1) for w in self.windows)
        if not windows:
            raise ValidationError("windows must not be empty", field="windows")
        if any(a >= b for a, b in pairwise(windows)):
            raise ValidationError("windows must be strictly increasing", field="windows")
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "delay_days", _whole(self.delay_days, "delay_days", least=0))

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names in the order of the columns and of the online dictionary."""
        names = ["amount", "hour", "is_weekend", "is_night"]
        for w in self.windows:
            names += [f"card_count_{w}d", f"card_mean_amount_{w}d"]
        names.append(f"amount_vs_card_mean_{self.windows[-1]}d")
        for w in self.windows:
            names += [f"terminal_count_{w}d", f"terminal_fraud_rate_{w}d"]
        return tuple(names)


_DEFAULT_CONFIG = FeatureConfig()
FEATURE_NAMES: tuple[str, ...] = _DEFAULT_CONFIG.feature_names
"""The feature names of the default :class:`FeatureConfig`, in column order."""


# -- the one definition -------------------------------------------------------------------


def _card_after(time_us: Ints, days: int) -> Ints:
    """Exclusive lower time bound of a card window of ``days`` ending at ``time_us``."""
    return time_us - days * _DAY_US


def _terminal_span(time_us: Ints, days: int, delay_days: int) -> tuple[Ints, Ints]:
    """Time bounds ``(after, until]`` of a terminal window delayed by ``delay_days``."""
    return time_us - (delay_days + days) * _DAY_US, time_us - delay_days * _DAY_US


@dataclass(frozen=True)
class _Aggregates:
    """Window aggregates of n transactions; 2-D arrays have one row per window."""

    card_count: Floats
    """``(windows, n)``: card transactions in the window, this one included."""
    card_sum: Floats
    """``(windows, n)``: their amounts' sum."""
    earlier_count: Floats
    """``(n,)``: card transactions before this one, in the largest window."""
    earlier_sum: Floats
    """``(n,)``: their amounts' sum."""
    terminal_count: Floats
    """``(windows, n)``: terminal transactions in the delayed window, before this one."""
    terminal_frauds: Floats
    """``(windows, n)``: how many of them are labelled fraud."""


def _ratio(numerator: Floats, denominator: Floats, default: float) -> Floats:
    out = np.full(numerator.shape, default, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _assemble(time_us: Ints, amount: Floats, agg: _Aggregates, config: FeatureConfig) -> Floats:
    """Turn times, amounts and window aggregates into the features.

    Returns a ``(features, n)`` array, rows in :attr:`FeatureConfig.feature_names`
    order. Few numpy calls, whatever n, so that one event (online) stays cheap.
    """
    k = len(config.windows)
    out = np.empty((4 + 4 * k + 1, len(time_us)), dtype=np.float64)
    hour = (time_us % _DAY_US) / _HOUR_US
    out[0] = amount
    out[1] = hour
    out[2] = (time_us // _DAY_US + _THURSDAY) % 7 >= 5
    out[3] = (hour < _NIGHT_ENDS) | (hour >= _NIGHT_STARTS)
    card = slice(4, 4 + 2 * k)
    out[card][0::2] = agg.card_count
    out[card][1::2] = _ratio(agg.card_sum, agg.card_count, 0.0)
    baseline = _ratio(agg.earlier_sum, agg.earlier_count, 0.0)
    with np.errstate(over="ignore"):  # a subnormal baseline gives inf, offline and online
        out[4 + 2 * k] = _ratio(amount, baseline, _NO_BASELINE)
    terminal = slice(5 + 2 * k, 5 + 4 * k)
    out[terminal][0::2] = agg.terminal_count
    out[terminal][1::2] = _ratio(agg.terminal_frauds, agg.terminal_count, 0.0)
    return out


# -- offline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    time_us: Ints
    amount: Floats
    transaction_id: npt.NDArray[np.object_]
    card: Ints
    terminal: Ints
    fraud: Ints


def _epoch_us_column(column: pd.Series) -> Ints:
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValidationError("timestamp must be timezone-aware (UTC)", field=_TIMESTAMP)
    if column.isna().any():
        raise ValidationError("timestamp must not be missing", field=_TIMESTAMP)
    naive = column.dt.tz_convert(None).to_numpy()
    unit, _ = np.datetime_data(naive.dtype)
    scale, ticks_per_us = {"s": (_US, 1), "ms": (1_000, 1), "us": (1, 1), "ns": (1, 1_000)}[unit]
    ticks: Ints = naive.view(np.int64)
    return ticks * scale // ticks_per_us


def _columns(transactions: pd.DataFrame) -> _Columns:
    required = (_TRANSACTION_ID, _TIMESTAMP, _CARD, _TERMINAL, _AMOUNT)
    missing = [name for name in required if name not in transactions.columns]
    if missing:
        raise ValidationError(f"missing columns: {', '.join(missing)}", field=missing[0])
    for name in (_TRANSACTION_ID, _CARD, _TERMINAL):
        column = transactions[name]
        if column.isna().any() or not pd.api.types.is_string_dtype(column):
            raise ValidationError(f"{name} must be text, never missing", field=name)
    if not pd.Index(transactions[_TRANSACTION_ID]).is_unique:
        raise ValidationError("transaction_id must be unique", field=_TRANSACTION_ID)
    amount = pd.to_numeric(transactions[_AMOUNT], errors="coerce").to_numpy(np.float64)
    if not np.isfinite(amount).all() or (amount < 0).any():
        raise ValidationError("amount must be a finite number >= 0", field=_AMOUNT)
    if _LABEL in transactions.columns:
        labels = pd.to_numeric(transactions[_LABEL], errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
        known = ~np.isnan(labels)
        if not np.isin(labels[known], (0.0, 1.0)).all() or (
            known.sum() != transactions[_LABEL].notna().sum()
        ):
            raise ValidationError("is_fraud must be 0, 1 or missing", field=_LABEL)
        fraud = (labels == 1.0).astype(np.int64)
    else:
        fraud = np.zeros(len(transactions), dtype=np.int64)
    return _Columns(
        time_us=_epoch_us_column(transactions[_TIMESTAMP]),
        amount=amount + 0.0,
        transaction_id=transactions[_TRANSACTION_ID].to_numpy(dtype=object),
        card=pd.factorize(transactions[_CARD])[0].astype(np.int64),
        terminal=pd.factorize(transactions[_TERMINAL])[0].astype(np.int64),
        fraud=fraud,
    )


def _event_order(columns: _Columns) -> Ints | None:
    """Positions that put rows in event order, ``None`` when they already are."""
    step = np.diff(columns.time_us)
    ties = np.flatnonzero(step == 0)
    ids = columns.transaction_id
    if (step >= 0).all() and not (ids[ties] > ids[ties + 1]).any():
        return None
    order = np.argsort(columns.time_us, kind="stable")
    times = columns.time_us[order]
    tied = np.zeros(len(times), dtype=bool)
    same = times[1:] == times[:-1]
    tied[1:] |= same
    tied[:-1] |= same
    slots = np.flatnonzero(tied)
    if slots.size:
        rows = order[slots]
        ranked = sorted(zip(times[slots].tolist(), ids[rows].tolist(), rows.tolist(), strict=True))
        order[slots] = [row for _, _, row in ranked]
    return order


class _Groups:
    """Rows of one grouping (cards or terminals), sorted by group, then in event order.

    In that order a group's rows are contiguous and ``at`` is each row's position.
    :meth:`first_after` finds, per row, the first row of its group with time after a
    bound: one ``searchsorted`` over keys ``group * (distinct times + 1) + rank of
    time``, with queries in increasing order (which keeps it fast).
    """

    def __init__(self, codes: Ints, time_rank: Ints, n_times: int) -> None:
        self.perm = np.argsort(codes, kind="stable")
        self.base = codes[self.perm] * np.int64(n_times + 1)
        self.keys = self.base + time_rank[self.perm]
        self.at = np.arange(len(codes), dtype=np.int64)

    def first_after(self, rank: Ints) -> Ints:
        """Positions; ``rank`` is per row (event order) the count of distinct times <= bound."""
        found: Ints = np.searchsorted(self.keys, self.base + rank[self.perm], side="left")
        return found

    def scatter(self, values: Floats) -> Floats:
        """Values per row in group order, put back in event order."""
        out = np.empty_like(values)
        out[self.perm] = values
        return out


def _window_sums(values: Floats, start: Ints, stop: Ints) -> Floats:
    """``values[start[i]:stop[i]].sum()`` for every i, with start and stop non-decreasing.

    ``values`` ends with a padding 0 so that ``stop`` may equal the row count.
    """
    bounds = np.empty(2 * len(start), dtype=np.int64)
    bounds[0::2], bounds[1::2] = start, stop
    sums: Floats = np.where(start < stop, np.add.reduceat(values, bounds)[0::2], 0.0)
    return sums


def _offline_aggregates(columns: _Columns, config: FeatureConfig) -> _Aggregates:
    t = columns.time_us
    is_new = np.empty(len(t), dtype=bool)
    is_new[0], is_new[1:] = True, t[1:] != t[:-1]
    times = t[is_new]
    time_rank = np.cumsum(is_new, dtype=np.int64) - 1

    def rank(bound_us: Ints) -> Ints:
        found: Ints = np.searchsorted(times, bound_us, side="right")
        return found

    cards = _Groups(columns.card, time_rank, len(times))
    amounts = np.append(columns.amount[cards.perm], 0.0)
    card_count, card_sum = [], []
    for w in config.windows:
        start = cards.first_after(rank(_card_after(t, w)))
        card_count.append(cards.scatter((cards.at + 1 - start).astype(np.float64)))
        card_sum.append(cards.scatter(_window_sums(amounts, start, cards.at + 1)))
    earlier_count = card_count[-1] - 1.0
    earlier_sum = cards.scatter(_window_sums(amounts, start, cards.at))

    terminals = _Groups(columns.terminal, time_rank, len(times))
    frauds_before = np.concatenate(([0], np.cumsum(columns.fraud[terminals.perm])))
    terminal_count, terminal_frauds = [], []
    for w in config.windows:
        after, until = _terminal_span(t, w, config.delay_days)
        start = terminals.first_after(rank(after))
        stop = np.minimum(terminals.first_after(rank(until)), terminals.at)
        terminal_count.append(terminals.scatter((stop - start).astype(np.float64)))
        frauds = (frauds_before[stop] - frauds_before[start]).astype(np.float64)
        terminal_frauds.append(terminals.scatter(frauds))
    return _Aggregates(
        card_count=np.stack(card_count),
        card_sum=np.stack(card_sum),
        earlier_count=earlier_count,
        earlier_sum=earlier_sum,
        terminal_count=np.stack(terminal_count),
        terminal_frauds=np.stack(terminal_frauds),
    )


def offline_features(
    transactions: pd.DataFrame, config: FeatureConfig = _DEFAULT_CONFIG
) -> pd.DataFrame:
    """Compute the fraud features of every transaction of a history, vectorised.

    Parameters
    ----------
    transactions
        One row per transaction with ``transaction_id`` (text, unique),
        ``timestamp`` (timezone-aware), ``customer_id`` (the card, text),
        ``terminal_id`` (text), ``amount`` (``>= 0``) and optionally ``is_fraud``
        (0, 1 or missing; missing counts in terminal counts, not as fraud). Rows in
        any order; the features follow the event order of the module docstring.
    config
        Windows and label delay.

    Returns
    -------
    pandas.DataFrame
        ``float64`` columns :attr:`FeatureConfig.feature_names` in that order, index
        aligned with ``transactions``.

    Raises
    ------
    ValidationError
        When a column is missing or holds a value outside the rules above, or
        transaction ids repeat.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "transaction_id": ["a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 23:30"], utc=True),
    ...     "customer_id": ["c1", "c1"],
    ...     "terminal_id": ["t1", "t2"],
    ...     "amount": [10.0, 30.0],
    ... })
    >>> offline_features(frame)[["card_count_1d", "card_mean_amount_1d", "is_night"]]
       card_count_1d  card_mean_amount_1d  is_night
    0            1.0                 10.0       0.0
    1            2.0                 20.0       1.0
    """
    columns = _columns(transactions)
    names = config.feature_names
    if len(transactions) == 0:
        return pd.DataFrame(
            {name: pd.Series(dtype=np.float64) for name in names}, index=transactions.index
        )
    order = _event_order(columns)
    if order is not None:
        columns = _Columns(
            time_us=columns.time_us[order],
            amount=columns.amount[order],
            transaction_id=columns.transaction_id[order],
            card=columns.card[order],
            terminal=columns.terminal[order],
            fraud=columns.fraud[order],
        )
    matrix = _assemble(
        columns.time_us, columns.amount, _offline_aggregates(columns, config), config
    )
    if order is not None:
        block = np.empty_like(matrix)
        block[:, order] = matrix
        matrix = block
    return pd.DataFrame(matrix.T, columns=list(names), index=transactions.index, copy=False)


# -- online -------------------------------------------------------------------------------


class TransactionEvent(Protocol):
    """What the online path reads from a transaction (any object with these attributes).

    ``timestamp`` must be timezone-aware; ``amount`` a finite number ``>= 0``.
    """

    @property
    def transaction_id(self) -> str:
        """The transaction's unique id."""
        ...

    @property
    def timestamp(self) -> datetime:
        """When it happened, timezone-aware."""
        ...

    @property
    def customer_id(self) -> str:
        """The card."""
        ...

    @property
    def terminal_id(self) -> str:
        """The terminal."""
        ...

    @property
    def amount(self) -> float | Decimal:
        """The amount, currency units."""
        ...


@dataclass(frozen=True, slots=True)
class _Event:
    transaction_id: str
    card_id: str
    terminal_id: str
    time_us: int
    amount: float


def _epoch_us(timestamp: object) -> int:
    if timestamp is pd.NaT or not isinstance(timestamp, datetime) or timestamp.utcoffset() is None:
        raise ValidationError("timestamp must be a timezone-aware datetime", field=_TIMESTAMP)
    if isinstance(timestamp, pd.Timestamp):
        return int(timestamp.as_unit("ns").value) // 1_000
    return (timestamp - _EPOCH) // timedelta(microseconds=1)


def _text_field(event: TransactionEvent, name: str) -> str:
    value = getattr(event, name, None)
    if not isinstance(value, str) or not value or "\0" in value:
        raise ValidationError(f"{name} must be non-empty text without NUL", field=name)
    return value


def _event(event: TransactionEvent) -> _Event:
    amount = getattr(event, _AMOUNT, None)
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        raise ValidationError("amount must be a number", field=_AMOUNT)
    value = float(amount)
    if not math.isfinite(value) or value < 0:
        raise ValidationError("amount must be a finite number >= 0", field=_AMOUNT)
    return _Event(
        transaction_id=_text_field(event, _TRANSACTION_ID),
        card_id=_text_field(event, _CARD),
        terminal_id=_text_field(event, _TERMINAL),
        time_us=_epoch_us(getattr(event, _TIMESTAMP, None)),
        amount=value + 0.0,
    )


def _stored_order(event: StoredEvent) -> tuple[int, str]:
    return (event.time_us, event.transaction_id)


def _stored_time(event: StoredEvent) -> int:
    return event.time_us


def _waves(events: Sequence[tuple[int, _Event]]) -> list[list[tuple[int, _Event]]]:
    """Cut events into waves, each after the last earlier one sharing a key with it.

    The keys are the card, the terminal and the transaction id: what an event reads
    or writes in the state, and what decides whether it is a duplicate. Events of one
    wave share none, so they touch different state; within a wave they keep their
    order.
    """
    last: dict[tuple[int, str], int] = {}
    waves: list[list[tuple[int, _Event]]] = []
    for item in events:
        e = item[1]
        keys = ((0, e.card_id), (1, e.terminal_id), (2, e.transaction_id))
        wave = 1 + max(last.get(key, -1) for key in keys)
        for key in keys:
            last[key] = wave
        if wave == len(waves):
            waves.append([])
        waves[wave].append(item)
    return waves


def _window_values(
    e: _Event, view: StateView, card_after: list[int], terminal_after: list[int]
) -> list[float]:
    """Return an event's window aggregates from its view, flat.

    In order: card counts per window (this event included), their amount sums, the
    count and sum of the card's earlier events in the largest window, terminal
    counts per window and their fraud counts. ``card_after`` and ``terminal_after``
    are the windows' exclusive lower bounds. A view's events come in event order, so
    the events before this one are a prefix of them and each window's a suffix of it.
    """
    key = (e.time_us, e.transaction_id)
    card = view.card
    cut = bisect_left(card, key, key=_stored_order)
    amounts = [x.amount for x in card[:cut]]
    counts: list[float] = []
    sums: list[float] = []
    start = cut
    for after in card_after:
        start = bisect_right(card, after, hi=cut, key=_stored_time)
        counts.append(cut - start + 1.0)
        sums.append(sum(amounts[start:], 0.0) + e.amount)
    earlier = [float(cut - start), sum(amounts[start:], 0.0)]
    terminal = view.terminal
    cut = bisect_left(terminal, key, key=_stored_order)
    frauds = view.frauds
    flags = [x.transaction_id in frauds for x in terminal[:cut]] if frauds else []
    terminal_counts: list[float] = []
    terminal_frauds: list[float] = []
    for after in terminal_after:
        start = bisect_right(terminal, after, hi=cut, key=_stored_time)
        terminal_counts.append(float(cut - start))
        terminal_frauds.append(float(sum(flags[start:])))
    return counts + sums + earlier + terminal_counts + terminal_frauds


@dataclass(frozen=True)
class FeatureBatch:
    """The features of a batch of events (:meth:`OnlineFeatures.features_and_record`).

    Attributes
    ----------
    names
        The feature names, the columns of ``values``.
    values
        ``(rows, features)`` array: the features of the events that got them, in
        the batch's order.
    outcomes
        Per event of the batch, in order: its row in ``values``, or the error that
        refused it.
    """

    names: tuple[str, ...]
    values: Floats
    outcomes: tuple[int | ValidationError, ...]

    def features(self, i: int) -> dict[str, float] | ValidationError:
        """Event ``i``'s features by name (as :meth:`OnlineFeatures.features`), or its error."""
        outcome = self.outcomes[i]
        if isinstance(outcome, ValidationError):
            return outcome
        return dict(zip(self.names, self.values[outcome].tolist(), strict=True))


class OnlineFeatures:
    """Fraud features per event, from a state store; equal to :func:`offline_features`.

    Parameters
    ----------
    store
        Where the recent events and labels live (:class:`~finai.fraud.state.MemoryStore`,
        :class:`~finai.fraud.state_redis.RedisStore`).
    config
        Windows and label delay.
    max_lateness
        How much older than the newest event of its card or terminal an event may
        be (out-of-order arrival); older events are refused. Default one day.

    Raises
    ------
    ValidationError
        When ``max_lateness`` is negative.

    Examples
    --------
    >>> from finai.fraud.state import MemoryStore
    >>> from types import SimpleNamespace
    >>> online = OnlineFeatures(MemoryStore())
    >>> event = SimpleNamespace(
    ...     transaction_id="a", timestamp=datetime(2024, 1, 1, 10, tzinfo=UTC),
    ...     customer_id="c1", terminal_id="t1", amount=10.0)
    >>> online.features(event)["card_count_1d"]
    1.0
    >>> online.record(event)
    True
    """

    def __init__(
        self,
        store: StateStore,
        config: FeatureConfig = _DEFAULT_CONFIG,
        *,
        max_lateness: timedelta = timedelta(days=1),
    ) -> None:
        if max_lateness < timedelta(0):
            raise ValidationError("max_lateness must not be negative", field="max_lateness")
        self.store = store
        self.config = config
        self.max_lateness = max_lateness
        self._lateness_us = max_lateness // timedelta(microseconds=1)

    @property
    def retention(self) -> timedelta:
        """How long each card and terminal keeps its events in the store."""
        days = self.config.windows[-1] + self.config.delay_days
        return timedelta(days=days) + self.max_lateness

    def features(self, event: TransactionEvent) -> dict[str, float]:
        """Compute an event's features from the state, without changing it.

        Parameters
        ----------
        event
            The transaction to score. It may already be recorded: its own record is
            ignored, so the features are the same before and after :meth:`record`.

        Returns
        -------
        dict of str to float
            The features by name, in :attr:`FeatureConfig.feature_names` order.

        Raises
        ------
        ValidationError
            When a field is invalid, or (``field="timestamp"``) the event is older
            than the newest event of its card or terminal by more than
            ``max_lateness``.
        """
        e = _event(event)
        (request,), (card_after,), (terminal_after,) = self._plan([e])
        view = self.store.read(
            e.card_id,
            e.terminal_id,
            card_span=request.card_span,
            terminal_span=request.terminal_span,
        )
        self._check_lateness(e.time_us, view)
        row = _window_values(e, view, card_after, terminal_after)
        values = self._matrix([e], [row])[0].tolist()
        return dict(zip(self.config.feature_names, values, strict=True))

    def features_and_record(self, events: Sequence[TransactionEvent]) -> FeatureBatch:
        """Compute the features of a batch of events and record them, in few round trips.

        The same as ``features(e)`` then ``record(e)`` for each event in order (an
        event refused by either is not recorded): an event sees the events of the
        batch before it that share its card or terminal, a repeated transaction id is
        recorded once. To get there the batch is cut into waves, each event in the
        wave after the last earlier event sharing its card, terminal or transaction
        id; events of one wave touch different state, so each wave is read in one
        :meth:`~finai.fraud.state.StateStore.read_many` and recorded in one
        :meth:`~finai.fraud.state.StateStore.record_many`. A batch of events of
        different cards and terminals takes two round trips.

        Parameters
        ----------
        events
            The transactions, in the order they are to be scored.

        Returns
        -------
        FeatureBatch
            The features of the events recorded (or already kept: a retry), and the
            :class:`~finai.exceptions.ValidationError` of each event refused, as
            :meth:`features` or :meth:`record` would raise it.

        Raises
        ------
        StateUnavailable
            When the store cannot be reached; the waves before were recorded (a retry
            of the batch gets the same features: an event's own record is ignored).
        """
        outcomes: list[int | ValidationError] = []
        parsed: list[tuple[int, _Event]] = []
        for i, event in enumerate(events):
            try:
                parsed.append((i, _event(event)))
            except ValidationError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(-1)
        retention_us = self.retention // timedelta(microseconds=1)
        kept: list[tuple[int, _Event, list[float]]] = []
        for wave in _waves(parsed):
            requests, card_after, terminal_after = self._plan([e for _, e in wave])
            views = self.store.read_many(requests)
            fresh: list[tuple[int, _Event, list[float]]] = []
            # one view at a time, dropped once aggregated: a view holds a month of events
            bounds = zip(card_after, terminal_after, strict=True)
            for (i, e), view, (card, terminal) in zip(wave, views, bounds, strict=True):
                try:
                    self._check_lateness(e.time_us, view)
                except ValidationError as exc:
                    outcomes[i] = exc
                    continue
                fresh.append((i, e, _window_values(e, view, card, terminal)))
            recorded = self.store.record_many(
                [
                    (e.card_id, e.terminal_id, StoredEvent(e.transaction_id, e.time_us, e.amount))
                    for _, e, _ in fresh
                ],
                retention_us=retention_us,
                max_lateness_us=self._lateness_us,
            )
            for item, outcome in zip(fresh, recorded, strict=True):
                if outcome is Recorded.TOO_LATE:
                    outcomes[item[0]] = self._too_late()
                else:
                    kept.append(item)
        kept.sort(key=lambda item: item[0])
        for row, (i, _, _) in enumerate(kept):
            outcomes[i] = row
        values = self._matrix([e for _, e, _ in kept], [row for _, _, row in kept])
        return FeatureBatch(self.config.feature_names, values, tuple(outcomes))

    def _plan(
        self, events: Sequence[_Event]
    ) -> tuple[list[ReadRequest], list[list[int]], list[list[int]]]:
        """Return what to read for each event and its windows' lower bounds.

        The reads cover the card's and the terminal's widest window; the bounds are
        per event the exclusive lower bound of each card window and of each terminal
        window (:func:`_card_after`, :func:`_terminal_span`), for :func:`_window_values`.
        """
        config = self.config
        t = np.array([e.time_us for e in events], dtype=np.int64)
        card_after = np.stack([_card_after(t, w) for w in config.windows], axis=1).tolist()
        spans = [_terminal_span(t, w, config.delay_days) for w in config.windows]
        terminal_after = np.stack([after for after, _ in spans], axis=1).tolist()
        until = spans[-1][1].tolist()
        requests = [
            ReadRequest(
                e.card_id,
                e.terminal_id,
                Span(card[-1], e.time_us),
                Span(terminal[-1], u),
            )
            for e, card, terminal, u in zip(events, card_after, terminal_after, until, strict=True)
        ]
        return requests, card_after, terminal_after

    def _too_late(self) -> ValidationError:
        return ValidationError(
            "timestamp is older than the newest event of its card or terminal "
            f"by more than {self.max_lateness}",
            field=_TIMESTAMP,
        )

    def _check_lateness(self, time_us: int, view: StateView) -> None:
        for newest in (view.card_newest_us, view.terminal_newest_us):
            if newest is not None and time_us < newest - self._lateness_us:
                raise self._too_late()

    def _matrix(self, events: Sequence[_Event], rows: Sequence[list[float]]) -> Floats:
        """Return the ``(events, features)`` feature values from the window aggregates.

        ``rows`` are :func:`_window_values`, one per event. One :func:`_assemble` for
        all the events; its element-wise arithmetic gives each event the same values
        whatever the batch.
        """
        config = self.config
        k = len(config.windows)
        if not events:
            return np.empty((0, len(config.feature_names)), dtype=np.float64)
        table = np.array(rows, dtype=np.float64)
        agg = _Aggregates(
            card_count=table[:, 0:k].T,
            card_sum=table[:, k : 2 * k].T,
            earlier_count=table[:, 2 * k],
            earlier_sum=table[:, 2 * k + 1],
            terminal_count=table[:, 2 * k + 2 : 3 * k + 2].T,
            terminal_frauds=table[:, 3 * k + 2 : 4 * k + 2].T,
        )
        t = np.array([e.time_us for e in events], dtype=np.int64)
        amount = np.array([e.amount for e in events], dtype=np.float64)
        return _assemble(t, amount, agg, config).T

    def record(self, event: TransactionEvent) -> bool:
        """Add an event to the state of its card and terminal.

        Parameters
        ----------
        event
            The transaction, usually right after scoring it.

        Returns
        -------
        bool
            ``True`` when added, ``False`` when the store already keeps this
            transaction id (nothing changes: the first record wins).

        Raises
        ------
        ValidationError
            When a field is invalid, or (``field="timestamp"``) the event is older
            than the newest event of its card or terminal by more than
            ``max_lateness``; the state is then unchanged.
        """
        e = _event(event)
        outcome = self.store.record(
            e.card_id,
            e.terminal_id,
            StoredEvent(e.transaction_id, e.time_us, e.amount),
            retention_us=self.retention // timedelta(microseconds=1),
            max_lateness_us=self._lateness_us,
        )
        if outcome is Recorded.TOO_LATE:
            raise self._too_late()
        return outcome is Recorded.ADDED

    def label(self, transaction_id: str, is_fraud: bool | int) -> bool:
        """Record a verdict (chargeback, investigation) for a recorded transaction.

        The label counts in terminal fraud rates of events at least ``delay_days``
        after the labelled transaction; a later label replaces an earlier one.

        Parameters
        ----------
        transaction_id
            The labelled transaction.
        is_fraud
            ``True``/``1`` for fraud, ``False``/``0`` for genuine.

        Returns
        -------
        bool
            ``True`` when the store knows the transaction; ``False`` when it was
            never recorded or is older than :attr:`retention` (it can no longer
            change any feature).

        Raises
        ------
        ValidationError
            When the id is not text or the label not 0/1.
        """
        if not isinstance(transaction_id, str) or not transaction_id:
            raise ValidationError("transaction_id must be non-empty text", field=_TRANSACTION_ID)
        if not isinstance(is_fraud, int | np.integer) or is_fraud not in (0, 1):
            raise ValidationError("is_fraud must be 0 or 1", field=_LABEL)
        return self.store.label(transaction_id, bool(is_fraud))
