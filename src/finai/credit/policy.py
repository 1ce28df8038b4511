"""Lending policy: knock-out rules, PD cut-offs and credit limits, kept as versioned YAML.

A credit committee changes these numbers, not code. A policy is validated as a whole
when loaded; a broken rule is refused with the field and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from finai.exceptions import ValidationError

Applications = pd.DataFrame | Mapping[str, Any]
"""Applicants to apply a policy to: a table, one row each, or one applicant's values."""

Operator = Literal["<", "<=", ">", ">=", "==", "!=", "in", "not_in", "missing", "true"]
Scalar = str | int | float | bool


class Outcome(StrEnum):
    """What a decision says."""

    APPROVE = "approve"
    REFER = "refer"
    DECLINE = "decline"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Knockout(_Strict):
    """A hard rule: when it holds for an applicant, the answer is decline."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    field: Annotated[str, Field(min_length=1, max_length=100)]
    op: Operator
    value: Scalar | list[Scalar] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Knockout:
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op {self.op!r} needs a non-empty list as value")
        elif self.op in ("missing", "true"):
            if self.value is not None:
                raise ValueError(f"op {self.op!r} takes no value")
        elif self.op in ("<", "<=", ">", ">="):
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ValueError(f"op {self.op!r} needs a number as value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a single value")
        return self

    def holds(self, application: Mapping[str, Any]) -> bool:
        """Tell whether the rule fires for one application (see :meth:`fires`)."""
        return bool(self.fires(application)[0])

    def fires(self, applications: Applications) -> npt.NDArray[np.bool_]:
        """Tell, per row, whether the rule fires.

        A missing field (absent column, None or NaN) never fires a rule, except
        ``missing`` itself. Comparisons read numbers (text that is not a number never
        fires them); ``==``, ``!=``, ``in`` and ``not_in`` compare text, with whole
        floats as integers; ``true`` fires on 1, true, yes or y in any case.
        ``applications`` may be one applicant's values (a mapping): one row.
        """
        column = _column(applications, self.field)
        if column is None:
            return np.full(_rows(applications), self.op == "missing")
        if self.op == "missing":
            return np.asarray(pd.isna(column), dtype=np.bool_)
        if self.op in _COMPARE:
            numbers = _numbers(column)
            with np.errstate(invalid="ignore"):
                return np.asarray(_COMPARE[self.op](numbers, float(cast(float, self.value))))
        return _per_value(column, self._holds_present, absent=False)

    def _holds_present(self, raw: Any) -> bool:
        if self.op == "true":
            return _text(raw).lower() in {"1", "true", "yes", "y"}
        if self.op in ("in", "not_in"):
            members = {_text(v) for v in self.value} if isinstance(self.value, list) else set()
            return (_text(raw) in members) == (self.op == "in")
        equal = _text(raw) == _text(self.value)
        return equal == (self.op == "==")


class Cutoffs(_Strict):
    """PD cut-offs between approve, refer and decline.

    PD below ``approve_below`` approves; at or above ``decline_at_or_above`` declines;
    in between a person decides (refer).
    """

    approve_below: Annotated[float, Field(gt=0, le=1)]
    decline_at_or_above: Annotated[float, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _ordered(self) -> Cutoffs:
        if self.approve_below > self.decline_at_or_above:
            raise ValueError("approve_below must not exceed decline_at_or_above")
        return self


class Band(_Strict):
    """Applicants with PD up to ``max_pd`` may borrow up to ``cap``."""

    max_pd: Annotated[float, Field(gt=0, le=1)]
    cap: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class Limits(_Strict):
    """The credit limit: the PD band's cap, bounded by affordability when income is known.

    affordability = ``income_multiple`` * monthly income - existing monthly debt.
    """

    bands: Annotated[list[Band], Field(min_length=1, max_length=50)]
    income_field: str | None = None
    debt_field: str | None = None
    income_multiple: Annotated[float, Field(gt=0, le=100)] = 3.0
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"

    @field_validator("bands")
    @classmethod
    def _bands_ordered(cls, bands: list[Band]) -> list[Band]:
        pds = [b.max_pd for b in bands]
        if pds != sorted(pds) or len(set(pds)) != len(pds):
            raise ValueError("bands must have strictly increasing max_pd")
        caps = [b.cap for b in bands]
        if caps != sorted(caps, reverse=True):
            raise ValueError("caps must not grow as max_pd grows")
        return bands


class Policy(_Strict):
    """A whole lending policy."""

    name: Annotated[str, Field(min_length=1, max_length=100)] = "default"
    knockouts: list[Knockout] = []
    cutoffs: Cutoffs
    limits: Limits

    @field_validator("knockouts")
    @classmethod
    def _unique_ids(cls, rules: list[Knockout]) -> list[Knockout]:
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("knock-out ids must be unique")
        return rules

    def knockouts_hit(self, application: Mapping[str, Any]) -> list[Knockout]:
        """Return the knock-out rules that fire for one application."""
        return [rule for rule in self.knockouts if rule.holds(application)]

    def knockout_matrix(self, applications: Applications) -> npt.NDArray[np.bool_]:
        """Return rows by knock-out rules: True where the rule fires for the row."""
        matrix = np.zeros((_rows(applications), len(self.knockouts)), dtype=np.bool_)
        for j, rule in enumerate(self.knockouts):
            matrix[:, j] = rule.fires(applications)
        return matrix

    def outcome_for(self, pd: float) -> Outcome:
        """Map a PD to approve / refer / decline by the cut-offs."""
        return OUTCOMES[int(self.outcome_codes(np.array([pd]))[0])]

    def outcome_codes(self, pds: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """Map PDs to indices into :data:`OUTCOMES`.

        Approve below ``approve_below``, decline at or above ``decline_at_or_above``,
        refer in between.
        """
        approve, decline = self.cutoffs.approve_below, self.cutoffs.decline_at_or_above
        return np.where(pds < approve, 0, np.where(pds >= decline, 2, 1)).astype(np.intp)

    def limit_for(self, pd: float, application: Mapping[str, Any]) -> Decimal | None:
        """Return the credit limit for ``pd``, or None when affordability is unknown."""
        cents = self.limit_cents(np.array([pd]), application)[0]
        return None if math.isnan(cents) else as_money(cents)

    def limit_cents(
        self, pds: npt.NDArray[np.float64], applications: Applications
    ) -> npt.NDArray[np.float64]:
        """Return each row's credit limit in whole cents; NaN where income is unknown.

        The limit is the cap of the first band whose ``max_pd`` the PD does not exceed
        (zero above every band), bounded by affordability when an income field is set:
        ``income_multiple`` * income - debt (a missing debt counts as none), rounded
        down to the cent and never below zero.
        """
        bands = self.limits.bands
        caps = np.array([int(b.cap * 100) for b in bands] + [0], dtype=np.float64)
        cap = caps[np.searchsorted([b.max_pd for b in bands], pds, side="left")]
        if self.limits.income_field is None:
            return cap
        income = _field_numbers(applications, self.limits.income_field)
        debt = (
            np.nan_to_num(_field_numbers(applications, self.limits.debt_field), nan=0.0)
            if self.limits.debt_field
            else 0.0
        )
        affordable = np.floor(np.round((self.limits.income_multiple * income - debt) * 100, 6))
        return np.where(np.isnan(income), np.nan, np.clip(np.minimum(cap, affordable), 0, None))


OUTCOMES = (Outcome.APPROVE, Outcome.REFER, Outcome.DECLINE)
"""Outcomes in the order of :meth:`Policy.outcome_codes`."""

_COMPARE: dict[str, Callable[[npt.NDArray[np.float64], float], npt.NDArray[np.bool_]]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def as_money(cents: float) -> Decimal:
    """Return whole cents as an amount with two decimals (``550000`` → ``5500.00``)."""
    return Decimal(int(cents)).scaleb(-2)


def _rows(applications: Applications) -> int:
    return len(applications) if isinstance(applications, pd.DataFrame) else 1


def _column(applications: Applications, field: str) -> pd.Series | npt.NDArray[Any] | None:
    """Return the field's column (one applicant's value as a one-row ``object`` array)."""
    if isinstance(applications, pd.DataFrame):
        return applications[field] if field in applications.columns else None
    if field not in applications:
        return None
    column = np.empty(1, dtype=object)
    column[0] = applications[field]
    return column


def _per_value(
    column: pd.Series | npt.NDArray[Any], rule: Callable[[Any], bool], *, absent: bool
) -> npt.NDArray[np.bool_]:
    """Apply ``rule`` to each distinct present value once; missing values give ``absent``."""
    values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
    if pd.api.types.infer_dtype(values, skipna=True) in _FACTORIZABLE:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        answers = np.array([*(rule(u) for u in uniques), absent], dtype=np.bool_)
        return answers[codes]
    # mixed Python objects: factorize would merge 1, 1.0 and True
    return np.array([absent if _absent(v) else rule(v) for v in values], dtype=np.bool_)


_FACTORIZABLE = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}


def _absent(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _numbers(column: pd.Series | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Each value as a finite float, NaN where missing, infinite or not a number."""
    if isinstance(column, pd.Series) and (
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    ):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
        values = np.array([_number(v) for v in raw], dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _field_numbers(applications: Applications, field: str) -> npt.NDArray[np.float64]:
    column = _column(applications, field)
    if column is None:
        return np.full(_rows(applications), np.nan)
    return _numbers(column)


def _text(value: Any) -> str:
    """Compare values as text, with whole floats as integers (a CSV's 1.0 is 1)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: Any) -> float:
    if _absent(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@lru_cache(maxsize=32)
def parse_policy(text: str) -> Policy:
    """Parse and validate a policy from YAML text.

    Raises
    ------
    ValidationError
        Naming the first broken field (dotted path) and the reason.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"policy is not valid YAML: {exc}", field="policy") from None
    if not isinstance(data, dict):
        raise ValidationError("policy must be a YAML mapping", field="policy")
    try:
        return Policy.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValidationError(f"policy {where}: {message}", field=where) from None


def dump_policy(policy: Policy) -> str:
    """Render a policy as YAML (money as strings, so nothing is rounded)."""
    data = policy.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False)


DEFAULT_POLICY = """\
name: default
knockouts:
  - id: under_18
    field: age
    op: "<"
    value: 18
    reason: Applicants must be at least 18 years old
  - id: bankruptcy
    field: declared_bankruptcy
    op: "true"
    reason: A bankruptcy has been declared
cutoffs:
  approve_below: 0.08
  decline_at_or_above: 0.25
limits:
  bands:
    - {max_pd: 0.03, cap: 25000}
    - {max_pd: 0.08, cap: 10000}
    - {max_pd: 0.25, cap: 3000}
  income_field: monthly_income
  debt_field: monthly_debt
  income_multiple: 3
  currency: EUR
"""
