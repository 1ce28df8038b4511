from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_ratio,
    equal_opportunity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import roc_auc_score

from finai import credit
from finai.credit.training import TrainResult
from finai.datasets import DatasetSpec, LoanBook
from finai.exceptions import ValidationError
from finai.governance import (
    MIN_GROUP,
    MISSING,
    FairnessReport,
    GroupMetrics,
    ProtectedAttribute,
    fairness_report,
)
from finai.governance.bootstrap import weighted_metrics

POLICY = credit.parse_policy(credit.DEFAULT_POLICY)  # approve when PD < 0.08
APPROVED_PD, DECLINED_PD = 0.05, 0.40


class FixedPD:
    """An estimator whose PD is the row's ``pd`` column: the tests choose every approval."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        pd_ = X["pd"].to_numpy(dtype=float)
        return np.column_stack([1 - pd_, pd_])


def fixed_model(target: str = "y") -> credit.CreditModel:
    spec = DatasetSpec(target=target, bad="1", numeric=("pd",), categorical=())
    return credit.CreditModel(
        estimator=FixedPD(),  # type: ignore[arg-type]
        spec=spec,
        algorithm="fixed",
        reference_scores=np.array([]),
    )


def rows(group: str, *, good_approved: int, good_declined: int, bad_approved: int,
         bad_declined: int, **extra: Any) -> list[dict[str, Any]]:  # fmt: skip
    cells = [
        (0, APPROVED_PD, good_approved),
        (0, DECLINED_PD, good_declined),
        (1, APPROVED_PD, bad_approved),
        (1, DECLINED_PD, bad_declined),
    ]
    return [{"sex": group, "y": y, "pd": pd_, **extra} for y, pd_, n in cells for _ in range(n)]


@pytest.fixture
def hand_table() -> pd.DataFrame:
    """Group f: 40 rows, g: 60 rows, x: 5 rows (too small); counts chosen to add up by hand.

    f: 30 good (9 approved), 10 bad (1 approved)  → approval 10/40 = 0.25, TPR 0.3, FPR 0.1
    g: 45 good (27 approved), 15 bad (3 approved) → approval 30/60 = 0.50, TPR 0.6, FPR 0.2
    x: 3 good, 2 bad, nobody approved             → approval 0 but too small to compare
    """
    table = [
        *rows("f", good_approved=9, good_declined=21, bad_approved=1, bad_declined=9),
        *rows("g", good_approved=27, good_declined=18, bad_approved=3, bad_declined=12),
        *rows("x", good_approved=0, good_declined=3, bad_approved=0, bad_declined=2),
    ]
    return pd.DataFrame(table)


def report_of(frame: pd.DataFrame, protected: list[str], **kwargs: Any) -> FairnessReport:
    settings: dict[str, Any] = {"resamples": 200, "seed": 7, **kwargs}
    return fairness_report(
        fixed_model(), frame, POLICY, target="y", protected=protected, **settings
    )


def by_name(groups: tuple[GroupMetrics, ...]) -> dict[str, GroupMetrics]:
    return {g.group: g for g in groups}


def test_rates_and_disparate_impact_match_the_hand_computation(hand_table: pd.DataFrame) -> None:
    report = report_of(hand_table, ["sex"])
    (sex,) = report.attributes
    groups = by_name(sex.groups)
    f, g, x = groups["f"], groups["g"], groups["x"]
    assert (f.count, g.count, x.count) == (40, 60, 5)
    assert f.metrics["selection_rate"] == pytest.approx(0.25)
    assert g.metrics["selection_rate"] == pytest.approx(0.50)
    assert f.metrics["true_positive_rate"] == pytest.approx(0.3)
    assert g.metrics["true_positive_rate"] == pytest.approx(0.6)
    assert f.metrics["false_positive_rate"] == pytest.approx(0.1)
    assert g.metrics["false_positive_rate"] == pytest.approx(0.2)
    assert f.metrics["bad_rate"] == pytest.approx(0.25)
    assert g.metrics["bad_rate"] == pytest.approx(0.25)
    assert f.impact_ratio == pytest.approx(0.5)
    assert g.impact_ratio == pytest.approx(1.0)
    impact = sex.disparate_impact
    assert impact.ratio == pytest.approx(0.25 / 0.50)
    assert impact.passes_four_fifths is False
    assert (impact.lowest_group, impact.highest_group) == ("f", "g")
    assert impact.groups_compared == 2  # x is too small: its 0 approvals would make it 0
    opportunity = sex.equal_opportunity
    assert opportunity.difference == pytest.approx(0.6 - 0.3)
    assert (opportunity.lowest_group, opportunity.highest_group) == ("f", "g")
    assert report.overall.count == 105
    assert report.overall.metrics["selection_rate"] == pytest.approx(40 / 105)
    assert report.rows == 105 and report.bad == "1"


def test_four_fifths_passes_at_exactly_eighty_percent() -> None:
    def table(f_approved: int) -> pd.DataFrame:
        return pd.DataFrame(
            rows("f", good_approved=f_approved, good_declined=40 - f_approved,
                 bad_approved=0, bad_declined=10)
            + rows("g", good_approved=40, good_declined=0, bad_approved=10, bad_declined=0)
        )  # fmt: skip

    at_the_line = report_of(table(40), ["sex"]).attributes[0].disparate_impact
    assert at_the_line.ratio == pytest.approx(0.8)  # 40/50 against 50/50
    assert at_the_line.passes_four_fifths is True
    below = report_of(table(39), ["sex"]).attributes[0].disparate_impact
    assert below.ratio == pytest.approx(39 / 50)
    assert below.passes_four_fifths is False


def test_report_numbers_equal_fairlearns_own(trained: TrainResult, book: LoanBook) -> None:
    frame = book.frame.head(1_500)
    report = fairness_report(
        trained.model, frame, POLICY, target="default", protected=["sex", "nationality"],
        resamples=50,
    )  # fmt: skip
    pd_ = trained.model.predict_pd(trained.model.features(frame))
    y_true = 1 - frame["default"].to_numpy()
    y_pred = (pd_ < 0.08).astype(int)
    assert 0 < y_pred.sum() < len(y_pred)
    for attribute in report.attributes[:2]:
        sensitive = frame[attribute.name]
        own = MetricFrame(
            metrics={
                "count": count,
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
            },
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=sensitive,
        ).by_group
        for group in attribute.groups:
            expected = own.loc[group.group]
            assert group.count == expected["count"]
            for name in ("selection_rate", "true_positive_rate", "false_positive_rate"):
                assert group.metrics[name] == pytest.approx(expected[name], abs=1e-12)
            members = (sensitive == group.group).to_numpy()
            assert group.metrics["auc"] == pytest.approx(
                roc_auc_score(y_true[members], 1 - pd_[members]), abs=1e-12
            )
        large = sensitive.map(lambda v, a=attribute: not by_name(a.groups)[v].too_small)
        mask = large.to_numpy(dtype=bool)
        assert attribute.disparate_impact.ratio == pytest.approx(
            demographic_parity_ratio(y_true[mask], y_pred[mask], sensitive_features=sensitive[mask])
        )
        assert attribute.equal_opportunity.difference == pytest.approx(
            equal_opportunity_difference(
                y_true[mask], y_pred[mask], sensitive_features=sensitive[mask]
            )
        )
    intersection = report.attributes[2]
    assert intersection.name == "sex & nationality"
    both = MetricFrame(
        metrics={"count": count, "selection_rate": selection_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=frame[["sex", "nationality"]],
    ).by_group
    for group in intersection.groups:
        key = (group.values["sex"], group.values["nationality"])
        assert group.count == both.loc[key, "count"]
        assert group.metrics["selection_rate"] == pytest.approx(both.loc[key, "selection_rate"])
    assert sum(g.count for g in intersection.groups) == len(frame)


def test_numeric_attributes_are_banded_at_the_cut_points() -> None:
    attribute = ProtectedAttribute.parse("age:25,40,60")
    assert attribute == ProtectedAttribute("age", (25.0, 40.0, 60.0))
    assert attribute.bands == ("<25", "25-40", "40-60", ">=60")
    ages = pd.Series([18, 24.9, 25, 39, 40, 60, 75, None])
    codes, labels = attribute.groups(ages)
    assert labels == ("<25", "25-40", "40-60", ">=60", MISSING)
    assert [labels[c] for c in codes] == [
        "<25", "<25", "25-40", "25-40", "40-60", ">=60", ">=60", MISSING,
    ]  # fmt: skip
    assert ProtectedAttribute.parse("age:25").bands == ("<25", ">=25")
    assert ProtectedAttribute.parse("income:1500.5").bands == ("<1500.5", ">=1500.5")
    text_numbers = pd.Series(["31", " 19 ", "", None], dtype=object)
    codes, labels = ProtectedAttribute.parse("age:25").groups(text_numbers)
    assert [labels[c] for c in codes] == [">=25", "<25", MISSING, MISSING]


def test_banding_in_the_report_keeps_empty_bands_as_too_small(hand_table: pd.DataFrame) -> None:
    table = hand_table.assign(age=np.resize([22, 30, 45], len(hand_table)))
    report = report_of(table, ["age:25,40,70"])
    (age,) = report.attributes
    assert age.kind == "bands" and age.cuts == {"age": (25.0, 40.0, 70.0)}
    assert [g.group for g in age.groups] == ["<25", "25-40", "40-70", ">=70"]
    empty = age.groups[-1]
    assert empty.count == 0 and empty.too_small
    assert empty.metrics["selection_rate"] is None and empty.impact_ratio is None
    assert sum(g.count for g in age.groups) == len(table)


def test_categories_sort_by_number_when_every_value_is_one_and_missing_comes_last() -> None:
    codes, labels = ProtectedAttribute("grade").groups(pd.Series([10, 2.0, None, 1, 2]))
    assert labels == ("1", "2", "10", MISSING)
    assert [labels[c] for c in codes] == ["10", "2", MISSING, "1", "2"]
    codes, labels = ProtectedAttribute("region").groups(pd.Series(["b ", "a", "", "b"]))
    assert labels == ("a", "b", MISSING)
    assert [labels[c] for c in codes] == ["b", "a", MISSING, "b"]


def test_a_column_name_with_a_colon_and_no_numbers_is_a_column() -> None:
    assert ProtectedAttribute.parse("time:of:day") == ProtectedAttribute("time:of:day")
    assert ProtectedAttribute.parse("a:b:5").cuts == (5.0,)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("age:", "no cut points"),
        ("age:40,25", "strictly increasing"),
        ("age:25,,40", "numbers separated by commas"),
        ("age:1e999", "finite"),
    ],
)
def test_bad_cut_points_name_the_column(text: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        ProtectedAttribute.parse(text)
    assert caught.value.field == "age"


def test_too_small_groups_get_no_ratio_and_are_left_out(hand_table: pd.DataFrame) -> None:
    report = report_of(hand_table, ["sex"], min_group=41)
    groups = by_name(report.attributes[0].groups)
    assert [g.too_small for g in groups.values()] == [True, False, True]
    assert groups["f"].impact_ratio is None and groups["x"].impact_ratio is None
    assert groups["f"].metrics["selection_rate"] == pytest.approx(0.25)  # still shown
    impact = report.attributes[0].disparate_impact
    assert impact.ratio is None and impact.passes_four_fifths is None
    assert impact.groups_compared == 1
    assert impact.note is not None and "41 rows" in impact.note
    assert report.attributes[0].equal_opportunity.difference is None
    assert report.to_dict()["groups"]["sex"][0]["too_small"] is True


def test_no_ratio_when_nobody_is_approved(hand_table: pd.DataFrame) -> None:
    table = hand_table.assign(pd=DECLINED_PD)
    impact = report_of(table, ["sex"]).attributes[0].disparate_impact
    assert impact.ratio is None and impact.passes_four_fifths is None
    assert impact.note == "no row of the groups compared is approved"


def test_undefined_rates_are_null_not_zero() -> None:
    table = pd.DataFrame(
        rows("f", good_approved=20, good_declined=20, bad_approved=0, bad_declined=0)
        + rows("g", good_approved=10, good_declined=10, bad_approved=5, bad_declined=15)
    )
    groups = by_name(report_of(table, ["sex"]).attributes[0].groups)
    only_good = groups["f"]
    assert only_good.metrics["false_positive_rate"] is None
    assert only_good.metrics["auc"] is None
    assert only_good.intervals["false_positive_rate"] is None
    assert only_good.metrics["true_positive_rate"] == pytest.approx(0.5)
    assert groups["g"].metrics["auc"] is not None


def test_bootstrap_intervals_contain_the_estimate_and_repeat_with_the_seed(
    trained: TrainResult, book: LoanBook
) -> None:
    frame = book.frame.head(1_500)

    def run(seed: int) -> FairnessReport:
        return fairness_report(
            trained.model, frame, POLICY, target="default", protected=["age:40", "sex"],
            resamples=300, seed=seed,
        )  # fmt: skip

    first, again, other = run(1), run(1), run(2)
    assert first.to_dict() == again.to_dict()
    assert first.to_dict()["groups"] != other.to_dict()["groups"]
    for attribute in first.attributes:
        for group in (*attribute.groups, first.overall):
            for name, value in group.metrics.items():
                interval = group.intervals[name]
                assert value is not None and interval is not None
                assert interval[0] <= value <= interval[1], (attribute.name, group.group, name)
        impact = attribute.disparate_impact
        assert impact.ratio is not None and impact.interval is not None
        assert impact.interval[0] <= impact.ratio <= impact.interval[1]
        opportunity = attribute.equal_opportunity
        assert opportunity.difference is not None and opportunity.interval is not None
        assert opportunity.interval[0] <= opportunity.difference <= opportunity.interval[1]


def test_bootstrap_interval_of_a_rate_has_the_binomial_width() -> None:
    rng = np.random.default_rng(0)
    n = 2_000
    table = pd.DataFrame(
        {
            "sex": np.where(np.arange(n) < n // 2, "f", "g"),
            "y": rng.integers(0, 2, n),
            "pd": np.where(rng.random(n) < 0.3, APPROVED_PD, DECLINED_PD),
        }
    )
    group = report_of(table, ["sex"], resamples=2_000).attributes[0].groups[0]
    p = group.metrics["selection_rate"]
    interval = group.intervals["selection_rate"]
    assert p is not None and interval is not None
    half = 1.96 * np.sqrt(p * (1 - p) / group.count)
    assert interval[1] - interval[0] == pytest.approx(2 * half, rel=0.1)


def test_weighted_metrics_equal_fairlearn_and_sklearn_with_sample_weights() -> None:
    rng = np.random.default_rng(3)
    n = 60
    score = np.sort(np.round(rng.random(n), 1))  # ties on purpose
    good = rng.integers(0, 2, n)
    approved = (score > 0.5).astype(np.int64)
    weights = rng.integers(0, 4, size=(5, n)).astype(float)
    got = weighted_metrics(weights, approved, good, score)
    for k, w in enumerate(weights):
        assert got["selection_rate"][k] == pytest.approx(
            selection_rate(good, approved, sample_weight=w)
        )
        assert got["true_positive_rate"][k] == pytest.approx(
            true_positive_rate(good, approved, sample_weight=w, pos_label=1)
        )
        assert got["false_positive_rate"][k] == pytest.approx(
            false_positive_rate(good, approved, sample_weight=w, pos_label=1)
        )
        assert got["auc"][k] == pytest.approx(roc_auc_score(good, score, sample_weight=w))
        assert got["bad_rate"][k] == pytest.approx(np.average(1 - good, weights=w))


def test_intersection_only_with_two_or_more_attributes(hand_table: pd.DataFrame) -> None:
    table = hand_table.assign(region=np.resize(["n", "s"], len(hand_table)))
    assert [a.name for a in report_of(table, ["sex"]).attributes] == ["sex"]
    report = report_of(table, ["sex", "region"])
    assert [a.name for a in report.attributes] == ["sex", "region", "sex & region"]
    intersection = report.attributes[2]
    assert intersection.kind == "intersection" and intersection.columns == ("sex", "region")
    assert [g.group for g in intersection.groups] == [
        "f & n", "f & s", "g & n", "g & s", "x & n", "x & s",
    ]  # fmt: skip
    assert intersection.groups[0].values == {"sex": "f", "region": "n"}
    assert sum(g.count for g in intersection.groups) == len(table)


def test_approval_is_the_policys_approve_outcome(trained: TrainResult, book: LoanBook) -> None:
    frame = book.frame.head(800)
    report = fairness_report(
        trained.model, frame, POLICY, target="default", protected=["sex"], resamples=10
    )
    pds = trained.model.predict_pd(trained.model.features(frame))
    approve = [POLICY.outcome_for(float(p)) is credit.Outcome.APPROVE for p in pds]
    assert report.overall.metrics["selection_rate"] == pytest.approx(np.mean(approve))
    assert report.approve_below == POLICY.cutoffs.approve_below


def test_the_json_form_is_plain_and_defines_its_terms(hand_table: pd.DataFrame) -> None:
    data = report_of(hand_table, ["sex"]).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert set(data["definitions"]) >= {"approved", "y_true", "true_positive_rate", "interval"}
    assert "repaid" in data["definitions"]["y_true"]
    assert "PD < 0.08" in data["definitions"]["approved"]
    assert data["settings"] == {
        "min_group": MIN_GROUP, "resamples": 200, "seed": 7, "confidence": 0.95,
        "four_fifths": 0.8,
    }  # fmt: skip


def test_the_models_own_bad_value_is_used_for_its_target(hand_table: pd.DataFrame) -> None:
    table = hand_table.assign(y=hand_table["y"].map({0: "ok", 1: "defaulted"}))
    model = fixed_model()
    model = credit.CreditModel(
        estimator=model.estimator,
        spec=DatasetSpec(target="y", bad="defaulted", numeric=("pd",), categorical=()),
        algorithm="fixed",
        reference_scores=np.array([]),
    )
    report = fairness_report(model, table, POLICY, target="y", protected=["sex"], resamples=10)
    assert report.bad == "defaulted"
    assert by_name(report.attributes[0].groups)["f"].metrics["bad_rate"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("change", "protected", "kwargs", "field", "words"),
    [
        (None, ["gender"], {}, "gender", "protected column 'gender' is not in the table"),
        (None, ["sex", "sex"], {}, "sex", "given twice"),
        (None, ["y"], {}, "y", "both the target and protected"),
        (None, ["sex:25"], {}, "sex", "has text in 105 rows"),
        (None, ["row"], {}, "row", "'row' has 105 distinct values; at most 100 groups"),
        (None, [], {}, "protected", "at least one protected column"),
        (None, ["sex"], {"target": "outcome"}, "outcome", "target column 'outcome' is not in"),
        (None, ["sex"], {"bad": "2"}, "y", "bad value '2' is not a value of target 'y'"),
        ("one_class", ["sex"], {}, "y", "one value only"),
        ("three_values", ["sex"], {}, "y", "3 distinct values"),
        ("missing_target", ["sex"], {}, "y", "1 missing value"),
        ("no_feature", ["sex"], {}, "pd", "missing feature columns 'pd'"),
        (None, ["sex"], {"min_group": 0}, "min_group", "min_group"),
        (None, ["sex"], {"resamples": 0}, "resamples", "resamples"),
        (None, ["sex"], {"confidence": 1.0}, "confidence", "confidence"),
    ],
)
def test_bad_input_names_the_field(
    hand_table: pd.DataFrame,
    change: str | None,
    protected: list[str],
    kwargs: dict[str, Any],
    field: str,
    words: str,
) -> None:
    table = hand_table.assign(row=np.arange(len(hand_table)))
    if change == "one_class":
        table["y"] = 0
    elif change == "three_values":
        table.loc[0, "y"] = 2
    elif change == "missing_target":
        table["y"] = table["y"].astype(float)
        table.loc[3, "y"] = np.nan
    elif change == "no_feature":
        table = table.drop(columns="pd")
    arguments: dict[str, Any] = {"target": "y", "protected": protected, **kwargs}
    with pytest.raises(ValidationError, match=words) as caught:
        fairness_report(fixed_model(), table, POLICY, **arguments)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_intersection_ratios_skip_combinations_that_do_not_occur() -> None:
    table = pd.DataFrame(
        rows("f", good_approved=20, good_declined=10, bad_approved=2, bad_declined=8, region="n")
        + rows("g", good_approved=25, good_declined=5, bad_approved=3, bad_declined=7, region="n")
        + rows("g", good_approved=15, good_declined=15, bad_approved=1, bad_declined=9, region="s")
    )  # fmt: skip
    report = report_of(table, ["sex", "region"])
    intersection = report.attributes[2]
    assert [g.group for g in intersection.groups] == ["f & n", "g & n", "g & s"]  # no "f & s"
    y_true = 1 - table["y"].to_numpy()
    y_pred = (table["pd"] < 0.08).to_numpy().astype(int)
    sensitive = table[["sex", "region"]]
    assert intersection.disparate_impact.ratio == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=sensitive)
    )
    assert intersection.disparate_impact.ratio == pytest.approx(16 / 28)
    assert intersection.equal_opportunity.difference == pytest.approx(
        equal_opportunity_difference(y_true, y_pred, sensitive_features=sensitive)
    )
    assert intersection.equal_opportunity.difference == pytest.approx(25 / 30 - 15 / 30)
