"""Embedders: the shipped hashing fake and the embedded MiniLM model (real inference)."""

from __future__ import annotations

import numpy as np
import pytest

from zettelmem.backends.embeddings import HashingEmbedder, get_embedder, identity
from zettelmem.errors import ConfigError


def test_hashing_is_deterministic_normalised_and_word_sensitive() -> None:
    emb = HashingEmbedder(256)
    a, b, c = emb.embed(["the red fox jumps", "the red fox jumps", "quantum tax forms"])
    assert np.allclose(a, b)
    assert abs(np.linalg.norm(a) - 1.0) < 1e-5
    assert float(a @ c) < float(a @ b)
    assert identity(emb) == "hashing:256"


@pytest.mark.parametrize("spec", ["nonsense", "hashing:abc", "hashing:2", "onnx:/no/such/dir"])
def test_bad_embedder_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        get_embedder(spec)


def test_default_embedder_is_a_real_sentence_model() -> None:
    emb = get_embedder("minilm")
    assert emb.dims == 384 and identity(emb).startswith("all-MiniLM-L6-v2")
    vectors = emb.embed(
        [
            "My dog loves chasing the ball in the park.",
            "The puppy enjoys playing fetch outdoors.",
            "Quarterly tax filings are due next month.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    # Paraphrases with no content word in common must be closer than an unrelated text.
    assert similar > 0.4 and similar > unrelated + 0.3
    # Batched and single embedding agree (padding must not leak into the pooled vector).
    single = emb.embed(["The puppy enjoys playing fetch outdoors."])[0]
    assert np.allclose(single, vectors[1], atol=1e-4)


def test_default_embedder_is_loaded_once_per_process() -> None:
    assert get_embedder("minilm") is get_embedder("minilm")
