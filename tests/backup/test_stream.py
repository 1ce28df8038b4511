from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finai.backup import stream
from finai.backup.stream import DecryptingReader, EncryptingWriter
from finai.exceptions import IntegrityError

KEY = b"k" * 32


def _seal(data: bytes, pieces: list[int]) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, KEY)
    start = 0
    for size in pieces:
        writer.write(data[start : start + size])
        start += size
    writer.write(data[start:])
    writer.close()
    return sink.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 50), max_size=8), st.integers(1, 64))
def test_round_trip_whatever_the_chunking(data: bytes, pieces: list[int], read_size: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream, "CHUNK", 32)
        sealed = _seal(data, pieces)
        reader = DecryptingReader(io.BytesIO(sealed), KEY)
        got = b""
        while chunk := reader.read(read_size):
            got += chunk
    assert got == data
    if len(data) >= 8:
        assert data not in sealed


def test_wrong_key_truncation_reordering_and_tampering_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "CHUNK", 16)
    sealed = _seal(bytes(range(100)), [])
    with pytest.raises(IntegrityError, match="different secret key"):
        DecryptingReader(io.BytesIO(sealed), b"o" * 32).read()
    for cut in (len(sealed) - 1, len(sealed) - 36, 20):
        with pytest.raises(IntegrityError):
            DecryptingReader(io.BytesIO(sealed[:cut]), KEY).read()
    flipped = bytearray(sealed)
    flipped[30] ^= 1
    with pytest.raises(IntegrityError):
        DecryptingReader(io.BytesIO(bytes(flipped)), KEY).read()
    head, first, second = sealed[:16], sealed[16 : 16 + 36], sealed[16 + 36 : 16 + 72]
    swapped = head + second + first + sealed[16 + 72 :]
    with pytest.raises(IntegrityError):
        DecryptingReader(io.BytesIO(swapped), KEY).read()
    with pytest.raises(IntegrityError, match="after its last chunk"):
        DecryptingReader(io.BytesIO(sealed + b"x"), KEY).read()
    with pytest.raises(IntegrityError, match="not a FinAI backup"):
        DecryptingReader(io.BytesIO(b"PK\x03\x04 zip file"), KEY)
