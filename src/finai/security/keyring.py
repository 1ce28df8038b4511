"""Key encryption keys: the small interface data keys are wrapped through, and a local key file.

Personal data is sealed with a data key per person (see :mod:`finai.security.vault`);
those data keys are stored only wrapped (encrypted) under a key encryption key (KEK).
The KEKs never reach the database. :class:`KeyProvider` is all the rest of FinAI asks
of them, so a KMS or Vault transit engine, which wrap and unwrap without ever revealing
the key, can stand in for the local :class:`KeyRing`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from finai.exceptions import ConfigurationError, IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12
_ID_BYTES = 6


class KeyProvider(Protocol):
    """Wraps and unwraps data keys under named key encryption keys."""

    def current(self) -> str:
        """Return the id of the KEK that new and re-wrapped data keys go under."""
        ...

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        """Encrypt ``data_key`` under KEK ``kek_id``, bound to ``context``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Return the data key ``wrap`` sealed; refuse a wrong KEK, context or tampering."""
        ...


class KeyRing:
    """Local AES-256-GCM key encryption keys: one current, older ones kept for unwrapping.

    Parameters
    ----------
    keys
        KEK id to its 32 key bytes.
    current
        The id new wraps use; must be in ``keys``.
    """

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ConfigurationError(f"the current key encryption key {current!r} is missing")
        for kek_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ConfigurationError(f"key encryption key {kek_id!r} is not {KEY_BYTES} bytes")
        self._keys = {kek_id: AESGCM(key) for kek_id, key in keys.items()}
        self._current = current

    @property
    def ids(self) -> list[str]:
        """Every KEK id this ring can unwrap with."""
        return list(self._keys)

    def current(self) -> str:
        """Return the id of the KEK that new wraps use."""
        return self._current

    def _cipher(self, kek_id: str) -> AESGCM:
        cipher = self._keys.get(kek_id)
        if cipher is None:
            raise ConfigurationError(
                f"key encryption key {kek_id!r} is not in the key file; it is needed to"
                " unwrap data keys still wrapped under it"
            )
        return cipher

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        """Return nonce + AES-GCM(``data_key``) under ``kek_id``, with ``context`` authenticated."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher(kek_id).encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Return the data key inside ``wrapped``.

        Raises
        ------
        IntegrityError
            When the bytes, the KEK or the context do not match what was wrapped.
        """
        try:
            return self._cipher(kek_id).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context
            )
        except InvalidTag as exc:
            raise IntegrityError(
                f"a data key wrapped under {kek_id!r} failed its integrity check"
            ) from exc


def derive_key(secret: bytes, info: bytes) -> bytes:
    """Return a 32-byte key for one purpose, derived from the platform secret with HKDF.

    A different ``info`` label gives an unrelated key, so no purpose learns another's.
    """
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(secret)


def new_kek_id() -> str:
    """Return a fresh, short KEK id."""
    return "kek-" + secrets.token_hex(_ID_BYTES)


def _encode(keys: Mapping[str, bytes], current: str) -> str:
    body = {
        "current": current,
        "keys": {kek_id: base64.b64encode(key).decode() for kek_id, key in keys.items()},
    }
    return json.dumps(body, indent=2) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read(path: Path) -> tuple[dict[str, bytes], str]:
    try:
        body = json.loads(path.read_text())
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in body["keys"].items()}
        current = str(body["current"])
    except FileNotFoundError as exc:
        raise ConfigurationError(f"key file {path} does not exist") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"key file {path} is not a valid FinAI key file") from exc
    try:
        KeyRing(keys, current)  # checks sizes and that the current key is there
    except ConfigurationError as exc:
        raise ConfigurationError(f"key file {path}: {exc}") from exc
    return keys, current


def read_key_file(path: Path) -> KeyRing:
    """Load a key file: ``{"current": ID, "keys": {ID: base64 key, ...}}``.

    Raises
    ------
    ConfigurationError
        When the file is missing, unreadable or malformed (the message names the file,
        never a key).
    """
    return KeyRing(*_read(path))


def create_key_file(path: Path) -> KeyRing:
    """Write a new key file with one fresh KEK.

    Never replaces a file: if another process creates it first, that one stands
    (``ConfigurationError`` here), so no data key is ever wrapped under a lost KEK.
    """
    kek_id = new_kek_id()
    keys = {kek_id: secrets.token_bytes(KEY_BYTES)}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigurationError(f"key file {path} already exists") from exc
    with os.fdopen(descriptor, "w") as handle:
        handle.write(_encode(keys, kek_id))
        handle.flush()
        os.fsync(handle.fileno())
    return KeyRing(keys, kek_id)


def add_key(path: Path) -> str:
    """Add a fresh KEK to the key file and make it current; older ones stay for unwrapping.

    Returns
    -------
    str
        The new KEK's id.
    """
    keys, _current = _read(path)
    kek_id = new_kek_id()
    keys[kek_id] = secrets.token_bytes(KEY_BYTES)
    _write_private(path, _encode(keys, kek_id))
    return kek_id


def drop_keys(path: Path, keep: set[str]) -> list[str]:
    """Remove every KEK not in ``keep`` (the current one is always kept); return the dropped ids."""
    keys, current = _read(path)
    dropped = [kek_id for kek_id in keys if kek_id not in keep | {current}]
    for kek_id in dropped:
        del keys[kek_id]
    _write_private(path, _encode(keys, current))
    return dropped


class KeyFile:
    """A :class:`KeyProvider` over a key file, re-read whenever the file changes.

    A running service thus follows ``finai security rotate-key``: once the new KEK is
    in the file, new data keys are wrapped under it and the re-wrapped ones unwrap,
    without a restart.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._ring: KeyRing | None = None

    def ring(self) -> KeyRing:
        """Return the key ring as the file holds it now."""
        try:
            stat = self.path.stat()
        except FileNotFoundError as exc:
            raise ConfigurationError(f"key file {self.path} does not exist") from exc
        stamp = (stat.st_mtime_ns, stat.st_ino)
        if self._ring is None or stamp != self._stamp:
            self._ring = read_key_file(self.path)
            self._stamp = stamp
        return self._ring

    def current(self) -> str:
        """Return the id of the file's current KEK."""
        return self.ring().current()

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        """Wrap under ``kek_id`` as :meth:`KeyRing.wrap`."""
        return self.ring().wrap(kek_id, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap as :meth:`KeyRing.unwrap`."""
        return self.ring().unwrap(kek_id, wrapped, context)
