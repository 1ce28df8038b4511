"""Artifact files, stored by content hash and checked before anything reads them."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
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
