"""PII redaction: every valid value of each kind is replaced; ordinary text is left alone."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finai.assist.redact import IBAN_LENGTHS, KINDS, iban_valid, redact
from finai.security.cards import luhn_valid

# --- generators of valid values -------------------------------------------------------


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always fits")


@st.composite
def cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("123456789"))
    body = first + draw(st.text("0123456789", min_size=length - 2, max_size=length - 2))
    digits = _luhn_complete(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban = draw(
        st.text(
            string.ascii_uppercase + string.digits,
            min_size=IBAN_LENGTHS[country] - 4,
            max_size=IBAN_LENGTHS[country] - 4,
        )
    )
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    compact = f"{country}{98 - number % 97:02d}{bban}"
    spaced = draw(st.booleans())
    text = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if spaced else compact
    return text.lower() if draw(st.booleans()) else text


@st.composite
def ssns(draw: st.DrawFn) -> str:
    area = draw(st.integers(1, 999).filter(lambda a: a != 666))
    return f"{area:03d}-{draw(st.integers(1, 99)):02d}-{draw(st.integers(1, 9999)):04d}"


# Surrounding text with digits and punctuation, so that values sit among other numbers.
noise = st.text(string.ascii_letters + string.digits + " .,!?£$%():'/", max_size=30)


def _embedded(before: str, value: str, after: str) -> str:
    return f"{before} {value} {after}"


@settings(max_examples=200, deadline=None)
@given(before=noise, card=cards(), after=noise)
def test_a_valid_card_never_survives(before: str, card: str, after: str) -> None:
    out = redact(_embedded(before, card, after)).text
    assert card not in out
    assert "".join(c for c in card if c.isdigit()) not in out


@settings(max_examples=200, deadline=None)
@given(before=noise, iban=ibans(), after=noise)
def test_a_valid_iban_never_survives(before: str, iban: str, after: str) -> None:
    result = redact(_embedded(before, iban, after))
    assert iban not in result.text
    assert result.found.get("IBAN") == 1


@settings(max_examples=200, deadline=None)
@given(before=noise, email=st.emails(), after=noise)
def test_an_email_never_survives(before: str, email: str, after: str) -> None:
    result = redact(_embedded(before, email, after))
    assert email not in result.text
    assert "@" not in result.text.replace(before, "").replace(after, "")


@settings(max_examples=200, deadline=None)
@given(before=noise, ssn=ssns(), after=noise)
def test_a_social_security_number_never_survives(before: str, ssn: str, after: str) -> None:
    assert ssn not in redact(_embedded(before, ssn, after)).text


@settings(max_examples=300, deadline=None)
@given(text=st.text(string.ascii_letters + string.digits + " .,:;-+()/@£$%\n", max_size=80))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.found == {}


@given(text=st.text(st.characters(blacklist_categories=("Nd",), blacklist_characters="@")))
def test_text_without_digits_or_at_signs_is_unchanged(text: str) -> None:
    assert redact(text) == (text, {})


amounts = st.builds(
    "£{:,}.{:02d}".format, st.integers(0, 9_999_999), st.integers(0, 99)
) | st.builds("${:,}".format, st.integers(0, 9_999_999))
dates = st.dates().map(lambda d: d.strftime("%d/%m/%Y")) | st.dates().map(str)
refs = st.builds("order {}".format, st.integers(1, 99_999)) | st.builds(
    "{} weeks".format, st.integers(1, 52)
)


@given(values=st.lists(amounts | dates | refs, min_size=1, max_size=4))
def test_amounts_dates_and_short_numbers_are_left_alone(values: list[str]) -> None:
    text = "I paid " + ", then ".join(values) + "."
    assert redact(text) == (text, {})


@pytest.mark.parametrize(
    ("message", "expected", "found"),
    [
        (
            "Hi, my card 4111 1111 1111 1111 was charged £250.00 twice on 12/05/2024!!",
            "Hi, my card [CARD] was charged £250.00 twice on 12/05/2024!!",
            {"CARD": 1},
        ),
        (
            "Please send the refund to GB82 WEST 1234 5698 7654 32, not DE89370400440532013000.",
            "Please send the refund to [IBAN], not [IBAN].",
            {"IBAN": 2},
        ),
        (
            "sort code 12-34-56, account number 12345678. Still waiting after 2 weeks",
            "sort code [ACCOUNT], account number [ACCOUNT]. Still waiting after 2 weeks",
            {"ACCOUNT": 2},
        ),
        (
            "Transfer from 12-34-56 87654321 never arrived (order 12345)",
            "Transfer from [ACCOUNT] never arrived (order 12345)",
            {"ACCOUNT": 1},
        ),
        (
            "Email me at jane.doe+bank@example.co.uk or call +44 20 7946 0018 / 07700 900123",
            "Email me at [EMAIL] or call [PHONE] / [PHONE]",
            {"EMAIL": 1, "PHONE": 2},
        ),
        (
            "US number (415) 555-2671, work 415-555-2671, Paris 06 12 34 56 78",
            "US number [PHONE], work [PHONE], Paris [PHONE]",
            {"PHONE": 3},
        ),
        (
            "My SSN is 123-45-6789 and my NI number is QQ 12 34 56 C",
            "My SSN is [NATIONAL_ID] and my NI number is [NATIONAL_ID]",
            {"NATIONAL_ID": 2},
        ),
        (
            "ssn 123456789, ni ab123456c, DNI 12345678Z",
            "ssn [NATIONAL_ID], ni [NATIONAL_ID], DNI [NATIONAL_ID]",
            {"NATIONAL_ID": 3},
        ),
        (
            "Amex 3782-822463-10005 declined at 10:30 on 2024-05-12, limit $1,500",
            "Amex [CARD] declined at 10:30 on 2024-05-12, limit $1,500",
            {"CARD": 1},
        ),
        (
            "customer no. 876543210 wants 3 payments of 45.50",
            "customer no. [ACCOUNT] wants 3 payments of 45.50",
            {"ACCOUNT": 1},
        ),
        (
            "card 5555555555554444 expires 09/27, cvv not shown",
            "card [CARD] expires 09/27, cvv not shown",
            {"CARD": 1},
        ),
    ],
)
def test_real_looking_messages(message: str, expected: str, found: dict[str, int]) -> None:
    assert redact(message) == (expected, found)


@pytest.mark.parametrize(
    "text",
    [
        "£1,250.00 on 12.05.2024 at 14:05",
        "order 0012345 and ticket 98765",
        "card ending 1111, changed my PIN 3 times",
        "4111 1111 1111 1112",  # fails Luhn; only 16 digits in groups of four
        "GB82 WEST 1234 5698 7654 33",  # fails mod-97
        "000-12-3456 and 666-12-3456",  # never-issued SSN areas
        "£12345678.90 seems a lot",
    ],
)
def test_lookalikes_that_are_not_pii_stay(text: str) -> None:
    assert redact(text).text == text


def test_a_long_digit_run_failing_luhn_is_still_redacted_as_an_account() -> None:
    assert redact("ref 4111111111111112").text == "ref [ACCOUNT]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on 12 05 2024 4111 1111 1111 1111 ok", "on 12 05 2024 [CARD] ok"),
        ("4111.1111.1111.1111", "[CARD]"),
        ("cards 4111111111111111 5555 5555 5555 4444", "cards [CARD] [CARD]"),
        (
            "CVV 123, pin: 4321, security code is 987",
            "CVV [CARD], pin: [CARD], security code is [CARD]",
        ),
    ],
)
def test_cards_among_other_numbers_and_card_secrets(text: str, expected: str) -> None:
    assert redact(text).text == expected


def test_iban_validation() -> None:
    assert iban_valid("GB82WEST12345698765432")
    assert iban_valid("gb82west12345698765432")
    assert not iban_valid("GB82WEST1234569876543")  # one short for GB
    assert not iban_valid("GB83WEST12345698765432")
    assert not iban_valid("QQ82WEST12345698765432")  # no such country


def test_found_only_names_known_kinds() -> None:
    result = redact("jo@example.com 4111111111111111 +44 20 7946 0018 123-45-6789")
    assert set(result.found) <= set(KINDS)
    assert result.found == {"EMAIL": 1, "CARD": 1, "PHONE": 1, "NATIONAL_ID": 1}
