"""Training with stratified cross-validation and an automatic choice of algorithm."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from finai.credit.artifact import CreditModel, DriftReference, PDModel
from finai.credit.gbm import GBMModel
from finai.credit.metrics import evaluate
from finai.credit.scorecard import ScorecardModel
from finai.datasets.spec import DatasetSpec, prepare
from finai.exceptions import ValidationError

Algorithm = Literal["scorecard", "gbm", "auto"]
Progress = Callable[[float, str], None]
ALGORITHMS: tuple[str, ...] = ("scorecard", "gbm")
CALIBRATION_TOLERANCE = 0.05
REFERENCE_SAMPLE = 10_000
MIN_IV = 0.02
ISOTONIC_MIN_ROWS = 5_000


@dataclass(frozen=True)
class TrainResult:
    """A trained credit model and how it was chosen.

    Attributes
    ----------
    model
        The model fitted on all rows.
    metrics
        Out-of-fold metrics of the chosen algorithm (auc, gini, ks, brier, log_loss, n, …).
    cv
        One row per candidate: out-of-fold metrics, fold AUC spread, fit seconds.
    chosen_because
        Why this algorithm was picked.
    """

    model: CreditModel
    metrics: dict[str, Any]
    cv: list[dict[str, Any]]
    chosen_because: str
    seed: int
    folds: int


def build(algorithm: str, spec: DatasetSpec, seed: int, rows: int) -> PDModel:
    """Return an unfitted estimator of ``algorithm`` for ``spec`` and ``rows`` training rows.

    Scorecards leave out characteristics with an information value under
    ``MIN_IV`` (their points would be noise a committee cannot defend). Gradient
    boosting calibrates with Platt scaling below ``ISOTONIC_MIN_ROWS`` rows, where
    isotonic regression has too few calibration rows to be smooth.
    """
    if algorithm == "scorecard":
        return ScorecardModel(random_state=seed, selection_criteria={"iv": {"min": MIN_IV}})
    if algorithm == "gbm":
        monotone: dict[str, int] | str = dict(spec.monotone) if spec.monotone else "auto"
        if rows >= ISOTONIC_MIN_ROWS:
            return GBMModel(random_state=seed, monotone=monotone, calibration="isotonic")
        return GBMModel(random_state=seed, monotone=monotone, calibration="sigmoid")
    raise ValidationError(
        f"unknown model {algorithm!r}; one of scorecard, gbm, auto", field="model"
    )


def _calibration_gap(metrics: dict[str, Any]) -> float:
    bins = metrics.get("calibration") or []
    total = sum(b["count"] for b in bins) or 1
    return float(sum(b["count"] * abs(b["mean_pd"] - b["bad_rate"]) for b in bins) / total)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("calibration", "oof_pd")}


def _cross_validate(
    algorithm: str,
    X: pd.DataFrame,
    y: np.ndarray,
    spec: DatasetSpec,
    seed: int,
    folds: int,
    tick: Callable[[str], None],
) -> dict[str, Any]:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oof = np.zeros(len(y))
    fold_aucs, seconds = [], 0.0
    for k, (train_idx, test_idx) in enumerate(splitter.split(X, y), start=1):
        estimator = clone(build(algorithm, spec, seed, len(train_idx)))
        start = time.perf_counter()
        estimator.fit(X.iloc[train_idx], y[train_idx])
        seconds += time.perf_counter() - start
        oof[test_idx] = estimator.predict_proba(X.iloc[test_idx])[:, 1]
        fold_aucs.append(evaluate(y[test_idx], oof[test_idx]).auc)
        tick(f"{algorithm}: fold {k}/{folds}")
    metrics = evaluate(y, oof).to_dict()
    metrics["oof_pd"] = oof
    metrics.update(
        algorithm=algorithm,
        auc_fold_std=float(np.std(fold_aucs)),
        fit_seconds=round(seconds / folds, 3),
    )
    metrics["calibration_gap"] = _calibration_gap(metrics)
    return metrics


def train(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    algorithm: str = "auto",
    seed: int = 42,
    folds: int = 5,
    progress: Progress | None = None,
) -> TrainResult:
    """Cross-validate the candidate algorithms, pick one, and fit it on every row.

    Parameters
    ----------
    frame
        Past loans: features, the target and any id, dropped or protected columns.
    spec
        Which column is the target, which value is bad, what to leave out.
    algorithm
        ``scorecard``, ``gbm``, or ``auto`` (highest cross-validated AUC among the
        candidates whose mean calibration gap is within 0.05).
    seed
        Seeds the folds and the estimators; recorded with the model.
    folds
        Stratified folds for cross-validation.
    progress
        Called with (fraction done, message).

    Raises
    ------
    ValidationError
        For data that breaks the spec, or too few bad or good rows for ``folds``.
    """
    data = prepare(frame, spec)
    minority = int(min(data.y.sum(), len(data.y) - data.y.sum()))
    if folds < 2 or minority < folds:
        raise ValidationError(
            f"need at least {folds} bad and {folds} good rows for {folds}-fold"
            f" cross-validation; the smaller class has {minority}",
            field=spec.target,
        )
    candidates = list(ALGORITHMS) if algorithm == "auto" else [algorithm]
    for name in candidates:
        build(name, data.spec, seed, len(data.y))
    steps = len(candidates) * folds + 1
    done = 0

    def tick(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / steps, message)

    cv = [_cross_validate(n, data.X, data.y, data.spec, seed, folds, tick) for n in candidates]
    calibrated = [row for row in cv if row["calibration_gap"] <= CALIBRATION_TOLERANCE]
    pool = calibrated or cv
    best = max(pool, key=lambda row: row["auc"])
    if len(cv) == 1:
        because = f"{best['algorithm']} was requested"
    elif calibrated:
        because = (
            f"highest cross-validated AUC ({best['auc']:.4f}) among candidates with a"
            f" calibration gap within {CALIBRATION_TOLERANCE}"
        )
    else:
        because = f"highest cross-validated AUC ({best['auc']:.4f}); no candidate was calibrated"
    estimator = build(best["algorithm"], data.spec, seed, len(data.y))
    estimator.fit(data.X, data.y)
    reference = data.X.sample(n=min(REFERENCE_SAMPLE, len(data.X)), random_state=seed).sort_index()
    reference_scores = np.asarray(estimator.credit_score(reference), dtype=float)
    model = CreditModel(
        estimator=estimator,
        spec=data.spec,
        algorithm=best["algorithm"],
        reference_scores=reference_scores,
        cv=[_summary(row) for row in cv],
        oof_pd=best["oof_pd"],
        oof_y=data.y.copy(),
        reference=DriftReference.from_training(data.X, data.spec, reference_scores),
    )
    tick("fitted on all rows")
    return TrainResult(
        model=model,
        metrics=_summary(best),
        cv=[_summary(row) for row in cv],
        chosen_because=because,
        seed=seed,
        folds=folds,
    )
