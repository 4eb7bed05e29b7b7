"""The vector index (hnswlib, cosine): receives vectors by label, answers nearest-neighbour queries."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

# Below this many candidates an exact scan beats a filtered graph search
# (exact, and no risk of the filter starving the graph walk).
EXACT_LIMIT = 4000


class VectorIndex:
    """An in-memory HNSW graph with the set of live labels; saved and loaded as files."""

    def __init__(self, dims: int, capacity: int = 1024) -> None:
        self.dims = dims
        self._index = hnswlib.Index(space="cosine", dim=dims)
        self._index.init_index(max_elements=capacity, ef_construction=200, M=16)
        self._live: set[int] = set()

    def __len__(self) -> int:
        return len(self._live)

    @property
    def labels(self) -> set[int]:
        return set(self._live)

    # -- persistence --------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the graph and the live labels next to each other, atomically each."""
        tmp = path.with_name(path.name + ".tmp")
        self._index.save_index(str(tmp))
        os.replace(tmp, path)
        live_tmp = path.with_name(path.name + ".labels.tmp.npy")
        np.save(live_tmp, np.fromiter(sorted(self._live), dtype=np.int64))
        os.replace(live_tmp, path.with_name(path.name + ".labels.npy"))

    @classmethod
    def load(cls, path: Path, dims: int) -> VectorIndex:
        """Load a saved index; raises OSError/RuntimeError/ValueError when it is unusable."""
        live = np.load(path.with_name(path.name + ".labels.npy"))
        self = cls.__new__(cls)
        self.dims = dims
        self._index = hnswlib.Index(space="cosine", dim=dims)
        self._index.load_index(str(path), max_elements=0)
        self._live = {int(x) for x in live}
        if self._index.dim != dims:
            raise ValueError(f"index has {self._index.dim} dimensions, expected {dims}")
        return self

    # -- writes -------------------------------------------------------------

    def upsert(self, labels: Sequence[int], vectors: np.ndarray) -> None:
        if not len(labels):
            return
        # add_items revives a deleted label by itself. A label that is present but not
        # live (labels file older than the graph after a crash between their saves) is
        # simply overwritten; unmark_deleted would raise on it.
        needed = self._index.get_current_count() + len(labels)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(np.asarray(vectors, dtype=np.float32), np.asarray(labels))
        self._live.update(int(label) for label in labels)

    def delete(self, labels: Sequence[int]) -> None:
        """Remove labels; their vectors are overwritten first so no copy lingers on disk."""
        gone = [label for label in labels if label in self._live or self._known(label)]
        if not gone:
            return
        noise = np.random.default_rng().standard_normal((len(gone), self.dims)).astype(np.float32)
        self._index.add_items(noise, np.asarray(gone))
        for label in gone:
            self._index.mark_deleted(label)
            self._live.discard(label)

    def _known(self, label: int) -> bool:
        try:
            self._index.get_items([label])
        except RuntimeError:
            return False
        return True

    # -- reads --------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(label, cosine similarity) pairs, best first, restricted to ``allowed``."""
        candidates = self._live if allowed is None else (allowed & self._live)
        k = min(k, len(candidates))
        if k <= 0:
            return []
        if allowed is not None and len(candidates) <= EXACT_LIMIT:
            return self._exact(query, k, candidates)
        fraction = len(candidates) / max(1, len(self._live))
        self._index.set_ef(int(min(2000, max(100, 2 * k) / max(fraction, 0.05))))
        filt = None if allowed is None else candidates.__contains__
        try:
            labels, distances = self._index.knn_query(
                np.asarray(query, dtype=np.float32).reshape(1, -1), k=k, filter=filt
            )
        except RuntimeError:
            # hnswlib cannot always walk to k results (k near the live count, deleted
            # nodes in the graph); the exact scan can.
            return self._exact(query, k, candidates)
        return [(int(lab), 1.0 - float(dist)) for lab, dist in zip(labels[0], distances[0])]

    def _exact(self, query: np.ndarray, k: int, candidates: set[int]) -> list[tuple[int, float]]:
        labels = np.fromiter(candidates, dtype=np.int64)
        matrix = np.asarray(self._index.get_items(labels, return_type="numpy"), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1)
        norms[norms == 0] = 1.0
        sims = (matrix @ np.asarray(query, dtype=np.float32)) / norms
        top = np.argsort(-sims)[:k]
        return [(int(labels[i]), float(sims[i])) for i in top]
