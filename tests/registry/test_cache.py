from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from finai import registry
from finai.context import Platform
from finai.exceptions import NotFound, ValidationError
from tests.factories import promote


def _register(platform: Platform, n: int) -> None:
    with platform.sessions() as session:
        for k in range(n):
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name="pd-model",
                model={"coef": [k]},
                kind="test.dict",
                actor="tester",
            )
        session.commit()


def _promote(platform: Platform, version: int) -> None:
    with platform.sessions() as session:
        promote(session, platform, name="pd-model", version=version, actor="tester")
        session.commit()


class Loader:
    """Loads a version through the registry and counts the loads."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.calls: list[tuple[str, int]] = []

    def __call__(self, session: Session, name: str, version: int) -> tuple[int, object]:
        self.calls.append((name, version))
        info, model = registry.load(session, self.platform.artifact_dir, name, version)
        return info.version, model


def test_each_version_is_loaded_once(platform: Platform) -> None:
    _register(platform, 2)
    loader = Loader(platform)
    cache = registry.ModelCache(loader)
    with platform.sessions() as session:
        first = cache.get(session, "pd-model:1")
        assert first == (1, {"coef": [0]})
        assert cache.get(session, "pd-model:1") is first
        assert cache.get(session, "pd-model") == (2, {"coef": [1]})  # no champion: newest
        assert cache.get(session, "pd-model:2") is cache.get(session, "pd-model")
    assert loader.calls == [("pd-model", 1), ("pd-model", 2)]
    cache.clear()
    with platform.sessions() as session:
        cache.get(session, "pd-model:1")
    assert loader.calls[-1] == ("pd-model", 1)
    assert len(loader.calls) == 3


def test_the_champion_is_looked_up_again_after_refresh(platform: Platform) -> None:
    _register(platform, 2)
    _promote(platform, 1)
    slow = registry.ModelCache(Loader(platform), refresh=timedelta(hours=1))
    quick = registry.ModelCache(Loader(platform), refresh=timedelta(0))
    with platform.sessions() as session:
        assert slow.get(session, "pd-model")[0] == 1
        assert quick.get(session, "pd-model")[0] == 1
    _promote(platform, 2)
    with platform.sessions() as session:
        assert slow.get(session, "pd-model")[0] == 1  # trusted for an hour
        assert quick.get(session, "pd-model")[0] == 2
        assert slow.resolve(session, "pd-model") == 1
        assert slow.get(session, "pd-model:2")[0] == 2  # a pinned version needs no lookup


def test_failures_are_not_kept(platform: Platform) -> None:
    loader = Loader(platform)
    cache = registry.ModelCache(loader)
    with platform.sessions() as session:
        with pytest.raises(NotFound):
            cache.get(session, "pd-model")
        with pytest.raises(ValidationError):
            cache.get(session, "pd-model:0")
    _register(platform, 1)
    with platform.sessions() as session:
        assert cache.get(session, "pd-model") == (1, {"coef": [0]})
        with pytest.raises(NotFound):
            cache.get(session, "pd-model:2")
    assert loader.calls == [("pd-model", 1), ("pd-model", 2)]
