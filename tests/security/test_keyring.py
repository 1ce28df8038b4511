from __future__ import annotations

import os
from pathlib import Path

import pytest

from finai.exceptions import ConfigurationError, IntegrityError
from finai.security.keyring import (
    KeyFile,
    KeyRing,
    add_key,
    create_key_file,
    drop_keys,
    read_key_file,
)


def test_wrap_unwrap_round_trip_bound_to_key_and_context(tmp_path: Path) -> None:
    ring = create_key_file(tmp_path / "kek.json")
    data_key = os.urandom(32)
    wrapped = ring.wrap(ring.current(), data_key, b"ctx")
    assert data_key not in wrapped
    assert ring.unwrap(ring.current(), wrapped, b"ctx") == data_key
    with pytest.raises(IntegrityError):
        ring.unwrap(ring.current(), wrapped, b"other")
    tampered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    with pytest.raises(IntegrityError):
        ring.unwrap(ring.current(), tampered, b"ctx")
    with pytest.raises(ConfigurationError, match="not in the key file"):
        ring.unwrap("kek-unknown", wrapped, b"ctx")


def test_key_file_is_private_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    first = create_key_file(path).current()
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigurationError, match="already exists"):
        create_key_file(path)
    second = add_key(path)
    ring = read_key_file(path)
    assert ring.current() == second
    assert set(ring.ids) == {first, second}
    assert path.stat().st_mode & 0o777 == 0o600
    assert drop_keys(path, keep=set()) == [first]
    assert read_key_file(path).ids == [second]


def test_key_file_provider_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    create_key_file(path)
    provider = KeyFile(path)
    before = provider.current()
    wrapped = provider.wrap(before, b"d" * 32, b"c")
    after = add_key(path)
    assert provider.current() == after
    assert provider.unwrap(before, wrapped, b"c") == b"d" * 32


@pytest.mark.parametrize(
    "text",
    ["", "{}", "not json", '{"current": "a", "keys": {"a": "!!"}}', '{"current": "b", "keys": {}}'],
)
def test_bad_key_files_are_refused_without_showing_keys(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kek.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        read_key_file(path)
    assert str(path) in str(caught.value)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        KeyRing({"a": b"short"}, "a")
    with pytest.raises(ConfigurationError, match="missing"):
        KeyRing({"a": b"x" * 32}, "b")
