"""Card numbers (PANs): checked, reduced to a keyed token, BIN and last four, shown masked.

A full card number is never stored, logged or shown. What is kept instead is enough to
work with: a keyed token (HMAC-SHA256) that is equal for equal numbers, so a card's
history can be followed without the number; the issuer's BIN (first six digits) and
the last four, which people use to recognise a card; and the length, for masking.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from finai.exceptions import ValidationError

MIN_DIGITS = 12
MAX_DIGITS = 19
BIN_DIGITS = 6
_SEPARATORS = str.maketrans("", "", " -")


def luhn_valid(digits: str) -> bool:
    """Return True when a string of digits passes the Luhn check (ISO/IEC 7812-1)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class CardRef:
    """What FinAI keeps of a card number.

    Attributes
    ----------
    token
        Keyed HMAC-SHA256 of the digits (hex, 64 characters): the card's identity.
    bin
        The first six digits (issuer identification).
    last4
        The last four digits.
    length
        How many digits the number has.
    """

    token: str
    bin: str
    last4: str
    length: int

    @property
    def card_id(self) -> str:
        """The card's id for FinAI's records: the masked number and 128 bits of the token.

        Safe to store and show (BIN and last four may be shown), equal for equal cards,
        and distinct for distinct cards whose masked numbers coincide.
        """
        return f"{self.masked}~{self.token[:32]}"

    @property
    def masked(self) -> str:
        """The number as it may be shown: BIN, asterisks, last four (``411111******1111``)."""
        return self.bin + "*" * (self.length - BIN_DIGITS - 4) + self.last4

    def __repr__(self) -> str:
        return f"CardRef({self.masked})"


def card_ref(number: str, key: bytes) -> CardRef:
    """Check a card number and reduce it to a :class:`CardRef`.

    Spaces and dashes are ignored. The error never repeats the number.

    Raises
    ------
    ValidationError
        (``field="card_number"``) for anything but 12 to 19 digits passing the Luhn check.
    """
    digits = number.translate(_SEPARATORS)
    if not digits.isascii() or not digits.isdigit() or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValidationError(
            f"a card number has {MIN_DIGITS} to {MAX_DIGITS} digits", field="card_number"
        )
    if not luhn_valid(digits):
        raise ValidationError("the card number fails its check digit", field="card_number")
    token = hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()
    return CardRef(token=token, bin=digits[:BIN_DIGITS], last4=digits[-4:], length=len(digits))
