"""Lending policy: knock-out rules, PD cut-offs and credit limits, kept as versioned YAML.

A credit committee changes these numbers, not code. A policy is validated as a whole
when loaded; a broken rule is refused with the field and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from finai.exceptions import ValidationError

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
        """Tell whether the rule fires for ``application``.

        A missing field never fires a rule, except ``missing`` itself.
        """
        raw: Any = application.get(self.field)
        absent = raw is None or (isinstance(raw, float) and math.isnan(raw))
        if self.op == "missing":
            return absent
        if absent:
            return False
        if self.op == "true":
            return _text(raw).lower() in {"1", "true", "yes", "y"}
        if self.op in ("in", "not_in"):
            members = {_text(v) for v in self.value} if isinstance(self.value, list) else set()
            return (_text(raw) in members) == (self.op == "in")
        if self.op in ("==", "!="):
            equal = _text(raw) == _text(self.value)
            return equal == (self.op == "==")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return False
        limit = float(cast(float, self.value))
        return {
            "<": number < limit,
            "<=": number <= limit,
            ">": number > limit,
            ">=": number >= limit,
        }[self.op]


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
        """Return the knock-out rules that fire for ``application``."""
        return [rule for rule in self.knockouts if rule.holds(application)]

    def outcome_for(self, pd: float) -> Outcome:
        """Map a PD to approve / refer / decline by the cut-offs."""
        if pd < self.cutoffs.approve_below:
            return Outcome.APPROVE
        if pd >= self.cutoffs.decline_at_or_above:
            return Outcome.DECLINE
        return Outcome.REFER

    def limit_for(self, pd: float, application: Mapping[str, Any]) -> Decimal | None:
        """Return the credit limit for ``pd``, or None when affordability is unknown.

        Zero when PD lies above every band.
        """
        cap = next((b.cap for b in self.limits.bands if pd <= b.max_pd), Decimal(0))
        if self.limits.income_field is None:
            return _money(cap)
        income = _number(application.get(self.limits.income_field))
        if income is None:
            return None
        debt = _number(application.get(self.limits.debt_field)) if self.limits.debt_field else 0
        affordable = Decimal(str(self.limits.income_multiple * income - (debt or 0.0)))
        return _money(max(Decimal(0), min(cap, affordable)))


def _text(value: Any) -> str:
    """Compare values as text, with whole floats as integers (a CSV's 1.0 is 1)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


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
