"""Vintage monitoring against values computed by hand on small tables, and the alert rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from finai import credit, governance
from finai.context import Platform
from finai.credit import OutcomeReport
from finai.exceptions import NotFound, ValidationError
from finai.store import DriftCheckRow
from tests.credit.test_outcomes import MODEL, report, store_decisions
from tests.factories import register_versions

TRAINED = {"auc": 0.85, "ks": 0.6, "bad_rate": 0.2}
JAN = datetime(2026, 1, 15, 12, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 9, tzinfo=UTC)
LATER = datetime(2026, 6, 1, tzinfo=UTC)


def outcomes(platform: Platform, ids: list[str], defaulted: list[int]) -> None:
    items = [OutcomeReport(d, bool(y), LATER) for d, y in zip(ids, defaulted, strict=True)]
    report(platform, items)


def monitor(platform: Platform, **settings: object) -> governance.VintageReport:
    with platform.sessions() as session:
        return governance.vintage_report(session, MODEL, **settings)  # type: ignore[arg-type]


def binomial_bounds(n: int, p: float, confidence: float) -> tuple[int, int]:
    """Fewest and most defaults not in either tail, from the binomial's definition."""
    tail = (1 - confidence) / 2
    cdf, total = [], 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        cdf.append(total)
    low = next(k for k in range(n + 1) if cdf[k] >= tail)
    high = next(k for k in range(n + 1) if cdf[k] >= 1 - tail)
    return low, high


@pytest.fixture
def model(platform: Platform) -> str:
    register_versions(platform, [TRAINED], name=MODEL, kind=credit.KIND)
    return MODEL


def test_vintages_by_hand(platform: Platform, model: str) -> None:
    # January: PDs 0.1..0.4, bad at 0.2 and 0.4, one decision without an outcome.
    # AUC: of the four (bad, good) pairs, (0.2, 0.1), (0.4, 0.1), (0.4, 0.3) rank right: 3/4.
    # KS: cutting at PD >= 0.4 flags half the bads and no goods: 0.5.
    jan = store_decisions(platform, [0.1, 0.2, 0.3, 0.4, 0.5], at=JAN)
    outcomes(platform, jan[:4], [0, 1, 0, 1])
    # February: two performing loans (one class: no AUC); the first decided on 31 January
    # at 23:30 in New York, which is February in UTC.
    new_york = timezone(timedelta(hours=-5))
    late_jan = store_decisions(platform, [0.3], at=datetime(2026, 1, 31, 23, 30, tzinfo=new_york))
    feb = store_decisions(platform, [0.1], at=FEB)
    outcomes(platform, late_jan + feb, [0, 0])
    # another version's and another model's decisions are not counted
    other = store_decisions(platform, [0.9], at=JAN, version=2)
    other += store_decisions(platform, [0.9], at=JAN, model="someone-else")
    outcomes(platform, other, [1, 1])

    result = monitor(platform, min_outcomes=1)
    assert (result.model, result.version, result.stage) == (MODEL, 1, "candidate")
    assert result.training == governance.TrainingBaseline(0.85, 0.6, 0.2)
    january, february = result.vintages
    assert january.vintage == "2026-01"
    assert (january.decisions, january.outcomes, january.defaults) == (5, 4, 2)
    assert january.coverage == pytest.approx(0.8)
    assert january.default_rate == pytest.approx(0.5)
    assert january.expected_rate == pytest.approx(0.25)
    assert january.calibration == pytest.approx(2.0)
    assert january.auc == pytest.approx(0.75)
    assert january.ks == pytest.approx(0.5)
    # at 99%: P(X <= 3) = 1 - 0.25**4 = 0.996 is the first to reach 0.995, so [0, 3] of 4
    assert binomial_bounds(4, 0.25, 0.99) == (0, 3)
    assert january.interval == pytest.approx((0.0, 0.75))
    assert february.vintage == "2026-02"
    assert (february.decisions, february.outcomes, february.defaults) == (2, 2, 0)
    assert february.default_rate == 0.0
    assert february.expected_rate == pytest.approx(0.2)
    assert february.calibration == 0.0
    assert february.auc is None and february.ks is None
    overall = result.overall
    assert overall.vintage == "all"
    assert (overall.decisions, overall.outcomes, overall.defaults) == (7, 6, 2)
    assert overall.expected_rate == pytest.approx(1.4 / 6)
    # pairs: bads 0.2, 0.4 against goods 0.1, 0.3, 0.3, 0.1: 0.2 beats 2 of 4, 0.4 all 4
    assert overall.auc == pytest.approx(6 / 8)
    assert overall.ks == pytest.approx(0.5)


def test_auc_and_ks_alert_below_training_less_the_tolerance(platform: Platform, model: str) -> None:
    jan = store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)
    outcomes(platform, jan, [0, 1, 0, 1])
    result = monitor(platform, min_outcomes=4)
    # AUC 0.75 < 0.85 - 0.05; KS 0.5 < 0.6 - 0.08; the rate 0.5 lies in [0, 0.75]
    assert [(a.vintage, a.metric) for a in result.alerts] == [
        ("2026-01", "auc"),
        ("2026-01", "ks"),
        ("all", "auc"),
        ("all", "ks"),
    ]
    auc = result.alerts[0]
    assert (auc.value, auc.reference, auc.bound) == pytest.approx((0.75, 0.85, 0.80))
    assert "AUC 0.750 in vintage 2026-01 is more than 0.05 below" in auc.message
    ks = result.alerts[1]
    assert (ks.value, ks.reference, ks.bound) == pytest.approx((0.5, 0.6, 0.52))
    # within wider tolerances nothing alerts
    assert monitor(platform, min_outcomes=4, auc_tolerance=0.1, ks_tolerance=0.1).alerts == []


def test_small_vintages_are_shown_but_never_alert(platform: Platform, model: str) -> None:
    jan = store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)
    outcomes(platform, jan, [1, 0, 1, 0])  # AUC 0.25: ranks backwards
    result = monitor(platform, min_outcomes=5)
    [january] = result.vintages
    assert january.too_small and result.overall.too_small
    assert january.auc == pytest.approx(0.25)
    assert result.alerts == []


def test_default_rate_outside_the_binomial_interval_alerts(platform: Platform, model: str) -> None:
    # 100 loans at PD 0.1: at 95% the interval is 5 to 16 defaults
    assert binomial_bounds(100, 0.1, 0.95) == (5, 16)
    jan = store_decisions(platform, [0.1] * 100, at=JAN)
    outcomes(platform, jan, [1] * 16 + [0] * 84)
    feb = store_decisions(platform, [0.1] * 100, at=FEB)
    outcomes(platform, feb, [1] * 17 + [0] * 83)
    result = monitor(platform, min_outcomes=100, confidence=0.95)
    january, february = result.vintages
    assert january.interval == february.interval == pytest.approx((0.05, 0.16))
    assert january.auc is not None  # all PDs tie: AUC 0.5, far below training
    rate_alerts = [a for a in result.alerts if a.metric == "default_rate"]
    # February alone, and 33 of 200 over both months (above the interval of 200 loans)
    assert [a.vintage for a in rate_alerts] == ["2026-02", "all"]
    alert, overall = rate_alerts
    assert overall.bound == pytest.approx(binomial_bounds(200, 0.1, 0.95)[1] / 200)
    assert (alert.value, alert.reference, alert.bound) == pytest.approx((0.17, 0.1, 0.16))
    assert "above the 95% interval 5.0%-16.0% around the expected 10.0%" in alert.message
    # 4 defaults is below the interval
    mar = store_decisions(platform, [0.1] * 100, at=datetime(2026, 3, 3, tzinfo=UTC))
    outcomes(platform, mar, [1] * 4 + [0] * 96)
    result = monitor(platform, min_outcomes=100, confidence=0.95)
    [low] = [a for a in result.alerts if a.metric == "default_rate" and a.vintage == "2026-03"]
    assert low.bound == pytest.approx(0.05)
    assert "below the 95% interval" in low.message


def test_without_training_metrics_only_the_default_rate_can_alert(platform: Platform) -> None:
    register_versions(platform, [{}], name=MODEL, kind=credit.KIND)
    jan = store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)
    outcomes(platform, jan, [1, 0, 1, 0])
    result = monitor(platform, min_outcomes=1)
    assert result.training == governance.TrainingBaseline(None, None, None)
    assert result.alerts == []


def test_a_model_without_decisions_or_outcomes_reports_nothing(
    platform: Platform, model: str
) -> None:
    empty = monitor(platform)
    assert empty.vintages == []
    assert (empty.overall.decisions, empty.overall.outcomes) == (0, 0)
    assert empty.overall.default_rate is None and empty.overall.interval is None
    assert empty.alerts == []
    store_decisions(platform, [0.2, 0.3], at=JAN)
    [pending] = monitor(platform).vintages
    assert (pending.decisions, pending.outcomes, pending.coverage) == (2, 0, 0.0)
    assert pending.default_rate is None and pending.calibration is None and pending.too_small


def test_to_dict_is_json_ready(platform: Platform, model: str) -> None:
    jan = store_decisions(platform, [0.1, 0.2], at=JAN)
    outcomes(platform, jan, [0, 1])
    data = monitor(platform, min_outcomes=1).to_dict()
    assert set(data) == {
        "model", "version", "stage", "training", "settings", "vintages", "overall", "alerts",
    }  # fmt: skip
    assert data["settings"] == {
        "min_outcomes": 1, "auc_tolerance": 0.05, "ks_tolerance": 0.08, "confidence": 0.99,
    }  # fmt: skip
    assert data["vintages"][0]["interval"] == [0.0, 1.0]
    assert data["overall"]["vintage"] == "all"


def test_refusals(platform: Platform, model: str) -> None:
    register_versions(platform, [{}], name="fraudish", kind="fraud.model")
    with platform.sessions() as session:
        with pytest.raises(NotFound):
            governance.vintage_report(session, "nobody")
        with pytest.raises(NotFound):
            governance.vintage_report(session, MODEL, 7)
        with pytest.raises(ValidationError, match="not a credit model"):
            governance.vintage_report(session, "fraudish")
        for settings, field in [
            ({"min_outcomes": 0}, "min_outcomes"),
            ({"auc_tolerance": -0.1}, "auc_tolerance"),
            ({"ks_tolerance": 1.5}, "ks_tolerance"),
            ({"confidence": 1.0}, "confidence"),
            ({"confidence": 0.5}, "confidence"),
        ]:
            with pytest.raises(ValidationError) as caught:
                governance.vintage_report(session, MODEL, **settings)  # type: ignore[arg-type]
            assert caught.value.field == field


def store_check(
    platform: Platform, at: datetime, psi: float | None, features: dict[str, float], version: int
) -> None:
    with platform.sessions() as session:
        session.add(
            DriftCheckRow(
                checked_at=at,
                model_name=MODEL,
                model_version=version,
                rows=100,
                score_psi=psi,
                features=features,
                status="stable",
                source="scheduled",
                actor="system",
            )
        )
        session.commit()


def test_drift_history_oldest_first_newest_kept(platform: Platform) -> None:
    store_check(platform, FEB, 0.12, {"age": 0.3, "income": 0.05}, 1)
    store_check(platform, JAN, 0.02, {}, 1)
    store_check(platform, LATER, 0.3, {"age": 0.01}, 2)
    with platform.sessions() as session:
        history = governance.drift_history(session, MODEL)
        assert (history.watch, history.act) == (0.1, 0.25)
        assert [p.checked_at for p in history.points] == [JAN, FEB, LATER]
        assert [p.score_psi for p in history.points] == [0.02, 0.12, 0.3]
        assert history.points[1].worst_feature == ("age", 0.3)
        assert history.points[0].worst_feature is None
        only_v1 = governance.drift_history(session, MODEL, version=1)
        assert [p.model_version for p in only_v1.points] == [1, 1]
        newest = governance.drift_history(session, MODEL, limit=2)
        assert [p.checked_at for p in newest.points] == [FEB, LATER]
        assert governance.drift_history(session, "other").points == []
        with pytest.raises(ValidationError):
            governance.drift_history(session, MODEL, limit=0)
