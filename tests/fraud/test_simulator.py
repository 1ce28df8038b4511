from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from finai.exceptions import ValidationError
from finai.fraud import simulator
from finai.fraud.simulator import (
    CUSTOMER_WINDOW,
    FRAUD_FACTOR,
    LARGE_AMOUNT,
    SCENARIO,
    TERMINAL_WINDOW,
    simulate,
)
from finai.fraud.transactions import AMOUNT, CARD, ID, LABEL, REQUIRED, TERMINAL, TIME, normalise

SMALL = {"customers": 200, "terminals": 400, "days": 30}
MODERATE = {"customers": 1000, "terminals": 2000, "days": 90}


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return simulate(**SMALL, seed=7)


@pytest.fixture(scope="module")
def moderate() -> pd.DataFrame:
    return simulate(**MODERATE, seed=3)


@pytest.fixture(scope="module")
def draw() -> simulator._Draw:
    return simulator._draw(seed=3, radius=5.0, **MODERATE)


def test_same_seed_same_frame_other_seed_other_frame(small: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(simulate(**SMALL, seed=7), small)
    other = simulate(**SMALL, seed=8)
    assert len(other) != len(small) or not other[AMOUNT].equals(small[AMOUNT])


def test_frame_is_already_canonical(small: pd.DataFrame) -> None:
    assert list(small.columns) == [*REQUIRED, LABEL, SCENARIO]
    pd.testing.assert_frame_equal(normalise(small), small)
    assert small[ID].is_unique
    assert small[ID].iloc[0] == "t0000000000"
    assert small[TIME].is_monotonic_increasing
    assert small[SCENARIO].dtype == np.int8
    assert (small[LABEL] == (small[SCENARIO] > 0)).all()


def test_transactions_lie_in_the_simulated_days(small: pd.DataFrame) -> None:
    start = pd.Timestamp("2026-04-01", tz="UTC")
    assert small[TIME].min() >= start
    assert small[TIME].max() < start + pd.Timedelta(days=SMALL["days"])
    assert (small[TIME].dt.microsecond == 0).all()
    hours = small[TIME].dt.hour
    assert 11 <= hours.median() <= 13  # around noon
    for first in (date(2025, 1, 2), "2025-01-02"):
        frame = simulate(customers=20, terminals=40, days=2, start=first, seed=1)
        assert frame[TIME].min() >= pd.Timestamp("2025-01-02", tz="UTC")


def test_amounts_and_ids_look_like_the_handbook(moderate: pd.DataFrame) -> None:
    assert (moderate[AMOUNT] >= 0).all()
    assert np.allclose(moderate[AMOUNT], moderate[AMOUNT].round(2))
    genuine = moderate[moderate[SCENARIO] == 0][AMOUNT]
    assert 40 < genuine.mean() < 70  # means uniform in 5-100
    assert set(moderate[CARD].astype(int)) <= set(range(MODERATE["customers"]))
    assert set(moderate[TERMINAL].astype(int)) <= set(range(MODERATE["terminals"]))
    per_customer_day = len(moderate) / MODERATE["customers"] / MODERATE["days"]
    assert 1.5 < per_customer_day < 2.1  # means uniform in 0-4; some have no terminal


def test_fraud_rate_is_small_and_every_scenario_occurs(
    small: pd.DataFrame, moderate: pd.DataFrame
) -> None:
    assert 0 < small[LABEL].mean() < 0.05  # a handful of compromised terminals: noisy
    assert 0.005 < moderate[LABEL].mean() < 0.01
    assert set(moderate[SCENARIO]) == {0, 1, 2, 3}


@pytest.mark.slow
def test_handbook_scale_has_the_handbooks_fraud_rate() -> None:
    frame = simulate()  # 5,000 customers, 10,000 terminals, 183 days
    assert 1_600_000 < len(frame) < 1_900_000
    assert 0.007 < frame[LABEL].mean() < 0.01
    shares = frame[SCENARIO].value_counts(normalize=True)
    assert shares[2] > shares[3] > shares[1] > 0


def test_scenario_1_is_every_large_amount(moderate: pd.DataFrame) -> None:
    large = moderate[AMOUNT] > LARGE_AMOUNT
    assert (moderate.loc[moderate[SCENARIO] == 1, AMOUNT] > LARGE_AMOUNT).all()
    assert (moderate.loc[large, LABEL] == 1).all()
    assert (moderate.loc[moderate[SCENARIO] == 0, AMOUNT] <= LARGE_AMOUNT).all()


def test_scenario_2_is_every_transaction_at_a_compromised_terminal(draw: simulator._Draw) -> None:
    terminal, day = draw.compromised_terminals
    assert 15 < len(terminal) < 60  # 2 per 10,000 terminals a day: 0.4 a day here
    assert set(np.bincount(day, minlength=MODERATE["days"])) <= {0, 1}
    hit = np.zeros(len(draw.terminal), dtype=bool)
    for t, d in zip(terminal.tolist(), day.tolist(), strict=True):
        hit |= (draw.terminal == t) & (draw.day >= d) & (draw.day < d + TERMINAL_WINDOW)
    assert hit.any()
    np.testing.assert_array_equal(draw.scenario == 2, hit & (draw.scenario != 3))


def test_scenario_3_multiplies_a_third_of_compromised_spending(draw: simulator._Draw) -> None:
    abused = draw.scenario == 3
    assert abused.any()
    np.testing.assert_allclose(draw.amount[abused], draw.genuine_amount[abused] * FRAUD_FACTOR)
    np.testing.assert_array_equal(draw.amount[~abused], draw.genuine_amount[~abused])
    customer, day = draw.compromised_customers
    assert 27 < len(customer) < 81  # 3 per 5,000 customers a day: 0.6 a day here
    covered = np.zeros(len(draw.customer), dtype=bool)
    for c, d in zip(customer.tolist(), day.tolist(), strict=True):
        window = (draw.customer == c) & (draw.day >= d) & (draw.day < d + CUSTOMER_WINDOW)
        covered |= window
    assert not (abused & ~covered).any()
    # about a third (rounded down per window) of the covered transactions
    assert covered.sum() / 3 - len(customer) <= abused.sum() <= covered.sum() / 3


def test_scenario_3_amounts_are_five_times_the_customers_usual(moderate: pd.DataFrame) -> None:
    usual = moderate[moderate[SCENARIO] == 0].groupby(CARD)[AMOUNT].median()
    abused = moderate[moderate[SCENARIO] == 3]
    ratio = (abused[AMOUNT] / abused[CARD].map(usual)).median()
    assert 3.5 < ratio < 7
    cents = np.round(abused[AMOUNT].to_numpy() * 100).astype(np.int64)
    assert (cents % FRAUD_FACTOR == 0).all()


def test_customers_use_terminals_within_the_radius() -> None:
    home = np.array([[10.0, 90.0], [10.0, 90.0]])  # two customers
    sites = np.array([[10.0, 14.0, 16.0, 50.0], [10.0, 10.0, 10.0, 50.0]])
    offsets, nearby = simulator._neighbours(home, sites, 5.0)
    assert offsets.tolist() == [0, 2, 2]
    assert nearby.tolist() == [0, 1]


def test_no_reachable_terminal_is_an_error() -> None:
    with pytest.raises(ValidationError, match="no customer has a terminal") as info:
        simulate(customers=3, terminals=1, days=1, radius=1e-9)
    assert info.value.field == "radius"


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("customers", 0),
        ("customers", 2.0),
        ("terminals", -1),
        ("terminals", True),
        ("days", 0),
        ("seed", -1),
        ("seed", "1"),
        ("radius", 0.0),
        ("radius", float("nan")),
        ("radius", float("inf")),
        ("radius", "5"),
        ("start", "01/04/2026"),
        ("start", datetime(2026, 4, 1, 12)),
        ("start", 20260401),
        ("start", "2299-01-01"),
    ],
)
def test_arguments_are_validated(argument: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        simulate(**{"customers": 20, "terminals": 40, "days": 2, argument: value})  # type: ignore[arg-type]
    assert info.value.field == argument
