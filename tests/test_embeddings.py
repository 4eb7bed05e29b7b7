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


def test_a_cli_command_that_embeds_loads_the_homes_model_in_another_thread(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from pathlib import Path

    from zettelmem.backends import embeddings
    from zettelmem.cli.kit import _warm_embedder

    home = Path(str(tmp_path)) / "home"
    monkeypatch.setenv("MEM_EMBEDDER", "hashing:48")
    loads: list[tuple[str, str]] = []

    class Lazy:
        def __init__(self, spec: str) -> None:
            self.spec = spec

        def _load(self) -> None:
            loads.append((self.spec, threading.current_thread().name))
            if len(loads) > 1:
                raise RuntimeError("a model that fails to load")

    monkeypatch.setattr(embeddings, "get_embedder", Lazy)
    for _ in range(2):  # the second load fails: the thread keeps that to itself
        _warm_embedder(str(home))
        for thread in threading.enumerate():
            if thread.name == "zettelmem-warm":
                thread.join(timeout=10)
    assert loads == [("hashing:48", "zettelmem-warm")] * 2


def test_the_prepared_model_is_named_by_its_content_not_its_path(tmp_path) -> None:
    """Every install of the same wheel (another venv, a pipx tool) finds one prepared copy."""
    from zettelmem.backends.embeddings import _model_digest

    data = bytes(range(256)) * 1024  # 256 KiB: head and tail both read
    first, second = tmp_path / "a" / "model.onnx", tmp_path / "b" / "model.onnx"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(data)
    assert _model_digest(first) == _model_digest(second)
    second.write_bytes(data[:-1] + b"\x00")  # other weights at the end: another model
    assert _model_digest(first) != _model_digest(second)
