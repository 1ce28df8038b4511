"""Small seeded simulations and models trained on them, made once per test run.

The frames are shared: a test that changes one works on a copy.

Timeline of :func:`history` (60 days from 2026-04-01): train window April 1 to May 5
(fit April 1-21, gap April 22-28, validation April 29 - May 5), a delay of 7 days,
then the test period May 13-30.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from finai.fraud.simulator import simulate
from finai.fraud.training import TrainResult, train

TRAIN_START, TRAIN_END = "2026-04-01", "2026-05-05"
TEST_START, TEST_END = "2026-05-13", "2026-05-30"


@cache
def history() -> pd.DataFrame:
    """300 customers, 600 terminals, 60 days: about 37,000 transactions, 1 % fraud."""
    return simulate(customers=300, terminals=600, days=60, seed=1)


@cache
def trained(algorithm: str = "lightgbm") -> TrainResult:
    """A model of ``algorithm`` trained on the train window of :func:`history`."""
    return train(
        history(), train_start=TRAIN_START, train_end=TRAIN_END, algorithm=algorithm, seed=7
    )
