"""Speech to text with the bundled Whisper model, on speech made by espeak-ng."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from finai.assist.speech import audio_format, transcribe
from finai.exceptions import ValidationError

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)


def speak(text: str, folder: Path) -> bytes:
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path.read_bytes()


def reencode(wav: bytes, container: str, codec: str, rate: int) -> bytes:
    """Convert WAV to MP3 or OGG/Opus with PyAV (faster-whisper's decoder)."""
    out = io.BytesIO()
    with av.open(io.BytesIO(wav), "r") as source, av.open(out, "w", format=container) as target:
        stream = target.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


def silent_wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16_000)
        handle.writeframes(np.zeros(int(16_000 * seconds), dtype=np.int16).tobytes())
    return out.getvalue()


@needs_espeak
def test_wav_mp3_and_ogg_speech_is_transcribed(tmp_path: Path) -> None:
    wav = speak("I lost my card", tmp_path)
    for name, data in [
        ("message.wav", wav),
        ("message.mp3", reencode(wav, "mp3", "libmp3lame", 22_050)),
        ("message.ogg", reencode(wav, "ogg", "libopus", 48_000)),
    ]:
        transcript = transcribe(data, name)
        words = transcript.text.lower()
        assert "lost" in words and "card" in words, (name, transcript.text)
        assert transcript.language == "en"
        assert 0.5 < transcript.seconds < 3.0


def test_audio_format_is_read_from_content() -> None:
    assert audio_format(silent_wav(0.1)) == "wav"
    assert audio_format(b"OggS\x00\x02") == "ogg"
    assert audio_format(b"ID3\x04\x00") == "mp3"
    assert audio_format(b"\xff\xfb\x90\x64") == "mp3"  # MPEG-1 layer III frame
    assert audio_format(b"\xff\xfd\x90\x64") is None  # layer II
    assert audio_format(b"RIFF\x00\x00\x00\x00AVI ") is None
    assert audio_format(b"hello") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"I lost my card, this is a text file", "not WAV, MP3 or OGG audio"),
        (b"%PDF-1.7 not audio", "not WAV, MP3 or OGG audio"),
        (b"OggS" + bytes(range(256)) * 8, "could not be decoded|holds no audio"),
        (silent_wav(0.1)[:44], "holds no audio"),
        (silent_wav(61.0), "longer than 60 s"),
        (silent_wav(2.0), "no speech was recognised"),
    ],
    ids=["empty", "text", "pdf", "corrupt-ogg", "no-samples", "too-long", "silence"],
)
def test_bad_audio_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        transcribe(data, "upload.wav")
    assert caught.value.field == "audio"


def test_size_limit() -> None:
    with pytest.raises(ValidationError, match="is 32,044 bytes; at most 10,485 bytes"):
        transcribe(silent_wav(1.0), "big.wav", max_bytes=10_485)
