"""The UCI Statlog German credit data (Hofmann, 1994) with readable labels.

1,000 applicants, 20 attributes and the label ``credit_risk`` (1 = good, 2 = bad;
300 bad). The coded categories (``A11`` …) are decoded into short labels so that
reasons read in plain words ("checking_status is < 0 DM").

Caveats: Groemping (2019) showed that the Statlog coding of several attributes is
wrong, notably ``personal_status_sex`` (``A95`` "female single" never occurs, so sex
is not cleanly recoverable); the corrected data is UCI "South German Credit
(UPDATE)". ``foreign_worker`` "no" has only 37 rows. Cite: Hofmann, H. (1994).
Statlog (German Credit Data). UCI Machine Learning Repository.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from finai.datasets.spec import DatasetSpec
from finai.exceptions import ValidationError

COLUMNS: tuple[str, ...] = (
    "checking_status",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "dependents",
    "telephone",
    "foreign_worker",
    "credit_risk",
)
"""Column names in file order; ``credit_risk`` is the label (1 = good, 2 = bad)."""

CODES: dict[str, dict[str, str]] = {
    "checking_status": {
        "A11": "< 0 DM",
        "A12": "0 to < 200 DM",
        "A13": ">= 200 DM or salary paid in",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits or all paid back",
        "A31": "all paid back at this bank",
        "A32": "existing credits paid so far",
        "A33": "delays in the past",
        "A34": "critical account or credits elsewhere",
    },
    "purpose": {
        "A40": "new car",
        "A41": "used car",
        "A42": "furniture or equipment",
        "A43": "radio or television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "other",
    },
    "savings": {
        "A61": "< 100 DM",
        "A62": "100 to < 500 DM",
        "A63": "500 to < 1000 DM",
        "A64": ">= 1000 DM",
        "A65": "unknown or no savings",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "< 1 year",
        "A73": "1 to < 4 years",
        "A74": "4 to < 7 years",
        "A75": ">= 7 years",
    },
    "personal_status_sex": {
        "A91": "male divorced or separated",
        "A92": "female divorced, separated or married",
        "A93": "male single",
        "A94": "male married or widowed",
        "A95": "female single",
    },
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {
        "A121": "real estate",
        "A122": "building society savings or life insurance",
        "A123": "car or other property",
        "A124": "unknown or no property",
    },
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {
        "A171": "unemployed or unskilled non-resident",
        "A172": "unskilled resident",
        "A173": "skilled employee or official",
        "A174": "management, self-employed or highly qualified",
    },
    "telephone": {"A191": "none", "A192": "yes"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
}
"""Decoding of each categorical attribute, from ``german.doc``."""

LABELS: dict[str, str] = {
    "checking_status": "Status of existing checking account",
    "duration_months": "Duration in months",
    "credit_history": "Credit history",
    "purpose": "Purpose",
    "credit_amount": "Credit amount",
    "savings": "Savings account or bonds",
    "employment_since": "Present employment since",
    "installment_rate": "Installment rate in percentage of disposable income",
    "personal_status_sex": "Personal status and sex",
    "other_debtors": "Other debtors or guarantors",
    "residence_since": "Present residence since",
    "property": "Property",
    "age": "Age in years",
    "other_installment_plans": "Other installment plans",
    "housing": "Housing",
    "existing_credits": "Number of existing credits at this bank",
    "job": "Job",
    "dependents": "Number of people liable to provide maintenance for",
    "telephone": "Telephone",
    "foreign_worker": "Foreign worker",
}
"""Plain-words name of each attribute, after ``german.doc``."""

GERMAN_SPEC = DatasetSpec(
    target="credit_risk",
    bad="2",
    protected=("age", "personal_status_sex", "foreign_worker"),
    labels=LABELS,
)
"""How to train on :func:`load_german` output.

Age, sex/marital status and foreign-worker status are protected: kept for fairness
reports, never used as features. That is the fair-lending default; a lender whose law
allows age as a factor can train with its own spec. Every attribute has its plain-words
label (:data:`LABELS`) for reason texts and reports.
"""


def load_german(path: str | Path) -> pd.DataFrame:
    """Read ``german.data`` into named columns with decoded categories.

    Parameters
    ----------
    path
        The UCI ``german.data`` file: 21 space-separated fields a row, no header.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: numeric attributes as ``int64``, categorical ones as
        readable text, ``credit_risk`` as ``int64`` 1 (good) or 2 (bad).

    Raises
    ------
    ValidationError
        When the file is missing or is not in the German credit format.

    Examples
    --------
    >>> frame = load_german("german.data")  # doctest: +SKIP
    >>> frame.shape, int((frame["credit_risk"] == 2).sum())  # doctest: +SKIP
    ((1000, 21), 300)
    """
    source = Path(path)
    shown = repr(str(source))
    if not source.is_file():
        raise ValidationError(f"German credit file {shown} does not exist", field="data")
    try:
        raw = pd.read_csv(source, sep=r"\s+", header=None, dtype=str, encoding="ascii")
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"cannot read {shown}: {reason}", field="data") from None
    if raw.shape[1] != len(COLUMNS):
        raise ValidationError(
            f"{shown} has {raw.shape[1]} fields a row; the German credit format has {len(COLUMNS)}",
            field="data",
        )
    raw.columns = pd.Index(COLUMNS)
    frame = pd.DataFrame(index=raw.index)
    for name in COLUMNS:
        frame[name] = _decode(raw[name], name, shown)
    if not frame["credit_risk"].isin((1, 2)).all():
        raise ValidationError(
            f"{shown}: credit_risk must be 1 (good) or 2 (bad)", field="credit_risk"
        )
    return frame


def _decode(column: pd.Series, name: str, shown: str) -> pd.Series:
    codes = CODES.get(name)
    if codes is None:
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.isna().any() or (numbers % 1 != 0).any():
            raise ValidationError(f"{shown}: {name} must be whole numbers", field=name)
        return numbers.astype("int64")
    unknown = sorted(set(column) - set(codes))
    if unknown:
        raise ValidationError(
            f"{shown}: unknown {name} codes {', '.join(map(repr, unknown[:5]))}", field=name
        )
    return column.map(codes).astype(object)
