"""A seeded simulator of card transactions with three known fraud patterns.

After the transaction data simulator of Le Borgne et al., *Reproducible Machine
Learning for Credit Card Fraud Detection - Practical Handbook* (chapter 3), written
afresh and vectorised:

* customers live at a point of a 100 x 100 grid and have a mean amount (uniform
  5-100, standard deviation half the mean) and a mean number of transactions a day
  (uniform 0-4); terminals stand at points of the same grid;
* a customer uses the terminals within ``radius`` of where they live, each equally
  often; a customer with none makes no transactions;
* each day a customer makes Poisson(mean a day) transactions, at a time of day drawn
  from a normal around noon (standard deviation 20,000 s) truncated to the day, for
  an amount drawn from their normal (a negative draw is redrawn uniform in
  ``[0, 2 * mean]``), rounded to cents.

Fraud, in the column ``fraud_scenario`` (later scenarios win) and ``is_fraud``:

1. every amount above :data:`LARGE_AMOUNT` (220) is fraud;
2. each day :data:`COMPROMISED_TERMINALS` terminals per 10,000 are compromised: all
   their transactions that day and the next 27 (:data:`TERMINAL_WINDOW` days) are
   fraud;
3. each day :data:`COMPROMISED_CUSTOMERS` customers per 5,000 are compromised: over
   that day and the next 13 (:data:`CUSTOMER_WINDOW` days) a third of their
   transactions (rounded down; a customer compromised again starts a new window)
   have their amount multiplied by :data:`FRAUD_FACTOR` (5) and are fraud.

The number compromised a day scales with the population (a fractional number is
rounded up or down at random), so the fraud rate is about the same at any size:
about 0.8 % of transactions, as in the Handbook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.transactions import AMOUNT, CARD, ID, LABEL, TERMINAL, TIME

__all__ = [
    "COMPROMISED_CUSTOMERS",
    "COMPROMISED_TERMINALS",
    "CUSTOMER_WINDOW",
    "FRAUD_FACTOR",
    "LARGE_AMOUNT",
    "SCENARIO",
    "TERMINAL_WINDOW",
    "simulate",
]

SCENARIO = "fraud_scenario"
"""Column of the fraud scenario: 0 genuine, 1 large amount, 2 terminal, 3 customer."""
LARGE_AMOUNT = 220.0
"""Scenario 1: amounts above this are fraud."""
COMPROMISED_TERMINALS = 2
"""Scenario 2: terminals compromised a day, per 10,000 terminals."""
TERMINAL_WINDOW = 28
"""Scenario 2: days a compromised terminal stays compromised, its first day included."""
COMPROMISED_CUSTOMERS = 3
"""Scenario 3: customers compromised a day, per 5,000 customers."""
CUSTOMER_WINDOW = 14
"""Scenario 3: days a compromised customer's card is abused, its first day included."""
FRAUD_FACTOR = 5
"""Scenario 3: a fraudulent amount is the genuine one times this."""

GRID = 100.0
DAY = 86_400
_NOON_SD = 20_000.0
_SHARE = 3  # scenario 3 abuses one transaction in _SHARE
_CHUNK = 4_000_000  # distances computed at a time


@dataclass(frozen=True)
class _Draw:
    """One simulation before it becomes a frame; one entry a transaction, unsorted."""

    customer: np.ndarray
    terminal: np.ndarray
    day: np.ndarray
    second: np.ndarray
    genuine_amount: np.ndarray
    amount: np.ndarray
    scenario: np.ndarray
    compromised_terminals: tuple[np.ndarray, np.ndarray]  # (terminal, day)
    compromised_customers: tuple[np.ndarray, np.ndarray]  # (customer, day)


def simulate(
    *,
    customers: int = 5000,
    terminals: int = 10000,
    days: int = 183,
    seed: int = 0,
    start: str | date = "2026-04-01",
    radius: float = 5.0,
) -> pd.DataFrame:
    """Simulate card transactions with labelled fraud; the same seed, the same frame.

    The defaults are the Handbook's scale: about 1.7 million transactions, 0.8 % fraud.

    Parameters
    ----------
    customers
        Number of customers (cards), >= 1.
    terminals
        Number of terminals, >= 1.
    days
        Number of days simulated, >= 1.
    seed
        Seed (>= 0) of the random streams.
    start
        First simulated day, a date or ISO 8601 date text; days run midnight to
        midnight UTC.
    radius
        Distance on the 100 x 100 grid within which a customer uses terminals, > 0.

    Returns
    -------
    pandas.DataFrame
        A canonical transaction frame (see :mod:`finai.fraud.transactions`):
        ``transaction_id`` (``"t0000000000"`` on, in time order), ``timestamp``
        (UTC, whole seconds), ``customer_id`` and ``terminal_id`` (``"0"`` on),
        ``amount``, ``is_fraud`` (``Int8``) and ``fraud_scenario`` (``int8``, 0-3),
        sorted by time.

    Raises
    ------
    ValidationError
        For an argument out of range (the field names it), or when no customer has
        a terminal within ``radius`` and so no transaction is made.

    Examples
    --------
    >>> frame = simulate(customers=50, terminals=100, days=7, seed=1)
    >>> list(frame.columns)[:4]
    ['transaction_id', 'timestamp', 'customer_id', 'terminal_id']
    """
    _check_whole(customers, "customers", 1)
    _check_whole(terminals, "terminals", 1)
    _check_whole(days, "days", 1)
    _check_whole(seed, "seed", 0)
    if (
        isinstance(radius, bool)
        or not isinstance(radius, int | float)
        or not (math.isfinite(radius) and radius > 0)
    ):
        raise ValidationError(f"radius must be a number > 0, got {radius!r}", field="radius")
    first = _first_day(start, days)
    draw = _draw(customers, terminals, days, seed, float(radius))
    if len(draw.customer) == 0:
        raise ValidationError(
            f"no customer has a terminal within radius {radius}, so there are no"
            " transactions; use more terminals or a larger radius",
            field="radius",
        )
    return _frame(draw, first)


# -- arguments ----------------------------------------------------------------------------


def _check_whole(value: object, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValidationError(
            f"{name} must be a whole number >= {minimum}, got {value!r}", field=name
        )


def _first_day(start: object, days: int) -> date:
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            raise ValidationError(
                f"start must be an ISO 8601 date such as 2026-04-01, got {start!r}",
                field="start",
            ) from None
    if isinstance(start, datetime) or not isinstance(start, date):
        raise ValidationError(
            f"start must be a date (the first day, UTC), got {type(start).__name__}",
            field="start",
        )
    try:
        end = start + timedelta(days=days)
    except OverflowError:
        end = date.max
    if start.year < 1700 or end.year > 2200:
        raise ValidationError(
            f"start and the {days} days after it must lie between 1700 and 2200", field="start"
        )
    return start


# -- simulation ---------------------------------------------------------------------------


def _draw(customers: int, terminals: int, days: int, seed: int, radius: float) -> _Draw:
    places, habits, shopping, terminal_fraud, customer_fraud = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(seed).spawn(5)
    )
    home = places.uniform(0.0, GRID, (2, customers))
    sites = places.uniform(0.0, GRID, (2, terminals))
    mean_amount = habits.uniform(5.0, 100.0, customers)
    per_day = habits.uniform(0.0, 4.0, customers)
    offsets, nearby = _neighbours(home, sites, radius)
    reachable = np.diff(offsets)

    counts = shopping.poisson(per_day[:, None], (customers, days))
    counts[reachable == 0] = 0
    cell = np.repeat(np.arange(customers * days), counts.ravel())
    customer, day = np.divmod(cell, days)
    n = len(cell)
    second = _times_of_day(shopping, n)
    mean = mean_amount[customer]
    genuine = shopping.normal(mean, mean / 2)
    negative = np.flatnonzero(genuine < 0)
    genuine[negative] = shopping.uniform(0.0, 2 * mean[negative])
    genuine = np.round(genuine, 2)
    pick = offsets[customer] + (shopping.random(n) * reachable[customer]).astype(np.int64)
    terminal = nearby[pick].astype(np.int64)

    scenario = np.zeros(n, dtype=np.int8)
    scenario[genuine > LARGE_AMOUNT] = 1
    bad_terminals = _compromised(terminal_fraud, terminals, days, COMPROMISED_TERMINALS, 10_000)
    scenario[_latest_event(terminal, day, bad_terminals, TERMINAL_WINDOW) >= 0] = 2
    bad_customers = _compromised(customer_fraud, customers, days, COMPROMISED_CUSTOMERS, 5_000)
    window = _latest_event(customer, day, bad_customers, CUSTOMER_WINDOW)
    abused = _share_of_each(customer_fraud, window, _SHARE)
    amount = genuine.copy()
    amount[abused] = np.round(genuine[abused] * FRAUD_FACTOR, 2)
    scenario[abused] = 3
    return _Draw(
        customer=customer,
        terminal=terminal,
        day=day,
        second=second,
        genuine_amount=genuine,
        amount=amount,
        scenario=scenario,
        compromised_terminals=bad_terminals,
        compromised_customers=bad_customers,
    )


def _neighbours(
    home: np.ndarray, sites: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return CSR ``offsets`` and ``nearby`` terminals of each customer, in index order."""
    customers, terminals = home.shape[1], sites.shape[1]
    step = max(1, _CHUNK // terminals)
    counts, found = [], []
    for low in range(0, customers, step):
        x, y = home[0, low : low + step, None], home[1, low : low + step, None]
        rows, columns = np.nonzero((x - sites[0]) ** 2 + (y - sites[1]) ** 2 < radius**2)
        counts.append(np.bincount(rows, minlength=len(x)))
        found.append(columns.astype(np.int32))
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
    return offsets, np.concatenate(found)


def _times_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return whole seconds in ``[0, DAY)``, normal around noon, redrawn outside the day."""
    seconds = rng.normal(DAY / 2, _NOON_SD, n)
    outside = np.flatnonzero((seconds < 0) | (seconds >= DAY))
    while len(outside):
        seconds[outside] = rng.normal(DAY / 2, _NOON_SD, len(outside))
        outside = outside[(seconds[outside] < 0) | (seconds[outside] >= DAY)]
    return seconds.astype(np.int64)


def _compromised(
    rng: np.random.Generator, population: int, days: int, per: int, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``per`` items per ``scale`` a day without repeats in a day: (item, day)."""
    expected = per * population / scale
    whole = math.floor(expected)
    counts = np.minimum(whole + (rng.random(days) < expected - whole), population)
    items = [rng.choice(population, k, replace=False) for k in counts.tolist()]
    return np.concatenate([np.zeros(0, np.int64), *items]), np.repeat(np.arange(days), counts)


def _latest_event(
    items: np.ndarray, days: np.ndarray, events: tuple[np.ndarray, np.ndarray], window: int
) -> np.ndarray:
    """Return the latest event of each row's item in its last ``window`` days, or -1."""
    item, day = events
    if len(item) == 0:
        return np.full(len(items), -1)
    stride = int(max(days.max(initial=0), day.max()) + 1)
    keys = item * stride + day
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    position = np.maximum(np.searchsorted(keys, items * stride + days, side="right") - 1, 0)
    found = keys[position]
    inside = (
        (found // stride == items)
        & (days - found % stride < window)
        & (found <= items * stride + days)
    )
    return np.where(inside, order[position], -1)


def _share_of_each(rng: np.random.Generator, group: np.ndarray, share: int) -> np.ndarray:
    """Choose ``len(group) // share`` rows at random from each group (``-1``: none)."""
    rows = np.flatnonzero(group >= 0)
    groups = group[rows]
    quota = np.bincount(groups) // share if len(groups) else np.zeros(0, np.int64)
    order = np.lexsort((rng.random(len(rows)), groups))
    ordered = groups[order]
    rank = np.arange(len(ordered)) - np.searchsorted(ordered, ordered, side="left")
    chosen = np.zeros(len(group), dtype=bool)
    chosen[rows[order[rank < quota[ordered]]]] = True
    return chosen


# -- frame --------------------------------------------------------------------------------


def _frame(draw: _Draw, first: date) -> pd.DataFrame:
    seconds = draw.day * DAY + draw.second
    order = np.argsort(seconds, kind="stable")
    n = len(order)
    base = np.datetime64(first.isoformat(), "us")
    stamps = pd.DatetimeIndex(base + seconds[order].astype("timedelta64[s]")).tz_localize("UTC")
    scenario = draw.scenario[order]
    return pd.DataFrame(
        {
            ID: "t" + pd.Series(np.arange(n)).astype("str").str.pad(10, fillchar="0"),
            TIME: pd.Series(stamps.as_unit("us")),
            CARD: _names(draw.customer[order]),
            TERMINAL: _names(draw.terminal[order]),
            AMOUNT: pd.Series(draw.amount[order], dtype="float64"),
            LABEL: pd.Series(scenario > 0, dtype="Int8"),
            SCENARIO: pd.Series(scenario, dtype="int8"),
        }
    )


def _names(numbers: np.ndarray) -> pd.Series:
    return pd.Series(numbers).astype("str")
