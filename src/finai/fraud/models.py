"""Fraud estimators: LightGBM, a logistic-regression baseline, and an isolation forest.

All three are scikit-learn estimators with two extra methods the fraud model needs:

``fraud_score(X)``
    A score per row in [0, 1]; higher = more likely fraud.
``contributions(X)``
    One value per row and feature: how much the feature pushed the row's score up.

=====================  =========================  ======================================
algorithm              score                      contributions
=====================  =========================  ======================================
``lightgbm``           P(fraud), class-weighted   TreeSHAP (``pred_contrib``), log-odds
``logistic``           P(fraud)                   coefficient x standardised value
``isolation_forest``   anomaly score ``s(x, n)``  proxy: distance from the training
                                                  median in interquartile ranges
=====================  =========================  ======================================

The isolation forest needs no labels: it serves a bank that has none yet. Its
contributions are **not** additive and do not explain the forest; they say which
features are the most unusual for the row, which is what an analyst checks first.

LightGBM handles the imbalance (about 1 fraud in 100) by weighting the fraud rows
(``scale_pos_weight``, by default the square root of genuine / fraud rows: the full
ratio over-weights the rare rows and costs average precision); its score then ranks
well but overstates the probability. Thresholds are chosen on scores, so that is harmless.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, Protocol, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Tags, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from finai.exceptions import ValidationError

__all__ = [
    "ALGORITHMS",
    "PARALLEL_ROWS",
    "SUPERVISED",
    "Algorithm",
    "FraudEstimator",
    "GBMFraudModel",
    "IsolationFraudModel",
    "LogisticFraudModel",
    "build",
]

Algorithm = Literal["lightgbm", "logistic", "isolation_forest"]
ALGORITHMS: tuple[Algorithm, ...] = ("lightgbm", "logistic", "isolation_forest")
SUPERVISED: tuple[Algorithm, ...] = ("lightgbm", "logistic")
"""The algorithms that learn from labels."""

Floats = npt.NDArray[np.float64]


class FraudEstimator(Protocol):
    """What a fraud model needs from its estimator."""

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit on features (and 0/1 labels, 1 = fraud, when supervised)."""
        ...

    def fraud_score(self, X: Any) -> Floats:
        """Return a score in [0, 1] per row; higher = more suspect."""
        ...

    def contributions(self, X: Any) -> Floats:
        """Return per row and feature how much the feature raised the score."""
        ...

    def assess(self, X: Any) -> tuple[Floats, Floats]:
        """Return :meth:`fraud_score` and :meth:`contributions` in one pass where possible."""
        ...


PARALLEL_ROWS = 2_000
"""Below this many rows a prediction runs on one thread: starting threads costs more."""


def _checked(estimator: Any, X: Any, *, allow_nan: bool) -> Floats:
    """Return ``X`` as a float64 matrix in the fit's column order.

    A float64 NumPy matrix with the fit's number of columns is taken as it is (the
    caller vouches for the order: the online path's one row, built from the feature
    names, skips sklearn's per-call checks that cost more than the model); anything
    else, non-finite values included, is validated by sklearn (names, shape, finiteness).
    """
    if (
        isinstance(X, np.ndarray)
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[1] == estimator.n_features_in_
        and (allow_nan or np.isfinite(X).all())
    ):
        return X
    matrix: Floats = validate_data(
        estimator, X, reset=False, ensure_all_finite="allow-nan" if allow_nan else True,
        dtype=np.float64,
    )  # fmt: skip
    return matrix


def _sigmoid(log_odds: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-log_odds)), dtype=np.float64)


def build(algorithm: str, seed: int) -> FraudEstimator:
    """Return an unfitted estimator of ``algorithm``, seeded with ``seed``.

    Raises
    ------
    ValidationError
        For an unknown algorithm (``field="model"``).
    """
    if algorithm == "lightgbm":
        return GBMFraudModel(random_state=seed)
    if algorithm == "logistic":
        return LogisticFraudModel(random_state=seed)
    if algorithm == "isolation_forest":
        return IsolationFraudModel(random_state=seed)
    raise ValidationError(
        f"unknown model {algorithm!r}; one of {', '.join(ALGORITHMS)}", field="model"
    )


# -- shared helpers -----------------------------------------------------------------------


def _binary_target(y: object, n_samples: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.int_]]:
    """Return ``classes_`` and ``y`` as 0/1 (1 = ``classes_[1]``, fraud)."""
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    target = column_or_1d(y, warn=True)
    if target.dtype.kind in "fc" and not np.isfinite(target).all():
        raise ValueError("Input y contains NaN or infinity")
    check_classification_targets(target)
    if len(target) != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {len(target)}")
    classes, encoded = np.unique(target, return_inverse=True)
    if len(classes) != 2:
        raise ValidationError(
            "Only binary classification is supported: y must hold 2 classes (genuine and"
            f" fraud), got {len(classes)} class{'es' if len(classes) != 1 else ''}",
            field="is_fraud",
        )
    return classes, np.asarray(encoded, dtype=np.int_)


def _seed(random_state: object) -> int:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _binary_tags(tags: Tags, *, allow_nan: bool) -> Tags:
    tags.input_tags.allow_nan = allow_nan
    if tags.classifier_tags is not None:
        tags.classifier_tags.multi_class = False
    return tags


# -- LightGBM -----------------------------------------------------------------------------


class _Classifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """What the supervised models share once they give ``predict_proba``."""

    classes_: npt.NDArray[Any]

    def predict_proba(self, X: Any) -> Floats:
        raise NotImplementedError

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Return the more likely class of each row."""
        fraud = self.predict_proba(X)[:, 1] >= 0.5
        labels: npt.NDArray[Any] = self.classes_[fraud.astype(int)]
        return labels

    def fraud_score(self, X: Any) -> Floats:
        """Return P(fraud) per row, in [0, 1]."""
        return self.predict_proba(X)[:, 1]


class GBMFraudModel(_Classifier):
    """Gradient-boosted trees (LightGBM) for fraud, early-stopped on a later period.

    Parameters
    ----------
    n_estimators
        Most boosting rounds; with ``eval_set`` early stopping usually ends sooner.
    learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda
        LightGBM's tree settings (``subsample`` is bagging per round; 1.0 turns it off).
    scale_pos_weight
        Weight of fraud rows: ``"sqrt"`` (the square root of genuine / fraud rows, the
        default), ``"balanced"`` (genuine / fraud), a number > 0, or None (1).
    early_stopping_rounds
        Rounds without a better average precision on ``eval_set`` before boosting stops.
    n_jobs
        LightGBM threads.
    random_state
        Seeds LightGBM; the fit is deterministic for an int.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The two labels; ``classes_[1]`` is fraud.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : numpy.ndarray
        Feature names, when fit saw a DataFrame with text column names.
    booster_ : lightgbm.Booster
        The trees.
    best_iteration_ : int
        Rounds kept: the best on ``eval_set``, else ``n_estimators``.
    scale_pos_weight_ : float
        The fraud-row weight used.
    seed_ : int
        The seed used.
    """

    def __init__(
        self,
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        scale_pos_weight: float | Literal["sqrt", "balanced"] | None = "sqrt",
        early_stopping_rounds: int = 50,
        n_jobs: int = 1,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.scale_pos_weight = scale_pos_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        """Binary classifier that accepts NaN."""
        return _binary_tags(super().__sklearn_tags__(), allow_nan=True)

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None) -> Self:
        """Grow the trees; with ``eval_set`` stop once its average precision stalls.

        Parameters
        ----------
        X
            Numeric features.
        y
            Two classes; the greater (1 for 0/1 labels) is fraud.
        eval_set
            ``(X, y)`` of a later period for early stopping; it needs both classes.

        Returns
        -------
        GBMFraudModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            For bad parameters, or a target without two classes.
        """
        rounds = _positive_int(self.n_estimators, "n_estimators")
        patience = _positive_int(self.early_stopping_rounds, "early_stopping_rounds")
        X, target = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        classes, y01 = _binary_target(target, len(X))
        seed = _seed(self.random_state)
        weight = self._weight(y01)
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "scale_pos_weight": weight,
            "metric": "average_precision",
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "seed": seed,
        }
        train = lgb.Dataset(X, y01, free_raw_data=True)
        try:
            if eval_set is None:
                booster = lgb.train(params, train, rounds)
                best = rounds
            else:
                X_val = validate_data(
                    self, eval_set[0], reset=False, ensure_all_finite="allow-nan", dtype=np.float64
                )
                y_val = np.isin(column_or_1d(eval_set[1]), classes[1:]).astype(np.int_)
                if len(y_val) != len(X_val) or y_val.min() == y_val.max():
                    raise ValidationError(
                        "eval_set needs as many labels as rows and both classes",
                        field="is_fraud",
                    )
                valid = lgb.Dataset(X_val, y_val, reference=train)
                booster = lgb.train(
                    params,
                    train,
                    rounds,
                    valid_sets=[valid],
                    callbacks=[lgb.early_stopping(patience, verbose=False)],
                )
                best = max(1, booster.best_iteration)
        except lgb.basic.LightGBMError as exc:
            raise ValidationError(f"LightGBM could not train: {exc}") from exc
        self.classes_ = classes
        self.booster_ = booster
        self.best_iteration_ = best
        self.scale_pos_weight_ = weight
        self.seed_ = seed
        return self

    def _weight(self, y: npt.NDArray[np.int_]) -> float:
        ratio = float((y == 0).sum() / max(int(y.sum()), 1))
        value = self.scale_pos_weight
        if value is None:
            return 1.0
        if value == "sqrt":
            return math.sqrt(ratio)
        if value == "balanced":
            return ratio
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValidationError(
                f"scale_pos_weight must be 'sqrt', 'balanced', None or > 0, got {value!r}",
                field="scale_pos_weight",
            )
        return float(value)

    def _matrix(self, X: Any) -> Floats:
        check_is_fitted(self, "booster_")
        return _checked(self, X, allow_nan=True)

    def _predict(self, matrix: Floats, *, pred_contrib: bool = False) -> Floats:
        threads = self.n_jobs if len(matrix) >= PARALLEL_ROWS else 1
        return np.asarray(
            self.booster_.predict(
                matrix,
                num_iteration=self.best_iteration_,
                pred_contrib=pred_contrib,
                num_threads=threads,
            ),
            dtype=np.float64,
        )

    def predict_proba(self, X: Any) -> Floats:
        """Return ``[P(genuine), P(fraud)]`` per row."""
        p = self._predict(self._matrix(X))
        return np.column_stack([1.0 - p, p])

    def contributions(self, X: Any) -> Floats:
        """Return TreeSHAP contributions to the log-odds of fraud (bias left out)."""
        return self._predict(self._matrix(X), pred_contrib=True)[:, :-1]

    def assess(self, X: Any) -> tuple[Floats, Floats]:
        """Return P(fraud) and the contributions from one TreeSHAP pass.

        The contributions and the bias add up to the log-odds, so P(fraud) is their
        sigmoid: one pass through the trees instead of two.
        """
        raw = self._predict(self._matrix(X), pred_contrib=True)
        return _sigmoid(raw.sum(axis=1)), raw[:, :-1]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValidationError(f"{name} must be a whole number >= 1, got {value!r}", field=name)
    return int(value)


# -- logistic regression -------------------------------------------------------------------


class LogisticFraudModel(_Classifier):
    """Logistic regression on standardised features, the baseline of the Handbook.

    Parameters
    ----------
    C
        Inverse of the L2 penalty's strength.
    class_weight
        ``None`` (every row alike, the default) or ``"balanced"``.
    max_iter
        Most solver iterations.
    random_state
        Recorded; the lbfgs solver is deterministic.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The two labels; ``classes_[1]`` is fraud.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : numpy.ndarray
        Feature names, when fit saw a DataFrame with text column names.
    scaler_ : sklearn.preprocessing.StandardScaler
        Centres and scales the features.
    logistic_ : sklearn.linear_model.LogisticRegression
        The fitted regression on the standardised features.
    n_iter_ : numpy.ndarray
        Solver iterations.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: Literal["balanced"] | None = None,
        max_iter: int = 1000,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        """Binary classifier; features must be finite."""
        return _binary_tags(super().__sklearn_tags__(), allow_nan=False)

    def fit(self, X: Any, y: Any) -> Self:
        """Standardise the features and fit the regression.

        Returns
        -------
        LogisticFraudModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            For a target without two classes.
        """
        X, target = validate_data(self, X, y, dtype=np.float64)
        classes, y01 = _binary_target(target, len(X))
        scaler = StandardScaler().fit(X)
        logistic = LogisticRegression(
            C=self.C,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            random_state=self.random_state,
        ).fit(scaler.transform(X), y01)
        self.classes_ = classes
        self.scaler_ = scaler
        self.logistic_ = logistic
        self.n_iter_ = logistic.n_iter_
        return self

    def _standardised(self, X: Any) -> Floats:
        check_is_fitted(self, "logistic_")
        standardised: Floats = self.scaler_.transform(_checked(self, X, allow_nan=False))
        return standardised

    def predict_proba(self, X: Any) -> Floats:
        """Return ``[P(genuine), P(fraud)]`` per row."""
        standardised = self._standardised(X)
        proba: Floats = self.logistic_.predict_proba(standardised)
        return proba

    def contributions(self, X: Any) -> Floats:
        """Return coefficient x standardised value: each feature's part of the log-odds."""
        standardised = self._standardised(X)
        contributions: Floats = standardised * self.logistic_.coef_[0]
        return contributions

    def assess(self, X: Any) -> tuple[Floats, Floats]:
        """Return P(fraud) and the contributions, which add up to it with the intercept."""
        parts = self.contributions(X)
        return _sigmoid(parts.sum(axis=1) + self.logistic_.intercept_[0]), parts


# -- isolation forest ---------------------------------------------------------------------


class IsolationFraudModel(BaseEstimator):  # type: ignore[misc]
    """An isolation forest: flags transactions unlike the rest, without labels.

    Parameters
    ----------
    n_estimators
        Trees in the forest.
    max_samples
        Rows each tree sees (``"auto"``: min(256, rows)).
    n_jobs
        Threads.
    random_state
        Seeds the forest.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : numpy.ndarray
        Feature names, when fit saw a DataFrame with text column names.
    forest_ : sklearn.ensemble.IsolationForest
        The fitted forest.
    median_ : numpy.ndarray
        Median of each feature on the training rows.
    spread_ : numpy.ndarray
        Interquartile range of each feature (its standard deviation where that is 0,
        1 where both are).
    """

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        n_jobs: int = 1,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> Self:
        """Grow the forest; ``y`` is ignored.

        Returns
        -------
        IsolationFraudModel
            ``self``, fitted.
        """
        X = validate_data(self, X, dtype=np.float64)
        forest = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(X)
        q1, median, q3 = np.percentile(X, [25, 50, 75], axis=0)
        spread = q3 - q1
        std = X.std(axis=0)
        spread = np.where(spread > 0, spread, np.where(std > 0, std, 1.0))
        self.forest_ = forest
        self.median_ = median
        self.spread_ = spread
        return self

    def _matrix(self, X: Any) -> Floats:
        check_is_fitted(self, "forest_")
        return _checked(self, X, allow_nan=False)

    def score_samples(self, X: Any) -> Floats:
        """Return the forest's anomaly score ``s(x, n)`` in (0, 1]; higher = more unusual."""
        matrix = self._matrix(X)
        scores = -np.asarray(self.forest_.score_samples(matrix), dtype=np.float64)
        return np.clip(scores, 0.0, 1.0)

    def fraud_score(self, X: Any) -> Floats:
        """Return the anomaly score, in [0, 1]."""
        return self.score_samples(X)

    def contributions(self, X: Any) -> Floats:
        """Return how unusual each value is: distance from the median in spreads.

        A proxy, not an explanation of the forest: large values mark the features
        that set the row apart from the training rows.
        """
        contributions: Floats = np.abs(self._matrix(X) - self.median_) / self.spread_
        return contributions

    def assess(self, X: Any) -> tuple[Floats, Floats]:
        """Return the anomaly score and how unusual each value is."""
        matrix = self._matrix(X)
        return self.fraud_score(matrix), self.contributions(matrix)
