"""PII redaction: personal data in a customer message becomes a typed placeholder.

A message is redacted before it is stored, logged or handed to a model, so a card
number, IBAN, account number, email address, phone number or national id written by
a customer never reaches the database or the logs. Each value found is replaced by
a placeholder naming its kind (``[CARD]``, ``[IBAN]``, ``[ACCOUNT]``, ``[EMAIL]``,
``[PHONE]``, ``[NATIONAL_ID]``), which keeps the message readable for staff and for
the intent model ("my card [CARD] was declined").

Detection is regular expressions plus the checks each format defines: the Luhn digit
for cards, mod-97 and the country's length for IBANs, the allocation rules of US social
security and UK national insurance numbers, the control letter of Spanish DNI/NIE. Card
security codes and PINs named as such ("CVV 123", "my PIN is 1234") count as card data.
The detectors run in a fixed order, most specific first (emails, whose local part may
hold digits; IBANs, which contain account numbers; national ids; sort code with account;
cards; phones), and a catch-all last: any remaining run of eight or more digits is
treated as an account number. Ordinary amounts (``£250.00``, ``1,200``), dates
(``12/05/2024``, ``2024-05-12``) and short references (``order 12345``) are left alone.
Not detected: names, postal addresses, dates of birth (free text needs a language model).

Why hand-written: Microsoft Presidio (``presidio-analyzer``) needs spaCy and a language
model package for its engine, heavy for a redaction step; ``commonregex`` is a 2014 regex
list without validation. The checks here are a few lines each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

from finai.security.cards import luhn_valid

__all__ = ["IBAN_LENGTHS", "KINDS", "Redaction", "iban_valid", "redact"]

CARD = "CARD"
IBAN = "IBAN"
ACCOUNT = "ACCOUNT"
EMAIL = "EMAIL"
PHONE = "PHONE"
NATIONAL_ID = "NATIONAL_ID"
KINDS = (CARD, IBAN, ACCOUNT, EMAIL, PHONE, NATIONAL_ID)
"""The placeholder kinds, as they appear in ``Redaction.found`` and (bracketed) in text."""


class Redaction(NamedTuple):
    """A redacted text and what was taken out of it.

    Attributes
    ----------
    text
        The text with each personal value replaced by ``[KIND]``.
    found
        How many values of each kind were replaced, e.g. ``{"CARD": 1, "EMAIL": 1}``;
        kinds not found are absent.
    """

    text: str
    found: dict[str, int]


# A replacement step: takes the text and the counter, returns the new text.
_Step = Callable[[str, Counter[str]], str]


def _placeholder(kind: str) -> str:
    return f"[{kind}]"


# --- emails -----------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?![\w-])",
)


def _emails(text: str, found: Counter[str]) -> str:
    return _sub_all(_EMAIL, EMAIL, text, found)


# --- IBANs ------------------------------------------------------------------------------

# IBAN length per country (SWIFT IBAN registry). Only these countries are recognised, so
# that "AB12 ..." followed by any words is not taken for an IBAN.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
"""IBAN length (characters, without spaces) for each country that uses IBANs."""

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")


def iban_valid(iban: str) -> bool:
    """Return True when ``iban`` (no separators) has its country's length and passes mod-97."""
    iban = iban.upper()
    if not iban.isascii() or not iban.isalnum() or IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _iban_end(text: str, start: int, length: int) -> int | None:
    """Where an IBAN of ``length`` characters starting at ``start`` ends, if it can.

    Characters may be separated by single spaces or dashes (printed IBANs come in groups
    of four); the character after the last one must not be a letter or digit.
    """
    count = 0
    position = start
    while count < length:
        if position >= len(text):
            return None
        char = text[position]
        if char.isascii() and char.isalnum():
            count += 1
            position += 1
        elif char in " -" and count > 0 and position + 1 < len(text):
            position += 1
            if not (text[position].isascii() and text[position].isalnum()):
                return None
        else:
            return None
    if position < len(text) and text[position].isalnum():
        return None
    return position


def _ibans(text: str, found: Counter[str]) -> str:
    parts: list[str] = []
    last = 0
    search_from = 0
    while match := _IBAN_START.search(text, search_from):
        length = IBAN_LENGTHS.get(match.group(1).upper())
        end = None if length is None else _iban_end(text, match.start(), length)
        if end is not None:
            compact = re.sub(r"[ -]", "", text[match.start() : end])
            if iban_valid(compact):
                parts.append(text[last : match.start()])
                parts.append(_placeholder(IBAN))
                found[IBAN] += 1
                last = search_from = end
                continue
        search_from = match.start() + 1
    parts.append(text[last:])
    return "".join(parts)


# --- national ids -----------------------------------------------------------------------

# US social security (and taxpayer) numbers: 123-45-6789. Never area 000 or 666, group 00
# or serial 0000.
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
# The same nine digits unseparated or space-separated, only right after the words naming them.
_SSN_NAMED = re.compile(
    r"(?i:\b(?:ssn|social security(?: number| no\.?)?)\s*(?:is|:|#)?\s*)"
    r"(\d{3})[ -]?(\d{2})[ -]?(\d{4})(?![\d-])"
)
# UK national insurance numbers: two prefix letters (D, F, I, U, V never; O not second;
# BG, GB, KN, NK, NT, TN, ZZ never; Q is kept for HMRC's example "QQ 12 34 56 C"), six
# digits, suffix A-D; spaces optional. Capitals may omit the suffix; lower case needs it
# (so that "on 123456" stays as it is).
_NINO_BODY = r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-TW-Z][A-CEGHJ-NP-TW-Z] ?\d{2} ?\d{2} ?\d{2}"
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?:" + _NINO_BODY + r"(?: ?[A-D])?|(?i:" + _NINO_BODY + r" ?[A-D]))"
    r"(?![A-Za-z0-9])"
)
# Spanish DNI (8 digits + control letter) and NIE (X/Y/Z + 7 digits + control letter).
_DNI = re.compile(r"(?<![A-Za-z0-9])([XYZxyz]?)(\d{7,8})[ -]?([A-Za-z])(?![A-Za-z0-9])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in {"000", "666"} and group != "00" and serial != "0000"


def _dni_valid(match: re.Match[str]) -> bool:
    prefix, digits, letter = match.group(1).upper(), match.group(2), match.group(3).upper()
    if prefix:
        if len(digits) != 7:
            return False
        digits = str("XYZ".index(prefix)) + digits
    elif len(digits) != 8:
        return False
    return _DNI_LETTERS[int(digits) % 23] == letter


def _national_ids(text: str, found: Counter[str]) -> str:
    text = _sub_checked(_SSN, NATIONAL_ID, text, found, lambda m: _ssn_valid(*m.groups()))
    text = _sub_checked(
        _SSN_NAMED,
        NATIONAL_ID,
        text,
        found,
        lambda m: _ssn_valid(*m.groups()),
        keep_prefix=True,
    )
    text = _sub_all(_NINO, NATIONAL_ID, text, found)
    return _sub_checked(_DNI, NATIONAL_ID, text, found, _dni_valid)


# --- cards ------------------------------------------------------------------------------

# A run of digit groups separated by single spaces, dots or dashes, not part of a longer
# number (digits or a decimal amount) and not an international phone number (+...).
_DIGIT_GROUPS = re.compile(r"(?<![\d+])(?<!\d[.,])\d+(?:[ .-]\d+)*(?!\d|[.,]\d)")
_GROUP = re.compile(r"\d+")
# Card security data named as such: "CVV 123", "security code: 4567", "my PIN is 1234".
_CARD_SECRET = re.compile(
    r"(?i:\b(?:cvv2?|cvc2?|cv2|csc|security\s+code|pin(?:\s+(?:number|code))?)"
    r"\s*(?:is|:|=|#)?\s*)(\d{3,6})(?!\d)"
)
CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19
_AMEX_LIKE = ((4, 6, 5), (4, 6, 4))


def _card_shaped(sizes: Sequence[int]) -> bool:
    """Whether digit groups are laid out as cards are printed (4-4-4-4, 4-6-5, one block)."""
    if len(sizes) == 1 or tuple(sizes) in _AMEX_LIKE:
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Spans (in ``run``) of consecutive digit groups that form Luhn-valid card numbers.

    Every window of consecutive groups with 13 to 19 digits (not starting with 0) that
    passes the Luhn check is a candidate; windows laid out as printed cards are taken
    first, then longer ones, then earlier ones, without overlaps. So a card beside other
    numbers ("on 12 05 2024 4111 1111 1111 1111") is found whole, not a window that
    happens to pass the check by taking a date's digits with half the card.
    """
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    candidates: list[tuple[bool, int, int, int]] = []  # (shaped, digits, -first, last)
    for first in range(len(groups)):
        digits = 0
        for last in range(first, len(groups)):
            digits += groups[last][1] - groups[last][0]
            if digits > CARD_MAX_DIGITS:
                break
            if digits < CARD_MIN_DIGITS or run[groups[first][0]] == "0":
                continue
            number = "".join(run[a:b] for a, b in groups[first : last + 1])
            if luhn_valid(number):
                sizes = [b - a for a, b in groups[first : last + 1]]
                candidates.append((_card_shaped(sizes), digits, -first, last))
    taken: set[int] = set()
    spans: list[tuple[int, int]] = []
    for _shaped, _digits, negative_first, last in sorted(candidates, reverse=True):
        window = set(range(-negative_first, last + 1))
        if not window & taken:
            taken |= window
            spans.append((groups[-negative_first][0], groups[last][1]))
    return sorted(spans)


def _cards(text: str, found: Counter[str]) -> str:
    text = _sub_checked(_CARD_SECRET, CARD, text, found, lambda m: True, keep_prefix=True)

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        spans = _card_spans(run)
        if not spans:
            return run
        out: list[str] = []
        last = 0
        for start, end in spans:
            out.append(run[last:start])
            out.append(_placeholder(CARD))
            last = end
        out.append(run[last:])
        found[CARD] += len(spans)
        return "".join(out)

    return _DIGIT_GROUPS.sub(replace, text)


# --- sort code and account --------------------------------------------------------------

# UK sort code with an 8-digit account ("12-34-56 12345678"), or a sort code named as such.
_SORT_CODE_ACCOUNT = re.compile(r"(?<![\w-])\d{2}-\d{2}-\d{2}[ ,/]{1,3}\d{8}(?!\w)")
_SORT_CODE_NAMED = re.compile(
    r"(?i:\bsort[ -]?code\s*(?:is|:)?\s*)(\d{2}[ -]?\d{2}[ -]?\d{2})(?!\d)"
)


def _sort_codes(text: str, found: Counter[str]) -> str:
    text = _sub_all(_SORT_CODE_ACCOUNT, ACCOUNT, text, found)
    return _sub_checked(_SORT_CODE_NAMED, ACCOUNT, text, found, lambda m: True, keep_prefix=True)


# --- phones -----------------------------------------------------------------------------

_SEP = r"[ .-]?"
_PHONE_PATTERNS = (
    # International: +44 20 7946 0018, +1 (415) 555-2671, 0044 7700 900123, +44 (0)20 ...
    r"(?:\+|(?<!\d)00)\d{1,3}" + _SEP + r"(?:\(0\)" + _SEP + r")?"
    r"(?:\(\d{1,5}\)" + _SEP + r")?\d{1,5}(?:[ .-]\d{1,5}){0,4}",
    r"\+\d{7,15}",
    # National with area code in parentheses: (020) 7946 0018, (555) 123-4567
    r"\(\d{2,5}\)" + _SEP + r"\d{3,4}" + _SEP + r"\d{3,4}",
    # National trunk prefix 0: 020 7946 0018, 0161-496-0000 (same separator), 07700 900123,
    # 07700900123
    r"(?<![\d/])0\d{2,4}([ .-]?)\d{3,4}\1\d{3,4}",
    r"(?<![\d/])0\d{2,4}[ .-]?\d{6,7}",
    # Pairs after a two-digit trunk: 06 12 34 56 78 (same separator throughout)
    r"(?<![\d/])0\d([ .-])\d{2}(?:\2\d{2}){3}",
    # North American: 415-555-2671, 415.555.2671, 415 555 2671 (same separator)
    r"(?<![\d/])\d{3}([ .-])\d{3}\3\d{4}",
)
_PHONE = re.compile(r"(?<![\w+])(?:" + "|".join(_PHONE_PATTERNS) + r")(?![\w])")
PHONE_MIN_DIGITS = 7
PHONE_MIN_DIGITS_00 = 10
PHONE_MAX_DIGITS = 15


def _phone_valid(match: re.Match[str]) -> bool:
    number = match.group(0)
    digits = sum(char.isdigit() for char in number)
    # "00" + country code without separators is easily a reference ("order 0012345").
    least = PHONE_MIN_DIGITS_00 if number.startswith("00") else PHONE_MIN_DIGITS
    return least <= digits <= PHONE_MAX_DIGITS


def _phones(text: str, found: Counter[str]) -> str:
    return _sub_checked(_PHONE, PHONE, text, found, _phone_valid)


# --- long digit runs --------------------------------------------------------------------

# Any remaining run of 8 or more digits (account numbers, customer numbers), not part of a
# decimal amount (letters may be attached: "ref12345678" loses the digits).
_LONG_DIGITS = re.compile(r"(?<!\d)(?<!\d[.,])\d{8,}(?!\d|[.,]\d)")


def _accounts(text: str, found: Counter[str]) -> str:
    return _sub_all(_LONG_DIGITS, ACCOUNT, text, found)


# --- machinery --------------------------------------------------------------------------


def _sub_checked(
    pattern: re.Pattern[str],
    kind: str,
    text: str,
    found: Counter[str],
    check: Callable[[re.Match[str]], bool],
    *,
    keep_prefix: bool = False,
) -> str:
    """Replace matches of ``pattern`` that pass ``check``.

    With ``keep_prefix``, the text before the first group (a keyword such as "sort code")
    is kept and only the rest of the match is replaced.
    """

    def replace(match: re.Match[str]) -> str:
        if not check(match):
            return match.group(0)
        found[kind] += 1
        prefix = match.string[match.start() : match.start(1)] if keep_prefix else ""
        return prefix + _placeholder(kind)

    return pattern.sub(replace, text)


def _sub_all(pattern: re.Pattern[str], kind: str, text: str, found: Counter[str]) -> str:
    return _sub_checked(pattern, kind, text, found, lambda m: True)


_STEPS: tuple[_Step, ...] = (
    _emails,
    _ibans,
    _national_ids,
    _sort_codes,
    _cards,
    _phones,
    _accounts,
)


def redact(text: str) -> Redaction:
    """Replace personal data in ``text`` with typed placeholders.

    Parameters
    ----------
    text
        Any text, typically a customer message or its transcript.

    Returns
    -------
    Redaction
        The redacted text and the count of values replaced per kind. Redacting a
        redacted text changes nothing.

    Examples
    --------
    >>> redact("Card 4111 1111 1111 1111, email me at jo@example.com").text
    'Card [CARD], email me at [EMAIL]'
    """
    found: Counter[str] = Counter()
    for step in _STEPS:
        text = step(text, found)
    return Redaction(text=text, found=dict(found))
