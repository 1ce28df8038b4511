"""Encoders: TF-IDF n-grams and the bundled MiniLM, offline, loaded once."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from finai.assist import encoders, train
from finai.assist.encoders import MiniLMEncoder, TfidfEncoder, embed, make_encoder


def test_tfidf_learns_word_and_character_ngrams() -> None:
    texts = ["my card has not arrived", "card arrival time", "exchange rate today"] * 10
    encoder = make_encoder("tfidf").fit(texts)
    assert isinstance(encoder, TfidfEncoder)
    rows = encoder.transform(["my card", "a typo: crad arrivl"])
    assert rows.shape[0] == 2
    assert rows.getnnz(axis=1).min() > 0  # character n-grams match even the typos
    assert all(v.stop_words_ is None for _, v in encoder.union_.transformer_list)


def test_tfidf_must_be_fitted_and_names_are_checked() -> None:
    with pytest.raises(RuntimeError, match="before fit"):
        TfidfEncoder().transform(["x"])
    with pytest.raises(ValueError, match="unknown encoder 'bert'"):
        make_encoder("bert")


def test_importing_the_assistant_does_not_load_torch() -> None:
    code = "import sys, finai.assist; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_minilm_offline_embeddings_and_an_auto_model() -> None:
    """The one heavy test: loads the bundled MiniLM (offline) and trains on 60 texts."""
    vectors = embed(["Where is my new card?", "My card has not arrived yet", "Is it sunny?"])
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert vectors.shape == (3, encoders.EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
    assert encoders.sentence_model() is encoders.sentence_model()
    assert np.array_equal(embed(["Is it sunny?"])[0], vectors[2])  # from the cache
    assert len(pickle.dumps(MiniLMEncoder())) < 200  # the weights never travel

    groups = {
        "card_arrival": ["where is my card", "my card has not arrived", "card still not here"],
        "exchange_rate": ["what is the exchange rate", "euro to dollar rate", "fx rate today"],
        "change_pin": ["how do i change my pin", "new pin please", "reset my pin number"],
        "top_up": ["top up my account", "add money to my wallet", "how to top up"],
    }
    texts = [t + suffix for ts in groups.values() for t in ts for suffix in ("", "?", " now")]
    labels = [g for g, ts in groups.items() for t in ts for _ in range(3)]
    result = train(texts, labels, encoder="auto", seed=1)
    assert set(result.candidates) == {"tfidf", "minilm", "tfidf+minilm"}
    assert result.model.encoder in result.candidates
    assert result.candidates[result.model.encoder] == max(result.candidates.values())
    assert "validation_accuracy_tfidf_minilm" in result.metrics
    restored = pickle.loads(pickle.dumps(result.model))
    assert restored.predict(["has my card arrived"])[0].top[0][0] == "card_arrival"
