"""Fairness mitigation: a candidate credit model trained under a fairness constraint.

:func:`mitigate` trains a candidate with fairlearn's
:class:`~fairlearn.reductions.ExponentiatedGradient` under demographic parity or
equalised odds, registers it as a candidate of the registry, and measures the trade-off
(AUC and disparity before and after) on held-out rows.

**How the candidate is made.** The protected attributes (``COL[:CUTS]`` as in the
fairness report) are the ``sensitive_features`` of training and nothing else: they are
removed from the model's features, so a decision never reads them. The base learner is
a logistic regression on the reference model's features (numbers with missing values
filled by the training median and standardised, categories one-hot). Approval is
``PD < approve_below`` of the policy in force, so the learner's errors are weighed by
that cut-off (``ErrorRate(costs={"fp": c, "fn": 1 - c})``): a classifier that predicts
"bad" is then one that would not approve, and the constraint holds over the approvals,
not over an arbitrary 0.5 threshold.

**A deterministic model.** fairlearn's result is a *randomised* classifier: each
prediction draws one of the logistic regressions it trained, with the weights it
found. A lending decision must be the same every time for the same inputs, and an
applicant must not be declined by the draw of a coin, so the candidate is **one** of
those regressions: among the ones whose cost-weighted error on the training rows is
within ``error_tolerance`` (5 %) of the lowest, the one with the smallest disparity on
the training rows (the constraint's own measure on its groups). Its PD is the
regression's log-odds shifted back by the cost weighting (``logit(c)``)::

    PD = sigmoid(logit(c) + b + beta . z)

fairlearn's guarantee is for its randomised mixture, so it does not carry over: the
trade-off table measures the chosen regression, on rows it was not trained on, and
only those numbers count. The PD is calibrated in so far as the unconstrained
regression is (the constraint shifts the log-odds of some applicants on purpose).

**Reasons.** The log-odds are linear in the prepared features, so each feature's share
of an applicant's log-odds against the average training applicant is exact
(``beta . (z - mean z)``, summed over a category's columns): a reason is a feature that
raised the log-odds of bad, in log-odds, as the gradient-boosting model reports its
TreeSHAP contributions. They explain the regression that decides, exactly; there is
no mixture left to explain.

**The trade-off table.** The rows are split once, stratified by the target, with
:data:`HOLDOUT` of them held out (seed :data:`SEED` unless given). Three models are
measured on the held-out rows: the reference model (which may have been trained on
some of them, so its AUC can be optimistic), the same logistic regression without the
constraint (``unconstrained``: what the constraint costs, like for like) and the
candidate (``mitigated``). Per protected attribute, and for their intersection when
there are several (the groups the constraint was trained on): the approval-rate
difference and ratio (fairlearn's ``demographic_parity_difference`` and ``_ratio``) and
the equalised-odds difference (``equalized_odds_difference``), with approval as the
prediction and repaying as the label.

fairlearn's ``ThresholdOptimizer`` is not offered: it picks a different cut-off per
group, so it needs the protected attribute of every applicant at decision time, which
makes the decision depend on it directly.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
)
from fairlearn.reductions import DemographicParity, EqualizedOdds, ErrorRate, ExponentiatedGradient
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from finai import credit, registry
from finai.exceptions import NotFound, ValidationError
from finai.governance.fairness import MAX_GROUPS
from finai.governance.protected import ProtectedAttribute
from finai.security import audit

__all__ = [
    "ALGORITHM",
    "CONSTRAINTS",
    "HOLDOUT",
    "SEED",
    "Disparity",
    "MitigatedModel",
    "Mitigation",
    "Tradeoff",
    "TradeoffRow",
    "mitigate",
    "stored_tradeoff",
]

Constraint = Literal["demographic_parity", "equalized_odds"]

CONSTRAINTS: tuple[str, ...] = ("demographic_parity", "equalized_odds")
"""The fairness constraints a candidate can be trained under."""

ALGORITHM = "mitigated"
"""The ``algorithm`` recorded for a mitigated candidate."""

HOLDOUT = 0.3
"""Share of rows held out (stratified by the target) to measure the trade-off on."""

SEED = 42
"""Default seed of the held-out split."""

PD_FLOOR = 1e-4
"""PDs are kept in [PD_FLOOR, 1 - PD_FLOOR] so every score is finite."""


# -- the estimator ------------------------------------------------------------------------


def _cost_error(
    model: LogisticRegression, design: npt.NDArray[np.float64], y: npt.NDArray[np.int64], c: float
) -> float:
    """Cost-weighted training error: ``c`` per good payer declined, ``1 - c`` per bad approved."""
    bad = np.asarray(model.predict(design)) == 1
    return float((c * (bad & (y == 0)).sum() + (1.0 - c) * (~bad & (y == 1)).sum()) / len(y))


def _risk_text(label: str, value: npt.NDArray[Any], _: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    return label + " (" + value + ") raised the estimated risk"


def _is_categorical(column: pd.Series) -> bool:
    dtype = column.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def _texts(values: npt.NDArray[Any]) -> list[str | None]:
    return [
        None if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in values
    ]


class MitigatedModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A logistic PD model trained with fairlearn's ExponentiatedGradient, made deterministic.

    See the module docstring for how the randomised mixture becomes one model and
    how its reasons are derived.

    Parameters
    ----------
    constraint
        ``"demographic_parity"``, ``"equalized_odds"``, or None for the same
        regression without a constraint (the like-for-like baseline).
    cutoff
        The policy's approve cut-off (PD): errors are weighed so that "bad" means
        "not approved".
    eps
        fairlearn's allowed constraint violation.
    max_iter
        fairlearn's most iterations.
    error_tolerance
        How much more cost-weighted training error than the best of fairlearn's
        regressions the chosen one may have (relative: 0.05 is 5 % more).
    C
        Inverse L2 strength of the logistic regressions.
    base_score, base_odds, pdo
        Score scaling for :meth:`credit_score`, as the credit models scale theirs:
        ``base_score`` points at odds of good ``base_odds`` to 1, ``pdo`` points more
        for each doubling of the odds.

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]``; 1 is bad.
    numeric_, categorical_ : tuple[str, ...]
        The features read as numbers and as categories.
    medians_, means_, scales_ : dict[str, float]
        Per numeric feature: the fill for missing values and the standardisation.
    categories_ : dict[str, list[str]]
        Per categorical feature, the categories seen in training (one column each).
    shares_ : dict[str, numpy.ndarray]
        Per categorical feature, the training share of each category.
    coef_ : numpy.ndarray
        The chosen regression's coefficients, one per prepared column.
    intercept_ : float
        Its intercept plus ``logit(cutoff)`` (the cost weighting taken back out).
    components_ : int
        How many regressions fairlearn trained (1 without a constraint).
    violation_ : float or None
        The chosen regression's disparity on the training rows (fairlearn's
        ``demographic_parity_difference`` or ``equalized_odds_difference`` of its
        not-approved predictions on the constraint's groups); None without one.
    error_ : float
        Its cost-weighted error on the training rows.
    """

    def __init__(
        self,
        constraint: Constraint | None = "demographic_parity",
        cutoff: float = 0.08,
        eps: float = 0.01,
        max_iter: int = 50,
        error_tolerance: float = 0.05,
        C: float = 1.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
    ) -> None:
        self.constraint = constraint
        self.cutoff = cutoff
        self.eps = eps
        self.max_iter = max_iter
        self.error_tolerance = error_tolerance
        self.C = C
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo

    def fit(self, X: pd.DataFrame, y: object, *, sensitive_features: object = None) -> Self:
        """Train the regressions (under the constraint) and average them.

        Parameters
        ----------
        X
            Prepared features: numbers as numbers (NaN = missing), categories as text.
        y
            0/1 labels, 1 = bad.
        sensitive_features
            The protected groups of each row (required with a constraint); used only
            here, never read when scoring.

        Returns
        -------
        MitigatedModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            For bad parameters, labels that are not two classes of 0/1, or a
            constraint without sensitive features.
        """
        self._check_params()
        if not isinstance(X, pd.DataFrame) or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValidationError("X must be a table with rows and feature columns", field="X")
        target = np.asarray(y)
        if target.shape != (len(X),) or set(np.unique(target).tolist()) != {0, 1}:
            raise ValidationError("y must be 0/1 labels (1 = bad), both present", field="y")
        labels = target.astype(np.int64)
        names = [str(c) for c in X.columns]
        self.categorical_ = tuple(n for n in names if _is_categorical(X[n]))
        self.numeric_ = tuple(n for n in names if n not in self.categorical_)
        self.medians_, self.means_, self.scales_ = {}, {}, {}
        for name in self.numeric_:
            values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            median = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
            filled = np.where(np.isnan(values), median, values)
            scale = float(filled.std())
            self.medians_[name] = median
            self.means_[name] = float(filled.mean())
            self.scales_[name] = scale if scale > 0 else 1.0
        self.categories_ = {}
        self.shares_ = {}
        for name in self.categorical_:
            texts = pd.Series(_texts(X[name].to_numpy(dtype=object)), dtype=object)
            counts = texts.value_counts(dropna=True).sort_index()
            self.categories_[name] = [str(c) for c in counts.index]
            self.shares_[name] = counts.to_numpy(dtype=np.float64) / len(texts)
        design = self._design({n: X[n].to_numpy() for n in names})
        # many small regressions: threaded BLAS only adds contention on a busy machine
        with threadpool_limits(limits=1, user_api="blas"):
            intercept, coef = self._fit_components(design, labels, sensitive_features)
        self.coef_ = coef
        self.intercept_ = intercept + float(logit(self.cutoff))
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        return self

    def _check_params(self) -> None:
        if self.constraint is not None and self.constraint not in CONSTRAINTS:
            raise ValidationError(
                f"constraint must be one of {', '.join(CONSTRAINTS)}, got {self.constraint!r}",
                field="constraint",
            )
        cutoff = self.cutoff
        if isinstance(cutoff, bool) or not isinstance(cutoff, numbers.Real) or not 0 < cutoff < 1:
            raise ValidationError(f"cutoff must lie in (0, 1), got {cutoff!r}", field="cutoff")
        if isinstance(self.eps, bool) or not isinstance(self.eps, numbers.Real) or self.eps <= 0:
            raise ValidationError(f"eps must be > 0, got {self.eps!r}", field="eps")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral):
            raise ValidationError("max_iter must be a whole number >= 1", field="max_iter")
        if self.max_iter < 1:
            raise ValidationError("max_iter must be a whole number >= 1", field="max_iter")
        tolerance = self.error_tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or tolerance < 0:
            raise ValidationError(
                f"error_tolerance must be >= 0, got {tolerance!r}", field="error_tolerance"
            )

    def _fit_components(
        self, design: npt.NDArray[np.float64], y: npt.NDArray[np.int64], sensitive: object
    ) -> tuple[float, npt.NDArray[np.float64]]:
        """Return the chosen regression's intercept and coefficients (cost-weighted log-odds)."""
        base = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=200)
        c = float(self.cutoff)
        if self.constraint is None:
            weight = np.where(y == 1, 1.0 - c, c)
            base.fit(design, y, sample_weight=weight * len(y) / weight.sum())
            self.components_, self.error_ = 1, _cost_error(base, design, y, c)
            self.violation_ = None
            return float(base.intercept_[0]), np.asarray(base.coef_[0], dtype=np.float64)
        if sensitive is None:
            raise ValidationError(
                "a fairness constraint needs the protected groups of the training rows",
                field="protected",
            )
        moment = DemographicParity() if self.constraint == "demographic_parity" else EqualizedOdds()
        search = ExponentiatedGradient(
            base,
            constraints=moment,
            objective=ErrorRate(costs={"fp": c, "fn": 1.0 - c}),
            eps=self.eps,
            max_iter=int(self.max_iter),
        )
        with warnings.catch_warnings():
            # fairlearn 0.15 grows a pandas Series with .at, which pandas 3 deprecates
            warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
            search.fit(design, y, sensitive_features=sensitive)
        disparity = (
            demographic_parity_difference
            if self.constraint == "demographic_parity"
            else equalized_odds_difference
        )
        found = [
            (
                float(disparity(y, predictor.predict(design), sensitive_features=sensitive)),
                _cost_error(predictor, design, y, c),
                predictor,
            )
            for predictor in search.predictors_
            if isinstance(predictor, LogisticRegression)  # not a constant stand-in
        ]
        lowest = min(error for _, error, _ in found)
        near = [f for f in found if f[1] <= lowest * (1.0 + self.error_tolerance)]
        violation, error, chosen = min(near, key=lambda f: (f[0], f[1]))
        self.components_, self.violation_, self.error_ = len(found), violation, error
        return float(chosen.intercept_[0]), np.asarray(chosen.coef_[0], dtype=np.float64)

    # -- scoring --------------------------------------------------------------------------

    def _design(self, columns: Mapping[str, npt.NDArray[Any]]) -> npt.NDArray[np.float64]:
        parts = []
        for name in self.numeric_:
            values = np.asarray(columns[name], dtype=np.float64)
            filled = np.where(np.isnan(values), self.medians_[name], values)
            parts.append(((filled - self.means_[name]) / self.scales_[name])[:, None])
        for name in self.categorical_:
            known = {category: k for k, category in enumerate(self.categories_[name])}
            texts = _texts(np.asarray(columns[name], dtype=object))
            block = np.zeros((len(texts), len(known)))
            for row, text in enumerate(texts):
                k = known.get(text) if text is not None else None
                if k is not None:
                    block[row, k] = 1.0
            parts.append(block)
        return np.hstack(parts) if parts else np.zeros((0, 0))

    def _columns(self, X: object) -> dict[str, npt.NDArray[Any]]:
        check_is_fitted(self, "coef_")
        if not isinstance(X, pd.DataFrame):
            raise ValidationError("X must be a table of the model's features", field="X")
        names = self.numeric_ + self.categorical_
        missing = [name for name in names if name not in X.columns]
        if missing:
            shown = ", ".join(repr(name) for name in missing)
            raise ValidationError(f"missing feature column(s) {shown}", field=missing[0])
        columns: dict[str, npt.NDArray[Any]] = {}
        for name in self.numeric_:
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            columns[name] = values
        for name in self.categorical_:
            columns[name] = X[name].to_numpy(dtype=object)
        return columns

    def predict_proba(self, X: object) -> npt.NDArray[np.float64]:
        """Return ``[P(good), P(bad)]`` per row; column 1 is the PD."""
        pd_bad = self.assess(X).pd
        return np.column_stack([1.0 - pd_bad, pd_bad])

    def predict(self, X: object) -> npt.NDArray[np.int64]:
        """Return 1 (bad, not approved) where the PD is at least ``cutoff``, else 0."""
        return (self.predict_proba(X)[:, 1] >= self.cutoff).astype(np.int64)

    def credit_score(self, X: object) -> npt.NDArray[np.float64]:
        """Return the score of the PD (higher is better)."""
        return self.assess(X).score

    def assess(self, X: object) -> credit.Assessment:
        """Return PD, score and each feature's share of the log-odds of bad per row."""
        return self.assess_columns(self._columns(X))

    def assess_columns(self, columns: Mapping[str, npt.NDArray[Any]]) -> credit.Assessment:
        """Return :meth:`assess` of feature arrays (numbers as float64, categories as text).

        Raises
        ------
        ValidationError
            When a feature is missing.
        """
        check_is_fitted(self, "coef_")
        names = self.numeric_ + self.categorical_
        missing = [name for name in names if name not in columns]
        if missing:
            shown = ", ".join(repr(name) for name in missing)
            raise ValidationError(f"missing feature column(s) {shown}", field=missing[0])
        design = self._design(columns)
        contribution = design * self.coef_
        harm = np.zeros((len(design), len(names)))
        start = len(self.numeric_)
        harm[:, :start] = contribution[:, :start]  # standardised: the training mean is 0
        for j, name in enumerate(self.categorical_, start=len(self.numeric_)):
            width = len(self.categories_[name])
            expected = float(self.coef_[start : start + width] @ self.shares_[name])
            harm[:, j] = contribution[:, start : start + width].sum(axis=1) - expected
            start += width
        log_odds = self.intercept_ + contribution.sum(axis=1)
        pd_bad = np.clip(expit(log_odds), PD_FLOOR, 1.0 - PD_FLOOR)
        factor = self.pdo / math.log(2.0)
        score = self.base_score + factor * (
            np.log((1.0 - pd_bad) / pd_bad) - math.log(self.base_odds)
        )
        return credit.Assessment(
            pd=pd_bad,
            score=score,
            harm=harm,
            values={name: np.asarray(columns[name]) for name in names},
            describe=_risk_text,
        )

    def reasons(
        self, X: object, n: int = 4, labels: Mapping[str, str] | None = None
    ) -> list[list[credit.Reason]]:
        """Return up to ``n`` (1 to 4) features per row that raised the log-odds of bad."""
        return self.assess(X).reasons(n, labels)


# -- the trade-off -------------------------------------------------------------------------


@dataclass(frozen=True)
class Disparity:
    """How unequal a model's approvals are across one attribute's groups (held-out rows).

    Attributes
    ----------
    approval_rate_difference
        Highest minus lowest approval rate among the groups (0 is parity).
    approval_rate_ratio
        Lowest over highest approval rate (1 is parity; the four-fifths rule asks >= 0.8).
        None where a figure is undefined (no group approved at all).
    equalized_odds_difference
        The larger of the differences in approval rate among good payers and among
        bad payers (0 is equalised odds).
    """

    approval_rate_difference: float | None
    approval_rate_ratio: float | None
    equalized_odds_difference: float | None

    def to_dict(self) -> dict[str, float | None]:
        """Return the three figures by name."""
        return {
            "approval_rate_difference": self.approval_rate_difference,
            "approval_rate_ratio": self.approval_rate_ratio,
            "equalized_odds_difference": self.equalized_odds_difference,
        }


@dataclass(frozen=True)
class TradeoffRow:
    """One model measured on the held-out rows.

    Attributes
    ----------
    model
        ``"reference"``, ``"unconstrained"`` or ``"mitigated"``.
    ref
        The registered version it is (``NAME:VERSION``), None for the baseline.
    auc
        ROC AUC of its PD against the defaults.
    approval_rate
        Share approved (``PD < cutoff``).
    disparity
        By protected attribute (and their intersection, ``" & "``-joined).
    """

    model: str
    ref: str | None
    auc: float
    approval_rate: float
    disparity: Mapping[str, Disparity]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values."""
        return {
            "model": self.model,
            "ref": self.ref,
            "auc": self.auc,
            "approval_rate": self.approval_rate,
            "disparity": {name: d.to_dict() for name, d in self.disparity.items()},
        }


@dataclass(frozen=True)
class Tradeoff:
    """The trade-off table of a mitigated candidate, as its registry metrics keep it.

    Attributes
    ----------
    reference
        The reference model, ``NAME:VERSION``.
    constraint
        The fairness constraint it was trained under.
    protected
        The protected attributes as given (``COL[:CUTS]``).
    constrained_on
        The grouping the constraint was trained on: the attribute, or the
        intersection of all of them.
    cutoff
        The approve cut-off (PD) approval is measured with.
    train_rows, holdout_rows, seed
        The split.
    rows
        Reference, unconstrained and mitigated, measured on the held-out rows.
    """

    reference: str
    constraint: str
    protected: tuple[str, ...]
    constrained_on: str
    cutoff: float
    train_rows: int
    holdout_rows: int
    seed: int
    rows: tuple[TradeoffRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values (what the candidate's ``metrics["tradeoff"]`` holds)."""
        return {
            "reference": self.reference,
            "constraint": self.constraint,
            "protected": list(self.protected),
            "constrained_on": self.constrained_on,
            "cutoff": self.cutoff,
            "split": {
                "train_rows": self.train_rows,
                "holdout_rows": self.holdout_rows,
                "holdout_share": HOLDOUT,
                "stratified_by": "target",
                "seed": self.seed,
            },
            "tradeoff": [row.to_dict() for row in self.rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tradeoff:
        """Read the table back from :meth:`to_dict`'s values (a version's metrics).

        Raises
        ------
        ValidationError
            When ``data`` is not such a table.
        """
        try:
            split = data["split"]
            rows = tuple(
                TradeoffRow(
                    model=str(row["model"]),
                    ref=row["ref"],
                    auc=float(row["auc"]),
                    approval_rate=float(row["approval_rate"]),
                    disparity={name: Disparity(**d) for name, d in row["disparity"].items()},
                )
                for row in data["tradeoff"]
            )
            return cls(
                reference=str(data["reference"]),
                constraint=str(data["constraint"]),
                protected=tuple(data["protected"]),
                constrained_on=str(data["constrained_on"]),
                cutoff=float(data["cutoff"]),
                train_rows=int(split["train_rows"]),
                holdout_rows=int(split["holdout_rows"]),
                seed=int(split["seed"]),
                rows=rows,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(f"not a trade-off table ({exc!r})", field="tradeoff") from None

    def figure(self) -> go.Figure:
        """Return the trade-off as a Plotly figure: AUC against disparity, one point per model.

        The disparity is the one the constraint targets on the grouping it was trained
        on: the approval-rate difference for demographic parity, the equalised-odds
        difference for equalised odds. Up and to the left is better.
        """
        field = (
            "approval_rate_difference"
            if self.constraint == "demographic_parity"
            else "equalized_odds_difference"
        )
        words = field.replace("_", " ")
        x = [getattr(row.disparity[self.constrained_on], field) for row in self.rows]
        labels = [row.model if row.ref is None else f"{row.model} ({row.ref})" for row in self.rows]
        figure = go.Figure(
            go.Scatter(
                x=x,
                y=[row.auc for row in self.rows],
                mode="markers+text",
                text=labels,
                textposition="top center",
                marker={"size": 12, "color": ["#6b7280", "#2563eb", "#16a34a"][: len(x)]},
                hovertemplate="%{text}<br>" + words + " %{x:.3f}<br>AUC %{y:.3f}<extra></extra>",
            )
        )
        figure.update_layout(
            title=f"AUC against {words} ({self.constrained_on}), held-out rows",
            xaxis_title=f"{words} (0 = parity)",
            yaxis_title="AUC",
            showlegend=False,
            margin={"l": 60, "r": 20, "t": 60, "b": 50},
        )
        return figure


@dataclass(frozen=True)
class Mitigation:
    """A mitigated candidate and its trade-off table.

    Attributes
    ----------
    candidate
        The registered candidate version.
    tradeoff
        Its trade-off table (also in the version's ``metrics["tradeoff"]``).
    """

    candidate: registry.ModelVersion
    tradeoff: Tradeoff

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values (the CLI's ``--json`` object and the API's body)."""
        return {
            "candidate": f"{self.candidate.name}:{self.candidate.version}",
            **self.tradeoff.to_dict(),
        }

    def figure(self) -> go.Figure:
        """Return :meth:`Tradeoff.figure`."""
        return self.tradeoff.figure()


def stored_tradeoff(version: registry.ModelVersion) -> Tradeoff | None:
    """Return the trade-off table a mitigated version was registered with, if it has one.

    For the dashboard: ``stored_tradeoff(version).figure()`` draws it again without
    training anything.

    Raises
    ------
    ValidationError
        When the version's ``metrics["tradeoff"]`` is not such a table.
    """
    data = version.metrics.get("tradeoff")
    return None if data is None else Tradeoff.from_dict(data)


def _disparities(
    good: npt.NDArray[np.int64],
    approved: npt.NDArray[np.int64],
    groups: Mapping[str, npt.NDArray[Any]],
) -> dict[str, Disparity]:
    found = {}
    for name, labels in groups.items():
        found[name] = Disparity(
            approval_rate_difference=_finite(
                demographic_parity_difference(good, approved, sensitive_features=labels)
            ),
            approval_rate_ratio=_finite(
                demographic_parity_ratio(good, approved, sensitive_features=labels)
            ),
            equalized_odds_difference=_finite(
                equalized_odds_difference(good, approved, sensitive_features=labels)
            ),
        )
    return found


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _measure(
    model: str,
    ref: str | None,
    pd_: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    cutoff: float,
    groups: Mapping[str, npt.NDArray[Any]],
) -> TradeoffRow:
    approved = (pd_ < cutoff).astype(np.int64)
    return TradeoffRow(
        model=model,
        ref=ref,
        auc=credit.evaluate(y, pd_).auc,
        approval_rate=float(approved.mean()),
        disparity=_disparities((1 - y).astype(np.int64), approved, groups),
    )


def _candidate_spec(
    spec: credit.DatasetSpec,
    target: str,
    bad: str | None,
    protected: Sequence[str],
    columns: Sequence[str],
) -> credit.DatasetSpec:
    """Return the reference's spec without the protected columns as features."""
    taken = set(protected)
    numeric = tuple(n for n in spec.numeric or () if n not in taken)
    categorical = tuple(n for n in spec.categorical or () if n not in taken)
    if not numeric and not categorical:
        raise ValidationError(
            "every feature of the reference model is protected; nothing is left to train on",
            field="protected",
        )
    return credit.DatasetSpec(
        target=target,
        bad=bad,
        protected=tuple(dict.fromkeys((*(p for p in spec.protected if p in columns), *protected))),
        numeric=numeric,
        categorical=categorical,
        labels={k: v for k, v in spec.labels.items() if k in taken or k in numeric + categorical},
    )


def _policy_cutoff(session: Session) -> float:
    try:
        return credit.current_policy(session).policy.cutoffs.approve_below
    except NotFound:
        return credit.parse_policy(credit.DEFAULT_POLICY).cutoffs.approve_below


def mitigate(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    frame: pd.DataFrame,
    *,
    model_ref: str,
    target: str,
    protected: Sequence[ProtectedAttribute | str],
    constraint: str = "demographic_parity",
    actor: str,
    bad: str | None = None,
    name: str | None = None,
    seed: int = SEED,
    eps: float = 0.01,
    max_iter: int = 50,
) -> Mitigation:
    """Train a fairness-constrained candidate, register it, and measure the trade-off.

    Parameters
    ----------
    session, audit_key, artifact_dir
        Where to register it; the caller commits.
    frame
        A labelled table: the reference model's features, the target and the
        protected columns.
    model_ref
        The reference model, ``NAME[:VERSION]``.
    target, bad
        The outcome column and its value that means bad (None: inferred, or the
        reference model's when ``target`` is its target).
    protected
        The protected attributes, as :class:`ProtectedAttribute` or ``COL[:CUTS]``.
    constraint
        ``"demographic_parity"`` or ``"equalized_odds"``.
    actor
        Key id of who asked.
    name
        The model name to register the candidate under; default the reference's.
    seed
        Seed of the held-out split.
    eps, max_iter
        fairlearn's allowed violation and most iterations.

    Returns
    -------
    Mitigation
        The registered candidate and its trade-off table.

    Raises
    ------
    ValidationError
        For an unknown constraint, no protected attribute, a protected or target
        column not in the table, a protected column given twice or as the target, one
        with more than :data:`~finai.governance.fairness.MAX_GROUPS` groups,
        data the reference's features cannot be read from, or too few rows of a
        class to hold out.
    NotFound
        For an unknown reference model or version.
    """
    if constraint not in CONSTRAINTS:
        raise ValidationError(
            f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}",
            field="constraint",
        )
    attributes = [
        p if isinstance(p, ProtectedAttribute) else ProtectedAttribute.parse(p) for p in protected
    ]
    if not attributes:
        raise ValidationError("give at least one protected attribute", field="protected")
    columns = [a.column for a in attributes]
    for column in columns:
        if column not in frame.columns:
            raise ValidationError(f"protected column {column!r} is not in the table", field=column)
        if column == target:
            raise ValidationError(
                f"column {column!r} cannot be both target and protected", field=column
            )
    if len(set(columns)) != len(columns):
        raise ValidationError("a protected column is given twice", field="protected")
    info, reference = credit.load_model(session, artifact_dir, model_ref)
    if bad is None and target == reference.spec.target:
        bad = reference.spec.bad
    spec = _candidate_spec(reference.spec, target, bad, columns, [str(c) for c in frame.columns])
    data = credit.prepare(frame, spec)
    groups: dict[str, npt.NDArray[Any]] = {}
    for attribute in attributes:
        codes, labels = attribute.groups(frame[attribute.column].reset_index(drop=True))
        if len(labels) > MAX_GROUPS:
            raise ValidationError(
                f"protected column {attribute.column!r} has {len(labels)} distinct values; at"
                f" most {MAX_GROUPS} groups are compared: band a numeric column with"
                f" {attribute.column}:CUT,CUT,... or choose a column of categories",
                field=attribute.column,
            )
        groups[attribute.column] = np.asarray(labels, dtype=object)[codes]
    constrained_on = " & ".join(columns)
    if len(columns) > 1:
        groups[constrained_on] = np.array(
            [" & ".join(parts) for parts in zip(*(groups[c] for c in columns), strict=True)],
            dtype=object,
        )
    rows = np.arange(len(data.y))
    try:
        train_rows, test_rows = train_test_split(
            rows, test_size=HOLDOUT, stratify=data.y, random_state=seed
        )
    except ValueError as exc:
        raise ValidationError(
            f"too few rows of each class to hold out {HOLDOUT:.0%} of them: {exc}",
            field=target,
        ) from exc
    train_rows, test_rows = np.sort(train_rows), np.sort(test_rows)
    cutoff = _policy_cutoff(session)
    X_train, y_train = data.X.iloc[train_rows], data.y[train_rows]
    X_test, y_test = data.X.iloc[test_rows], data.y[test_rows]
    sensitive = pd.DataFrame({c: groups[c][train_rows] for c in columns})
    baseline = MitigatedModel(constraint=None, cutoff=cutoff).fit(X_train, y_train)
    candidate = MitigatedModel(
        constraint=constraint,  # type: ignore[arg-type]
        cutoff=cutoff,
        eps=eps,
        max_iter=max_iter,
    ).fit(X_train, y_train, sensitive_features=sensitive)
    held_out = {group: labels[test_rows] for group, labels in groups.items()}
    reference_ref = f"{info.name}:{info.version}"
    reference_pd = reference.predict_pd(
        reference.features(frame.iloc[test_rows].reset_index(drop=True))
    )
    candidate_pd = candidate.predict_proba(X_test)[:, 1]
    table = (
        _measure("reference", reference_ref, reference_pd, y_test, cutoff, held_out),
        _measure(
            "unconstrained", None, baseline.predict_proba(X_test)[:, 1], y_test, cutoff, held_out
        ),
        _measure("mitigated", None, candidate_pd, y_test, cutoff, held_out),
    )
    scores = candidate.credit_score(X_train)
    model = credit.CreditModel(
        estimator=candidate,
        spec=data.spec,
        algorithm=ALGORITHM,
        reference_scores=scores,
        oof_pd=candidate_pd,
        oof_y=y_test.copy(),
        reference=credit.DriftReference.from_training(X_train, data.spec, scores),
    )
    tradeoff = Tradeoff(
        reference=reference_ref,
        constraint=constraint,
        protected=tuple(str(p) if isinstance(p, str) else _attribute_text(p) for p in protected),
        constrained_on=constrained_on,
        cutoff=cutoff,
        train_rows=len(train_rows),
        holdout_rows=len(test_rows),
        seed=seed,
        rows=table,
    )
    metrics = {
        **credit.evaluate(y_test, candidate_pd, candidate.credit_score(X_test)).to_dict(),
        "approval_rate": table[2].approval_rate,
        "tradeoff": tradeoff.to_dict(),
    }
    because = (
        f"fairlearn ExponentiatedGradient ({constraint}, eps {eps:g}) on {constrained_on},"
        f" against {reference_ref}; measured on {len(test_rows)} held-out rows"
    )
    result = credit.TrainResult(
        model=model, metrics=metrics, cv=[], chosen_because=because, seed=seed, folds=0
    )
    version = credit.register_model(
        session,
        audit_key,
        artifact_dir,
        name=name or info.name,
        result=result,
        data=frame,
        actor=actor,
    )
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.mitigate",
        object_type="model_version",
        object_id=f"{version.name}:{version.version}",
        payload={
            "reference": reference_ref,
            "constraint": constraint,
            "protected": [a.column for a in attributes],
        },
    )
    return Mitigation(candidate=version, tradeoff=tradeoff)


def _attribute_text(attribute: ProtectedAttribute) -> str:
    if not attribute.cuts:
        return attribute.column
    cuts = ",".join(str(int(c)) if c.is_integer() else repr(c) for c in attribute.cuts)
    return f"{attribute.column}:{cuts}"
