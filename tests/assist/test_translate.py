"""The LibreTranslate adapter against a small local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from finai.assist.translate import LibreTranslateClient, TranslationError, translator_for
from finai.exceptions import ValidationError


class Handler(BaseHTTPRequestHandler):
    """Answers POST /translate as LibreTranslate does; ``mode`` picks a misbehaviour."""

    mode: ClassVar[str] = "ok"
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.seen.append({"path": self.path, **body})
        if Handler.mode == "slow":
            time.sleep(1.0)
        replies: dict[str, tuple[int, dict[str, str] | str]] = {
            "ok": (200, {"translatedText": f"[{body['target']}] {body['q']}"}),
            "slow": (200, {"translatedText": "late"}),
            "refused": (400, {"error": "zz is not supported"}),
            "forbidden": (403, "not json"),
            "odd": (200, {"text": "no translatedText here"}),
        }
        status, answer = replies[Handler.mode]
        raw = (json.dumps(answer) if isinstance(answer, dict) else answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting ("slow")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.mode, Handler.seen = "ok", []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_translates_and_sends_the_api_key(server: str) -> None:
    client = LibreTranslateClient(server, api_key="k-123")
    try:
        assert (
            client.translate("Wo ist meine Karte?", source="de", target="en")
            == "[en] Wo ist meine Karte?"
        )
    finally:
        client.close()
    assert Handler.seen == [
        {
            "path": "/translate",
            "q": "Wo ist meine Karte?",
            "source": "de",
            "target": "en",
            "format": "text",
            "api_key": "k-123",
        }
    ]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("refused", "answered 400: zz is not supported"),
        ("forbidden", "answered 403$"),
        ("odd", "without translatedText"),
        ("slow", "timed out"),
    ],
)
def test_server_errors_become_translation_errors(server: str, mode: str, message: str) -> None:
    Handler.mode = mode
    client = LibreTranslateClient(server, timeout=0.3)
    try:
        with pytest.raises(TranslationError, match=message):
            client.translate("hallo", source="auto", target="en")
    finally:
        client.close()


def test_unreachable_server() -> None:
    client = LibreTranslateClient("http://127.0.0.1:9", timeout=1.0)
    try:
        with pytest.raises(TranslationError, match="unreachable"):
            client.translate("hallo", source="de", target="en")
    finally:
        client.close()


def test_input_and_configuration_checks() -> None:
    client = LibreTranslateClient("http://127.0.0.1:9")
    try:
        with pytest.raises(ValidationError, match="empty"):
            client.translate("  ", source="de", target="en")
        with pytest.raises(ValidationError, match="over 5000"):
            client.translate("x" * 5001, source="de", target="en")
    finally:
        client.close()
    with pytest.raises(ValidationError, match="http"):
        LibreTranslateClient("ftp://example.org")
    assert translator_for(None) is None
    made = translator_for("http://127.0.0.1:5000")
    assert isinstance(made, LibreTranslateClient)
    made.close()
