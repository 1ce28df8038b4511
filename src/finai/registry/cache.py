"""Models a service keeps between requests: loaded once per version, stages re-resolved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from finai.registry.versions import get_version, parse_ref

T = TypeVar("T")
V = TypeVar("V")


class Refreshed(Generic[V]):
    """One answer per model name, trusted for ``refresh``, then looked up again.

    For what a service asks on every request but changes only when someone promotes or
    challenges: which version is the champion, which the challenger. One query per
    name per ``refresh``, not one per request.

    Parameters
    ----------
    lookup
        Finds the answer now: ``lookup(session, name)``; what it raises is not kept.
    refresh
        How long an answer is trusted.
    """

    def __init__(
        self, lookup: Callable[[Session, str], V], *, refresh: timedelta = timedelta(seconds=2)
    ) -> None:
        self._lookup = lookup
        self._refresh = refresh.total_seconds()
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, V]] = {}

    def get(self, session: Session, name: str) -> V:
        """Return the answer for ``name``: the kept one while fresh, else a new lookup."""
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(name)
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = self._lookup(session, name)
        with self._lock:
            self._answers[name] = (now + self._refresh, answer)
        return answer

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()


class ModelCache(Generic[T]):
    """One loaded object per model version, for a service that answers many requests.

    A version is immutable, so its object is made once, when the version is first asked
    for: ``load`` reads the artifact and checks it against the registered sha256 then
    (:func:`finai.registry.load`), not on every request. A name without a version (its
    champion, else its newest) is resolved again at most every ``refresh``, so a
    promotion or a rollback takes effect within it. Failures are not kept: an unknown
    name is looked up again on the next request.

    Parameters
    ----------
    load
        Makes the object of one version: ``load(session, name, version)``. It raises what
        the registry raises (``NotFound``, ``IntegrityError``) or a domain's
        ``ValidationError`` (say, a model of another kind).
    refresh
        How long a resolved champion is trusted.

    Example
    -------
    >>> models = ModelCache(lambda s, name, v: make(s, name, v))  # doctest: +SKIP
    >>> models.get(session, "credit-demo")  # the champion  # doctest: +SKIP
    """

    def __init__(
        self,
        load: Callable[[Session, str, int], T],
        *,
        refresh: timedelta = timedelta(seconds=2),
    ) -> None:
        self._load = load
        self._champions: Refreshed[int] = Refreshed(
            lambda session, name: get_version(session, name).version, refresh=refresh
        )
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, int], T] = {}

    def get(self, session: Session, ref: str) -> T:
        """Return the object of ``NAME[:VERSION]`` (no version: the champion, else newest).

        Raises
        ------
        ValidationError
            For a bad reference, or what ``load`` raises.
        NotFound
            For an unknown name or version.
        """
        name, version = parse_ref(ref)
        if version is None:
            version = self.resolve(session, name)
        with self._lock:
            loaded = self._loaded.get((name, version))
        if loaded is None:
            made = self._load(session, name, version)
            with self._lock:
                loaded = self._loaded.setdefault((name, version), made)
        return loaded

    def resolve(self, session: Session, name: str) -> int:
        """Return the version ``name`` stands for now: its champion, else its newest.

        Raises
        ------
        NotFound
            For an unknown name.
        """
        return self._champions.get(session, name)

    def clear(self) -> None:
        """Forget every loaded object and resolved champion."""
        self._champions.clear()
        with self._lock:
            self._loaded.clear()
