"""Model explanations: which features matter, how the prediction moves with them, and why.

Global explanations of a registered model:

* **LightGBM** (the credit ``GBMModel`` and the fraud ``GBMFraudModel``): each feature's
  total split gain (LightGBM's ``feature_importance("gain")``) and its mean absolute
  TreeSHAP contribution (``predict(pred_contrib=True)``) to the raw log-odds on a
  sample of rows;
* **scorecards**: the information value of every feature (optbinning's, as the
  binning process measured it at fit) and, for the scored characteristics, each bin
  with its count, bad rate, weight of evidence and points;
* **partial dependence** of the top features: the prediction averaged over a sample's
  rows with one feature set to each value of a grid.

Where the sample comes from. Given a table (the model's features, e.g. a validation
file), mean contributions and partial dependence are measured on up to
:data:`MAX_ROWS` of its rows, and partial dependence is scikit-learn's
:func:`~sklearn.inspection.partial_dependence` (``method="brute"``) of the model's
``predict_proba``: the average PD (credit) or fraud score. Without a table (the API
and the dashboard, which hold no applicant data) only what the model keeps is used:

* the credit GBM's mean contributions measured on its training rows at fit
  (``mean_abs_contribution_``); the fraud model keeps none, so they are absent;
* partial dependence by Friedman's **tree recursion** (scikit-learn's
  ``method="recursion"``, done here on LightGBM's tree dump because scikit-learn only
  runs it on its own estimators): at a split on the feature the grid value picks the
  branch, at any other split both branches are averaged, weighted by how many training
  rows went each way. It is the average **raw log-odds** (before calibration) under the
  training rows' distribution, and equals the brute-force average on the training rows
  when the feature is independent of the others; with correlated features it differs.
  The grid spans the range LightGBM recorded for the feature (``feature_infos``);
* for scorecards, the score is a sum of points, so its partial dependence is exact
  without rows: the feature's points in each bin plus the other characteristics'
  mean points over the training rows.

Local explanation of a stored credit decision, :func:`decision_waterfall`: the stored
reasons keep at most four adverse features with their contributions, not every
feature, and the applicant's inputs are not kept. The waterfall therefore starts from
what the model alone gives (the scorecard's best possible score; the GBM's expected
log-odds, the TreeSHAP base value), steps through the stored reasons, and closes the gap
to the stored score (or the log-odds of the stored PD) in one bar for everything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.inspection import partial_dependence
from sqlalchemy.orm import Session

from finai import credit, fraud, registry
from finai.exceptions import ValidationError

TOP = 5
"""Features given a partial dependence curve by default (the most important first)."""

GRID = 20
"""Default number of grid values of a numeric feature's partial dependence."""

MAX_CATEGORIES = 12
"""Most categories of a categorical feature in a partial dependence curve (most frequent)."""

MAX_ROWS = 5_000
"""Most rows of a given table used (a seeded sample of larger tables)."""

SEED = 0
"""Default seed of the row sample."""

Method = Literal["brute", "recursion", "points"]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FeatureImportance:
    """How much a LightGBM model uses one feature.

    Attributes
    ----------
    feature
        The feature's name.
    gain
        Total gain of the splits on the feature (LightGBM's ``"gain"`` importance).
    gain_share
        ``gain`` over the total of all features, in [0, 1].
    mean_abs_contribution
        Mean absolute TreeSHAP contribution to the raw log-odds over the sample's rows;
        None when there is no sample.
    """

    feature: str
    gain: float
    gain_share: float
    mean_abs_contribution: float | None


@dataclass(frozen=True)
class ScorecardBin:
    """One bin of a scored characteristic, as the scorecard table shows it.

    Attributes
    ----------
    bin
        The interval or the categories; ``"Missing"`` holds missing and unseen values.
    count
        Training rows in the bin.
    event_rate
        Share of bad rows in the bin; None for an empty bin.
    woe, iv
        Weight of evidence and the bin's part of the information value.
    points
        Points the bin scores.
    """

    bin: str
    count: int
    event_rate: float | None
    woe: float
    iv: float
    points: float


@dataclass(frozen=True)
class InformationValue:
    """A scorecard feature's information value and, when scored, its bins.

    Attributes
    ----------
    feature
        The feature's name.
    iv
        optbinning's information value of the feature's binning on the training rows.
    scored
        Whether the scorecard scores it (features below the selection criteria are not).
    bins
        The scored characteristic's bins; empty when not scored.
    """

    feature: str
    iv: float
    scored: bool
    bins: tuple[ScorecardBin, ...]


@dataclass(frozen=True)
class PartialDependence:
    """The average prediction with one feature set to each grid value.

    Attributes
    ----------
    feature
        The feature's name.
    categorical
        Whether the grid holds categories (or scorecard bins) rather than numbers.
    grid
        The values the feature was set to: numbers, or category and bin labels.
    average
        The average prediction at each grid value, in ``unit``.
    unit
        ``"PD"``, ``"fraud score"``, ``"log-odds of bad"``, ``"log-odds of fraud"`` or
        ``"score points"``.
    method
        ``"brute"`` (averaged over a table's rows), ``"recursion"`` (over the trees'
        training counts) or ``"points"`` (a scorecard's additive points).
    """

    feature: str
    categorical: bool
    grid: tuple[float | str, ...]
    average: tuple[float, ...]
    unit: str
    method: Method


@dataclass(frozen=True)
class Explanation:
    """The global explanation of one model.

    Attributes
    ----------
    model
        ``NAME:VERSION``, or None for a model not from the registry.
    kind
        The registry kind: ``"credit.pd"`` or ``"fraud.score"``.
    algorithm
        ``"gbm"``, ``"scorecard"`` (credit) or ``"lightgbm"`` (fraud).
    sample
        Where mean contributions and partial dependence were measured, in words.
    sample_rows
        Rows of the given table used; None without a table.
    importance
        LightGBM models: every feature, by gain (largest first); empty for scorecards.
    information_values
        Scorecards: every feature, by information value (largest first).
    partial_dependence
        The top features' curves, most important first.
    """

    model: str | None
    kind: str
    algorithm: str
    sample: str
    sample_rows: int | None
    importance: tuple[FeatureImportance, ...]
    information_values: tuple[InformationValue, ...]
    partial_dependence: tuple[PartialDependence, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values (the API's answer): every field, nested ones too."""
        return asdict(self)


# -- entry points --------------------------------------------------------------------------


def model_explanation(
    session: Session,
    artifact_dir: Path,
    ref: str,
    table: pd.DataFrame | None = None,
    *,
    top: int = TOP,
    grid: int = GRID,
    seed: int = SEED,
) -> Explanation:
    """Load ``NAME[:VERSION]`` (champion, else newest) and explain it.

    Parameters
    ----------
    session, artifact_dir
        The registry.
    ref
        The model reference.
    table
        Rows to measure on (credit: the model's feature columns; fraud: the model's
        computed features); None to use only what the model keeps.
    top, grid, seed
        As :func:`explain_credit`.

    Raises
    ------
    NotFound
        For an unknown model or version.
    ValidationError
        For a bad reference, a model neither LightGBM nor a scorecard, or a table
        without the model's features.
    """
    name, version = registry.parse_ref(ref)
    info, loaded = registry.load(session, artifact_dir, name, version)
    label = f"{info.name}:{info.version}"
    if isinstance(loaded, credit.CreditModel):
        return explain_credit(loaded, table, top=top, grid=grid, seed=seed, model_ref=label)
    if isinstance(loaded, fraud.FraudModel):
        return explain_fraud(loaded, table, top=top, grid=grid, seed=seed, model_ref=label)
    raise ValidationError(f"model {name!r} is neither a credit nor a fraud model", field="model")


def explain_credit(
    model: credit.CreditModel,
    table: pd.DataFrame | None = None,
    *,
    top: int = TOP,
    grid: int = GRID,
    seed: int = SEED,
    model_ref: str | None = None,
) -> Explanation:
    """Explain a credit model: importance or information values, and partial dependence.

    Parameters
    ----------
    model
        A credit model whose estimator is a ``GBMModel`` or a ``ScorecardModel``.
    table
        Applicants with the model's feature columns (others are ignored); None to use
        what the model keeps (see the module's notes).
    top
        Features given a partial dependence curve (1 or more).
    grid
        Grid values of a numeric feature (2 or more).
    seed
        Seeds the sample of a table of more than :data:`MAX_ROWS` rows.
    model_ref
        Recorded in the explanation.

    Raises
    ------
    ValidationError
        For another estimator, bad settings, or a table the model cannot read.
    """
    _check(top=top, grid=grid)
    estimator = model.estimator
    sample = None if table is None else _sample(model.features(table), seed)
    if isinstance(estimator, credit.GBMModel):
        importance = _gbm_importance(estimator, sample)
        features = [f.feature for f in importance if f.gain > 0][:top]
        curves = _curves(
            estimator, sample, features, grid, "PD", "log-odds of bad", _credit_tree(estimator)
        )
        return Explanation(
            model=model_ref,
            kind=credit.KIND,
            algorithm="gbm",
            sample=_where(
                sample,
                "mean contributions as measured on the training rows at fit; partial"
                " dependence in raw log-odds by tree recursion over the training counts",
            ),
            sample_rows=None if sample is None else len(sample),
            importance=importance,
            information_values=(),
            partial_dependence=curves,
        )
    if isinstance(estimator, credit.ScorecardModel):
        values = _information_values(estimator)
        features = [v.feature for v in values if v.scored][:top]
        if sample is None:
            curves = tuple(_points_curve(estimator, name) for name in features)
        else:
            curves = tuple(_brute(estimator, sample, name, grid, "PD") for name in features)
        return Explanation(
            model=model_ref,
            kind=credit.KIND,
            algorithm="scorecard",
            sample=_where(
                sample,
                "partial dependence of the score, exact from the points and the"
                " training bin counts",
            ),
            sample_rows=None if sample is None else len(sample),
            importance=(),
            information_values=values,
            partial_dependence=curves,
        )
    raise ValidationError(
        f"explanations cover gradient-boosting and scorecard models, not {model.algorithm!r}",
        field="model",
    )


def explain_fraud(
    model: fraud.FraudModel,
    features: pd.DataFrame | None = None,
    *,
    top: int = TOP,
    grid: int = GRID,
    seed: int = SEED,
    model_ref: str | None = None,
) -> Explanation:
    """Explain a LightGBM fraud model: gain, mean |contribution| and partial dependence.

    Parameters
    ----------
    model
        A fraud model of the ``lightgbm`` algorithm.
    features
        Transactions' computed features (``FraudModel.features``); None to use only
        the trees (no mean contributions; partial dependence by recursion).
    top, grid, seed, model_ref
        As :func:`explain_credit`.

    Raises
    ------
    ValidationError
        For another algorithm, bad settings, or features the model cannot read.
    """
    _check(top=top, grid=grid)
    estimator: Any = model.estimator  # the fraud domain's LightGBM estimator (booster_)
    if model.algorithm != "lightgbm":
        raise ValidationError(
            f"explanations cover LightGBM fraud models, not {model.algorithm!r}", field="model"
        )
    names = list(model.feature_names)
    sample = None
    if features is not None:
        missing = [name for name in names if name not in features.columns]
        if missing:
            raise ValidationError(f"features lack {', '.join(missing)}", field=missing[0])
        sample = _sample(features.loc[:, names].astype(np.float64), seed)
    rounds = int(estimator.best_iteration_)
    gain = np.asarray(
        estimator.booster_.feature_importance("gain", iteration=rounds), dtype=np.float64
    )
    mean_abs = None if sample is None else np.abs(estimator.contributions(sample)).mean(axis=0)
    importance = _importance(names, gain, mean_abs)
    top_names = [f.feature for f in importance if f.gain > 0][:top]
    tree = _Trees(estimator.booster_, rounds, names, {})
    curves = _curves(estimator, sample, top_names, grid, "fraud score", "log-odds of fraud", tree)
    return Explanation(
        model=model_ref,
        kind=fraud.KIND,
        algorithm="lightgbm",
        sample=_where(
            sample,
            "no mean contributions, as the model keeps no rows; partial dependence in"
            " raw log-odds by tree recursion over the training counts",
        ),
        sample_rows=None if sample is None else len(sample),
        importance=importance,
        information_values=(),
        partial_dependence=curves,
    )


# -- importance and information value ----------------------------------------------------


def _check(*, top: int, grid: int) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValidationError(f"top must be a whole number >= 1, got {top!r}", field="top")
    if isinstance(grid, bool) or not isinstance(grid, int) or not 2 <= grid <= 200:
        raise ValidationError(
            f"grid must be a whole number in [2, 200], got {grid!r}", field="grid"
        )


def _sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) == 0:
        raise ValidationError("the table has no rows", field="rows")
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def _where(sample: pd.DataFrame | None, without: str) -> str:
    if sample is None:
        return f"the model alone ({without})"
    return f"{len(sample):,} rows of the table given"


def _importance(
    names: Sequence[str], gain: Floats, mean_abs: Floats | None
) -> tuple[FeatureImportance, ...]:
    total = float(gain.sum())
    rows = [
        FeatureImportance(
            feature=name,
            gain=float(gain[i]),
            gain_share=float(gain[i] / total) if total > 0 else 0.0,
            mean_abs_contribution=None if mean_abs is None else float(mean_abs[i]),
        )
        for i, name in enumerate(names)
    ]
    return tuple(sorted(rows, key=lambda f: -f.gain))


def _gbm_importance(
    estimator: credit.GBMModel, sample: pd.DataFrame | None
) -> tuple[FeatureImportance, ...]:
    names = list(estimator.schema_.names)
    gain = np.asarray(
        estimator.booster_.feature_importance("gain", iteration=estimator.n_estimators_),
        dtype=np.float64,
    )
    if sample is None:
        mean_abs = estimator.mean_abs_contribution_.reindex(names).to_numpy(dtype=np.float64)
    else:
        contributions, _bias = estimator.contributions(sample)
        mean_abs = np.abs(contributions.to_numpy(dtype=np.float64)).mean(axis=0)
    return _importance(names, gain, mean_abs)


def _information_values(estimator: credit.ScorecardModel) -> tuple[InformationValue, ...]:
    table = estimator.table()
    scored = {str(name): part for name, part in table.groupby("characteristic", sort=False)}
    values = []
    for name, iv in estimator.information_values().items():
        part = scored.get(str(name))
        bins = (
            ()
            if part is None
            else tuple(
                ScorecardBin(
                    bin=str(row["bin"]),
                    count=int(row["count"]),
                    event_rate=_finite(row["event_rate"]),
                    woe=float(row["woe"]),
                    iv=float(row["iv"]),
                    points=float(row["points"]),
                )
                for row in part.to_dict(orient="records")
            )
        )
        values.append(InformationValue(str(name), float(iv), part is not None, bins))
    return tuple(values)


def _finite(value: object) -> float | None:
    number = float(value) if isinstance(value, int | float | np.number) else math.nan
    return number if math.isfinite(number) else None


# -- partial dependence ----------------------------------------------------------------------


def _curves(
    estimator: Any,
    sample: pd.DataFrame | None,
    features: Sequence[str],
    grid: int,
    unit: str,
    raw_unit: str,
    trees: _Trees,
) -> tuple[PartialDependence, ...]:
    if sample is not None:
        return tuple(_brute(estimator, sample, name, grid, unit) for name in features)
    return tuple(trees.curve(name, grid, raw_unit) for name in features)


def _brute(
    estimator: Any, sample: pd.DataFrame, feature: str, grid: int, unit: str
) -> PartialDependence:
    """scikit-learn's brute-force partial dependence of ``predict_proba`` on ``sample``."""
    column = sample[feature]
    categorical = not pd.api.types.is_numeric_dtype(column.dtype)
    if categorical:
        counts = column.dropna().astype(str).value_counts()
        values: npt.NDArray[Any] = np.array(
            sorted(counts.index[:MAX_CATEGORIES].tolist()), dtype=object
        )
    else:
        present = column.to_numpy(dtype=np.float64)
        present = present[np.isfinite(present)]
        values = (
            np.unique(np.quantile(present, np.linspace(0.05, 0.95, grid)))
            if len(present)
            else present
        )
    if len(values) == 0:
        return PartialDependence(feature, categorical, (), (), unit, "brute")
    result = partial_dependence(
        estimator,
        sample,
        [feature],
        categorical_features=[feature] if categorical else None,
        custom_values={feature: values},
        kind="average",
        method="brute",
        response_method="predict_proba",
    )
    average = np.asarray(result["average"], dtype=np.float64)[0]
    shown: tuple[float | str, ...] = tuple(str(v) if categorical else float(v) for v in values)
    return PartialDependence(
        feature, categorical, shown, tuple(float(a) for a in average), unit, "brute"
    )


def _points_curve(estimator: credit.ScorecardModel, feature: str) -> PartialDependence:
    """Return a scorecard's exact partial dependence: bin points plus the others' mean."""
    means = {
        c.name: float(np.average(c.points, weights=c.count)) for c in estimator.characteristics_
    }
    characteristic = next(c for c in estimator.characteristics_ if c.name == feature)
    rest = sum(mean for name, mean in means.items() if name != feature)
    seen = [b for b in range(len(characteristic.labels)) if characteristic.count[b] > 0]
    return PartialDependence(
        feature=feature,
        categorical=True,
        grid=tuple(characteristic.labels[b] for b in seen),
        average=tuple(float(characteristic.points[b]) + rest for b in seen),
        unit="score points",
        method="points",
    )


@dataclass(frozen=True)
class _Trees:
    """A LightGBM booster's trees, read for recursion (partial dependence, base value)."""

    booster: Any
    rounds: int
    names: Sequence[str]
    categories: Mapping[str, Sequence[str]]

    def _dump(self) -> dict[str, Any]:
        dump: dict[str, Any] = self.booster.dump_model(num_iteration=self.rounds)
        return dump

    def expected(self) -> float:
        """Return the training-count weighted mean raw score: TreeSHAP's base value."""
        trees = self._dump()["tree_info"]
        return float(sum(_average(t["tree_structure"], -1, np.zeros(1))[0] for t in trees))

    def curve(self, feature: str, grid: int, unit: str) -> PartialDependence:
        """Partial dependence of the raw score on ``feature`` by tree recursion."""
        dump = self._dump()
        index = self.names.index(feature)
        info = dump["feature_infos"].get(dump["feature_names"][index], {})
        low, high = info.get("min_value"), info.get("max_value")
        categories = self.categories.get(feature)
        labels: tuple[float | str, ...]
        if categories is not None:
            values = np.arange(len(categories), dtype=np.float64)
            labels = tuple(str(c) for c in categories)
        elif isinstance(low, int | float) and isinstance(high, int | float):
            values = np.unique(np.linspace(float(low), float(high), grid))
            labels = tuple(float(v) for v in values)
        else:  # LightGBM saw no value of the feature: the curve is flat at the base value
            values = np.zeros(1)
            labels = (0.0,)
        total = np.zeros(len(values))
        for tree in dump["tree_info"]:
            total += _average(tree["tree_structure"], index, values)
        method: Method = "recursion"
        return PartialDependence(
            feature, categories is not None, labels, tuple(float(v) for v in total), unit, method
        )


def _credit_tree(estimator: credit.GBMModel) -> _Trees:
    names = list(estimator.schema_.names)
    return _Trees(estimator.booster_, int(estimator.n_estimators_), names, estimator.categories_)


def _count(node: Mapping[str, Any]) -> float:
    return float(node["leaf_count"] if "leaf_value" in node else node["internal_count"])


def _average(node: Mapping[str, Any], feature: int, values: Floats) -> Floats:
    """Average output of a (sub)tree with ``feature`` set to each of ``values``."""
    if "leaf_value" in node:
        return np.full(len(values), float(node["leaf_value"]))
    left = _average(node["left_child"], feature, values)
    right = _average(node["right_child"], feature, values)
    if node["split_feature"] == feature:
        return np.where(_goes_left(node, values), left, right)
    n_left, n_right = _count(node["left_child"]), _count(node["right_child"])
    if n_left + n_right == 0:
        return (left + right) / 2
    return np.asarray((n_left * left + n_right * right) / (n_left + n_right), dtype=np.float64)


def _goes_left(node: Mapping[str, Any], values: Floats) -> npt.NDArray[np.bool_]:
    """Return LightGBM's decision at ``node`` per value, as its C++ ``*Decision`` does."""
    missing_type = node.get("missing_type", "None")
    nan = np.isnan(values)
    if node["decision_type"] == "==":
        members = {int(c) for c in str(node["threshold"]).split("||")}
        codes = np.where(nan, 0.0, values)
        left = np.isin(codes.astype(np.int64), list(members)) & (codes >= 0)
        return left & ~nan if missing_type == "NaN" else left
    x = np.where(nan & (missing_type != "NaN"), 0.0, values)
    default = (missing_type == "Zero" and np.abs(x) <= 1e-35) | (missing_type == "NaN" and nan)
    return np.where(default, bool(node["default_left"]), x <= float(node["threshold"]))


# -- local explanation of a stored decision ----------------------------------------------------


@dataclass(frozen=True)
class WaterfallStep:
    """One bar of a decision's waterfall.

    Attributes
    ----------
    label
        What the bar is: the base, a feature (``feature = value``), the rest, or the result.
    value
        The base's or result's level, or the step's change, in the waterfall's unit.
    measure
        ``"absolute"`` (the base), ``"relative"`` (a step) or ``"total"`` (the result).
    """

    label: str
    value: float
    measure: Literal["absolute", "relative", "total"]


@dataclass(frozen=True)
class Waterfall:
    """How a stored credit decision got from the model's base to its result.

    Attributes
    ----------
    unit
        ``"score points"`` (scorecard) or ``"log-odds of bad"`` (gradient boosting).
    steps
        The base, each stored reason with a contribution, the rest, and the result;
        the base plus the relative steps equals the result.
    base_label, rest_label
        What the base and the rest bar mean, in words.
    """

    unit: str
    steps: tuple[WaterfallStep, ...]
    base_label: str
    rest_label: str

    @property
    def result(self) -> float:
        """The level the steps end at: the score, or the log-odds of the PD."""
        return self.steps[-1].value


SCORECARD_BASE = "best possible score"
SCORECARD_REST = "other characteristics"
GBM_BASE = "average log-odds (base)"
GBM_REST = "other features and calibration"


def decision_waterfall(decision: credit.Decision, model: credit.CreditModel) -> Waterfall:
    """Rebuild a stored decision's waterfall from its reasons, its PD and score, and the model.

    Scorecard, in points: the best possible score (every characteristic in its
    best-scoring bin seen in training), minus the points each stored reason lost, minus
    the points lost by the other characteristics together (the stored score closes the
    sum), ending at the stored score. Exact, but for the stored score's rounding to
    two decimals.

    Gradient boosting, in log-odds of bad: the TreeSHAP base value (the trees'
    training-count weighted mean of the raw score), plus each stored reason's
    contribution, plus one bar for the other features together with the calibration's
    shift, ending at the log-odds of the stored (calibrated) PD. The inputs are not
    stored, so that last gap cannot be split into features and calibration.

    Parameters
    ----------
    decision
        A stored decision (its model's reasons carry contributions; policy reasons,
        such as knock-outs, carry 0 and are left out).
    model
        The model version that made it.

    Raises
    ------
    ValidationError
        For a model neither gradient boosting nor a scorecard.
    """
    estimator = model.estimator
    shown = [r for r in decision.reasons if r.contribution > 0]
    if isinstance(estimator, credit.ScorecardModel):
        best = float(sum(float(c.points[c.count > 0].max()) for c in estimator.characteristics_))
        steps = [WaterfallStep(SCORECARD_BASE, best, "absolute")]
        steps += [WaterfallStep(_reason_label(r), -r.contribution, "relative") for r in shown]
        rest = decision.score - best + sum(r.contribution for r in shown)
        steps += [
            WaterfallStep(SCORECARD_REST, rest, "relative"),
            WaterfallStep("score", decision.score, "total"),
        ]
        return Waterfall("score points", tuple(steps), SCORECARD_BASE, SCORECARD_REST)
    if isinstance(estimator, credit.GBMModel):
        base = _credit_tree(estimator).expected()
        final = math.log(decision.pd) - math.log1p(-decision.pd)
        steps = [WaterfallStep(GBM_BASE, base, "absolute")]
        steps += [WaterfallStep(_reason_label(r), r.contribution, "relative") for r in shown]
        rest = final - base - sum(r.contribution for r in shown)
        steps += [
            WaterfallStep(GBM_REST, rest, "relative"),
            WaterfallStep(f"PD {decision.pd:.2%}", final, "total"),
        ]
        return Waterfall("log-odds of bad", tuple(steps), GBM_BASE, GBM_REST)
    raise ValidationError(
        f"waterfalls cover gradient-boosting and scorecard models, not {model.algorithm!r}",
        field="model",
    )


def _reason_label(reason: credit.Reason) -> str:
    return f"{reason.feature} = {reason.value}"
