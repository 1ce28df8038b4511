"""Authenticated encryption of a byte stream of any length, in chunks (AES-256-GCM).

One AES-GCM message would need the whole backup in memory, so the stream is cut into
chunks of at most :data:`CHUNK` bytes, each sealed with a nonce made of a random
per-file prefix and the chunk's counter, and with the counter and a *last chunk* flag
authenticated. Reordered, dropped, repeated or altered chunks fail, and so does a file
cut short: it lacks the chunk flagged last.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from finai.exceptions import IntegrityError

MAGIC = b"FINAIBK1"
CHUNK = 1 << 20
_PREFIX = 8
_TAG = 16
_LENGTH = struct.Struct(">I")


def _nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + counter.to_bytes(4, "big")


def _aad(prefix: bytes, counter: int, last: bool) -> bytes:
    return MAGIC + prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object that seals everything written to it into ``sink``.

    Call :meth:`close` to seal the last chunk; without it the file is refused on reading.
    """

    def __init__(self, sink: BinaryIO, key: bytes) -> None:
        self._sink = sink
        self._cipher = AESGCM(key)
        self._prefix = os.urandom(_PREFIX)
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        sink.write(MAGIC + self._prefix)

    def write(self, data: bytes) -> int:
        """Buffer ``data``, sealing every full chunk."""
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        if self._counter >= 2**32 - 1:
            raise IntegrityError("a backup stream holds at most 2**32 chunks")
        sealed = self._cipher.encrypt(
            _nonce(self._prefix, self._counter), plain, _aad(self._prefix, self._counter, last)
        )
        self._sink.write(_LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1

    def flush(self) -> None:
        """Nothing to do: chunks are written when full (tarfile calls this)."""

    def close(self) -> None:
        """Seal what is left as the last chunk."""
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True


class DecryptingReader:
    """A read-only file object over a stream :class:`EncryptingWriter` sealed.

    Raises
    ------
    IntegrityError
        From :meth:`read`, for a wrong key, altered bytes or a truncated stream.
    """

    def __init__(self, source: BinaryIO, key: bytes) -> None:
        head = source.read(len(MAGIC) + _PREFIX)
        if len(head) != len(MAGIC) + _PREFIX or not head.startswith(MAGIC):
            raise IntegrityError("this file is not a FinAI backup")
        self._source = source
        self._cipher = AESGCM(key)
        self._prefix = head[len(MAGIC) :]
        self._counter = 0
        self._buffer = bytearray()
        self._done = False

    def _next(self) -> None:
        size = self._source.read(_LENGTH.size)
        if len(size) != _LENGTH.size:
            raise IntegrityError("the backup is truncated")
        (length,) = _LENGTH.unpack(size)
        sealed = self._source.read(length)
        if len(sealed) != length or length < _TAG or length > CHUNK + _TAG:
            raise IntegrityError("the backup is truncated or malformed")
        nonce = _nonce(self._prefix, self._counter)
        for last in (False, True):
            try:
                plain = self._cipher.decrypt(nonce, sealed, _aad(self._prefix, self._counter, last))
            except InvalidTag:
                continue
            self._buffer += plain
            self._counter += 1
            if last:
                if self._source.read(1):
                    raise IntegrityError("the backup has bytes after its last chunk")
                self._done = True
            return
        raise IntegrityError(
            "the backup failed its integrity check: a different secret key, or altered bytes"
        )

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes (all with ``-1``) of the plaintext."""
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._next()
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data
