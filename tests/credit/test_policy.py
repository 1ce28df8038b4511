from __future__ import annotations

import contextlib
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finai.credit import DEFAULT_POLICY, Outcome, parse_policy
from finai.credit.policy import Knockout, dump_policy
from finai.exceptions import ValidationError

POLICY = parse_policy(DEFAULT_POLICY)


def test_default_policy_outcomes_and_limits() -> None:
    assert POLICY.outcome_for(0.02) is Outcome.APPROVE
    assert POLICY.outcome_for(0.08) is Outcome.REFER
    assert POLICY.outcome_for(0.25) is Outcome.DECLINE
    applicant = {"monthly_income": 2000, "monthly_debt": 500}
    assert POLICY.limit_for(0.02, applicant) == Decimal("5500.00")
    assert POLICY.limit_for(0.02, {"monthly_income": 100000}) == Decimal("25000.00")
    assert POLICY.limit_for(0.05, {"monthly_income": 100000}) == Decimal("10000.00")
    assert POLICY.limit_for(0.5, {"monthly_income": 100000}) == Decimal("0.00")
    assert POLICY.limit_for(0.02, {"monthly_income": 100, "monthly_debt": 900}) == Decimal("0.00")
    assert POLICY.limit_for(0.02, {}) is None
    assert POLICY.limit_for(0.02, {"monthly_income": float("nan")}) is None


@pytest.mark.parametrize(
    ("application", "hits"),
    [
        ({"age": 17}, ["under_18"]),
        ({"age": 18}, []),
        ({"age": None}, []),
        ({"declared_bankruptcy": "yes"}, ["bankruptcy"]),
        ({"declared_bankruptcy": True, "age": 16.5}, ["under_18", "bankruptcy"]),
        ({"declared_bankruptcy": "no", "age": "unknown"}, []),
        ({"declared_bankruptcy": 1.0}, ["bankruptcy"]),
        ({"declared_bankruptcy": 0.0}, []),
    ],
)
def test_knockouts(application: dict[str, object], hits: list[str]) -> None:
    assert [k.id for k in POLICY.knockouts_hit(application)] == hits


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("approve_below: 0.08", "approve_below: 0.5"), "cutoffs"),
        (("approve_below: 0.08", "approve_below: 1.5"), "cutoffs.approve_below"),
        (("{max_pd: 0.03, cap: 25000}", "{max_pd: 0.03, cap: 1000}"), "limits.bands"),
        (("{max_pd: 0.08, cap: 10000}", "{max_pd: 0.01, cap: 10000}"), "limits.bands"),
        (('op: "<"', 'op: "=~"'), "knockouts.0.op"),
        (("    value: 18", "    value: eighteen"), "knockouts.0"),
        (("currency: EUR", "currency: euro"), "limits.currency"),
        (("income_multiple: 3", "income_multiple: 3\n  surprise: 1"), "limits.surprise"),
        (("id: bankruptcy", "id: under_18"), "knockouts"),
    ],
)
def test_broken_policies_name_the_field(edit: tuple[str, str], field: str) -> None:
    old, new = edit
    assert old in DEFAULT_POLICY
    with pytest.raises(ValidationError) as exc:
        parse_policy(DEFAULT_POLICY.replace(old, new))
    assert exc.value.field == field


@pytest.mark.parametrize("text", ["", "- a\n- b", "cutoffs: [", "42"])
def test_non_mapping_or_broken_yaml_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_policy(text)


def test_messages_carry_no_library_prefix() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_policy(DEFAULT_POLICY.replace("approve_below: 0.08", "approve_below: 0.5"))
    assert str(exc.value) == "policy cutoffs: approve_below must not exceed decline_at_or_above"


def test_dump_round_trips() -> None:
    assert parse_policy(dump_policy(POLICY)) == POLICY


@given(st.text(max_size=300))
def test_parser_only_ever_raises_validation_errors(text: str) -> None:
    with contextlib.suppress(ValidationError):
        parse_policy(text)


@given(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1e6))
def test_limits_are_never_negative_and_never_above_the_top_cap(pd: float, income: float) -> None:
    limit = POLICY.limit_for(pd, {"monthly_income": income, "monthly_debt": 300})
    assert limit is not None
    assert Decimal(0) <= limit <= Decimal(25000)


CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-50, 50),
    st.floats(-50, 50),
    st.just(float("nan")),
    st.sampled_from(["yes", "no", "Y", "1", "1.0", " 17 ", "abc", "A11", ""]),
)
RULES = [
    {"op": "<", "value": 18},
    {"op": ">=", "value": 1.5},
    {"op": "==", "value": 1},
    {"op": "!=", "value": "yes"},
    {"op": "in", "value": ["A11", 17, True]},
    {"op": "not_in", "value": ["no", 1]},
    {"op": "missing"},
    {"op": "true"},
]


@pytest.mark.parametrize("rule", RULES, ids=[r["op"] for r in RULES])
@settings(max_examples=40)
@given(values=st.lists(CELLS, min_size=1, max_size=12))
def test_a_rule_fires_on_a_batch_as_on_each_row_alone(rule: dict, values: list) -> None:
    knockout = Knockout(id="r", field="x", reason="r", **rule)
    batch = knockout.fires(pd.DataFrame({"x": pd.Series(values, dtype=object)}))
    assert list(batch) == [knockout.holds({"x": v}) for v in values]
    typed = pd.DataFrame({"x": values})  # pandas picks the column's dtype
    assert list(knockout.fires(typed)) == list(batch)


@given(
    st.floats(min_value=0, max_value=1),
    st.integers(0, 10**7),
    st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_limits_round_down_to_the_cent_like_decimal_arithmetic(
    pd_value: float, income_cents: int, debt_cents: int | None
) -> None:
    income = income_cents / 100
    debt = None if debt_cents is None else debt_cents / 100
    limit = POLICY.limit_for(pd_value, {"monthly_income": income, "monthly_debt": debt})
    cap = next((b.cap for b in POLICY.limits.bands if pd_value <= b.max_pd), Decimal(0))
    affordable = 3 * Decimal(income_cents).scaleb(-2) - Decimal(debt_cents or 0).scaleb(-2)
    assert limit == max(Decimal("0.00"), min(cap, affordable))
