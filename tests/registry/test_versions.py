from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from sqlalchemy import select

from finai import registry
from finai.context import Platform
from finai.exceptions import Conflict, IntegrityError, NotFound, ValidationError
from finai.registry import Stage
from finai.security import audit
from finai.store import AuditEntryRow, ModelVersionRow
from tests.factories import promote, register_versions


def _register(
    platform: Platform, name: str = "pd-model", **kwargs: object
) -> registry.ModelVersion:
    with platform.sessions() as session:
        version = registry.register(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=name,
            model=kwargs.pop("model", {"coef": [0.1, 0.2]}),
            kind="test.dict",
            actor="tester",
            **kwargs,  # type: ignore[arg-type]
        )
        session.commit()
    return version


def test_register_records_lineage_and_counts_versions(platform: Platform) -> None:
    data = pd.DataFrame({"income": [1.0, 2.0], "grade": ["A", "B"]})
    first = _register(platform, params={"C": 1.0}, metrics={"auc": 0.81}, seed=42, data=data)
    second = _register(platform, model={"coef": [0.3]})
    assert (first.version, second.version) == (1, 2)
    assert first.stage is Stage.CANDIDATE
    assert first.data_fingerprint == registry.fingerprint(data)
    assert first.params == {"C": 1.0}
    assert first.metrics == {"auc": 0.81}
    assert first.seed == 42
    assert {"python", "numpy", "pandas", "finai"} <= set(first.libraries)
    artifact = (platform.artifact_dir / f"{first.sha256}.bin").read_bytes()
    assert hashlib.sha256(artifact).hexdigest() == first.sha256
    with platform.sessions() as session:
        actions = session.scalars(select(AuditEntryRow.action)).all()
        assert actions == ["model.register", "model.register"]
        assert audit.verify(session, platform.audit_key).ok


def test_load_round_trips_and_refuses_a_tampered_artifact(platform: Platform) -> None:
    version = _register(platform, model={"coef": [1, 2, 3]})
    with platform.sessions() as session:
        info, model = registry.load(session, platform.artifact_dir, "pd-model", 1)
        assert model == {"coef": [1, 2, 3]}
        assert info.sha256 == version.sha256
    path = platform.artifact_dir / f"{version.sha256}.bin"
    # A malicious payload: unpickling it would raise SystemExit. It must never be unpickled.
    path.write_bytes(b"cbuiltins\nexit\n(I3\ntR.")
    with platform.sessions() as session, pytest.raises(IntegrityError, match="mismatch"):
        registry.load(session, platform.artifact_dir, "pd-model", 1)
    path.unlink()
    with platform.sessions() as session, pytest.raises(NotFound, match="missing"):
        registry.load(session, platform.artifact_dir, "pd-model", 1)


def test_promote_and_rollback(platform: Platform) -> None:
    for _ in range(3):
        _register(platform)
    with platform.sessions() as session:
        key = platform.audit_key
        for number in (1, 2, 3):
            promote(session, platform, name="pd-model", version=number, actor="a")
        session.commit()
        stages = {v.version: v.stage for v in registry.list_versions(session, "pd-model")}
        assert stages == {1: Stage.RETIRED, 2: Stage.RETIRED, 3: Stage.CHAMPION}
        assert registry.get_version(session, "pd-model").version == 3
        assert registry.rollback(session, key, name="pd-model", actor="a").version == 2
        assert registry.rollback(session, key, name="pd-model", actor="a").version == 1
        session.commit()
        with pytest.raises(Conflict, match="no earlier champion"):
            registry.rollback(session, key, name="pd-model", actor="a")
        session.rollback()
        stages = {v.version: v.stage for v in registry.list_versions(session, "pd-model")}
        assert stages == {1: Stage.CHAMPION, 2: Stage.RETIRED, 3: Stage.RETIRED}
        with pytest.raises(Conflict, match="already the champion"):
            registry.promote(session, key, name="pd-model", version=1, actor="a")
        session.rollback()
        actions = session.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.seq)).all()
        assert actions[-8:] == [
            *["model.approve", "model.promote"] * 3,
            "model.rollback",
            "model.rollback",
        ]
        summary = registry.list_models(session)
        assert [(m.name, m.versions, m.latest, m.champion) for m in summary] == [
            ("pd-model", 3, 3, 1)
        ]


def test_rollback_without_champion_and_unknown_names(platform: Platform) -> None:
    _register(platform)
    with platform.sessions() as session:
        with pytest.raises(Conflict, match="no champion"):
            registry.rollback(session, platform.audit_key, name="pd-model", actor="a")
        with pytest.raises(NotFound):
            registry.rollback(session, platform.audit_key, name="other", actor="a")
        with pytest.raises(NotFound):
            registry.get_version(session, "pd-model", 9)
        with pytest.raises(NotFound):
            registry.list_versions(session, "nope")


@pytest.mark.parametrize("name", ["", "bad name", "../etc", "-x", "a" * 101])
def test_bad_names_register_nothing(platform: Platform, name: str) -> None:
    with platform.sessions() as session:
        with pytest.raises(ValidationError) as exc:
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=name,
                model={},
                kind="k",
                actor="a",
            )
        assert exc.value.field == "name"
        session.rollback()
        assert session.scalars(select(ModelVersionRow)).all() == []


def test_non_finite_metrics_are_refused(platform: Platform) -> None:
    with platform.sessions() as session, pytest.raises(ValidationError, match="auc"):
        registry.register(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="m",
            model={},
            kind="k",
            actor="a",
            metrics={"auc": float("nan")},
        )


@pytest.mark.parametrize(("ref", "parsed"), [("m", ("m", None)), ("m:3", ("m", 3))])
def test_parse_ref(ref: str, parsed: tuple[str, int | None]) -> None:
    assert registry.parse_ref(ref) == parsed


@pytest.mark.parametrize("ref", [":1", "m:0", "m:x", "m:-1"])
def test_parse_ref_refuses_bad_references(ref: str) -> None:
    with pytest.raises(ValidationError) as caught:
        registry.parse_ref(ref)
    assert caught.value.field == "model"


def test_one_challenger_at_a_time_and_never_the_champion(platform: Platform) -> None:
    register_versions(platform, [{}, {}, {}])
    with platform.sessions() as session:
        promote(session, platform, name="pd-model", version=1)
        assert registry.challenger(session, "pd-model") is None
        first = registry.challenge(
            session, platform.audit_key, name="pd-model", version=2, actor="t"
        )
        assert first is not None and first.stage == Stage.CHALLENGER
        registry.challenge(session, platform.audit_key, name="pd-model", version=3, actor="t")
        assert registry.get_version(session, "pd-model", 2).stage == Stage.CANDIDATE
        found = registry.challenger(session, "pd-model")
        assert found is not None and found.version == 3
        with pytest.raises(Conflict, match="only a candidate may challenge"):
            registry.challenge(session, platform.audit_key, name="pd-model", version=1, actor="t")
        assert (
            registry.challenge(
                session, platform.audit_key, name="pd-model", version=None, actor="t"
            )
            is None
        )
        assert registry.challenger(session, "pd-model") is None
        with pytest.raises(Conflict, match="has no challenger"):
            registry.challenge(
                session, platform.audit_key, name="pd-model", version=None, actor="t"
            )
        with pytest.raises(NotFound):
            registry.challenge(session, platform.audit_key, name="nope", version=None, actor="t")
        actions = [e.action for e in audit.entries(session, limit=20)]
        assert actions.count("model.challenge") == 3
