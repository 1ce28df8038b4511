"""Time windows of whole UTC days and the train / delay / validation split."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from finai.exceptions import ValidationError
from finai.fraud.windows import (
    Window,
    check_transactions,
    history_before,
    labels_of,
    parse_date,
    time_split,
)


def test_parse_date_reads_iso_dates_and_names_the_field() -> None:
    assert parse_date(" 2026-04-01 ", "start") == date(2026, 4, 1)
    assert parse_date(date(2026, 4, 1), "start") == date(2026, 4, 1)
    for bad in ("01/04/2026", "2026-02-30", "", 20260401):
        with pytest.raises(ValidationError) as caught:
            parse_date(bad, "train_start")
        assert caught.value.field == "train_start"
    with pytest.raises(ValidationError):
        parse_date(pd.Timestamp("2026-04-01 10:00"), "start")  # a date-time, not a day


def test_a_window_holds_whole_utc_days() -> None:
    window = Window.parse("2026-04-01", "2026-04-02")
    stamps = pd.Series(
        pd.to_datetime(
            [
                "2026-03-31T23:59:59.999999Z",
                "2026-04-01T00:00:00Z",
                "2026-04-02T23:59:59Z",
                "2026-04-03T00:00:00Z",
                "2026-04-02T23:30:00-01:00",  # 00:30 UTC on April 3
            ],
            utc=True,
            format="ISO8601",
        )
    )
    assert window.contains(stamps).tolist() == [False, True, True, False, False]
    assert window.days == 2
    assert str(window) == "2026-04-01..2026-04-02"


def test_end_before_start_names_the_end_field() -> None:
    with pytest.raises(ValidationError, match="train_end 2026-03-31 is before") as caught:
        Window.parse("2026-04-01", "2026-03-31", start_field="train_start", end_field="train_end")
    assert caught.value.field == "train_end"
    with pytest.raises(ValidationError) as caught:
        Window(date(2026, 4, 2), date(2026, 4, 1))
    assert caught.value.field == "end"


def test_time_split_leaves_a_gap_of_the_delay_before_validation() -> None:
    split = time_split(Window.parse("2026-04-01", "2026-04-30"), 7)
    assert (split.fit.start, split.fit.end) == (date(2026, 4, 1), date(2026, 4, 17))
    assert (split.validation.start, split.validation.end) == (date(2026, 4, 25), date(2026, 4, 30))
    assert (split.validation.start - split.fit.end).days == 7 + 1  # 7 whole days between
    assert split.to_dict()["delay_days"] == 7
    custom = time_split(Window.parse("2026-04-01", "2026-04-30"), 0, validation_days=10)
    assert custom.fit.end == date(2026, 4, 20) and custom.validation.start == date(2026, 4, 21)


def test_time_split_refuses_a_window_too_short() -> None:
    with pytest.raises(ValidationError, match="needs at least 9") as caught:
        time_split(Window.parse("2026-04-01", "2026-04-08"), 7)
    assert caught.value.field == "train_end"
    with pytest.raises(ValidationError) as caught:
        time_split(Window.parse("2026-04-01", "2026-04-30"), -1)
    assert caught.value.field == "delay_days"


def test_history_before_drops_what_comes_after_the_window() -> None:
    frame = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-04-01", "2026-04-03", "2026-04-02"], utc=True)}
    )
    kept = history_before(frame, Window.parse("2026-04-01", "2026-04-02"))
    assert kept.index.tolist() == [0, 2]


def test_check_transactions_wants_aware_timestamps() -> None:
    with pytest.raises(ValidationError) as caught:
        check_transactions(pd.DataFrame({"timestamp": ["2026-04-01"]}))
    assert caught.value.field == "timestamp"
    with pytest.raises(ValidationError):
        check_transactions([1, 2])


def test_labels_of_wants_every_label_of_the_rows() -> None:
    frame = pd.DataFrame({"is_fraud": [0.0, np.nan, 1.0]})
    assert labels_of(frame, np.array([True, False, True]), "test").tolist() == [0, 1]
    with pytest.raises(ValidationError, match="1 transaction") as caught:
        labels_of(frame, np.array([True, True, True]), "test")
    assert caught.value.field == "is_fraud"
    with pytest.raises(ValidationError, match="no is_fraud column"):
        labels_of(frame.drop(columns="is_fraud"), np.array([True, True, True]), "test")
