"""Translation of customer messages: an interface and a self-hosted server adapter.

No offline translation model ships with FinAI: none installable from the package
registries bundles its weights (Argos Translate, for one, downloads its language models
from the internet at run time). A deployment that needs translation runs a
LibreTranslate-compatible server of its own (LibreTranslate serves Argos models
offline once installed) and points ``FINAI_TRANSLATE_URL`` at it: a message in a
language the assistant does not read is then translated into English for the models
(the redacted text only; the original is what is stored). Without it, FinAI translates
nothing and refuses unsupported languages (:func:`finai.assist.language.require_supported`).
"""

from __future__ import annotations

from typing import Protocol

import httpx

from finai.exceptions import UpstreamError, ValidationError

__all__ = [
    "MAX_TEXT_CHARS",
    "LibreTranslateClient",
    "TranslationError",
    "Translator",
    "translator_for",
]

MAX_TEXT_CHARS = 5_000
"""Longest text sent for translation."""


class TranslationError(UpstreamError):
    """The translation server could not be reached or refused the request."""

    title = "Translation failed"


class Translator(Protocol):
    """Translates text between languages named by ISO 639-1 codes."""

    def translate(self, text: str, *, source: str, target: str) -> str:
        """Return ``text`` translated from ``source`` (or ``"auto"``) into ``target``."""
        ...


class LibreTranslateClient:
    """A :class:`Translator` backed by a LibreTranslate-compatible HTTP server.

    Calls ``POST {url}/translate`` with JSON ``{"q", "source", "target", "format":
    "text"[, "api_key"]}`` and reads ``translatedText`` from the answer.

    Parameters
    ----------
    url
        Base URL of the server, e.g. ``http://127.0.0.1:5000``.
    api_key
        The server's API key, when it requires one.
    timeout
        Seconds to wait for a connection and for the answer.
    transport
        An ``httpx`` transport (tests, proxies); the default opens real connections.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationError("the translation server URL must start with http(s)://")
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def translate(self, text: str, *, source: str, target: str) -> str:
        """Return ``text`` translated from ``source`` into ``target``.

        Raises
        ------
        ValidationError
            ``field="text"``: empty or longer than :data:`MAX_TEXT_CHARS`.
        TranslationError
            The server is unreachable, too slow, answers an error status (its
            ``error`` message is quoted) or an answer without ``translatedText``.
        """
        if not text.strip():
            raise ValidationError("text to translate is empty", field="text")
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationError(
                f"text to translate is over {MAX_TEXT_CHARS} characters", field="text"
            )
        body: dict[str, str] = {"q": text, "source": source, "target": target, "format": "text"}
        if self._api_key:
            body["api_key"] = self._api_key
        try:
            response = self._client.post(f"{self.url}/translate", json=body)
        except httpx.TimeoutException as exc:
            raise TranslationError(f"translation server at {self.url} timed out") from exc
        except httpx.HTTPError as exc:
            raise TranslationError(
                f"translation server at {self.url} is unreachable: {type(exc).__name__}"
            ) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200:
            detail = answer.get("error") if isinstance(answer, dict) else None
            reason = f": {str(detail)[:200]}" if detail else ""
            raise TranslationError(f"translation server answered {response.status_code}{reason}")
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, str):
            raise TranslationError("translation server answered without translatedText")
        return translated


def translator_for(url: str | None, api_key: str | None = None) -> Translator | None:
    """Return the translator for the configured server URL, or None when none is set.

    The service passes ``Settings.translate_url`` (``FINAI_TRANSLATE_URL``) and
    ``Settings.translate_api_key``.
    """
    if not url:
        return None
    return LibreTranslateClient(url, api_key)
