"""Governance: the fairness report's bootstrap, global explanations, and drift checks.

Each against a named peer on the same model and rows, side by side in one run:

1. Fairness intervals: FinAI's report (stratified bootstrap drawn as counts, every
   metric a weighted sum) against fairlearn's own bootstrap (``MetricFrame(n_boot=)``
   over the same metrics, groups and predictions), with the same number of resamples;
   the point estimates must agree.
2. Global importance of the GBM: FinAI's mean |contribution| (LightGBM's TreeSHAP,
   ``pred_contrib``) against scikit-learn's ``permutation_importance`` (AUC drop, 5
   repeats) on the same rows; how far the two rankings agree.
3. Drift: ``governance.drift_report`` (score PSI and every feature's CSI) against
   scoring the same rows (``credit.score_frame``), the work a check adds to a batch.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy.stats import spearmanr
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from benchmarks._common import log, md_table, num, ratio
from finai import credit, governance
from finai.datasets import make_loan_book

ROWS = 20_000
RESAMPLES = 200
SEED = 7


def _fairness(model: credit.CreditModel, frame: pd.DataFrame) -> tuple[str, str]:
    policy = credit.parse_policy(credit.DEFAULT_POLICY)
    started = time.perf_counter()
    report = governance.fairness_report(
        model, frame, policy, target="default", protected=["sex"], resamples=RESAMPLES, seed=SEED
    )
    ours = time.perf_counter() - started

    pd_ = model.predict_pd(model.features(frame))
    approved = (pd_ < policy.cutoffs.approve_below).astype(int)
    good = (frame["default"] == 0).astype(int).to_numpy()
    metrics: dict[str, Any] = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }
    started = time.perf_counter()
    peer = MetricFrame(
        metrics=metrics,
        y_true=good,
        y_pred=approved,
        sensitive_features=frame["sex"],
        n_boot=RESAMPLES,
        ci_quantiles=[0.025, 0.975],
        random_state=SEED,
    )
    theirs = time.perf_counter() - started
    by_group = peer.by_group
    ours_rates = {g["group"]: g["selection_rate"] for g in report.to_dict()["groups"]["sex"]}
    gap = max(abs(ours_rates[str(k)] - float(v)) for k, v in by_group["selection_rate"].items())
    table = md_table(
        ["bootstrap intervals, 3 metrics by sex", "resamples", "seconds", "vs FinAI"],
        [
            ["FinAI `fairness_report`", str(RESAMPLES), num(ours, 2), "1.00x"],
            [
                "fairlearn `MetricFrame(n_boot=)`",
                str(RESAMPLES),
                num(theirs, 2),
                ratio(theirs / ours),
            ],
        ],
    )
    return table, f"{gap:.1e}"


def _importance(model: credit.CreditModel, frame: pd.DataFrame) -> tuple[str, float]:
    features = model.features(frame)
    started = time.perf_counter()
    explanation = governance.explain_credit(model, frame.sample(5_000, random_state=SEED))
    ours = time.perf_counter() - started
    sample = frame.sample(5_000, random_state=SEED)
    X = model.features(sample)
    y = sample["default"].to_numpy()

    class _Scorer:
        def fit(self, *_: object) -> _Scorer:
            return self

        def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
            return np.column_stack([1 - model.predict_pd(table), model.predict_pd(table)])

    started = time.perf_counter()
    peer = permutation_importance(
        _Scorer(),
        X,
        y,
        scoring=lambda est, X_, y_: roc_auc_score(y_, est.predict_proba(X_)[:, 1]),
        n_repeats=5,
        random_state=SEED,
    )
    theirs = time.perf_counter() - started
    ours_by_feature = {i.feature: i.mean_abs_contribution for i in explanation.importance}
    names = list(features.columns)
    rho = float(
        spearmanr([ours_by_feature.get(n, 0.0) for n in names], peer.importances_mean).statistic
    )
    table = md_table(
        ["global importance, 5,000 rows", "seconds", "vs FinAI"],
        [
            [
                "FinAI mean \\|contribution\\| (TreeSHAP) + partial dependence",
                num(ours, 2),
                "1.00x",
            ],
            [
                "scikit-learn `permutation_importance` (AUC, 5 repeats)",
                num(theirs, 2),
                ratio(theirs / ours),
            ],
        ],
    )
    return table, rho


def _drift(model: credit.CreditModel, frame: pd.DataFrame) -> str:
    policy = credit.parse_policy(credit.DEFAULT_POLICY)
    started = time.perf_counter()
    credit.score_frame(frame, model, policy)
    scoring = time.perf_counter() - started
    started = time.perf_counter()
    report = governance.drift_report(model, frame, name="bench", version=1)
    drift = time.perf_counter() - started
    return md_table(
        [f"{len(frame):,} rows", "seconds", "vs scoring", "status"],
        [
            ["`credit.score_frame` (PD, score, reasons, limits)", num(scoring, 2), "1.00x", "-"],
            [
                "`governance.drift_report` (score PSI, every CSI)",
                num(drift, 2),
                ratio(drift / scoring),
                report.status,
            ],
        ],
    )


def main() -> str:
    """Run the three comparisons and return the section's markdown."""
    log(f"governance: training a GBM on {ROWS:,} synthetic loans")
    book = make_loan_book(ROWS, seed=SEED)
    result = credit.train(book.frame, book.spec, algorithm="gbm", seed=SEED, folds=3)
    model = result.model
    current = make_loan_book(ROWS, seed=SEED + 1).frame
    log("governance: fairness intervals")
    fairness, gap = _fairness(model, current)
    log("governance: global importance")
    importance, rho = _importance(model, current)
    log("governance: drift")
    drift = _drift(model, current)
    return f"""A LightGBM PD model trained on {ROWS:,} rows of the seeded synthetic loan book
(`make_loan_book(seed={SEED})`), measured on {ROWS:,} new rows (`seed={SEED + 1}`).

**Fairness intervals** ({RESAMPLES} resamples each; the approval rates by group of the two
agree to {gap}):

{fairness}

**Global importance** (the two rankings agree with Spearman's rho {rho:.2f}; TreeSHAP
measures the model's use of each feature, permutation its effect on AUC):

{importance}

**Drift check on a batch**:

{drift}
"""
