"""Models a service keeps between requests: loaded once per version, champions re-resolved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from finai.registry.versions import get_version, parse_ref

T = TypeVar("T")


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
        self._refresh = refresh.total_seconds()
        self._lock = threading.Lock()
        self._resolved: dict[str, tuple[float, int]] = {}
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
        now = time.monotonic()
        with self._lock:
            cached = self._resolved.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        version = get_version(session, name).version
        with self._lock:
            self._resolved[name] = (now + self._refresh, version)
        return version

    def clear(self) -> None:
        """Forget every loaded object and resolved champion."""
        with self._lock:
            self._resolved.clear()
            self._loaded.clear()
