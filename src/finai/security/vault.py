"""Envelope encryption of personal data, a data key per person, and erasure by shredding it.

Each person (a *subject*: an applicant, a card holder) gets a random AES-256 data key.
Their fields are sealed with it (AES-GCM, bound to what the bytes are for); the data key
is stored only wrapped under a key encryption key (:mod:`finai.security.keyring`), and
the person is found again through a keyed blind index of their id, never the id.
Erasing a person destroys their wrapped data key: every byte sealed for them becomes
unreadable at once, wherever it was copied, while the rows that hold it stay countable
and the audit chain, which never held the plaintext, still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finai.exceptions import IntegrityError, NotFound, ValidationError
from finai.security import audit
from finai.security.keyring import KEY_BYTES, NONCE_BYTES, KeyProvider
from finai.store import DataKeyRow, utcnow

FORMAT = b"F1"
_KEY_ID_BYTES = 16
_HEADER = len(FORMAT) + _KEY_ID_BYTES + NONCE_BYTES
MAX_SUBJECT = 200


class Erased(NotFound):
    """The person's data key was destroyed: what was sealed for them cannot be read."""


@dataclass(frozen=True)
class RotationResult:
    """What a key rotation did: data keys re-wrapped, and under which KEK."""

    rewrapped: int
    kek_id: str


def normalise_subject(subject_id: str) -> str:
    """Return the canonical form of a person's id: case-folded, composed, without spaces.

    Unicode's compatibility caseless form (D146) with every white space taken out, composed
    at the end (NFKC). Spaces go out while the text is decomposed and before it is composed
    again, so this form is stable (normalising it again changes nothing): ``"A\u00b4"``
    (a spacing accent, decomposed into a space and a combining accent) and ``"\u00e1"``
    are one id, as they look alike.

    Raises
    ------
    ValidationError
        For an empty or over-long id.
    """
    folded = unicodedata.normalize("NFD", subject_id).casefold()
    folded = unicodedata.normalize("NFKD", folded).casefold()
    text = unicodedata.normalize("NFKC", "".join(unicodedata.normalize("NFKD", folded).split()))
    if not text or len(text) > MAX_SUBJECT:
        raise ValidationError(
            f"a subject id must hold 1 to {MAX_SUBJECT} visible characters", field="subject"
        )
    return text


class Vault:
    """Seals and opens personal fields; erases people; re-wraps data keys.

    Parameters
    ----------
    keys
        Where key encryption keys live (a key file, a KMS).
    index_key
        Secret key of the blind index (HMAC-SHA256); derive it from the platform
        secret, never reuse the audit key itself.
    """

    def __init__(self, keys: KeyProvider, index_key: bytes) -> None:
        self.keys = keys
        self._index_key = index_key

    def subject_index(self, subject_id: str) -> str:
        """Return the blind index of a person's id: equal ids, equal index; no way back."""
        canonical = normalise_subject(subject_id).encode()
        return hmac.new(self._index_key, canonical, hashlib.sha256).hexdigest()

    def _context(self, key_id: str) -> bytes:
        return b"finai-data-key:" + key_id.encode()

    def _data_key(self, session: Session, subject: str) -> tuple[str, bytes]:
        row = session.scalar(select(DataKeyRow).where(DataKeyRow.subject == subject))
        if row is None:
            return self._new_data_key(session, subject)
        return row.id, self._unwrap(row)

    def _new_data_key(self, session: Session, subject: str) -> tuple[str, bytes]:
        key_id = os.urandom(_KEY_ID_BYTES).hex()
        data_key = os.urandom(KEY_BYTES)
        kek_id = self.keys.current()
        wrapped = self.keys.wrap(kek_id, data_key, self._context(key_id))
        try:
            with session.begin_nested():
                session.add(DataKeyRow(id=key_id, subject=subject, kek_id=kek_id, wrapped=wrapped))
        except DatabaseIntegrityError:
            # another request created this person's key first: use theirs
            row = session.scalar(select(DataKeyRow).where(DataKeyRow.subject == subject))
            if row is None:
                raise
            return row.id, self._unwrap(row)
        return key_id, data_key

    def _unwrap(self, row: DataKeyRow) -> bytes:
        if row.wrapped is None:
            raise Erased("this person's personal data was erased", field="subject")
        return self.keys.unwrap(row.kek_id, row.wrapped, self._context(row.id))

    def seal(
        self, session: Session, subject_id: str, fields: Mapping[str, Any], *, purpose: str
    ) -> bytes:
        """Encrypt ``fields`` (JSON values) for a person; the caller commits.

        ``purpose`` names what the bytes are (e.g. ``"credit_applicant"``); opening them
        for another purpose fails, so sealed values cannot be swapped between columns.
        """
        key_id, data_key = self._data_key(session, self.subject_index(subject_id))
        plain = json.dumps(dict(fields), separators=(",", ":"), sort_keys=True).encode()
        nonce = os.urandom(NONCE_BYTES)
        header = FORMAT + bytes.fromhex(key_id) + nonce
        sealed = AESGCM(data_key).encrypt(nonce, plain, header + purpose.encode())
        return header + sealed

    def open(self, session: Session, sealed: bytes, *, purpose: str) -> dict[str, Any]:
        """Return the fields :meth:`seal` sealed.

        Raises
        ------
        Erased
            When the person was erased.
        IntegrityError
            For bytes that are not sealed data, were altered, or belong to another purpose.
        """
        if len(sealed) <= _HEADER or not sealed.startswith(FORMAT):
            raise IntegrityError("these bytes are not sealed personal data")
        key_id = sealed[len(FORMAT) : len(FORMAT) + _KEY_ID_BYTES].hex()
        row = session.get(DataKeyRow, key_id)
        if row is None:
            raise IntegrityError("sealed personal data names an unknown data key")
        data_key = self._unwrap(row)
        header, body = sealed[:_HEADER], sealed[_HEADER:]
        try:
            plain = AESGCM(data_key).decrypt(header[-NONCE_BYTES:], body, header + purpose.encode())
        except InvalidTag as exc:
            raise IntegrityError("sealed personal data failed its integrity check") from exc
        opened: dict[str, Any] = json.loads(plain)
        return opened

    def find(self, session: Session, subject_id: str) -> str | None:
        """Return the id of a person's data key, or None when nothing was sealed for them."""
        return session.scalar(
            select(DataKeyRow.id).where(DataKeyRow.subject == self.subject_index(subject_id))
        )

    def erase(self, session: Session, audit_key: bytes, *, subject_id: str, actor: str) -> bool:
        """Destroy a person's data key (crypto-shredding) and audit it; the caller commits.

        Returns
        -------
        bool
            True when a key was destroyed now; False when none existed or it was
            already erased (erasing twice is harmless and audited once).
        """
        return self.erase_index(
            session, audit_key, subject=self.subject_index(subject_id), actor=actor
        )

    def erase_index(
        self,
        session: Session,
        audit_key: bytes,
        *,
        subject: str,
        actor: str,
        reason: str = "request",
    ) -> bool:
        """Erase by blind index (what stored rows hold), as :meth:`erase`; ``reason`` is audited."""
        row = session.scalar(select(DataKeyRow).where(DataKeyRow.subject == subject))
        if row is None or row.wrapped is None:
            return False
        row.wrapped = None
        row.erased_at = utcnow()
        session.flush()
        audit.append(
            session,
            audit_key,
            actor=actor,
            action="data.erase",
            object_type="data_key",
            object_id=row.id,
            payload={"subject_index": subject, "reason": reason},
        )
        return True

    def rotate(self, sessions: sessionmaker[Session], *, batch: int = 500) -> RotationResult:
        """Re-wrap every live data key under the current KEK, a batch per transaction.

        Safe while the service runs: each row is rewritten only if it is still wrapped
        under the KEK it was read with, and the pass repeats until no key is left under
        an older KEK (keys made meanwhile by a service that had not yet seen the new KEK
        are caught by the next pass).
        """
        current = self.keys.current()
        done = 0
        while True:
            with sessions() as session:
                rows = session.execute(
                    select(DataKeyRow.id, DataKeyRow.kek_id, DataKeyRow.wrapped)
                    .where(DataKeyRow.kek_id != current, DataKeyRow.wrapped.is_not(None))
                    .limit(batch)
                ).all()
                if not rows:
                    return RotationResult(done, current)
                for key_id, kek_id, wrapped in rows:
                    if wrapped is None:  # erased between the query and here
                        continue
                    context = self._context(key_id)
                    data_key = self.keys.unwrap(kek_id, wrapped, context)
                    session.execute(
                        update(DataKeyRow)
                        .where(
                            DataKeyRow.id == key_id,
                            DataKeyRow.kek_id == kek_id,
                            DataKeyRow.wrapped.is_not(None),  # an erasure meanwhile stands
                        )
                        .values(kek_id=current, wrapped=self.keys.wrap(current, data_key, context))
                    )
                session.commit()
                done += len(rows)

    def wrapped_under(self, session: Session) -> dict[str, int]:
        """Count live data keys per KEK id (what a rotation still has to do)."""
        rows = session.execute(
            select(DataKeyRow.kek_id, func.count())
            .where(DataKeyRow.wrapped.is_not(None))
            .group_by(DataKeyRow.kek_id)
        )
        return {kek_id: count for kek_id, count in rows}
