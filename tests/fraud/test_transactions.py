from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finai.exceptions import ValidationError
from finai.fraud.transactions import (
    AMOUNT,
    CARD,
    ID,
    LABEL,
    REQUIRED,
    TERMINAL,
    TIME,
    load_transactions,
    normalise,
    parse_columns,
)

CANONICAL = (*REQUIRED, LABEL)
HANDBOOK = {
    ID: "TRANSACTION_ID",
    TIME: "TX_DATETIME",
    CARD: "CUSTOMER_ID",
    TERMINAL: "TERMINAL_ID",
    AMOUNT: "TX_AMOUNT",
    LABEL: "TX_FRAUD",
}


def table(**changes: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            ID: ["b", "a", "c"],
            TIME: ["2026-04-01T10:00:00", "2026-04-01T10:00:00", "2026-04-01T09:00:00"],
            CARD: ["7", "7", "8"],
            TERMINAL: [17, 3, 3],
            AMOUNT: [12.5, 3.0, 250.0],
            LABEL: [0, 0, 1],
            "channel": ["pos", "web", "pos"],
        }
    )
    for name, values in changes.items():
        frame[name] = pd.Series(values, dtype=object)
    return frame


def handbook_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "TRANSACTION_ID": [1, 0, 2],
            "TX_DATETIME": ["2018-04-01 00:00:31", "2018-04-01 00:00:30", "2018-04-01 00:02:10"],
            "CUSTOMER_ID": [596, 4961, 2],
            "TERMINAL_ID": [3156, 3412, 1365],
            "TX_AMOUNT": [57.16, 81.51, 146.0],
            "TX_TIME_SECONDS": [31, 30, 130],
            "TX_FRAUD": [0, 0, 1],
        }
    )


# -- parse_columns -------------------------------------------------------------------------


def test_parse_columns_reads_pairs_in_order() -> None:
    text = " transaction_id = TX_ID ,timestamp=TX DATETIME,amount=a=b"
    assert parse_columns(text) == {ID: "TX_ID", TIME: "TX DATETIME", AMOUNT: "a=b"}
    assert list(parse_columns("amount=A,transaction_id=B")) == [AMOUNT, ID]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("amount=A,,timestamp=T", "part 2 is empty"),
        ("amount=A,", "part 2 is empty"),
        ("amount", "has no '='"),
        ("card=CUSTOMER_ID", "unknown column 'card'"),
        ("=A", "unknown column ''"),
        ("amount=", "no source column for amount"),
        ("amount=A,amount=B", "'amount' twice"),
        ("amount=A,customer_id=A", "maps 'A' to both amount and customer_id"),
    ],
)
def test_parse_columns_rejects_bad_flags(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        parse_columns(text)
    assert info.value.field == "columns"


SOURCE = st.text(
    alphabet=st.characters(blacklist_characters=",", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip() and s != "")


@st.composite
def mappings(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(CANONICAL), min_size=1, max_size=6, unique=True))
    sources = draw(st.lists(SOURCE, min_size=len(names), max_size=len(names), unique=True))
    return dict(zip(names, sources, strict=True))


@given(mapping=mappings(), space=st.sampled_from(["", " ", "  "]))
def test_parse_columns_round_trips_valid_mappings(mapping: dict[str, str], space: str) -> None:
    text = ",".join(
        f"{space}{name}{space}={space}{source}{space}" for name, source in mapping.items()
    )
    assert parse_columns(text) == mapping


TOKENS = st.lists(st.sampled_from([*"=, _aA\t", *CANONICAL]), max_size=20).map("".join)


@given(TOKENS | st.text())
def test_parse_columns_raises_only_validation_errors(text: str) -> None:
    try:
        mapping = parse_columns(text)
    except ValidationError as exc:
        assert exc.field == "columns"
    else:
        assert mapping and set(mapping) <= set(CANONICAL)
        assert len(set(mapping.values())) == len(mapping)
        assert all(source and source == source.strip() for source in mapping.values())


# -- normalise: shape and conversions ------------------------------------------------------


def test_normalise_returns_canonical_sorted_frame() -> None:
    raw = table()
    before = raw.copy()
    out = normalise(raw)
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    assert list(out.columns) == [*REQUIRED, LABEL, "channel"]
    assert out[ID].tolist() == ["c", "a", "b"]  # by time, then id
    assert out["channel"].tolist() == ["pos", "web", "pos"]
    assert isinstance(out.index, pd.RangeIndex) and out.index.equals(pd.RangeIndex(3))
    assert str(out[TIME].dtype) == "datetime64[us, UTC]"
    assert out[AMOUNT].dtype == np.float64
    assert out[LABEL].dtype == "Int8"
    for name in (ID, CARD, TERMINAL):
        assert pd.api.types.is_string_dtype(out[name].dtype)
    assert out[TERMINAL].tolist() == ["3", "3", "17"]


def test_normalise_maps_source_columns_and_keeps_extras() -> None:
    out = normalise(handbook_table(), HANDBOOK)
    assert list(out.columns) == [*REQUIRED, LABEL, "TX_TIME_SECONDS"]
    assert out[ID].tolist() == ["0", "1", "2"]
    assert out[CARD].tolist() == ["4961", "596", "2"]
    assert out[TIME].iloc[0] == pd.Timestamp("2018-04-01 00:00:30", tz="UTC")
    assert out["TX_TIME_SECONDS"].tolist() == [30, 31, 130]
    assert out[LABEL].tolist() == [0, 0, 1]


def test_normalise_without_label_has_no_label_column() -> None:
    out = normalise(table().drop(columns=[LABEL]))
    assert LABEL not in out.columns


def test_whole_float_and_int_ids_become_their_text() -> None:
    out = normalise(table(**{TERMINAL: [17.0, 3.0, 2.5], CARD: [" x ", 7, 8.0]}))
    assert sorted(out[TERMINAL]) == ["17", "2.5", "3"]
    assert sorted(out[CARD]) == ["7", "8", "x"]
    floats = table()
    floats[TERMINAL] = [17.0, 3.0, 4.0]
    assert sorted(normalise(floats)[TERMINAL]) == ["17", "3", "4"]


def test_timestamps_are_utc_whatever_the_input() -> None:
    paris = timezone(timedelta(hours=2))
    texts = ["2026-04-01 12:00:00+02:00", "2026-04-01T10:00:00Z", "2026-04-01 10:00"]
    objects = [
        datetime(2026, 4, 1, 12, tzinfo=paris),
        datetime(2026, 4, 1, 10, tzinfo=UTC),
        "2026-04-01",
    ]
    expected = pd.Timestamp("2026-04-01 10:00", tz="UTC")
    for values in (texts, objects):
        out = normalise(table(**{ID: ["x", "y", "z"], TIME: values}))
        assert out[TIME].iloc[-1] == expected
    aware = table()
    aware[TIME] = pd.to_datetime(aware[TIME]).dt.tz_localize("Europe/Paris")
    assert normalise(aware)[TIME].iloc[0] == pd.Timestamp("2026-04-01 07:00", tz="UTC")
    naive = table()
    naive[TIME] = pd.to_datetime(naive[TIME])
    assert normalise(naive)[TIME].iloc[0] == pd.Timestamp("2026-04-01 09:00", tz="UTC")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([True, False, True], [1, 0, 1]),
        (["1", "0", " 0 "], [0, 0, 1]),
        ([1.0, 0.0, 0.0], [0, 0, 1]),
    ],
)
def test_labels_accept_bool_numbers_and_text(values: list[object], expected: list[int]) -> None:
    # rows sort to c, a, b
    out = normalise(table(**{LABEL: values}))
    assert out[LABEL].tolist() == expected
    bools = table()
    bools[LABEL] = [True, False, False]
    assert normalise(bools)[LABEL].dtype == "Int8"


def test_missing_labels_stay_unknown() -> None:
    # a chargeback may still come: an empty label is "not known yet", not an error
    out = normalise(table(**{LABEL: [1, None, " "]}))
    assert out[LABEL].isna().tolist() == [True, True, False]  # rows b, a, c sort to c, a, b
    assert out[LABEL].dropna().tolist() == [1]


def test_amount_text_is_parsed() -> None:
    assert normalise(table(**{AMOUNT: ["12.5", " 3 ", 250]}))[AMOUNT].tolist() == [250.0, 3.0, 12.5]


# -- normalise: rejections -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({ID: ["a", "b", "a"]}, ID, "transaction id 'a' appears twice \\(rows 1 and 3\\)"),
        ({ID: ["a", " ", "c"]}, ID, "missing or empty value \\(row 2\\)"),
        ({ID: ["a", "b", None]}, ID, "row 3"),
        ({CARD: [None, "1", "2"]}, CARD, "row 1"),
        ({TERMINAL: [1, np.nan, 3]}, TERMINAL, "row 2"),
        ({TIME: ["2026-04-01", "01/04/2026", "2026-04-02"]}, TIME, "ISO 8601.*row 2"),
        ({TIME: ["2026-04-01", "2026-04-01", None]}, TIME, "missing.*row 3"),
        ({TIME: ["2026-04-01", 5, "2026-04-02"]}, TIME, "row 2"),
        ({AMOUNT: [1.0, -0.01, 2.0]}, AMOUNT, "negative \\(row 2\\)"),
        ({AMOUNT: [1.0, 2.0, np.nan]}, AMOUNT, "missing.* \\(row 3\\)"),
        ({AMOUNT: [np.inf, 2.0, -1.0]}, AMOUNT, "infinite \\(row 1\\)"),
        ({AMOUNT: ["1.0", "1,5", "2"]}, AMOUNT, "not a number \\(row 2\\)"),
        ({AMOUNT: [1.0, False, True]}, AMOUNT, "not a number \\(row 2\\)"),
        ({LABEL: [0, 2, 1]}, LABEL, "found '2' \\(row 2\\)"),
        ({LABEL: ["0", "yes", "1"]}, LABEL, "found 'yes' \\(row 2\\)"),
    ],
)
def test_bad_values_name_column_and_row(
    changes: dict[str, list[object]], field: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        normalise(table(**changes))
    assert info.value.field == field


@pytest.mark.parametrize(("name", "values"), [(TIME, [1, 2, 3]), (AMOUNT, [True, False, True])])
def test_columns_of_the_wrong_type_are_rejected(name: str, values: list[object]) -> None:
    frame = table()
    frame[name] = values
    with pytest.raises(ValidationError, match=str(frame[name].dtype)) as info:
        normalise(frame)
    assert info.value.field == name


def test_timestamps_keep_microseconds_and_refuse_far_years() -> None:
    fine = table(**{TIME: ["2026-04-01T09:00:00.123456789", "9999-12-31", "0001-01-01"]})
    out = normalise(fine)
    assert out[TIME].tolist()[1] == pd.Timestamp("2026-04-01 09:00:00.123456", tz="UTC")
    far = table()
    far[TIME] = np.array(["2026-04-01", "2026-04-02", "300000-01-01"], dtype="datetime64[s]")
    with pytest.raises(ValidationError, match="outside the years 1-9999 \\(row 3\\)") as info:
        normalise(far)
    assert info.value.field == TIME


def test_missing_column_points_at_the_mapping() -> None:
    with pytest.raises(ValidationError, match="--columns amount=COLUMN") as info:
        normalise(table().drop(columns=[AMOUNT]))
    assert info.value.field == AMOUNT


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({AMOUNT: "nope"}, "'nope', which is not in the table"),
        ({"card": "channel"}, "unknown column 'card'"),
        ({AMOUNT: "channel"}, "has a column amount and --columns maps 'channel'"),
        ({AMOUNT: "channel", CARD: "channel"}, "maps 'channel' to both"),
    ],
)
def test_bad_mappings_are_rejected(columns: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        normalise(table(), columns)
    assert info.value.field == "columns"


def test_swapped_columns_may_be_mapped() -> None:
    out = normalise(table(), {CARD: TERMINAL, TERMINAL: CARD})
    assert sorted(out[CARD]) == ["17", "3", "3"]


def test_empty_and_non_tables_are_rejected() -> None:
    with pytest.raises(ValidationError, match="no rows"):
        normalise(table().iloc[:0])
    with pytest.raises(ValidationError, match="table"):
        normalise([1, 2])  # type: ignore[arg-type]
    twice = pd.concat([table()[[AMOUNT]], table()], axis=1)
    with pytest.raises(ValidationError, match="more than one amount"):
        normalise(twice)


# -- normalise: properties -----------------------------------------------------------------

MOMENTS = st.sampled_from(
    [datetime(2026, 4, 1, 9), datetime(2026, 4, 1, 9, 0, 0, 500), datetime(2026, 4, 2, 23, 59)]
) | st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31))
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=8)


@st.composite
def transactions(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    id_kind = draw(st.sampled_from(["int", "float", "text"]))
    moments = [draw(MOMENTS).replace(tzinfo=draw(ZONES)) for _ in range(n)]
    as_text = draw(st.booleans())
    frame = pd.DataFrame(
        {
            ID: {"int": ids, "float": [float(i) for i in ids], "text": [f"t{i}" for i in ids]}[
                id_kind
            ],
            TIME: pd.Series([m.isoformat() if as_text else m for m in moments], dtype=object),
            CARD: draw(st.lists(TEXT, min_size=n, max_size=n)),
            TERMINAL: draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)),
            AMOUNT: draw(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=n, max_size=n)),
            LABEL: draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "note": draw(st.lists(TEXT, min_size=n, max_size=n)),
        }
    )
    return frame


def _utc(value: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(frame=transactions(), data=st.data())
def test_valid_frames_survive_in_any_order(frame: pd.DataFrame, data: st.DataObject) -> None:
    out = normalise(frame)
    assert len(out) == len(frame)
    assert list(out.columns) == [*REQUIRED, LABEL, "note"]
    assert str(out[TIME].dtype) == "datetime64[us, UTC]"
    keys = list(zip(out[TIME], out[ID], strict=True))
    assert keys == sorted(keys)
    by_id = out.set_index(ID)
    for _, row in frame.iterrows():
        key = str(row[ID]) if not isinstance(row[ID], float) else str(int(row[ID]))
        assert by_id.loc[key, TIME] == _utc(row[TIME])
        assert by_id.loc[key, AMOUNT] == row[AMOUNT]
        assert by_id.loc[key, TERMINAL] == str(row[TERMINAL])
        assert by_id.loc[key, LABEL] == int(row[LABEL])
        assert by_id.loc[key, "note"] == row["note"]
    order = data.draw(st.permutations(range(len(frame))))
    shuffled = frame.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(normalise(shuffled), out)


BAD_CELLS: dict[str, list[object]] = {
    ID: [None, "", "   "],
    TIME: [None, "", "not a date", "2026-13-01", 12],
    CARD: [None, " ", np.nan],
    TERMINAL: [None, np.nan, ""],
    AMOUNT: [-0.01, np.nan, np.inf, "abc", None],
    LABEL: [2, -1, "yes", 0.5],
}


@FAST
@given(frame=transactions(), data=st.data())
def test_one_bad_cell_is_rejected_with_its_column_and_row(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from(sorted(BAD_CELLS)))
    value = data.draw(st.sampled_from(BAD_CELLS[column]))
    row = data.draw(st.integers(0, len(frame) - 1))
    bad = frame.astype({column: object})
    bad.iloc[row, bad.columns.get_loc(column)] = value
    with pytest.raises(ValidationError) as info:
        normalise(bad)
    assert info.value.field == column
    assert f"row {row + 1})" in str(info.value)


@FAST
@given(frame=transactions().filter(lambda f: len(f) > 1), data=st.data())
def test_a_duplicated_id_is_named(frame: pd.DataFrame, data: st.DataObject) -> None:
    first, second = sorted(data.draw(st.permutations(range(len(frame))))[:2])
    bad = frame.astype({ID: object})
    bad.iloc[second, 0] = bad.iloc[first, 0]
    with pytest.raises(ValidationError, match=f"rows {first + 1} and {second + 1}") as info:
        normalise(bad)
    assert info.value.field == ID


# -- load_transactions ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_load_transactions_reads_files(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"transactions{suffix}"
    raw = handbook_table()
    if suffix == ".parquet":
        raw.to_parquet(path)
    else:
        raw.to_csv(path, index=False)
    out = load_transactions(path, HANDBOOK)
    pd.testing.assert_frame_equal(out, normalise(raw, HANDBOOK))


def test_load_transactions_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist") as info:
        load_transactions(tmp_path / "missing.csv")
    assert info.value.field == "data"
    path = tmp_path / "short.csv"
    handbook_table().to_csv(path, index=False)
    with pytest.raises(ValidationError, match="missing column transaction_id"):
        load_transactions(path)
