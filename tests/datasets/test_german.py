from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finai.datasets import GERMAN_SPEC, load_german
from finai.datasets.german import CODES, COLUMNS
from finai.datasets.spec import prepare
from finai.exceptions import ValidationError

GERMAN = Path(os.environ.get("FINAI_GERMAN_DATA", "/work/shared/data/credit/german/german.data"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FIRST_ROW = "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    if not GERMAN.is_file():
        if IN_CI:
            pytest.fail(f"the German credit file is required in CI: {GERMAN}")
        pytest.skip(f"German credit file not available: {GERMAN}")
    return load_german(GERMAN)


def test_german_has_the_uci_shape_and_label(german: pd.DataFrame) -> None:
    assert german.shape == (1000, 21)
    assert tuple(german.columns) == COLUMNS
    assert german["credit_risk"].value_counts().to_dict() == {1: 700, 2: 300}
    assert german.isna().sum().sum() == 0


def test_german_decodes_every_category(german: pd.DataFrame) -> None:
    for name, codes in CODES.items():
        assert set(german[name]) <= set(codes.values()), name
    coded = re.compile(r"^A\d+$")
    assert (
        not german.select_dtypes(exclude="number").map(lambda v: bool(coded.match(v))).any().any()
    )
    numeric = ["duration_months", "credit_amount", "age", "installment_rate", "dependents"]
    assert all(german[name].dtype == np.int64 for name in numeric)
    assert german["duration_months"].between(4, 72).all()
    assert german["age"].between(19, 75).all()


def test_german_first_row_reads_in_plain_words(german: pd.DataFrame) -> None:
    first = german.iloc[0]
    assert first["checking_status"] == "< 0 DM"
    assert first["credit_history"] == "critical account or credits elsewhere"
    assert first["purpose"] == "radio or television"
    assert first["savings"] == "unknown or no savings"
    assert first["personal_status_sex"] == "male single"
    assert (first["credit_amount"], first["age"], first["credit_risk"]) == (1169, 67, 1)
    assert first["telephone"] == "yes" and first["foreign_worker"] == "yes"


def test_german_spec_keeps_protected_columns_out_of_the_features(german: pd.DataFrame) -> None:
    data = prepare(german, GERMAN_SPEC)
    assert int(data.y.sum()) == 300
    assert data.spec.bad == "2"
    assert list(data.protected.columns) == ["age", "personal_status_sex", "foreign_worker"]
    assert not {"age", "personal_status_sex", "foreign_worker", "credit_risk"} & set(data.X.columns)
    assert len(data.X.columns) == 17
    assert set(data.spec.numeric or ()) == {
        "duration_months",
        "credit_amount",
        "installment_rate",
        "residence_since",
        "existing_credits",
        "dependents",
    }


def test_german_spec_names_every_attribute_in_plain_words(german: pd.DataFrame) -> None:
    assert set(GERMAN_SPEC.labels) == set(COLUMNS) - {"credit_risk"}
    data = prepare(german, GERMAN_SPEC)
    assert data.spec.labels == GERMAN_SPEC.labels
    assert data.spec.labels["checking_status"] == "Status of existing checking account"
    assert data.spec.labels["duration_months"] == "Duration in months"


def test_load_german_reads_a_small_file_in_the_same_format(tmp_path: Path) -> None:
    path = tmp_path / "german.data"
    path.write_text(FIRST_ROW + "\n" + FIRST_ROW.replace("A11", "A14")[:-1] + "2\n")
    frame = load_german(path)
    assert frame["checking_status"].tolist() == ["< 0 DM", "no checking account"]
    assert frame["credit_risk"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("A11 6 A34\n", "has 3 fields a row; the German credit format has 21"),
        (FIRST_ROW.replace("A43", "A99") + "\n", "unknown purpose codes 'A99'"),
        (FIRST_ROW.replace(" 1169 ", " 1169.5 ") + "\n", "credit_amount must be whole numbers"),
        (FIRST_ROW[:-1] + "3\n", "credit_risk must be 1"),
        ("", "cannot read"),
    ],
)
def test_load_german_explains_other_files(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "german.data"
    path.write_text(content)
    with pytest.raises(ValidationError, match=words):
        load_german(path)


def test_load_german_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        load_german(tmp_path / "nope.data")
