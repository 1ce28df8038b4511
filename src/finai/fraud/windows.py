"""Time windows of whole UTC days, and the train / delay / validation split.

Fraud models are judged on the future, never on a random sample of the past: a
model trained on one period is tested on a later one, with a **delay** between the
two as long as the label delay (chargebacks arrive days late, so at the time the
model goes live the most recent labels are not known yet). After the Fraud
Detection Handbook (Le Borgne et al., ch. 5.2)::

    train_start                                   train_end
    |-------- fit --------|--- delay ---|-- validation --|--- delay ---|--- test ---|

Inside the train window the last days (after a delay gap of their own) are held
out: they choose the boosting rounds and the alert thresholds, and give the
validation metrics stored with the model. Dates are whole days, UTC; a window
holds the transactions from ``start`` 00:00 up to, not including, the day after
``end`` 00:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.transactions import LABEL, TIME

__all__ = [
    "TimeSplit",
    "Window",
    "check_transactions",
    "history_before",
    "labels_of",
    "parse_date",
    "time_split",
]

Ints8 = npt.NDArray[np.int8]

VALIDATION_SHARE = 0.25
"""Share of the train window (after the delay gap) held out for validation by default."""


def parse_date(value: object, field: str) -> date:
    """Return a date from ISO 8601 text (``2026-04-01``) or a ``date``.

    Raises
    ------
    ValidationError
        (``field=field``) for anything else, a date-time included.

    Examples
    --------
    >>> parse_date("2026-04-01", "start")
    datetime.date(2026, 4, 1)
    """
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                f"{field} must be a date such as 2026-04-01, got {value[:40]!r}", field=field
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValidationError(
        f"{field} must be a date such as 2026-04-01, got {type(value).__name__}", field=field
    )


@dataclass(frozen=True)
class Window:
    """Whole UTC days from ``start`` to ``end``, both included.

    Raises
    ------
    ValidationError
        When ``end`` is before ``start`` (``field="end"``).
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError(f"end {self.end} is before start {self.start}", field="end")

    @classmethod
    def parse(
        cls, start: object, end: object, *, start_field: str = "start", end_field: str = "end"
    ) -> Window:
        """Return the window of two dates; errors name ``start_field`` or ``end_field``.

        Raises
        ------
        ValidationError
            For a date that does not parse, or ``end`` before ``start``.
        """
        first, last = parse_date(start, start_field), parse_date(end, end_field)
        if last < first:
            raise ValidationError(
                f"{end_field} {last} is before {start_field} {first}", field=end_field
            )
        return cls(first, last)

    @property
    def days(self) -> int:
        """Number of days in the window."""
        return (self.end - self.start).days + 1

    @property
    def lower(self) -> pd.Timestamp:
        """First instant inside the window (``start`` 00:00 UTC)."""
        return pd.Timestamp(self.start, tz="UTC")

    @property
    def upper(self) -> pd.Timestamp:
        """First instant after the window (the day after ``end``, 00:00 UTC)."""
        return pd.Timestamp(self.end + timedelta(days=1), tz="UTC")

    def contains(self, timestamps: pd.Series) -> npt.NDArray[np.bool_]:
        """Which of the (timezone-aware) timestamps fall inside the window."""
        inside = (timestamps >= self.lower) & (timestamps < self.upper)
        return np.asarray(inside, dtype=bool)

    def to_dict(self) -> dict[str, str]:
        """Return ``{"start": ISO date, "end": ISO date}``."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class TimeSplit:
    """A train window cut into a fit part, a delay gap and a validation part.

    Attributes
    ----------
    train
        The whole train window.
    fit
        The days the estimator learns from.
    validation
        The last days of the train window, after ``delay_days`` days of gap.
    delay_days
        Days between the end of ``fit`` and the start of ``validation`` (the label
        delay); the transactions in the gap are used by no part.
    """

    train: Window
    fit: Window
    validation: Window
    delay_days: int

    def to_dict(self) -> dict[str, object]:
        """Return the windows as ISO dates and the delay."""
        return {
            "train": self.train.to_dict(),
            "fit": self.fit.to_dict(),
            "validation": self.validation.to_dict(),
            "delay_days": self.delay_days,
        }


def time_split(train: Window, delay_days: int, validation_days: int | None = None) -> TimeSplit:
    """Cut ``train`` into fit days, a gap of ``delay_days`` and validation days.

    Parameters
    ----------
    train
        The train window.
    delay_days
        Gap between fit and validation, in days (>= 0), the label delay.
    validation_days
        Days held out at the end; by default a quarter of the days after the gap
        (:data:`VALIDATION_SHARE`), at least 1.

    Raises
    ------
    ValidationError
        When the window is too short for at least one fit day, the gap and one
        validation day (``field="train_end"``), or an argument is out of range.

    Examples
    --------
    >>> split = time_split(Window(date(2026, 4, 1), date(2026, 4, 30)), 7)
    >>> str(split.fit), str(split.validation)
    ('2026-04-01..2026-04-17', '2026-04-25..2026-04-30')
    """
    if isinstance(delay_days, bool) or not isinstance(delay_days, int) or delay_days < 0:
        raise ValidationError(
            f"delay_days must be a whole number >= 0, got {delay_days!r}", field="delay_days"
        )
    usable = train.days - delay_days
    if validation_days is None:
        validation_days = max(1, round(VALIDATION_SHARE * usable))
    elif (
        isinstance(validation_days, bool)
        or not isinstance(validation_days, int)
        or validation_days < 1
    ):
        raise ValidationError(
            f"validation_days must be a whole number >= 1, got {validation_days!r}",
            field="validation_days",
        )
    fit_days = usable - validation_days
    if fit_days < 1:
        raise ValidationError(
            f"the train window {train} has {train.days} days; it needs at least"
            f" {delay_days + validation_days + 1} (fit days, a {delay_days}-day delay and"
            f" {validation_days} validation days)",
            field="train_end",
        )
    fit = Window(train.start, train.start + timedelta(days=fit_days - 1))
    validation = Window(train.end - timedelta(days=validation_days - 1), train.end)
    return TimeSplit(train=train, fit=fit, validation=validation, delay_days=delay_days)


def check_transactions(transactions: object) -> pd.DataFrame:
    """Return ``transactions`` if it is a table with timezone-aware timestamps.

    Raises
    ------
    ValidationError
        Otherwise; read files with :func:`finai.fraud.transactions.load_transactions`.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise ValidationError(
            f"transactions must be a table, got {type(transactions).__name__}", field="frame"
        )
    if TIME not in transactions.columns:
        raise ValidationError(f"missing column {TIME}", field=TIME)
    if not isinstance(transactions[TIME].dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"column {TIME} must hold timezone-aware date-times; read the table with"
            " load_transactions or normalise it",
            field=TIME,
        )
    return transactions


def history_before(transactions: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Return the transactions before the end of ``window``, in the order given.

    Features only look back, so this is all a window's features can depend on.
    """
    earlier = np.asarray(transactions[TIME] < window.upper, dtype=bool)
    return transactions if earlier.all() else transactions.loc[earlier]


def labels_of(transactions: pd.DataFrame, rows: npt.NDArray[np.bool_], part: str) -> Ints8:
    """Return the 0/1 labels of the ``rows``; every one must be known.

    Raises
    ------
    ValidationError
        (``field="is_fraud"``) when the table has no label column, or a label of
        those rows is missing or not 0/1; ``part`` names the rows in the message.
    """
    if LABEL not in transactions.columns:
        raise ValidationError(
            f"the {part} needs labels: the table has no {LABEL} column", field=LABEL
        )
    values = pd.to_numeric(transactions[LABEL].loc[rows], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    unknown = int(np.count_nonzero(~np.isin(values, (0.0, 1.0))))
    if unknown:
        raise ValidationError(
            f"{LABEL} is missing or not 0/1 for {unknown} transaction(s) of the {part};"
            " labels must be known there",
            field=LABEL,
        )
    labels: Ints8 = values.astype(np.int8)
    return labels
