"""Scoring and evaluating registered models on whole tables, in bounded memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from finai.credit.artifact import CreditModel
from finai.credit.decision import score_frame
from finai.credit.metrics import evaluate, psi
from finai.credit.records import PolicyVersion
from finai.datasets.spec import DatasetSpec, load_table, prepare
from finai.exceptions import ValidationError

PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class ScoreSummary:
    """What ``score_file`` wrote."""

    rows: int
    outcomes: dict[str, int]


@dataclass(frozen=True)
class RowExplanation:
    """Each feature's part in one row's result, largest first.

    ``unit`` says what the numbers are: scorecard points, or log-odds of bad.
    """

    unit: str
    rows: list[tuple[str, str, float]] = field(default_factory=list)


def evaluate_model(
    model: CreditModel, frame: pd.DataFrame, *, target: str, bad: str | None
) -> dict[str, Any]:
    """Measure ``model`` on a labelled table: AUC, Gini, KS, Brier, log loss, PSI, n.

    PSI compares the table's scores with the training scores kept in the model.
    """
    spec = DatasetSpec(
        target=target,
        bad=bad,
        categorical=model.spec.categorical,
        numeric=model.spec.numeric,
    )
    y = prepare(frame, spec).y
    features = model.features(frame)
    scores = model.scores(features)
    report = evaluate(y, model.predict_pd(features), scores).to_dict()
    report["psi"] = psi(model.reference_scores, scores)
    report.pop("calibration", None)
    return report


def iter_table(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield a CSV or Parquet table in chunks of at most ``chunk_rows`` rows."""
    name = path.name.lower()
    if name.endswith(PARQUET):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    if name.endswith((".csv", ".csv.gz")):
        if not path.is_file():
            raise ValidationError(f"no file at {path}", field="data")
        yield from pd.read_csv(path, chunksize=chunk_rows)
        return
    yield load_table(path)


def _count_rows(path: Path) -> int | None:
    name = path.name.lower()
    if name.endswith(PARQUET):
        return int(pq.ParquetFile(path).metadata.num_rows)
    if name.endswith(".csv"):
        with path.open("rb") as handle:
            return max(
                sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0
            )
    return None


def score_file(
    model: CreditModel,
    policy: PolicyVersion,
    data: Path,
    out: Path,
    *,
    model_name: str,
    model_version: int,
    chunk_rows: int = 100_000,
    progress: Callable[[float, str], None] | None = None,
) -> ScoreSummary:
    """Decide every row of ``data`` chunk by chunk and write the results to ``out``.

    Output columns: the spec's id column when present, then pd, score, outcome,
    limit, currency, reasons (texts joined by " | "), model (``name:version``) and
    policy_version. Nothing is stored in the
    database: this is offline scoring. The file is written to a temporary name and
    moved into place only when every chunk succeeded.
    """
    total = _count_rows(data)
    parquet = out.name.lower().endswith(PARQUET)
    tmp = out.with_name(f".{out.name}.partial")
    writer: pq.ParquetWriter | None = None
    outcomes: Counter[str] = Counter()
    rows = 0
    try:
        for chunk in iter_table(data, chunk_rows):
            result = score_frame(chunk, model, policy.policy)
            result["model"] = f"{model_name}:{model_version}"
            result["policy_version"] = policy.version
            if model.spec.id and model.spec.id in chunk.columns:
                result.insert(0, model.spec.id, chunk[model.spec.id].to_numpy())
            if parquet:
                table = pa.Table.from_pandas(result, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            else:
                result.to_csv(tmp, mode="a" if rows else "w", header=not rows, index=False)
            rows += len(result)
            outcomes.update(result["outcome"])
            if progress is not None:
                progress(rows / total if total else 0.0, f"{rows:,} rows")
        if writer is not None:
            writer.close()
            writer = None
        tmp.replace(out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return ScoreSummary(rows=rows, outcomes=dict(outcomes))


def explain_row(model: CreditModel, frame: pd.DataFrame) -> RowExplanation:
    """Break one row's result into each feature's part."""
    features = model.features(frame)
    estimator: Any = model.estimator
    if hasattr(estimator, "points"):
        parts = estimator.points(features).iloc[0]
        unit = "points"
    else:
        contributions, _bias = estimator.contributions(features)
        parts = contributions.iloc[0]
        unit = "log-odds of bad"
    rows = [
        (
            str(name),
            "missing" if pd.isna(features.iloc[0][name]) else str(features.iloc[0][name]),
            float(value),
        )
        for name, value in parts.items()
        if name in features.columns
    ]
    rows.sort(key=lambda item: abs(item[2]), reverse=True)
    return RowExplanation(unit=unit, rows=rows)
