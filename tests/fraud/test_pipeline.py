"""Registering and loading fraud models; writing transactions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finai import registry
from finai.context import Platform
from finai.exceptions import NotFound, ValidationError
from finai.fraud.artifact import KIND, FraudModel
from finai.fraud.pipeline import load_model, register_model, write_transactions
from finai.fraud.simulator import simulate
from finai.fraud.transactions import load_transactions
from tests.fraud.simulations import history, trained


def test_register_keeps_metrics_thresholds_windows_and_lineage(platform: Platform) -> None:
    result = trained()
    with platform.sessions() as session:
        version = register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="fraud-test",
            result=result,
            actor="t",
        )
        session.commit()
    assert (version.name, version.version, version.kind) == ("fraud-test", 1, KIND)
    assert version.metrics["roc_auc"] == pytest.approx(result.metrics.roc_auc)
    assert version.metrics["card_precision_at_100"] == result.metrics.card_precision_top_k
    assert version.metrics["fit_seconds"] == result.fit_seconds
    assert version.params["algorithm"] == "lightgbm"
    assert version.params["features"]["delay_days"] == 7
    assert version.params["windows"]["train"] == {"start": "2026-04-01", "end": "2026-05-05"}
    assert version.params["windows"]["validation"]["start"] == "2026-04-29"
    assert version.params["thresholds"]["review"] == result.model.thresholds.review
    assert version.params["thresholds"]["method"] == "budget"
    assert version.seed == 7
    assert version.data_fingerprint == result.data_fingerprint
    with platform.sessions() as session:
        info, model = load_model(session, platform.artifact_dir, "fraud-test")
    assert info.version == 1 and isinstance(model, FraudModel)
    features = model.features(history()).tail(100)
    assert (model.score(features) == result.model.score(features)).all()


def test_an_isolation_forest_without_labels_registers_without_label_metrics(
    platform: Platform,
) -> None:
    result = trained("isolation_forest")
    with platform.sessions() as session:
        version = register_model(
            session, platform.audit_key, platform.artifact_dir, name="if", result=result,
            actor="t",
        )  # fmt: skip
        session.commit()
    assert version.params["best_iteration"] is None
    assert all(value is not None for value in version.metrics.values())


def test_load_refuses_other_kinds_and_unknown_names(platform: Platform) -> None:
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="credit-model",
            model={"not": "fraud"}, kind="credit.pd", actor="t",
        )  # fmt: skip
        session.commit()
        with pytest.raises(ValidationError, match="not a fraud model") as caught:
            load_model(session, platform.artifact_dir, "credit-model")
        assert caught.value.field == "model"
        with pytest.raises(NotFound):
            load_model(session, platform.artifact_dir, "nope")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_written_transactions_read_back_the_same(tmp_path: Path, suffix: str) -> None:
    frame = simulate(customers=20, terminals=40, days=3, seed=5)
    frame.loc[2, "timestamp"] += pd.Timedelta(microseconds=7)
    path = tmp_path / f"tx{suffix}"
    write_transactions(frame, path)
    back = load_transactions(path)
    pd.testing.assert_frame_equal(
        back.drop(columns="fraud_scenario"), frame.drop(columns="fraud_scenario")
    )
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_write_refuses_unknown_suffixes_and_folders(tmp_path: Path) -> None:
    frame = simulate(customers=20, terminals=40, days=1, seed=5)
    with pytest.raises(ValidationError, match=r"use a \.csv") as caught:
        write_transactions(frame, tmp_path / "tx.xlsx")
    assert caught.value.field == "out"
    with pytest.raises(ValidationError, match="does not exist"):
        write_transactions(frame, tmp_path / "no" / "tx.csv")
