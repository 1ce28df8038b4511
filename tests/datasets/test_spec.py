from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from finai.datasets import make_loan_book
from finai.datasets.spec import DatasetSpec, check_scoring_frame, load_table, prepare
from finai.exceptions import ValidationError


def loans(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    return pd.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(n)],
            "monthly_income": rng.uniform(1000, 5000, n).round(2),
            "city": (["Paris", " Lyon ", None] * n)[:n],
            "sex": (["f", "m"] * n)[:n],
            "notes": ["x"] * n,
            "terms": [12, 24, 36, 12, 24, 36][:n],
            "default": [0, 1] * (n // 2),
        }
    )


LOANS_SPEC = DatasetSpec(target="default", id="loan_id", drop=("notes",), protected=("sex",))


# -- DatasetSpec ---------------------------------------------------------------------------


def test_spec_round_trips_through_dict_and_yaml(tmp_path: Path) -> None:
    spec = DatasetSpec(
        target="default",
        bad="yes",
        id="loan_id",
        drop=("notes",),
        protected=("sex", "age"),
        categorical=("city",),
        numeric=("income",),
        monotone={"income": -1},
        labels={"income": "Monthly income", "sex": "Sex"},
    )
    assert DatasetSpec.from_dict(spec.to_dict()) == spec
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    assert DatasetSpec.from_yaml(path) == spec
    assert DatasetSpec.from_yaml_text(yaml.safe_dump(spec.to_dict())) == spec
    assert set(spec.to_dict()) == {
        "target",
        "bad",
        "id",
        "drop",
        "protected",
        "categorical",
        "numeric",
        "monotone",
        "labels",
    }


def test_spec_from_hand_written_yaml_takes_numbers_and_single_names(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("target: risk\nbad: 2\ndrop: notes\nprotected: [age, sex]\n")
    spec = DatasetSpec.from_yaml(path)
    assert spec == DatasetSpec(target="risk", bad="2", drop=("notes",), protected=("age", "sex"))
    assert spec.categorical is None and spec.numeric is None


def test_spec_from_yaml_reads_labels_and_monotone_words(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "target: default\n"
        "protected: [age]\n"
        "monotone:\n  income: decreasing\n  debt: +1\n  inquiries: '-1'\n"
        "labels:\n"
        "  checking: '  Checking account status '\n"
        "  age: Age in years\n"
        "  12: Twelve\n"
    )
    spec = DatasetSpec.from_yaml(path)
    assert spec.monotone == {"income": -1, "debt": 1, "inquiries": -1}
    assert spec.labels == {
        "checking": "Checking account status",
        "age": "Age in years",
        "12": "Twelve",
    }


def test_spec_from_dict_takes_monotone_in_the_command_line_form() -> None:
    spec = DatasetSpec.from_dict(
        {"target": "t", "monotone": ["income=-1", "debt = +1", "a=b=increasing"]}
    )
    assert spec.monotone == {"income": -1, "debt": 1, "a=b": 1}


@pytest.mark.parametrize(
    ("monotone", "words"),
    [
        (["income"], "the entry 'income' does not read COLUMN="),
        (["=1"], "the entry '=1' does not read"),
        ([["income", 1]], "the entry list does not read"),
        (["x=1", "x=-1"], "column 'x' twice"),
        (["x=up"], "direction of 'x' must be \\+1 or -1, got 'up'"),
        ({"x": [1]}, "got list"),
        (5, "monotone must map"),
    ],
)
def test_spec_from_dict_explains_bad_monotone_entries(monotone: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        DatasetSpec.from_dict({"target": "t", "monotone": monotone})
    assert info.value.field == "monotone"


def test_spec_from_dict_overrides_replace_keys_and_skip_none() -> None:
    data = {"target": "risk", "bad": "2", "drop": ["a", "b"], "protected": ["sex"], "id": "k"}
    spec = DatasetSpec.from_dict(
        data, {"target": None, "bad": "1", "drop": ["c"], "protected": None, "monotone": ["x=1"]}
    )
    assert spec == DatasetSpec(
        target="risk", bad="1", id="k", drop=("c",), protected=("sex",), monotone={"x": 1}
    )
    assert DatasetSpec.from_dict({}, {"target": "y"}) == DatasetSpec(target="y")
    assert data["drop"] == ["a", "b"]
    with pytest.raises(ValidationError, match="cannot be both drop and numeric") as info:
        DatasetSpec.from_dict({"target": "y", "numeric": ["a"]}, {"drop": ["a"]})
    assert info.value.field == "numeric"
    with pytest.raises(ValidationError, match="unknown spec keys 'colour'"):
        DatasetSpec.from_dict({"target": "y"}, {"colour": "red"})


def test_spec_accepts_lists_and_normalises_them_to_tuples() -> None:
    spec = DatasetSpec(target="t", drop=["a", "b"], protected=["c"])  # type: ignore[arg-type]
    assert spec.drop == ("a", "b") and spec.protected == ("c",)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"target": ""}, "target", "target"),
        ({"target": "t", "id": "t"}, "id", "'t'"),
        ({"target": "t", "drop": ("t",)}, "drop", "'t' cannot be both target and drop"),
        ({"target": "t", "drop": ("a",), "protected": ("a",)}, "protected", "'a'"),
        ({"target": "t", "categorical": ("a",), "numeric": ("a",)}, "numeric", "'a'"),
        ({"target": "t", "monotone": {"x": 2}}, "monotone", r"\+1 or -1"),
        ({"target": "t", "protected": ("x",), "monotone": {"x": 1}}, "monotone", "'x'"),
        ({"target": "t", "drop": ("a", "a")}, "drop", "twice"),
        ({"target": "t", "labels": {"t": "Outcome"}}, "t", "'t' is the target"),
        ({"target": "t", "id": "k", "labels": {"k": "Key"}}, "k", "'k' is the id"),
        ({"target": "t", "drop": ("d",), "labels": {"d": "D"}}, "d", "'d' is dropped"),
        (
            {"target": "t", "categorical": ("c",), "numeric": (), "labels": {"n": "N"}},
            "n",
            "'n' is not among the declared categorical and numeric columns",
        ),
        ({"target": "t", "labels": {"a": 1}}, "a", "label of column 'a' must be text, got int"),
        ({"target": "t", "labels": {"a": " "}}, "a", "label of column 'a' is empty"),
        ({"target": "t", "labels": {"a": "x" * 81}}, "a", "has 81 characters; at most 80"),
        ({"target": "t", "labels": {"a": "Income\x00"}}, "a", "control character"),
        ({"target": "t", "labels": {"a": "Line\nbreak"}}, "a", "control character"),
        ({"target": "t", "labels": {"a": "Next\u0085line"}}, "a", "control character"),
        ({"target": "t", "labels": {"a": "Income", "b": "income "}}, "b", "'a' and 'b'"),
        ({"target": "t", "labels": ["a"]}, "labels", "labels must map"),
    ],
)
def test_spec_refuses_contradictions(kwargs: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        DatasetSpec(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("target: t\ncolour: red\n", "unknown spec keys 'colour'"),
        ("bad: 1\n", "spec needs target"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("target: [a, b\n", "cannot read spec"),
        ("target: t\nmonotone: [a]\n", "monotone must map"),
        ("target: t\nid: [a, b]\n", "id must name one column"),
        ("target: t\nbad: {a: 1}\n", "bad must be one target value"),
        ("target: t\ndrop: [[a]]\n", "drop must be a list of column names"),
        ("target: t\nlabels: [a]\n", "labels must map column names to plain-words names"),
        ("target: t\nlabels: {a: yes}\n", "must be text, got bool \\(quote it in YAML\\)"),
        ("target: [a, b\n", r"expected ',' or '\]'.*\(line 2, column 1\)"),
        ("target: 2024-13-01\n", "cannot read spec .*month must be in 1..12"),
        ("[" * 3000, "nested too deeply"),
    ],
)
def test_spec_from_yaml_explains_bad_files(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=words):
        DatasetSpec.from_yaml(path)


def test_spec_from_yaml_text_names_the_spec_field() -> None:
    with pytest.raises(ValidationError, match=r"^cannot read spec: ") as info:
        DatasetSpec.from_yaml_text("target: [a\n")
    assert info.value.field == "spec"
    with pytest.raises(ValidationError, match="spec must be a YAML mapping"):
        DatasetSpec.from_yaml_text("just text")
    with pytest.raises(ValidationError, match="spec needs target") as info:
        DatasetSpec.from_yaml_text("bad: 1")
    assert info.value.field == "target"
    assert DatasetSpec.from_yaml_text("bad: 1", {"target": "y"}) == DatasetSpec(target="y", bad="1")


def _bomb() -> list[object]:
    """Nine levels of nine references to one list: 9**9 leaves if anything expanded it."""
    bomb: list[object] = ["x"] * 9
    for _ in range(9):
        bomb = [bomb] * 9
    return bomb


@pytest.mark.parametrize(
    "change",
    [
        {"target": _bomb()},
        {"bad": _bomb()},
        {"id": _bomb()},
        {"drop": _bomb()},
        {"protected": [_bomb()]},
        {"monotone": {"c": _bomb()}},
        {"monotone": [_bomb()]},
        {"labels": {"c": _bomb()}},
    ],
)
def test_a_huge_nested_value_is_refused_without_being_expanded(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        DatasetSpec.from_dict({"target": "t", **change})
    assert len(str(info.value)) < 200


def test_a_yaml_alias_bomb_is_refused() -> None:
    levels = ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}' if i else 'x'] * 9)}]" for i in range(10))
    with pytest.raises(ValidationError, match="drop must be a list of column names"):
        DatasetSpec.from_yaml_text(f"target: t\ndrop: [{levels}]\n")


def test_spec_from_yaml_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        DatasetSpec.from_yaml(tmp_path / "nope.yaml")


def test_spec_features_need_a_recorded_schema() -> None:
    with pytest.raises(ValidationError, match="no schema"):
        _ = DatasetSpec(target="t").features
    assert DatasetSpec(target="t", categorical=("c",), numeric=("n",)).features == ("n", "c")


# -- load_table ----------------------------------------------------------------------------

TABLE = pd.DataFrame({"income": [1.5, 2.0, np.nan], "city": ["a", "b", "c"], "bad": [0, 1, 0]})


@pytest.mark.parametrize("name", ["t.csv", "t.CSV", "t.csv.gz", "t.tsv", "t.txt", "t.parquet"])
def test_load_table_reads_each_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith("parquet"):
        TABLE.to_parquet(path)
    elif name.endswith(".txt"):
        TABLE.to_csv(path, sep=";", index=False)
    else:
        TABLE.to_csv(path, sep="\t" if name.endswith("tsv") else ",", index=False)
    frame = load_table(path)
    assert list(frame.columns) == ["income", "city", "bad"]
    assert frame["bad"].tolist() == [0, 1, 0]
    assert frame["income"].isna().tolist() == [False, False, True]


def test_load_table_reads_pq_and_a_byte_order_mark_and_latin1(tmp_path: Path) -> None:
    TABLE.to_parquet(tmp_path / "t.pq")
    assert load_table(tmp_path / "t.pq").shape == (3, 3)
    (tmp_path / "bom.csv").write_bytes("\ufeffincome,bad\n1,0\n".encode())
    assert list(load_table(tmp_path / "bom.csv").columns) == ["income", "bad"]
    (tmp_path / "latin.csv").write_bytes("city,bad\nM\xfcnchen,1\n".encode("latin-1"))
    assert load_table(tmp_path / "latin.csv")["city"].tolist() == ["München"]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("t.xlsx", b"x", "unknown file type"),
        ("t.gz", b"x", "unknown file type"),
        ("t.csv", b"", "is empty"),
        ("t.csv", b"\n\n", "is empty"),
        ("t.csv", b"a,b\n", "has no rows"),
        ("t.csv", b'a,b\n1,"2\n', "cannot read .* as CSV"),
        ("t.csv.gz", b"not gzip at all", "cannot read .* as CSV"),
        ("t.parquet", b"not parquet", "cannot read .* as Parquet"),
    ],
)
def test_load_table_refuses_unreadable_files(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=words) as info:
        load_table(path)
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_load_table_names_missing_paths_and_directories(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        load_table(tmp_path / "missing.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValidationError, match="is not a file"):
        load_table(tmp_path / "dir.csv")


def test_load_table_reads_truncated_gzip_as_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 1000)[:40])
    with pytest.raises(ValidationError, match="cannot read"):
        load_table(path)


@given(content=st.binary(max_size=60))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_load_table_reads_any_bytes_or_says_why(
    content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "t.csv"
    path.write_bytes(content)
    try:
        frame = load_table(path)
    except ValidationError as exc:
        assert "t.csv" in str(exc)
    else:
        assert len(frame) > 0 and frame.shape[1] > 0


# -- prepare: target encodings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "bad", "expected_bad"),
    [
        ([0, 1, 1, 0], None, "1"),
        ([0.0, 1.0, 1.0, 0.0], None, "1"),
        (["0", "1", "1", "0"], None, "1"),
        ([False, True, True, False], None, "True"),
        (["Good", "BAD", "BAD", "Good"], None, "BAD"),
        (["no", "yes", "yes", "no"], None, "yes"),
        ([1, 2, 2, 1], "2", "2"),
        ([1.0, 2.0, 2.0, 1.0], "2", "2"),
        ([1, 2, 2, 1], "2.0", "2"),
        (["ok", "default", "default", "ok"], "default", "default"),
        (["ok", "Default", "Default", "ok"], "default", "Default"),
        ([False, True, True, False], "False", "False"),
        ([0, 1, 1, 0], "0", "0"),
        (pd.array([1, 2, 2, 1], dtype="Int64"), "2", "2"),
        (pd.Categorical(["g", "b", "b", "g"]), "b", "b"),
    ],
)
def test_prepare_reads_target_encodings(values: object, bad: str | None, expected_bad: str) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "target": values})
    data = prepare(frame, DatasetSpec(target="target", bad=bad))
    flip = expected_bad in {"0", "False"}
    assert data.y.tolist() == ([1, 0, 0, 1] if flip else [0, 1, 1, 0])
    assert data.y.dtype == np.int64
    assert data.spec.bad == expected_bad


@pytest.mark.parametrize(
    ("values", "bad", "words"),
    [
        (
            [1, 2, 2, 1],
            None,
            r"cannot tell which value of target 'target' means bad \(found '1', '2'\);"
            r" set bad \(--bad VALUE\) to one of them",
        ),
        (["a", "b", "b", "a"], None, "found 'a', 'b'"),
        ([1, 2, 2, 1], "3", r"bad value '3' is not a value of target 'target' \(found '1', '2'\)"),
        ([1, 1, 1, 1], None, r"target 'target' has one value only \('1'\)"),
        ([1, 2, 3, 1], "1", "target 'target' has 3 distinct values"),
        ([0, 1, None, 1], None, "target 'target' has 1 missing value \\(first at row 3\\)"),
        (["no", "yes", " ", "no"], None, "missing value"),
    ],
)
def test_prepare_explains_target_problems(
    values: list[object], bad: str | None, words: str
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "target": values})
    with pytest.raises(ValidationError, match=words) as info:
        prepare(frame, DatasetSpec(target="target", bad=bad))
    assert info.value.field == "target"


# -- prepare: columns, features ------------------------------------------------------------


def test_prepare_splits_features_target_ids_and_protected() -> None:
    data = prepare(loans(), LOANS_SPEC)
    assert list(data.X.columns) == ["monthly_income", "terms", "city"]
    assert data.spec.numeric == ("monthly_income", "terms")
    assert data.spec.categorical == ("city",)
    assert data.spec.features == tuple(data.X.columns)
    assert data.X["monthly_income"].dtype == np.float64
    assert data.X["terms"].dtype == np.float64
    assert data.X["city"].dtype == object
    assert data.X["city"][:2].tolist() == ["Paris", "Lyon"] and pd.isna(data.X["city"][2])
    assert data.y.tolist() == [0, 1, 0, 1, 0, 1]
    assert data.ids is not None and data.ids.tolist() == [f"L{i}" for i in range(6)]
    assert list(data.protected.columns) == ["sex"]
    assert data.spec.bad == "1" and data.spec.drop == ("notes",)


def test_prepare_with_the_filled_spec_gives_the_same_features() -> None:
    frame = loans()
    first = prepare(frame, LOANS_SPEC)
    extra = frame.assign(new_column=1.0)
    again = prepare(extra, first.spec)
    pd.testing.assert_frame_equal(again.X, first.X)
    assert again.spec == first.spec


def test_prepare_respects_declared_types() -> None:
    frame = pd.DataFrame(
        {
            "grade": [1, 2, 3, 1],
            "code": ["10", "20", "30", "10"],
            "flag": [True, False, True, True],
            "t": [0, 1, 0, 1],
        }
    )
    data = prepare(frame, DatasetSpec(target="t", categorical=("grade",)))
    assert data.spec.categorical == ("grade", "flag")
    assert data.spec.numeric == ("code",)
    assert data.X["grade"].tolist() == ["1", "2", "3", "1"]
    assert data.X["flag"].tolist() == ["True", "False", "True", "True"]
    assert data.X["code"].tolist() == [10.0, 20.0, 30.0, 10.0]


def test_prepare_writes_whole_float_categories_without_a_decimal_part() -> None:
    frame = pd.DataFrame({"grade": [1.0, 2.5, np.nan, 1.0], "t": [0, 1, 0, 1]})
    data = prepare(frame, DatasetSpec(target="t", categorical=("grade",)))
    assert data.X["grade"].tolist()[:2] == ["1", "2.5"]
    assert pd.isna(data.X["grade"][2])


def test_prepare_keeps_missing_feature_values() -> None:
    frame = pd.DataFrame(
        {"x": [np.nan, 1.0, 2.0, 3.0], "c": [None, "a", "", "b"], "t": [0, 1, 0, 1]}
    )
    data = prepare(frame, DatasetSpec(target="t"))
    assert data.X["x"].isna().tolist() == [True, False, False, False]
    assert data.X["c"].isna().tolist() == [True, False, True, False]


def test_prepare_resets_the_index() -> None:
    frame = loans().set_axis([10, 11, 12, 13, 14, 15])
    data = prepare(frame, LOANS_SPEC)
    assert list(data.X.index) == list(range(6))
    assert data.ids is not None and list(data.ids.index) == list(range(6))
    assert list(data.protected.index) == list(range(6))


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (
            DatasetSpec(target="risk"),
            "risk",
            r"target column 'risk' is not in the table; columns are 'loan_id', 'monthly_income'",
        ),
        (DatasetSpec(target="default", id="app"), "app", "id column 'app' is not in the table"),
        (DatasetSpec(target="default", drop=("zip",)), "zip", "drop column 'zip'"),
        (DatasetSpec(target="default", protected=("age",)), "age", "protected column 'age'"),
        (DatasetSpec(target="default", numeric=("amount",)), "amount", "numeric column 'amount'"),
    ],
)
def test_prepare_names_missing_columns(spec: DatasetSpec, field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        prepare(loans(), spec)
    assert info.value.field == field


def test_prepare_truncates_long_column_listings() -> None:
    frame = pd.DataFrame({f"col{i}": [0, 1] for i in range(30)})
    with pytest.raises(ValidationError, match=r"'col7', … \(22 more\)$"):
        prepare(frame, DatasetSpec(target="nope"))


@pytest.mark.parametrize(
    ("frame", "spec", "field", "words"),
    [
        (
            pd.DataFrame({"x": [1.0, np.inf, 2.0, -np.inf], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t"),
            "x",
            r"numeric column 'x' has 2 infinite values \(first at row 2\)",
        ),
        (
            pd.DataFrame({"x": [str(i) for i in range(19)] + ["n/a"], "t": [0, 1] * 10}),
            DatasetSpec(target="t"),
            "x",
            r"column 'x' looks numeric \(19 of 20 values are numbers\) but has text in 1 row"
            r" \(first at row 20\)",
        ),
        (
            pd.DataFrame({"x": ["a", "b", "1", "c"], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t", numeric=("x",)),
            "x",
            r"numeric column 'x' has text in 3 of 4 values \(first at row 1\)",
        ),
        (
            pd.DataFrame({"id": [1, 2, 2, 3], "x": [1, 2, 3, 4], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t", id="id"),
            "id",
            r"id column 'id' has 1 duplicate id \(first repeat at row 3\)",
        ),
        (
            pd.DataFrame({"id": [1, None, 2, 3], "x": [1, 2, 3, 4], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t", id="id"),
            "id",
            "id column 'id' has 1 missing value",
        ),
        (
            pd.DataFrame({"id": [1, 2, 3, 4], "x": [1, 2, 3, 4], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t", id="id", drop=("x",)),
            "features",
            "no feature columns left",
        ),
        (
            pd.DataFrame({"when": pd.to_datetime(["2024-01-01"] * 4), "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t"),
            "when",
            "column 'when' holds dates or times",
        ),
        (
            pd.DataFrame({"c": ["a", "b", "a", "b"], "t": [0, 1, 0, 1]}),
            DatasetSpec(target="t", monotone={"c": 1}),
            "monotone",
            "monotone column 'c' is not a numeric feature",
        ),
        (
            pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["x", "x", "t"]),
            DatasetSpec(target="t"),
            "x",
            "column 'x' appears more than once",
        ),
        (
            pd.DataFrame({"x": [], "t": []}),
            DatasetSpec(target="t"),
            "data",
            "no rows",
        ),
    ],
)
def test_prepare_explains_feature_problems(
    frame: pd.DataFrame, spec: DatasetSpec, field: str, words: str
) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        prepare(frame, spec)
    assert info.value.field == field


def test_prepare_does_not_show_feature_values_in_messages() -> None:
    frame = pd.DataFrame(
        {"salary": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Jane Doe"], "t": [0, 1] * 5}
    )
    with pytest.raises(ValidationError) as info:
        prepare(frame, DatasetSpec(target="t"))
    assert "Jane" not in str(info.value) and "row 10" in str(info.value)


def test_prepare_accepts_non_text_column_names() -> None:
    frame = pd.DataFrame({0: [1.0, 2.0], 1: ["a", "b"], "t": [0, 1]})
    data = prepare(frame, DatasetSpec(target="t"))
    assert data.spec.features == ("0", "1")


# -- check_scoring_frame -------------------------------------------------------------------


def test_scoring_frame_matches_training_conversions_and_order() -> None:
    frame = loans()
    data = prepare(frame, LOANS_SPEC)
    new = frame.drop(columns=["default"])[["city", "terms", "monthly_income"]].assign(extra=1)
    X = check_scoring_frame(new, data.spec)
    pd.testing.assert_frame_equal(X, data.X)


def test_scoring_frame_keeps_the_callers_index_and_unseen_categories() -> None:
    data = prepare(loans(), LOANS_SPEC)
    new = pd.DataFrame(
        {"monthly_income": ["2500.5", None], "terms": [12, 99], "city": ["Nice", None]},
        index=["a", "b"],
    )
    X = check_scoring_frame(new, data.spec)
    assert list(X.index) == ["a", "b"]
    assert X["monthly_income"].tolist()[0] == 2500.5 and np.isnan(X["monthly_income"]["b"])
    assert X["city"]["a"] == "Nice" and pd.isna(X["city"]["b"])
    assert X["monthly_income"].dtype == np.float64 and X["city"].dtype == object


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"drop": ["city", "terms"]}, "terms", r"missing feature columns 'terms', 'city'"),
        (
            {"terms": ["12", "24", "two", "12"]},
            "terms",
            r"'terms' has text in 1 of 4 values \(first at row 3\)",
        ),
        ({"terms": [12, np.inf, 12, 12]}, "terms", "'terms' has 1 infinite value"),
        (
            {"monthly_income": [10.0, 20.0, -5.0, 1.0]},
            "monthly_income",
            r"'monthly_income' must not be negative \(row 3\)",
        ),
    ],
)
def test_scoring_frame_explains_bad_rows(change: dict[str, object], field: str, words: str) -> None:
    data = prepare(loans(), LOANS_SPEC)
    new = loans(4).drop(columns=["default"])
    rest = {key: value for key, value in change.items() if key != "drop"}
    new = new.drop(columns=change.get("drop", [])).assign(**rest)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=words) as info:
        check_scoring_frame(new, data.spec)
    assert info.value.field == field


def test_scoring_frame_needs_a_recorded_schema_and_ignores_duplicated_extras() -> None:
    with pytest.raises(ValidationError, match="no schema"):
        check_scoring_frame(loans(), LOANS_SPEC)
    data = prepare(loans(), LOANS_SPEC)
    new = loans(2)
    new.columns = ["notes", *new.columns[1:-1], "notes"]
    assert check_scoring_frame(new, data.spec).shape == (2, 3)
    new.columns = ["city", *new.columns[1:]]
    with pytest.raises(ValidationError, match="'city' appears more than once"):
        check_scoring_frame(new, data.spec)


# -- properties ----------------------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["good", "bad", "yes", "no", "1", "2", " ", "", "x", "1e3", "inf"]),
    st.text(max_size=3),
)


def _infinite(value: object) -> bool:
    text = value.strip() if isinstance(value, str) else value
    return bool(np.isinf(pd.to_numeric(pd.Series([text], dtype=object), errors="coerce")).any())


@st.composite
def columns(draw: st.DrawFn, n: int, finite: bool = False) -> object:
    kind = draw(st.sampled_from(["int", "float", "text", "bool", "mixed", "category", "nullable"]))
    floats = st.floats(allow_nan=True, allow_infinity=not finite)
    cells = CELLS.filter(lambda v: not _infinite(v)) if finite else CELLS
    if kind == "int":
        return draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    if kind == "float":
        return draw(st.lists(floats, min_size=n, max_size=n))
    if kind == "text":
        text = st.sampled_from(["a", "b", " b", "", "3", "yes", "no"])
        return draw(st.lists(text, min_size=n, max_size=n))
    if kind == "bool":
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "category":
        return pd.Categorical(draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)))
    if kind == "nullable":
        ints = st.one_of(st.none(), st.integers(0, 2))
        return pd.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype="Int64")
    return pd.array(draw(st.lists(cells, min_size=n, max_size=n)), dtype=object)


PAIRS = [(0, 1), (1, 2), ("good", "bad"), ("yes", "no"), (True, False), ("Y", "N"), (0.0, 1.0)]


@st.composite
def targets(draw: st.DrawFn, n: int) -> object:
    if n < 2 or not draw(st.integers(0, 5)):
        return draw(columns(n))
    pair = draw(st.sampled_from(PAIRS))
    cells = (
        st.sampled_from(pair) | st.none() if not draw(st.integers(0, 4)) else st.sampled_from(pair)
    )
    values = [*pair, *draw(st.lists(cells, min_size=n - 2, max_size=n - 2))]
    return draw(st.permutations(values))


@st.composite
def frames_and_specs(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, object]]:
    n = draw(st.sampled_from([4, 8, 2, 3, 0]))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=5, unique=True))
    frame = pd.DataFrame({name: draw(columns(n)) for name in names} | {"t": draw(targets(n))})
    if draw(st.booleans()):
        unique = draw(st.booleans())
        frame = frame.assign(id=[f"L{i if unique else i % 3}" for i in range(n)])
    roles = draw(
        st.lists(
            st.sampled_from(["feature", "drop", "protected", "cat", "num"]),
            min_size=len(names),
            max_size=len(names),
        )
    )
    pick = {
        role: tuple(name for name, r in zip(names, roles, strict=True) if r == role)
        for role in set(roles)
    }
    numeric = pick.get("num", ())
    spec: dict[str, object] = {
        "target": draw(st.sampled_from(["t"] * 9 + ["zz"])),
        "bad": draw(
            st.sampled_from([None, None, None, "1", "N", "x", *map(str, frame["t"].dropna()[:1])])
        ),
        "id": "id" if "id" in frame.columns else None,
        "drop": pick.get("drop", ()),
        "protected": pick.get("protected", ()),
        "categorical": pick.get("cat") if draw(st.booleans()) else None,
        "numeric": numeric or None,
        "monotone": {numeric[0]: draw(st.sampled_from([1, -1]))} if numeric else {},
    }
    return frame, spec


@given(frames_and_specs())
@settings(max_examples=400, deadline=None)
def test_prepare_raises_only_validation_errors(
    case: tuple[pd.DataFrame, dict[str, object]],
) -> None:
    frame, kwargs = case
    try:
        spec = DatasetSpec(**kwargs)  # type: ignore[arg-type]
        data = prepare(frame, spec)
    except ValidationError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert set(np.unique(data.y)) == {0, 1}
    assert len(data.X) == len(frame) == len(data.y) == len(data.protected)
    assert list(data.X.columns) == list(data.spec.features)
    assert spec.target not in data.X.columns
    assert not set(data.X.columns) & {spec.id, *spec.drop, *spec.protected}
    for name in data.spec.numeric or ():
        assert data.X[name].dtype == np.float64 and not np.isinf(data.X[name]).any()
    for name in data.spec.categorical or ():
        assert data.X[name].dtype == object
        assert all(isinstance(v, str) and v == v.strip() and v for v in data.X[name].dropna())


@st.composite
def valid_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, DatasetSpec]:
    n = draw(st.integers(2, 8))
    names = draw(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True)
    )
    frame = pd.DataFrame({name: draw(columns(n, finite=True)) for name in names})
    assume(all(frame[name].notna().any() for name in names))  # empty columns are no features
    frame["t"] = draw(
        st.permutations([0, 1, *draw(st.lists(st.integers(0, 1), min_size=n - 2, max_size=n - 2))])
    )
    categorical = tuple(draw(st.lists(st.sampled_from(names), unique=True)))
    return frame, DatasetSpec(target="t", categorical=categorical)


@given(valid_frames())
@settings(max_examples=200, deadline=None)
def test_scoring_round_trips_prepared_frames(case: tuple[pd.DataFrame, DatasetSpec]) -> None:
    frame, spec = case
    data = prepare(frame, spec)
    pd.testing.assert_frame_equal(check_scoring_frame(data.X, data.spec), data.X)
    raw = frame.drop(columns=[data.spec.target]).iloc[::-1]
    pd.testing.assert_frame_equal(check_scoring_frame(raw, data.spec), data.X.iloc[::-1])
    again = prepare(frame, data.spec)
    pd.testing.assert_frame_equal(again.X, data.X)
    assert again.spec == data.spec


@given(st.integers(0, 6).flatmap(lambda n: st.tuples(columns(n), columns(n), columns(n))))
@settings(max_examples=200, deadline=None)
def test_scoring_raises_only_validation_errors(cells: tuple[object, object, object]) -> None:
    spec = prepare(loans(), LOANS_SPEC).spec
    frame = pd.DataFrame(dict(zip(spec.features, cells, strict=True)))
    try:
        X = check_scoring_frame(frame, spec)
    except ValidationError as exc:
        assert exc.field in spec.features and "\n" not in str(exc)
        return
    assert list(X.columns) == list(spec.features) and len(X) == len(frame)
    assert X["monthly_income"].dtype == X["terms"].dtype == np.float64
    assert not (X["monthly_income"] < 0).any()


@pytest.mark.parametrize("name", ["book.csv", "book.csv.gz", "book.parquet"])
def test_a_loaded_file_prepares_like_the_frame_it_was_written_from(
    tmp_path: Path, name: str
) -> None:
    book = make_loan_book(2_000, seed=5)
    path = tmp_path / name
    if name.endswith("parquet"):
        book.frame.to_parquet(path)
    else:
        book.frame.to_csv(path, index=False)
    from_file = prepare(load_table(path), book.spec)
    from_frame = prepare(book.frame, book.spec)
    pd.testing.assert_frame_equal(from_file.X, from_frame.X)
    assert from_file.spec == from_frame.spec
    assert np.array_equal(from_file.y, from_frame.y)


def test_specs_hash_by_value() -> None:
    spec = DatasetSpec(target="t", monotone={"a": 1, "b": -1}, labels={"a": "A", "b": "B"})
    same = DatasetSpec(target="t", monotone={"b": -1, "a": 1}, labels={"b": "B", "a": "A"})
    assert spec == same and hash(spec) == hash(same) and len({spec, same}) == 1
    relabelled = DatasetSpec(target="t", monotone={"a": 1, "b": -1}, labels={"a": "A"})
    assert relabelled != spec and len({spec, relabelled}) == 2


def test_a_spec_pickled_before_labels_existed_loads_without_labels() -> None:
    spec = DatasetSpec(target="t", protected=("sex",))
    object.__delattr__(spec, "labels")  # the shape of a spec pickled by an older FinAI
    old = pickle.loads(pickle.dumps(spec))
    assert old.labels == {}
    assert old == DatasetSpec(target="t", protected=("sex",))
    labelled = DatasetSpec(target="t", labels={"x": "X"})
    assert pickle.loads(pickle.dumps(labelled)).labels == {"x": "X"}


# -- labels through prepare ----------------------------------------------------------------


def test_prepare_keeps_labels_of_features_and_protected_columns() -> None:
    labels = {"monthly_income": "Monthly income", "city": "City", "sex": "Sex"}
    spec = DatasetSpec(
        target="default", id="loan_id", drop=("notes",), protected=("sex",), labels=labels
    )
    data = prepare(loans(), spec)
    assert data.spec.labels == labels
    assert data.spec.numeric is not None and data.spec.categorical is not None
    assert prepare(loans(), data.spec).spec == data.spec


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (
            DatasetSpec(target="default", labels={"income": "Income"}),
            "income",
            "labelled column 'income' is not in the table",
        ),
        (
            DatasetSpec(target="default", protected=("age",), labels={"age": "Age"}),
            "age",
            "protected column 'age' is not in the table",
        ),
    ],
)
def test_prepare_refuses_labels_of_other_columns(spec: DatasetSpec, field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        prepare(loans(), spec)
    assert info.value.field == field


def test_a_column_without_any_value_is_not_made_a_feature() -> None:
    frame = pd.DataFrame(
        {"income": [1.0, 2.0, 3.0], "empty": [np.nan] * 3, "blank": [None] * 3, "bad": [0, 1, 0]}
    )
    data = prepare(frame, DatasetSpec(target="bad"))
    assert data.spec.features == ("income",)
    with pytest.raises(ValidationError, match="'empty' has no values"):
        prepare(frame, DatasetSpec(target="bad", numeric=("income", "empty"), categorical=()))
