from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from finai.context import Platform
from finai.exceptions import IntegrityError, ValidationError
from finai.security import audit
from finai.security.keyring import KeyFile, add_key, create_key_file
from finai.security.vault import Erased, Vault, normalise_subject
from finai.store import DataKeyRow

APPLICANT = {"name": "Zebulon Quartermaine", "national_id": "QX-991-27-4410", "income": 51234}


@pytest.fixture
def vault(platform: Platform, tmp_path: Path) -> Vault:
    path = tmp_path / "kek.json"
    create_key_file(path)
    return Vault(KeyFile(path), b"i" * 32)


def test_seal_open_round_trip_without_plaintext_in_the_row(
    platform: Platform, vault: Vault
) -> None:
    with platform.sessions() as session:
        sealed = vault.seal(session, "QX-991-27-4410", APPLICANT, purpose="applicant")
        session.commit()
    assert b"Zebulon" not in sealed and b"QX-991" not in sealed
    with platform.sessions() as session:
        assert vault.open(session, sealed, purpose="applicant") == APPLICANT
        with pytest.raises(IntegrityError, match="integrity"):
            vault.open(session, sealed, purpose="notes")
        tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        with pytest.raises(IntegrityError):
            vault.open(session, tampered, purpose="applicant")
        with pytest.raises(IntegrityError, match="not sealed"):
            vault.open(session, b"plain text", purpose="applicant")
        row = session.scalar(select(DataKeyRow))
        assert row is not None and row.subject == vault.subject_index("qx-991-27-4410")
        assert "QX" not in row.subject


def test_one_data_key_per_person_found_by_blind_index(platform: Platform, vault: Vault) -> None:
    with platform.sessions() as session:
        vault.seal(session, "A-1", {"n": 1}, purpose="p")
        vault.seal(session, " a-1 ", {"n": 2}, purpose="p")
        vault.seal(session, "B-2", {"n": 3}, purpose="p")
        session.commit()
        assert session.scalar(select(func.count()).select_from(DataKeyRow)) == 2
        assert vault.find(session, "A-1") == vault.find(session, "a-1")
        assert vault.find(session, "C-3") is None
    assert Vault(vault.keys, b"j" * 32).subject_index("A-1") != vault.subject_index("A-1")


@pytest.mark.parametrize("subject", ["", "   ", "x" * 201])
def test_bad_subject_ids_are_refused(vault: Vault, subject: str) -> None:
    with pytest.raises(ValidationError):
        vault.subject_index(subject)


def test_normalise_subject() -> None:
    assert normalise_subject(" Ab 12\t") == "ab12"
    assert normalise_subject("\uff21\uff22\uff11") == "ab1"


def test_erasure_shreds_only_that_person_and_is_audited(platform: Platform, vault: Vault) -> None:
    with platform.sessions() as session:
        gone = vault.seal(session, "A-1", APPLICANT, purpose="p")
        kept = vault.seal(session, "B-2", {"name": "other"}, purpose="p")
        session.commit()
    with platform.sessions() as session:
        assert vault.erase(session, platform.audit_key, subject_id="a-1", actor="t") is True
        session.commit()
    with platform.sessions() as session:
        with pytest.raises(Erased):
            vault.open(session, gone, purpose="p")
        assert vault.open(session, kept, purpose="p") == {"name": "other"}
        assert vault.erase(session, platform.audit_key, subject_id="A-1", actor="t") is False
        assert vault.erase(session, platform.audit_key, subject_id="nobody", actor="t") is False
        with pytest.raises(Erased):
            vault.seal(session, "A-1", {"again": True}, purpose="p")
        entries = [e for e in audit.entries(session, limit=10) if e.action == "data.erase"]
        assert len(entries) == 1
        assert audit.verify(session, platform.audit_key).ok


def test_rotation_rewraps_every_live_key_and_old_data_still_opens(
    platform: Platform, vault: Vault, tmp_path: Path
) -> None:
    with platform.sessions() as session:
        sealed = [vault.seal(session, f"S-{i}", {"i": i}, purpose="p") for i in range(7)]
        vault.erase(session, platform.audit_key, subject_id="S-0", actor="t")
        session.commit()
    old = vault.keys.current()
    new = add_key(tmp_path / "kek.json")
    result = vault.rotate(platform.sessions, batch=3)
    assert (result.rewrapped, result.kek_id) == (6, new)
    with platform.sessions() as session:
        assert vault.wrapped_under(session) == {new: 6}
        assert [vault.open(session, s, purpose="p") for s in sealed[1:]] == [
            {"i": i} for i in range(1, 7)
        ]
        erased = session.scalar(select(DataKeyRow).where(DataKeyRow.wrapped.is_(None)))
        assert erased is not None and erased.kek_id == old
    assert vault.rotate(platform.sessions).rewrapped == 0


def test_concurrent_first_seals_of_one_person_share_one_key(
    platform: Platform, vault: Vault
) -> None:
    errors: list[BaseException] = []
    sealed: list[bytes] = []

    def seal(i: int) -> None:
        try:
            with platform.sessions() as session:
                sealed.append(vault.seal(session, "SAME-1", {"i": i}, purpose="p"))
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=seal, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with platform.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DataKeyRow)) == 1
        assert sorted(vault.open(session, s, purpose="p")["i"] for s in sealed) == [0, 1, 2, 3]
