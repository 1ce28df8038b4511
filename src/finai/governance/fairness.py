"""Fairness reports: approval and error rates of a credit model by protected group.

For each protected attribute (and, with two or more, for their intersection) the
report gives, per group, fairlearn's :class:`~fairlearn.metrics.MetricFrame` figures:

* ``selection_rate``: the approval rate;
* ``true_positive_rate``: the approval rate of good payers (equal opportunity);
* ``false_positive_rate``: the approval rate of bad payers;
* ``auc``: how well the score ranks good above bad payers within the group;
* ``bad_rate``: the observed share of bad payers (the base rate the others rest on);

each with a percentile bootstrap interval, and per attribute the disparate impact
ratio (lowest over highest approval rate, fairlearn's ``demographic_parity_ratio``)
against the four-fifths rule and the equal-opportunity difference (fairlearn's
``equal_opportunity_difference``). Groups smaller than ``min_group`` rows are shown,
flagged ``too_small``, and left out of every ratio and difference.

Labels: ``y_true`` is 1 for a good payer (the target is not the bad value), ``y_pred``
is 1 for an approval. Approval is the lending policy's cut-off applied to the model's
PD: ``PD < cutoffs.approve_below`` (knock-out rules and the referral for an unknown
income read fields outside the model and are not applied).

The point estimates are fairlearn's (``bad_rate``, a plain share, is counted here).
The intervals come from a stratified bootstrap (:mod:`finai.governance.bootstrap`):
each resample redraws every group's rows with replacement, keeping the group sizes,
from a seeded generator. fairlearn's own bootstrap (``MetricFrame(n_boot=...)``)
recomputes a whole ``MetricFrame`` per resample, about a fifth of a second each on a
thousand rows, so 500 resamples of three attributes would take minutes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
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
from sqlalchemy.orm import Session

from finai import credit, registry
from finai.datasets import DatasetSpec, prepare
from finai.exceptions import NotFound, ValidationError
from finai.governance.bootstrap import (
    METRICS,
    FloatArray,
    Interval,
    percentile_interval,
    resample,
)
from finai.governance.protected import ProtectedAttribute
from finai.security import AuditEntry, audit

FOUR_FIFTHS = 0.8
"""A group whose approval rate is below this share of the highest group's shows adverse impact."""

MIN_GROUP = 30
"""Default smallest group (rows) given ratios and differences."""

MAX_GROUPS = 100
"""Most groups one protected attribute may have (an id column given by mistake is refused)."""

RESAMPLES = 500
"""Default number of bootstrap resamples."""

CONFIDENCE = 0.95
"""Default coverage of the bootstrap intervals."""

SEED = 42
"""Default seed of the bootstrap."""

FAIRNESS_ACTION = "model.fairness"
"""Audit action of a fairness report run on a registered model version."""


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMetrics:
    """One group's figures.

    Attributes
    ----------
    group
        The label: the band or category, ``" & "``-joined for an intersection.
    values
        The group's label per protected attribute.
    count
        Rows in the group.
    too_small
        Fewer than the report's ``min_group`` rows: no ``impact_ratio``, and left
        out of the disparate impact ratio and the equal-opportunity difference.
    metrics
        :data:`METRICS` by name, each in [0, 1]; None where undefined (no rows; no
        good payers for the true positive rate; no bad payers for the false positive
        rate; one class for the AUC).
    intervals
        Percentile bootstrap interval per metric; None where undefined.
    impact_ratio
        The approval rate divided by the highest approval rate among the attribute's
        groups that are not too small; None for a small group or when nobody is approved.
    """

    group: str
    values: Mapping[str, str]
    count: int
    too_small: bool
    metrics: Mapping[str, float | None]
    intervals: Mapping[str, Interval | None]
    impact_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values: the metrics flat, intervals under ``intervals``."""
        return {
            "group": self.group,
            "values": dict(self.values),
            "count": self.count,
            "too_small": self.too_small,
            **{name: self.metrics.get(name) for name in METRICS},
            "intervals": {
                name: None if (iv := self.intervals.get(name)) is None else list(iv)
                for name in METRICS
            },
            "impact_ratio": self.impact_ratio,
        }


@dataclass(frozen=True)
class DisparateImpact:
    """Lowest over highest approval rate among an attribute's groups that are not too small.

    Attributes
    ----------
    ratio
        fairlearn's ``demographic_parity_ratio`` of those groups, in [0, 1]; None
        with fewer than two such groups or when none of them is approved.
    interval
        Percentile bootstrap interval of the approval rate of ``lowest_group`` over
        that of ``highest_group`` (the same two groups in every resample, so it can
        pass 1 when their order is uncertain).
    passes_four_fifths
        ``ratio >= 0.8``; None when there is no ratio.
    lowest_group, highest_group
        The groups with the lowest and the highest approval rate.
    groups_compared
        How many groups the ratio compares.
    note
        Why there is no ratio, if there is none.
    """

    ratio: float | None
    interval: Interval | None
    passes_four_fifths: bool | None
    lowest_group: str | None
    highest_group: str | None
    groups_compared: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values."""
        return {
            "ratio": self.ratio,
            "interval": None if self.interval is None else list(self.interval),
            "passes_four_fifths": self.passes_four_fifths,
            "lowest_group": self.lowest_group,
            "highest_group": self.highest_group,
            "groups_compared": self.groups_compared,
            "note": self.note,
        }


@dataclass(frozen=True)
class EqualOpportunity:
    """Highest minus lowest approval rate of good payers among groups that are not too small.

    Attributes
    ----------
    difference
        fairlearn's ``equal_opportunity_difference`` of those groups (with at least
        one good payer), in [0, 1]; None with fewer than two.
    interval
        Percentile bootstrap interval of the true positive rate of ``highest_group``
        minus that of ``lowest_group`` (it can fall below 0).
    lowest_group, highest_group
        The groups with the lowest and the highest true positive rate.
    groups_compared
        How many groups the difference compares.
    note
        Why there is no difference, if there is none.
    """

    difference: float | None
    interval: Interval | None
    lowest_group: str | None
    highest_group: str | None
    groups_compared: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values."""
        return {
            "difference": self.difference,
            "interval": None if self.interval is None else list(self.interval),
            "lowest_group": self.lowest_group,
            "highest_group": self.highest_group,
            "groups_compared": self.groups_compared,
            "note": self.note,
        }


@dataclass(frozen=True)
class AttributeReport:
    """The groups of one protected attribute, or of the intersection of several.

    Attributes
    ----------
    name
        The column, or the columns joined by ``" & "`` for the intersection.
    columns
        The protected columns it is made of.
    cuts
        The cut points by banded column.
    groups
        One entry per group: bands in order, categories sorted, missing last; for
        the intersection, the combinations that occur.
    disparate_impact, equal_opportunity
        The comparisons between groups that are not too small.
    """

    name: str
    columns: tuple[str, ...]
    cuts: Mapping[str, tuple[float, ...]]
    groups: tuple[GroupMetrics, ...]
    disparate_impact: DisparateImpact
    equal_opportunity: EqualOpportunity

    @property
    def kind(self) -> str:
        """``"intersection"``, ``"bands"`` or ``"categories"``."""
        if len(self.columns) > 1:
            return "intersection"
        return "bands" if self.cuts else "categories"


@dataclass(frozen=True)
class FairnessReport:
    """A fairness report of one model version on one labelled table.

    Attributes
    ----------
    model
        ``NAME:VERSION``, or None for a model not from the registry.
    policy_name, policy_version, approve_below
        The lending policy whose cut-off defines approval (version None: the
        built-in default policy, none being stored) and that cut-off (PD).
    target, bad
        The outcome column and its value that means bad.
    rows
        Rows in the table.
    min_group, resamples, seed, confidence
        The settings the report was made with.
    overall
        The figures over all rows (group ``"all"``).
    attributes
        One report per protected attribute in the order given, then the intersection
        of all of them when there are two or more.
    """

    model: str | None
    policy_name: str
    policy_version: int | None
    approve_below: float
    target: str
    bad: str
    rows: int
    min_group: int
    resamples: int
    seed: int
    confidence: float
    overall: GroupMetrics
    attributes: tuple[AttributeReport, ...]

    @property
    def definitions(self) -> dict[str, str]:
        """What each figure means, in words (the JSON's ``definitions``)."""
        policy = (
            f"policy {self.policy_name!r} v{self.policy_version}"
            if self.policy_version is not None
            else f"the built-in default policy {self.policy_name!r} (no policy is stored)"
        )
        percent = f"{self.confidence:.0%}"
        return {
            "approved": (
                f"y_pred = 1: the model's PD is below the approve cut-off"
                f" (PD < {self.approve_below:g}) of {policy}. Knock-out rules and referrals for a"
                " missing income are not applied; refer and decline both count as not"
                " approved"
            ),
            "y_true": (
                f"1 = good payer (repaid: {self.target} is not {self.bad!r}), 0 = bad payer"
            ),
            "selection_rate": "approval rate: share of the group approved",
            "true_positive_rate": ("approval rate of the group's good payers (equal opportunity)"),
            "false_positive_rate": "approval rate of the group's bad payers",
            "auc": (
                "ROC AUC of the model's score (1 - PD) separating the group's good from"
                " its bad payers; null with one class"
            ),
            "bad_rate": "observed share of bad payers in the group",
            "too_small": (
                f"fewer than {self.min_group} rows: figures shown, but no impact ratio and"
                " left out of disparate impact and equal opportunity"
            ),
            "impact_ratio": (
                "the group's approval rate over the highest approval rate among the"
                " attribute's groups that are not too small"
            ),
            "disparate_impact": (
                "lowest over highest approval rate among groups that are not too small"
                " (fairlearn demographic_parity_ratio); passes_four_fifths when the ratio"
                f" is at least {FOUR_FIFTHS:g}"
            ),
            "equal_opportunity_difference": (
                "highest minus lowest true positive rate among groups that are not too"
                " small and have good payers (fairlearn equal_opportunity_difference)"
            ),
            "interval": (
                f"{percent} percentile bootstrap interval from {self.resamples} resamples"
                f" (seed {self.seed}) that redraw each group's rows with replacement;"
                " for a ratio or difference, between the same two groups as the estimate"
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-safe values (the CLI's ``--json`` object).

        Keys: ``model``, ``policy``, ``target``, ``bad``, ``rows``, ``settings``,
        ``definitions``, ``overall``, ``attributes`` (per attribute: ``columns``,
        ``kind``, ``cuts``), ``groups``, ``disparate_impact`` and
        ``equal_opportunity_difference`` (each keyed by attribute name).
        """
        return {
            "model": self.model,
            "policy": {
                "name": self.policy_name,
                "version": self.policy_version,
                "approve_below": self.approve_below,
            },
            "target": self.target,
            "bad": self.bad,
            "rows": self.rows,
            "settings": {
                "min_group": self.min_group,
                "resamples": self.resamples,
                "seed": self.seed,
                "confidence": self.confidence,
                "four_fifths": FOUR_FIFTHS,
            },
            "definitions": self.definitions,
            "overall": self.overall.to_dict(),
            "attributes": {
                a.name: {
                    "columns": list(a.columns),
                    "kind": a.kind,
                    "cuts": {column: list(cuts) for column, cuts in a.cuts.items()},
                }
                for a in self.attributes
            },
            "groups": {a.name: [g.to_dict() for g in a.groups] for a in self.attributes},
            "disparate_impact": {a.name: a.disparate_impact.to_dict() for a in self.attributes},
            "equal_opportunity_difference": {
                a.name: a.equal_opportunity.to_dict() for a in self.attributes
            },
        }


# -- making it ----------------------------------------------------------------------------


def fairness_report(
    model: credit.CreditModel,
    frame: pd.DataFrame,
    policy: credit.Policy,
    *,
    target: str,
    protected: Sequence[ProtectedAttribute | str],
    bad: str | None = None,
    min_group: int = MIN_GROUP,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
    model_ref: str | None = None,
    policy_version: int | None = None,
) -> FairnessReport:
    """Measure a credit model's approvals and errors by protected group.

    Parameters
    ----------
    model
        The credit model; ``frame`` must hold its features.
    frame
        A labelled table: the model's features, the target and the protected columns.
    policy
        The lending policy whose ``cutoffs.approve_below`` defines approval.
    target
        The outcome column: two values, none missing.
    protected
        The protected attributes, as :class:`ProtectedAttribute` or ``COL[:CUTS]`` text.
    bad
        The target value that means bad; None infers it (0/1, good/bad, yes/no,
        true/false), or takes the model's when ``target`` is the model's target.
    min_group
        Groups with fewer rows are reported as too small.
    resamples, seed, confidence
        Bootstrap resamples, their seed, and the intervals' coverage in (0, 1).
    model_ref, policy_version
        Recorded in the report.

    Returns
    -------
    FairnessReport

    Raises
    ------
    ValidationError
        Naming the column: a protected or target column not in the table, a column
        given twice or as both target and protected, a target without exactly two
        values or with missing ones, a ``bad`` value the target does not hold, a
        banded column with text, a column of more than :data:`MAX_GROUPS` values,
        missing feature columns; or naming the setting.
    """
    _check_settings(min_group=min_group, resamples=resamples, seed=seed, confidence=confidence)
    attributes = [
        p if isinstance(p, ProtectedAttribute) else ProtectedAttribute.parse(p) for p in protected
    ]
    columns = _protected_columns(frame, attributes, target)
    features = model.features(frame)
    if bad is None and target == model.spec.target:
        bad = model.spec.bad
    labelled = prepare(
        frame,
        DatasetSpec(
            target=target,
            bad=bad,
            categorical=model.spec.categorical,
            numeric=model.spec.numeric,
        ),
    )
    good = (1 - labelled.y).astype(np.int64)
    pd_ = model.predict_pd(features)
    approved = (pd_ < policy.cutoffs.approve_below).astype(np.int64)
    score = 1.0 - np.asarray(pd_, dtype=np.float64)
    data = _Data(good=good, approved=approved, score=score)
    settings = _Settings(min_group, resamples, confidence)
    split = [(a, *a.groups(column)) for a, column in zip(attributes, columns, strict=True)]
    for attribute, _codes, labels in split:
        if len(labels) > MAX_GROUPS:
            raise ValidationError(
                f"protected column {attribute.column!r} has {len(labels)} distinct values;"
                f" at most {MAX_GROUPS} groups are compared: band a numeric column with"
                f" {attribute.column}:CUT,CUT,... or choose a column of categories",
                field=attribute.column,
            )
    seeds = np.random.SeedSequence(seed).spawn(len(split) + 2)
    reports: list[AttributeReport] = []
    frames: list[MetricFrame] = []
    for i, (attribute, codes, labels) in enumerate(split):
        report, metric_frame = _attribute(
            data,
            name=attribute.column,
            columns=(attribute.column,),
            cuts={attribute.column: attribute.cuts} if attribute.cuts else {},
            codes=codes,
            levels=[(label,) for label in labels],
            sensitive=pd.DataFrame({attribute.column: np.asarray(labels, dtype=object)[codes]}),
            settings=settings,
            rng=np.random.default_rng(seeds[i + 1]),
        )
        reports.append(report)
        frames.append(metric_frame)
    if len(split) >= 2:
        reports.append(_intersection(data, split, settings, np.random.default_rng(seeds[-1])))
    everyone = np.arange(len(good))
    overall, _resampled = _group(
        data, ("all",), frames[0].overall, everyone, settings, np.random.default_rng(seeds[0])
    )
    return FairnessReport(
        model=model_ref,
        policy_name=policy.name,
        policy_version=policy_version,
        approve_below=policy.cutoffs.approve_below,
        target=target,
        bad=str(labelled.spec.bad),
        rows=len(good),
        min_group=min_group,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        overall=overall,
        attributes=tuple(reports),
    )


def model_fairness_report(
    session: Session,
    artifact_dir: Path,
    frame: pd.DataFrame,
    *,
    model_ref: str,
    target: str,
    protected: Sequence[ProtectedAttribute | str],
    bad: str | None = None,
    min_group: int = MIN_GROUP,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> FairnessReport:
    """Load ``NAME[:VERSION]`` and the policy in force, and run :func:`fairness_report`.

    The policy is the newest stored one, or the built-in
    :data:`~finai.credit.DEFAULT_POLICY` when none is stored.

    Raises
    ------
    ValidationError
        As :func:`fairness_report`, or for a bad model reference.
    NotFound
        For an unknown model or version.
    """
    info, model = credit.load_model(session, artifact_dir, model_ref)
    try:
        stored = credit.current_policy(session)
    except NotFound:
        policy, version = credit.parse_policy(credit.DEFAULT_POLICY), None
    else:
        policy, version = stored.policy, stored.version
    return fairness_report(
        model,
        frame,
        policy,
        target=target,
        protected=protected,
        bad=bad,
        min_group=min_group,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        model_ref=f"{info.name}:{info.version}",
        policy_version=version,
    )


@dataclass(frozen=True)
class _Data:
    good: npt.NDArray[np.int64]
    approved: npt.NDArray[np.int64]
    score: FloatArray


@dataclass(frozen=True)
class _Settings:
    min_group: int
    resamples: int
    confidence: float


def _check_settings(*, min_group: int, resamples: int, seed: int, confidence: float) -> None:
    if isinstance(min_group, bool) or not isinstance(min_group, int) or min_group < 1:
        raise ValidationError(
            f"min_group must be a whole number >= 1, got {min_group!r}", field="min_group"
        )
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValidationError(
            f"resamples must be a whole number >= 1, got {resamples!r}", field="resamples"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError(f"seed must be a whole number >= 0, got {seed!r}", field="seed")
    if not 0.0 < confidence < 1.0:
        raise ValidationError(
            f"confidence must lie in (0, 1), got {confidence!r}", field="confidence"
        )


def _protected_columns(
    frame: pd.DataFrame, attributes: Sequence[ProtectedAttribute], target: str
) -> list[pd.Series]:
    if not attributes:
        raise ValidationError(
            "name at least one protected column (--protected COL or COL:CUTS)", field="protected"
        )
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    columns = []
    for attribute in attributes:
        name = attribute.column
        if name in seen:
            raise ValidationError(f"protected column {name!r} is given twice", field=name)
        seen.add(name)
        if name == target:
            raise ValidationError(
                f"column {name!r} cannot be both the target and protected", field=name
            )
        if name not in names:
            shown = ", ".join(repr(n) for n in names[:8]) + (", …" if len(names) > 8 else "")
            raise ValidationError(
                f"protected column {name!r} is not in the table; columns are {shown}",
                field=name,
            )
        if names.count(name) > 1:
            raise ValidationError(f"column {name!r} appears more than once", field=name)
        columns.append(frame.iloc[:, names.index(name)].reset_index(drop=True))
    return columns


def _intersection(
    data: _Data,
    split: Sequence[tuple[ProtectedAttribute, npt.NDArray[np.intp], tuple[str, ...]]],
    settings: _Settings,
    rng: np.random.Generator,
) -> AttributeReport:
    dims = tuple(len(labels) for _a, _codes, labels in split)
    flat = np.ravel_multi_index(tuple(codes for _a, codes, _labels in split), dims)
    observed = np.unique(flat)
    codes = np.searchsorted(observed, flat).astype(np.intp)
    levels = [
        tuple(split[k][2][i] for k, i in enumerate(index))
        for index in zip(*np.unravel_index(observed, dims), strict=True)
    ]
    sensitive = pd.DataFrame(
        {a.column: np.asarray(labels, dtype=object)[c] for a, c, labels in split}
    )
    names = tuple(a.column for a, _c, _l in split)
    report, _frame = _attribute(
        data,
        name=" & ".join(names),
        columns=names,
        cuts={a.column: a.cuts for a, _c, _l in split if a.cuts},
        codes=codes,
        levels=levels,
        sensitive=sensitive,
        settings=settings,
        rng=rng,
    )
    return report


def _attribute(
    data: _Data,
    *,
    name: str,
    columns: tuple[str, ...],
    cuts: Mapping[str, tuple[float, ...]],
    codes: npt.NDArray[np.intp],
    levels: list[tuple[str, ...]],
    sensitive: pd.DataFrame,
    settings: _Settings,
    rng: np.random.Generator,
) -> tuple[AttributeReport, MetricFrame]:
    """Return one attribute's report and its MetricFrame (whose ``overall`` is reused)."""
    frame = _metric_frame(data, sensitive)
    by_group = frame.by_group
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(levels)))
    groups: list[GroupMetrics] = []
    boot: list[dict[str, FloatArray] | None] = []
    for i, level in enumerate(levels):
        members = order[ends[i - 1] if i else 0 : ends[i]]
        key: Any = level[0] if len(level) == 1 else level
        point = by_group.loc[key] if len(members) else None
        group, resampled = _group(data, level, point, members, settings, rng)
        groups.append(replace(group, values=dict(zip(columns, level, strict=True))))
        boot.append(resampled)
    compare = _Compare(data, frame, codes, groups, boot, sensitive, settings)
    impact, ratios = compare.disparate_impact()
    report = AttributeReport(
        name=name,
        columns=columns,
        cuts=dict(cuts),
        groups=tuple(replace(g, impact_ratio=ratios.get(i)) for i, g in enumerate(groups)),
        disparate_impact=impact,
        equal_opportunity=compare.equal_opportunity(),
    )
    return report, frame


def _group(
    data: _Data,
    level: tuple[str, ...],
    point: pd.Series | None,
    members: npt.NDArray[np.intp],
    settings: _Settings,
    rng: np.random.Generator,
) -> tuple[GroupMetrics, dict[str, FloatArray] | None]:
    """Return a group's figures (fairlearn's ``point``, its MetricFrame row) and resamples."""
    n = len(members)
    metrics: dict[str, float | None] = dict.fromkeys(METRICS)
    resampled: dict[str, FloatArray] | None = None
    if point is not None and n:
        n_good = int(data.good[members].sum())
        defined = {
            "selection_rate": True,
            "true_positive_rate": n_good > 0,
            "false_positive_rate": n_good < n,
            "auc": 0 < n_good < n,
        }
        metrics = {m: _finite(point[m]) if ok else None for m, ok in defined.items()}
        metrics["bad_rate"] = (n - n_good) / n
        resampled = resample(
            data.good[members],
            data.approved[members],
            data.score[members],
            settings.resamples,
            rng,
        )
    intervals = {
        m: None
        if metrics[m] is None or resampled is None
        else percentile_interval(resampled[m], settings.confidence)
        for m in METRICS
    }
    group = GroupMetrics(
        group=" & ".join(level),
        values={},
        count=int(point["count"]) if point is not None and n else n,
        too_small=n < settings.min_group,
        metrics=metrics,
        intervals=intervals,
    )
    return group, resampled


def _metric_frame(data: _Data, sensitive: pd.DataFrame) -> MetricFrame:
    return MetricFrame(
        metrics={
            "count": count,
            "selection_rate": partial(selection_rate, pos_label=1),
            "true_positive_rate": partial(true_positive_rate, pos_label=1),
            "false_positive_rate": partial(false_positive_rate, pos_label=1),
            "auc": _auc,
        },
        y_true=data.good,
        y_pred=data.approved,
        sensitive_features=sensitive,
        sample_params={"auc": {"y_score": data.score}},
    )


def _auc(y_true: Any, y_pred: Any, y_score: Any) -> float:
    """ROC AUC of ``y_score`` for ``y_true`` (``y_pred`` unused); NaN with one class."""
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, y_score))


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


# -- comparisons between groups -----------------------------------------------------------


@dataclass(frozen=True)
class _Compare:
    """Comparisons between an attribute's groups that are not too small."""

    data: _Data
    frame: MetricFrame
    codes: npt.NDArray[np.intp]
    groups: Sequence[GroupMetrics]
    boot: Sequence[dict[str, FloatArray] | None]
    sensitive: pd.DataFrame
    settings: _Settings

    def _among(self, chosen: Sequence[int], metric: str) -> float:
        """``metric`` between the ``chosen`` groups, by fairlearn.

        fairlearn's ``ratio`` or ``difference`` of the MetricFrame when the chosen
        groups are all the groups with rows; otherwise ``demographic_parity_ratio`` or
        ``equal_opportunity_difference`` of the chosen groups' rows.
        """
        present = [i for i, g in enumerate(self.groups) if g.count > 0]
        if list(chosen) == present:
            between = (
                self.frame.ratio(method="between_groups")
                if metric == "selection_rate"
                else self.frame.difference(method="between_groups")
            )
            return float(between[metric])
        mask = np.isin(self.codes, chosen)
        function = (
            demographic_parity_ratio if metric == "selection_rate" else equal_opportunity_difference
        )
        return float(
            function(
                self.data.good[mask],
                self.data.approved[mask],
                sensitive_features=self.sensitive[mask],
            )
        )

    def _compared(self, metric: str) -> list[int]:
        return [
            i
            for i, g in enumerate(self.groups)
            if not g.too_small and g.count > 0 and g.metrics[metric] is not None
        ]

    def disparate_impact(self) -> tuple[DisparateImpact, dict[int, float]]:
        """Return the ratio, and each compared group's impact ratio by group index."""
        compared = self._compared("selection_rate")
        if len(compared) < 2:
            note = f"fewer than two groups of at least {self.settings.min_group} rows"
            return DisparateImpact(None, None, None, None, None, len(compared), note), {}
        rates = {i: float(self.groups[i].metrics["selection_rate"] or 0.0) for i in compared}
        low = min(compared, key=lambda i: rates[i])
        high = max(compared, key=lambda i: rates[i])
        lowest, highest = self.groups[low].group, self.groups[high].group
        if rates[high] == 0.0:
            note = "no row of the groups compared is approved"
            impact = DisparateImpact(None, None, None, lowest, highest, len(compared), note)
            return impact, {}
        ratio = self._among(compared, "selection_rate")
        impact = DisparateImpact(
            ratio=ratio,
            interval=self._pair_interval(low, high, "selection_rate", np.divide),
            passes_four_fifths=ratio >= FOUR_FIFTHS,
            lowest_group=lowest,
            highest_group=highest,
            groups_compared=len(compared),
        )
        return impact, {i: rates[i] / rates[high] for i in compared}

    def equal_opportunity(self) -> EqualOpportunity:
        """Return the difference in true positive rates."""
        compared = self._compared("true_positive_rate")
        if len(compared) < 2:
            note = (
                f"fewer than two groups of at least {self.settings.min_group} rows with good payers"
            )
            return EqualOpportunity(None, None, None, None, len(compared), note)
        rates = {i: float(self.groups[i].metrics["true_positive_rate"] or 0.0) for i in compared}
        low = min(compared, key=lambda i: rates[i])
        high = max(compared, key=lambda i: rates[i])
        return EqualOpportunity(
            difference=self._among(compared, "true_positive_rate"),
            interval=self._pair_interval(high, low, "true_positive_rate", np.subtract),
            lowest_group=self.groups[low].group,
            highest_group=self.groups[high].group,
            groups_compared=len(compared),
        )

    def _pair_interval(self, first: int, second: int, metric: str, combine: Any) -> Interval | None:
        a, b = self.boot[first], self.boot[second]
        if a is None or b is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(combine(a[metric], b[metric]), dtype=np.float64)
        return percentile_interval(values, self.settings.confidence)


# -- the record of a report in the audit chain ---------------------------------------------


@dataclass(frozen=True)
class RecordedImpact:
    """One attribute's disparate impact as a recorded report keeps it.

    Attributes
    ----------
    name
        The attribute, or ``" & "``-joined attributes for the intersection.
    ratio, interval, passes_four_fifths
        As :class:`DisparateImpact`; None where the report had none.
    """

    name: str
    ratio: float | None
    interval: Interval | None
    passes_four_fifths: bool | None


@dataclass(frozen=True)
class RecordedFairness:
    """A fairness report recorded in the audit chain (action ``model.fairness``).

    Attributes
    ----------
    model
        ``NAME:VERSION`` of the model version reported on.
    seq
        The audit entry's sequence number.
    recorded_at, recorded_by
        When (UTC) and by which key (``"cli"`` for the command line) it was run.
    data_fingerprint
        sha256 of the table it was run on (:func:`finai.registry.fingerprint`).
    attributes
        Disparate impact per attribute, by name (the chain stores canonical JSON,
        keys sorted).
    """

    model: str
    seq: int
    recorded_at: datetime
    recorded_by: str
    data_fingerprint: str | None
    attributes: tuple[RecordedImpact, ...]


def fairness_summary(report: FairnessReport, data_fingerprint: str) -> dict[str, Any]:
    """Return the audit payload of a report: the table's fingerprint and disparate impacts.

    The payload is exactly ``{"data_fingerprint": str, "attributes": {NAME: {"ratio":
    float | None, "interval": [lo, hi] | None, "passes_four_fifths": bool | None}}}``;
    model cards and the Governance page read it.
    """
    return {
        "data_fingerprint": data_fingerprint,
        "attributes": {
            a.name: {
                "ratio": a.disparate_impact.ratio,
                "interval": None
                if a.disparate_impact.interval is None
                else [float(v) for v in a.disparate_impact.interval],
                "passes_four_fifths": a.disparate_impact.passes_four_fifths,
            }
            for a in report.attributes
        },
    }


def record_fairness(
    session: Session,
    audit_key: bytes,
    report: FairnessReport,
    *,
    frame: pd.DataFrame,
    actor: str,
) -> AuditEntry:
    """Append a report's summary to the audit chain and refresh the version's card.

    Both in the caller's transaction.

    Parameters
    ----------
    session, audit_key
        The transaction and the chain's HMAC key; the caller commits.
    report
        A report of a registered model version (``report.model`` is ``NAME:VERSION``).
    frame
        The table the report was run on; only its fingerprint is recorded.
    actor
        Key id of who ran it.

    Raises
    ------
    ValidationError
        For a report of a model not from the registry.
    """
    if report.model is None:
        raise ValidationError("only reports of registered models are recorded", field="model")
    from finai.governance.cards import write_cards  # cards read these records: no cycle

    summary = fairness_summary(report, registry.fingerprint(frame))
    entry = audit.append(
        session,
        audit_key,
        actor=actor,
        action=FAIRNESS_ACTION,
        object_type="model_version",
        object_id=report.model,
        payload=summary,
    )
    name, version = registry.parse_ref(report.model)
    write_cards(session, name=name, actor=actor, versions=[] if version is None else [version])
    return entry


def recorded_fairness(
    session: Session, name: str, versions: Sequence[int], *, limit: int = 50
) -> list[RecordedFairness]:
    """Return the fairness reports recorded for versions of ``name``, newest first.

    Parameters
    ----------
    session
        Where the audit chain is.
    name, versions
        The model and the versions whose reports to read.
    limit
        Most reports returned.
    """
    found: list[AuditEntry] = []
    for version in versions:
        found += audit.entries(
            session, limit=limit, action=FAIRNESS_ACTION, object_id=f"{name}:{version}"
        )
    found.sort(key=lambda e: -e.seq)
    return [_recorded(entry) for entry in found[:limit]]


def _recorded(entry: AuditEntry) -> RecordedFairness:
    attributes = entry.payload.get("attributes")
    impacts = []
    if isinstance(attributes, Mapping):
        for name, value in attributes.items():
            if not isinstance(value, Mapping):
                continue
            passes = value.get("passes_four_fifths")
            impacts.append(
                RecordedImpact(
                    name=str(name),
                    ratio=_number(value.get("ratio")),
                    interval=_pair(value.get("interval")),
                    passes_four_fifths=passes if isinstance(passes, bool) else None,
                )
            )
    fingerprint = entry.payload.get("data_fingerprint")
    return RecordedFairness(
        model=entry.object_id,
        seq=entry.seq,
        recorded_at=entry.created_at,
        recorded_by=entry.actor,
        data_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        attributes=tuple(impacts),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _pair(value: object) -> Interval | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None:
            return (low, high)
    return None
