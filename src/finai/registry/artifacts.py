"""Artifact files, stored by content hash and checked before anything reads them."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from finai.exceptions import IntegrityError, NotFound


def dumps(obj: object) -> bytes:
    """Serialise a model object for the registry."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def write(directory: Path, data: bytes) -> str:
    """Store ``data`` under its sha256 (atomically) and return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest}.bin"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    return digest


def read_verified(directory: Path, expected_sha256: str) -> bytes:
    """Return the artifact's bytes only if they hash to ``expected_sha256``.

    Raises
    ------
    NotFound
        When the file is missing.
    IntegrityError
        When the bytes on disk do not match the hash recorded in the database.
    """
    path = directory / f"{expected_sha256}.bin"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"artifact {expected_sha256[:12]}… is missing from the store") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise IntegrityError(
            f"artifact hash mismatch: database has {expected_sha256[:12]}…, file has"
            f" {actual[:12]}…; refusing to load it"
        )
    return data


def loads(data: bytes) -> object:
    """Deserialise bytes that ``read_verified`` has already checked."""
    return pickle.loads(data)  # noqa: S301 - only called on bytes whose sha256 matched the registry


_LOADED: OrderedDict[str, object] = OrderedDict()
_LOADED_MAX = 16
_LOCK = threading.Lock()


def loads_cached(sha256: str, data: bytes) -> object:
    """Deserialise verified bytes, reusing the object already made from the same hash."""
    with _LOCK:
        if sha256 in _LOADED:
            _LOADED.move_to_end(sha256)
            return _LOADED[sha256]
    obj = loads(data)
    with _LOCK:
        _LOADED[sha256] = obj
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    return obj
