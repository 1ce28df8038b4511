from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finai.exceptions import ValidationError
from finai.security.cards import card_ref, luhn_valid

KEY = b"k" * 32


def _check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass Luhn, computed the textbook way."""
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char)
        if i % 2 == 0:  # doubled: every second digit from the right of the full number
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),  # test Visa
        ("5555555555554444", True),  # test Mastercard
        ("378282246310005", True),  # test Amex
        ("4111111111111112", False),
        ("0", True),
        ("18", True),
        ("17", False),
        ("", True),
        ("12a4", False),
        ("\uff11\uff18", False),  # full-width digits are not card digits
    ],
)
def test_luhn_against_known_numbers(number: str, valid: bool) -> None:
    assert luhn_valid(number) is (valid and number.isascii() and number.isdigit())


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_every_body_with_its_check_digit_passes_and_no_other_digit_does(body: str) -> None:
    digit = _check_digit(body)
    assert luhn_valid(body + digit)
    assert not any(luhn_valid(body + d) for d in "0123456789" if d != digit)


def test_card_ref_keeps_token_bin_last4_and_masks() -> None:
    ref = card_ref("4111 1111-1111 1111", KEY)
    assert (ref.bin, ref.last4, ref.length) == ("411111", "1111", 16)
    assert ref.masked == "411111******1111"
    assert "4111111111111111" not in repr(ref)
    assert ref.token == card_ref("4111111111111111", KEY).token
    assert ref.token != card_ref("4111111111111111", b"o" * 32).token
    assert len(ref.token) == 64


@given(st.text(max_size=30))
def test_card_ref_refuses_without_repeating_the_number(text: str) -> None:
    digits = text.replace(" ", "").replace("-", "")
    accepted = (
        digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 and luhn_valid(digits)
    )
    if accepted:
        assert card_ref(text, KEY).length == len(digits)
        return
    with pytest.raises(ValidationError) as caught:
        card_ref(text, KEY)
    assert caught.value.field == "card_number"
    if len(digits) >= 4:
        assert digits not in str(caught.value)
