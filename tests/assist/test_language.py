"""Language detection: lenient with short English, refusing clearly foreign text."""

from __future__ import annotations

import random

import pytest

from finai.assist import demo_training_data
from finai.assist.language import SUPPORTED, detect, require_supported
from finai.exceptions import ValidationError


def test_banking77_training_texts_are_never_refused() -> None:
    texts, _labels = demo_training_data()
    sample = random.Random(42).sample(texts, 500)
    assert [t for t in sample if require_supported(t) != "en"] == []


@pytest.mark.parametrize(
    "text",
    [
        "Can my children get an account?",  # langid: Dutch, 0.997
        "I lost my card. Can you help me?",  # langid: Spanish, 0.94
        "Changing my PIN",
        "Hola",
        "ok",
        "1234 5678",
        "",
    ],
)
def test_short_or_ambiguous_english_is_accepted(text: str) -> None:
    assert require_supported(text) == "en"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ich habe meine Karte verloren, können Sie mir helfen?", "de"),
        ("He perdido mi tarjeta, ¿qué hago?", "es"),
        ("J'ai perdu ma carte bancaire", "fr"),
        ("Ho perso la mia carta di credito, cosa devo fare?", "it"),
        ("Minha transferência não chegou", "pt"),
        ("Mijn kaart is gestolen, wat moet ik doen?", "nl"),
        ("Где моя карта?", "ru"),
        ("我的卡丢了", "zh"),
    ],
)
def test_clearly_foreign_text_is_refused(text: str, code: str) -> None:
    with pytest.raises(ValidationError, match=f"language '{code}' is not supported") as caught:
        require_supported(text)
    assert caught.value.field == "text"


def test_other_supported_languages() -> None:
    assert require_supported("Ich habe meine Karte verloren", {"en", "de"}) == "de"
    assert require_supported("ok", {"de"}) == "de"
    with pytest.raises(ValueError, match="at least one"):
        require_supported("text", set())


def test_detect_returns_a_code_and_probability() -> None:
    code, probability = detect("Where is the card I ordered two weeks ago? It has not arrived yet.")
    assert code == "en" and 0.9 < probability <= 1.0
    assert detect("  ") == ("en", 0.0)
    assert detect("word " * 5000)[1] <= 1.0  # long texts do not overflow
    assert "en" in SUPPORTED
