from __future__ import annotations

import numpy as np
import pytest

from finai import credit
from finai.credit.training import TrainResult
from finai.datasets import LoanBook, make_loan_book, oracle_auc
from finai.exceptions import ValidationError


def test_auto_picks_by_cv_auc_among_calibrated(trained: TrainResult, book: LoanBook) -> None:
    algorithms = {row["algorithm"] for row in trained.cv}
    assert algorithms == {"scorecard", "gbm"}
    calibrated = [r for r in trained.cv if r["calibration_gap"] <= 0.05] or trained.cv
    best = max(calibrated, key=lambda r: r["auc"])
    assert trained.model.algorithm == best["algorithm"]
    assert trained.metrics["auc"] == best["auc"]
    assert trained.metrics["gini"] == pytest.approx(2 * best["auc"] - 1)
    assert trained.model.oof_pd is not None and trained.model.oof_y is not None
    assert len(trained.model.oof_pd) == len(book.frame)
    assert trained.metrics["auc"] > oracle_auc(book) - 0.05


def test_a_trained_model_gets_close_to_the_oracle_on_fresh_data(trained: TrainResult) -> None:
    fresh = make_loan_book(4_000, seed=99, bad_rate=0.12)
    features = trained.model.features(fresh.frame)
    pd_hat = trained.model.predict_pd(features)
    report = credit.evaluate(fresh.frame["default"].to_numpy(), pd_hat)
    assert report.auc > oracle_auc(fresh) - 0.05
    assert abs(float(np.mean(pd_hat)) - float(fresh.frame["default"].mean())) < 0.03


def test_progress_is_reported_to_the_end(book: LoanBook) -> None:
    seen: list[float] = []
    credit.train(
        book.frame.head(1_000),
        book.spec,
        algorithm="scorecard",
        seed=1,
        folds=2,
        progress=lambda f, _m: seen.append(f),
    )
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("algorithm", ["forest", ""])
def test_unknown_algorithm_is_refused_before_any_work(book: LoanBook, algorithm: str) -> None:
    with pytest.raises(ValidationError) as exc:
        credit.train(book.frame, book.spec, algorithm=algorithm)
    assert exc.value.field == "model"


def test_too_few_bad_rows_for_the_folds(book: LoanBook) -> None:
    frame = book.frame.sort_values("default").head(200).copy()
    frame.loc[frame.index[:2], "default"] = 1
    with pytest.raises(ValidationError, match="smaller class has"):
        credit.train(frame, book.spec, folds=5)
