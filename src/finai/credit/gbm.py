"""Gradient-boosted PD model: LightGBM, monotone where it should be, then calibrated.

The training rows are cut, stratified and seeded, into three parts:

* **fit** (``1 - validation_fraction - calibration_fraction``) grows the trees;
* **validation** (``validation_fraction``) stops boosting once its weighted log-loss
  has not improved for ``early_stopping_rounds`` rounds;
* **calibration** (``calibration_fraction``) maps the booster's raw margin to a PD
  (isotonic regression, or Platt's sigmoid), so a PD of 0.08 means 8 in 100 default.

Refitting: once early stopping has chosen the number of rounds, the booster is grown
again on the fit **and** validation rows, with the rounds scaled up in proportion to
the extra rows, and only then calibrated. It is **never** refitted on the calibration
rows: the calibration map belongs to the booster whose margins it saw, and it is only
honest on rows that booster did not learn from. A booster refitted on all rows would
be more confident on average than the calibrator expects, so its PDs would drift.
Giving the calibration rows up for tree growth is the price of a PD that means
probability.

Categorical features are pandas categories fixed at fit; values not seen then become
NaN and take LightGBM's missing-value path. Class imbalance is handled by weighting the
bad rows (``scale_pos_weight``); the calibration removes the shift that weighting puts
into the raw margin.

Explanations (:meth:`GBMModel.contributions`, :meth:`GBMModel.reasons`) are TreeSHAP
contributions to the **raw, uncalibrated** margin (log-odds of bad): they and the bias
add up to :meth:`GBMModel.raw_margin`, not to the calibrated PD. Calibration is
monotone, so a feature that raises the margin never lowers the PD.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import OptimalBinning
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags, check_random_state
from sklearn.utils.validation import check_is_fitted

from finai.credit.reasons import Assessment, Reason, check_reason_count
from finai.credit.scaling import ScoreScaling
from finai.credit.scorecard import (
    FeatureSchema,
    credit_tags,
    feature_columns,
    fit_frame,
    fit_target,
    predict_frame,
    quiet_optbinning,
    require_columns,
)
from finai.exceptions import ValidationError

__all__ = ["GBMModel", "monotone_trend"]

PD_FLOOR = 1e-4
"""Calibrated PDs are kept in [PD_FLOOR, 1 - PD_FLOOR] so every score is finite."""

PARALLEL_ROWS = 2_000
"""Batches of at least this many rows are predicted on every core; smaller ones on one."""

MONOTONE_IV_RETENTION = 0.8
"""Share of information value a monotone binning must keep for ``monotone="auto"``."""


def monotone_trend(x: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> int:
    """Return the trend optbinning finds for a numeric feature.

    optbinning bins the feature twice: once with the best ascending or descending bad
    rate (``"auto_asc_desc"``) and once with the trend it judges best among all shapes,
    peaks and valleys included (``"auto"``). The feature is monotone when the first
    keeps at least :data:`MONOTONE_IV_RETENTION` of the second's information value.

    Parameters
    ----------
    x
        Feature values (NaN = missing, left out).
    y
        0/1 target, 1 = bad.

    Returns
    -------
    int
        +1 when the bad rate rises with the feature, -1 when it falls, 0 when the
        feature has a single bin or its bad rate is not monotone.
    """
    present = ~np.isnan(x)
    values, target = x[present], y[present]
    if len(np.unique(target)) < 2 or len(np.unique(values)) < 2:
        return 0
    found = {}
    with quiet_optbinning():
        for trend in ("auto_asc_desc", "auto"):
            optb = OptimalBinning(dtype="numerical", monotonic_trend=trend, min_bin_size=0.05)
            optb.fit(values, target)
            found[trend] = _bad_rates(values, target, optb.splits)
    rate, iv = found["auto_asc_desc"]
    if rate.size < 2 or rate[-1] == rate[0] or iv < MONOTONE_IV_RETENTION * found["auto"][1]:
        return 0
    return 1 if rate[-1] > rate[0] else -1


def _bad_rates(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.int_], splits: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], float]:
    """Bad rate of each non-empty bin and the information value of the binning."""
    cuts = np.asarray(splits, dtype=np.float64)
    index = np.digitize(x, cuts, right=False)
    count = np.bincount(index, minlength=cuts.size + 1)[np.unique(index)]
    bads = np.bincount(index, weights=y, minlength=cuts.size + 1)[np.unique(index)]
    goods = count - bads
    usable = (goods > 0) & (bads > 0)
    share_good, share_bad = goods[usable] / goods.sum(), bads[usable] / bads.sum()
    iv = float(((share_good - share_bad) * np.log(share_good / share_bad)).sum())
    return bads / count, iv


def _fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) < 0.5:
        raise ValidationError(f"{name} must be a number in (0, 0.5), got {value!r}", field=name)
    return float(value)


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValidationError(f"{name} must be an integer >= 1, got {value!r}", field=name)
    return int(value)


class GBMModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A calibrated LightGBM PD model with monotone constraints and reasons.

    Parameters
    ----------
    n_estimators
        Most boosting rounds; early stopping usually ends sooner.
    learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda
        LightGBM's tree settings (``subsample`` is bagging per round; 1.0 turns it off).
    early_stopping_rounds
        Rounds without improvement on the validation part before boosting stops.
    validation_fraction, calibration_fraction
        Shares of the training rows held out for early stopping and for calibration.
    calibration
        ``"isotonic"`` or ``"sigmoid"`` (Platt scaling of the raw margin).
    scale_pos_weight
        Weight of bad rows: ``"balanced"`` (goods / bads in the fit part), a number, or
        None (1).
    monotone
        ``"auto"``: for each numeric feature the trend optbinning finds (+1 where the
        bad rate rises with the feature, -1 where it falls, none otherwise); a dict of
        feature → +1 / -1 / 0 (+1: the PD never falls as the feature grows); or None.
    base_score, base_odds, pdo
        Score scaling for :meth:`credit_score`.
    n_jobs
        LightGBM threads.
    random_state
        Seeds the splits and LightGBM; the fit is deterministic for an int. None draws
        a seed (recorded in ``seed_``).

    Attributes
    ----------
    classes_ : numpy.ndarray
        The two labels; ``classes_[1]`` is bad.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : numpy.ndarray
        Feature names, only set when fit saw a DataFrame with text column names.
    schema_ : FeatureSchema
        Names and types of the training columns.
    categories_ : dict[str, list[str]]
        The categories of each categorical feature, fixed at fit.
    monotone_ : dict[str, int]
        The constraint applied per numeric feature (0 = none).
    seed_ : int
        The seed used.
    booster_ : lightgbm.Booster
        The trees, grown on the fit and validation parts.
    best_iteration_ : int
        Boosting rounds early stopping chose on the fit part.
    n_estimators_ : int
        Rounds of ``booster_``: ``best_iteration_`` scaled by the rows it was grown on.
    calibrator_ : IsotonicRegression or LogisticRegression
        Maps the raw margin to a PD; fitted on the calibration part.
    scaling_ : ScoreScaling
        The score scaling in force.
    mean_abs_contribution_ : pandas.Series
        Mean absolute raw-margin contribution of each feature on the training rows.
    """

    def __init__(
        self,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 50,
        validation_fraction: float = 0.2,
        calibration_fraction: float = 0.2,
        calibration: Literal["isotonic", "sigmoid"] = "isotonic",
        scale_pos_weight: float | Literal["balanced"] | None = "balanced",
        monotone: Mapping[str, int] | str | None = "auto",
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
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
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.calibration = calibration
        self.scale_pos_weight = scale_pos_weight
        self.monotone = monotone
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        """Binary classifier that accepts NaN."""
        return credit_tags(super().__sklearn_tags__())

    # -- fitting ------------------------------------------------------------------------

    def fit(self, X: object, y: object) -> Self:
        """Grow, early-stop and calibrate the model.

        Parameters
        ----------
        X
            Training features: a DataFrame (object, ``str`` or ``category`` columns are
            categorical) or a numeric array-like.
        y
            Two classes; the greater (1 for 0/1 labels) is bad.

        Returns
        -------
        GBMModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            For bad parameters or data, or too few rows of a class to cut the
            validation and calibration parts.
        """
        scaling = ScoreScaling(self.base_score, self.base_odds, self.pdo)
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValidationError(
                f"calibration must be 'isotonic' or 'sigmoid', got {self.calibration!r}",
                field="calibration",
            )
        validation = _fraction(self.validation_fraction, "validation_fraction")
        calibration = _fraction(self.calibration_fraction, "calibration_fraction")
        rounds = _count(self.n_estimators, "n_estimators")
        patience = _count(self.early_stopping_rounds, "early_stopping_rounds")
        schema, frame = fit_frame(X)
        classes, y01 = fit_target(y, len(frame))
        seed = self._seed()
        categories = {
            name: sorted(set(frame[name].dropna().tolist())) for name in schema.categorical
        }
        data = _booster_frame(frame, schema, categories)
        fit_rows, valid_rows, cal_rows = _split(y01, validation, calibration, seed)
        grown_rows = np.sort(np.concatenate([fit_rows, valid_rows]))
        monotone = self._monotone(schema, frame.iloc[grown_rows], y01[grown_rows])
        params = self._params(schema, monotone, self._bad_weight(y01[fit_rows]), seed)
        try:
            best = _early_stopped_rounds(
                params, data, y01, fit_rows, valid_rows, rounds=rounds, patience=patience
            )
            final_rounds = max(1, round(best * len(grown_rows) / len(fit_rows)))
            booster = lgb.train(
                params, lgb.Dataset(data.iloc[grown_rows], y01[grown_rows]), final_rounds
            )
        except lgb.basic.LightGBMError as exc:
            raise ValidationError(f"LightGBM could not train: {exc}") from exc
        margin = np.asarray(booster.predict(data.iloc[cal_rows], raw_score=True))
        calibrator = _fit_calibrator(self.calibration, margin, y01[cal_rows])
        contributions = np.asarray(booster.predict(data, pred_contrib=True))

        self.classes_ = classes
        self.n_features_in_ = len(schema.names)
        if schema.named:
            self.feature_names_in_ = np.asarray(schema.names, dtype=object)
        self.schema_ = schema
        self.categories_ = categories
        self.monotone_ = monotone
        self.seed_ = seed
        self.booster_ = booster
        self.best_iteration_ = best
        self.n_estimators_ = final_rounds
        self.calibrator_ = calibrator
        self.scaling_ = scaling
        self.mean_abs_contribution_ = pd.Series(
            np.abs(contributions[:, :-1]).mean(axis=0), index=list(schema.names), name="mean_abs"
        )
        return self

    def _params(
        self, schema: FeatureSchema, monotone: Mapping[str, int], weight: float, seed: int
    ) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "scale_pos_weight": weight,
            "monotone_constraints": [monotone.get(name, 0) for name in schema.names],
            "metric": "binary_logloss",
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "seed": seed,
        }

    def _seed(self) -> int:
        if isinstance(self.random_state, numbers.Integral) and not isinstance(
            self.random_state, bool
        ):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _bad_weight(self, y: npt.NDArray[np.int_]) -> float:
        if self.scale_pos_weight is None:
            return 1.0
        if self.scale_pos_weight == "balanced":
            return float((y == 0).sum() / max(int(y.sum()), 1))
        value = self.scale_pos_weight
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValidationError(
                f"scale_pos_weight must be 'balanced', None or > 0, got {value!r}",
                field="scale_pos_weight",
            )
        return float(value)

    def _monotone(
        self, schema: FeatureSchema, frame: pd.DataFrame, y: npt.NDArray[np.int_]
    ) -> dict[str, int]:
        spec = self.monotone
        if spec is None:
            return {}
        if isinstance(spec, str):
            if spec != "auto":
                raise ValidationError(
                    f"monotone must be 'auto', a dict or None, got {spec!r}", field="monotone"
                )
            return {
                name: monotone_trend(frame[name].to_numpy(dtype=np.float64), y)
                for name in schema.numeric
            }
        if not isinstance(spec, Mapping):
            raise ValidationError("monotone must be 'auto', a dict or None", field="monotone")
        resolved: dict[str, int] = {}
        for name, sign in spec.items():
            if name not in schema.numeric:
                kind = "categorical" if name in schema.categorical else "unknown"
                raise ValidationError(
                    f"monotone names {kind} feature {name!r}; only numeric features can be",
                    field="monotone",
                )
            if isinstance(sign, bool) or sign not in (-1, 0, 1):
                raise ValidationError(
                    f"monotone[{name!r}] must be -1, 0 or +1, got {sign!r}", field="monotone"
                )
            resolved[name] = int(sign)
        return resolved

    # -- prediction ---------------------------------------------------------------------

    def _data(self, X: object) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
        check_is_fitted(self, "booster_")
        frame = predict_frame(X, self.schema_, type(self).__name__)
        return frame, _booster_matrix(feature_columns(frame), self.schema_, self.categories_)

    def _predict(self, data: npt.NDArray[np.float64], **kind: bool) -> npt.NDArray[np.float64]:
        threads = 0 if len(data) >= PARALLEL_ROWS else 1
        values = self.booster_.predict(
            data, num_iteration=self.n_estimators_, num_threads=threads, **kind
        )
        return np.asarray(values, dtype=np.float64)

    def _calibrated(self, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if isinstance(self.calibrator_, IsotonicRegression):
            pd_bad = self.calibrator_.predict(margin)
        else:
            pd_bad = self.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]
        return np.clip(np.asarray(pd_bad, dtype=np.float64), PD_FLOOR, 1.0 - PD_FLOOR)

    def raw_margin(self, X: object) -> npt.NDArray[np.float64]:
        """Return the booster's uncalibrated log-odds of bad (what reasons explain)."""
        _, data = self._data(X)
        return self._predict(data, raw_score=True)

    def predict_proba(self, X: object) -> npt.NDArray[np.float64]:
        """Return ``[P(good), P(bad)]`` per row; column 1 is the calibrated PD."""
        pd_bad = self._calibrated(self.raw_margin(X))
        return np.column_stack([1.0 - pd_bad, pd_bad])

    def predict(self, X: object) -> npt.NDArray[Any]:
        """Return ``classes_[1]`` (bad) where the PD is at least 0.5, else ``classes_[0]``."""
        bad = self.predict_proba(X)[:, 1] >= 0.5
        return np.asarray(self.classes_[bad.astype(np.intp)])

    def credit_score(self, X: object) -> npt.NDArray[np.float64]:
        """Return the score of the calibrated PD (higher is better)."""
        return self.scaling_.score_from_pd(self.predict_proba(X)[:, 1])

    # -- explanation --------------------------------------------------------------------

    def contributions(self, X: object) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
        """Return TreeSHAP contributions to the raw margin and the bias.

        Parameters
        ----------
        X
            Features with every training column.

        Returns
        -------
        tuple[pandas.DataFrame, numpy.ndarray]
            Per row and feature, log-odds of bad added (positive raises the risk), with
            the input's index; and per row the bias (expected margin). For each row the
            contributions plus the bias equal :meth:`raw_margin`.
        """
        frame, data = self._data(X)
        values = self._predict(data, pred_contrib=True)
        table = pd.DataFrame(values[:, :-1], columns=list(self.schema_.names), index=frame.index)
        return table, values[:, -1].copy()

    def assess(self, X: object) -> Assessment:
        """Return PD, score and TreeSHAP harm per row from one pass over the trees.

        The margin calibrated into the PD is the sum of the contributions and the bias,
        so each row's reasons explain exactly the margin behind its PD.
        """
        check_is_fitted(self, "booster_")
        frame = predict_frame(X, self.schema_, type(self).__name__)
        return self.assess_columns(feature_columns(frame))

    def assess_columns(self, columns: Mapping[str, npt.NDArray[Any]]) -> Assessment:
        """Return :meth:`assess` of features already read as :func:`predict_frame` reads them.

        Parameters
        ----------
        columns
            One array per training column, by name: numbers as ``float64`` (NaN =
            missing), categories as ``str`` or NaN in ``object`` arrays; other keys are
            ignored. :meth:`assess` passes the columns of :func:`predict_frame`; a caller
            with one applicant builds them without a table
            (:meth:`finai.credit.CreditModel.assess_row`).

        Raises
        ------
        ValidationError
            When a training column is missing.
        """
        check_is_fitted(self, "booster_")
        require_columns(columns, self.schema_)
        data = _booster_matrix(columns, self.schema_, self.categories_)
        values = self._predict(data, pred_contrib=True)
        pd_bad = self._calibrated(values.sum(axis=1))
        return Assessment(
            pd=pd_bad,
            score=self.scaling_.score_from_pd(pd_bad),
            harm=values[:, :-1],
            values={name: columns[name] for name in self.schema_.names},
            describe=_risk_text,
        )

    def feature_importance(self) -> pd.DataFrame:
        """Return each feature's total split gain, its share, and mean |contribution|.

        Returns
        -------
        pandas.DataFrame
            Indexed by feature, columns ``gain``, ``gain_share`` and
            ``mean_abs_contribution`` (raw log-odds, on the training rows), by gain.
        """
        check_is_fitted(self, "booster_")
        gain = np.asarray(
            self.booster_.feature_importance("gain", iteration=self.n_estimators_),
            dtype=np.float64,
        )
        total = gain.sum()
        table = pd.DataFrame(
            {
                "gain": gain,
                "gain_share": gain / total if total > 0 else np.zeros_like(gain),
                "mean_abs_contribution": self.mean_abs_contribution_.to_numpy(),
            },
            index=pd.Index(list(self.schema_.names), name="feature"),
        )
        return table.sort_values("gain", ascending=False, kind="stable")

    def reasons(
        self,
        X: object,
        n: int = 4,
        labels: Mapping[str, str] | None = None,
    ) -> list[list[Reason]]:
        """Return adverse-action reasons: the features that raised the risk most.

        Parameters
        ----------
        X
            Applicants' features.
        n
            Most reasons per applicant, 1 to 4.
        labels
            Plain-words names of features for the texts.

        Returns
        -------
        list[list[Reason]]
            Per row, up to ``n`` reasons with a positive contribution (log-odds of bad
            added to the raw margin), largest first.
        """
        check_reason_count(n)
        return self.assess(X).reasons(n, labels)


def _risk_text(label: str, value: npt.NDArray[Any], _: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    return label + " (" + value + ") raised the estimated risk"


def _booster_frame(
    frame: pd.DataFrame, schema: FeatureSchema, categories: Mapping[str, list[str]]
) -> pd.DataFrame:
    """LightGBM's view: columns ``f0``, ``f1``, …; categories fixed, unseen ones NaN."""
    columns: dict[str, Any] = {}
    for i, name in enumerate(schema.names):
        values = frame[name]
        if name in schema.categorical:
            known = categories[name]
            seen = values.where(values.isin(known))
            columns[f"f{i}"] = pd.Categorical(seen.to_numpy(dtype=object), categories=known)
        else:
            columns[f"f{i}"] = values.to_numpy(dtype=np.float64)
    return pd.DataFrame(columns, index=frame.index)


def _booster_matrix(
    columns: Mapping[str, npt.NDArray[Any]],
    schema: FeatureSchema,
    categories: Mapping[str, list[str]],
) -> npt.NDArray[np.float64]:
    """Return what LightGBM reads from :func:`_booster_frame`: category codes, NaN if unseen.

    LightGBM turns pandas categories into their codes with -1 as missing; handing it
    those codes directly skips its per-call DataFrame conversion.
    """
    rows = len(columns[schema.names[0]])
    data = np.empty((rows, len(schema.names)), dtype=np.float64)
    for i, name in enumerate(schema.names):
        if name in schema.categorical:
            # each distinct value is looked up once: one row costs little, many one pass
            codes, uniques = pd.factorize(np.asarray(columns[name], dtype=object))
            known = {category: float(k) for k, category in enumerate(categories[name])}
            found = [known.get(u, np.nan) for u in uniques]
            data[:, i] = np.array([*found, np.nan], dtype=np.float64)[codes]
        else:
            data[:, i] = np.asarray(columns[name], dtype=np.float64)
    return data


def _early_stopped_rounds(
    params: Mapping[str, Any],
    data: pd.DataFrame,
    y: npt.NDArray[np.int_],
    fit_rows: npt.NDArray[np.intp],
    valid_rows: npt.NDArray[np.intp],
    *,
    rounds: int,
    patience: int,
) -> int:
    """Boost on the fit rows; return the round with the best weighted validation loss."""
    train_set = lgb.Dataset(data.iloc[fit_rows], y[fit_rows])
    valid_y = y[valid_rows]
    valid_set = lgb.Dataset(
        data.iloc[valid_rows],
        valid_y,
        weight=np.where(valid_y == 1, float(params["scale_pos_weight"]), 1.0),
        reference=train_set,
    )
    booster = lgb.train(
        dict(params),
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(patience, verbose=False)],
    )
    return int(booster.best_iteration) or booster.current_iteration()


def _split(
    y: npt.NDArray[np.int_], validation: float, calibration: float, seed: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    rows = np.arange(len(y))
    try:
        rest, cal = train_test_split(rows, test_size=calibration, stratify=y, random_state=seed)
        fit, valid = train_test_split(
            rest,
            test_size=validation / (1.0 - calibration),
            stratify=y[rest],
            random_state=seed,
        )
    except ValueError as exc:
        raise ValidationError(
            "too few rows of each class to hold out validation and calibration parts"
            f" ({int(y.sum())} bad, {int((y == 0).sum())} good): {exc}",
            field="y",
        ) from exc
    return np.sort(fit), np.sort(valid), np.sort(cal)


def _fit_calibrator(
    method: str, margin: npt.NDArray[np.float64], y: npt.NDArray[np.int_]
) -> Any:  # IsotonicRegression or LogisticRegression
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(margin, y)
    return LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
