"""The vector index: receives vectors by label, answers nearest-neighbour queries (cosine).

Two structures over the same vectors: a contiguous matrix answers exactly
(one matrix product: about a millisecond at 10,000 notes), and an hnswlib
graph answers approximately once the candidates outnumber EXACT_LIMIT. Up to
that size a rebuilt index therefore answers exactly as the old one did.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

# Up to this many candidates the exact scan is used (it is cheap and has no
# recall loss); above it, the HNSW graph.
EXACT_LIMIT = 20_000


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, vectors.shape[-1])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = vectors / norms
    return out


class VectorIndex:
    """Live vectors in a matrix (label -> row) plus an HNSW graph; saved as two files."""

    def __init__(self, dims: int, capacity: int = 1024) -> None:
        self.dims = dims
        self._graph = hnswlib.Index(space="cosine", dim=dims)
        self._graph.init_index(max_elements=capacity, ef_construction=200, M=16)
        self._matrix = np.zeros((capacity, dims), dtype=np.float32)
        self._labels = np.zeros(capacity, dtype=np.int64)
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._row)

    @property
    def labels(self) -> set[int]:
        return set(self._row)

    # -- persistence --------------------------------------------------------

    @staticmethod
    def matrix_path(path: Path) -> Path:
        return path.with_name(path.name + ".npz")

    def save(self, path: Path) -> None:
        """Write the graph, then the matrix with its labels (each file atomically)."""
        tmp = path.with_name(path.name + ".tmp")
        self._graph.save_index(str(tmp))
        os.replace(tmp, path)
        n = len(self._row)
        matrix_tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(matrix_tmp, labels=self._labels[:n], matrix=self._matrix[:n])
        os.replace(matrix_tmp, self.matrix_path(path))

    @classmethod
    def load(cls, path: Path, dims: int) -> VectorIndex:
        """Load a saved index; raises OSError/RuntimeError/ValueError when it is unusable."""
        with np.load(cls.matrix_path(path)) as saved:
            labels, matrix = saved["labels"].astype(np.int64), saved["matrix"]
        if matrix.ndim != 2 or matrix.shape != (len(labels), dims):
            raise ValueError(f"matrix has shape {matrix.shape}, expected ({len(labels)}, {dims})")
        self = cls.__new__(cls)
        self.dims = dims
        self._graph = hnswlib.Index(space="cosine", dim=dims)
        self._graph.load_index(str(path), max_elements=0)
        if self._graph.dim != dims:
            raise ValueError(f"graph has {self._graph.dim} dimensions, expected {dims}")
        capacity = max(1024, 2 * len(labels))
        self._matrix = np.zeros((capacity, dims), dtype=np.float32)
        self._matrix[: len(labels)] = matrix
        self._labels = np.zeros(capacity, dtype=np.int64)
        self._labels[: len(labels)] = labels
        self._row = {int(label): i for i, label in enumerate(labels)}
        return self

    # -- writes -------------------------------------------------------------

    def upsert(self, labels: Sequence[int], vectors: np.ndarray) -> None:
        if not len(labels):
            return
        unit = _unit(vectors)
        # add_items revives a deleted label by itself and overwrites a present one.
        needed = self._graph.get_current_count() + len(labels)
        if needed > self._graph.get_max_elements():
            self._graph.resize_index(max(needed, 2 * self._graph.get_max_elements()))
        self._graph.add_items(unit, np.asarray(labels))
        for label, vector in zip(labels, unit):
            row = self._row.get(int(label))
            if row is None:
                row = self._append_row(int(label))
            self._matrix[row] = vector

    def _append_row(self, label: int) -> int:
        row = len(self._row)
        if row >= len(self._labels):
            grow = max(1024, len(self._labels))
            self._matrix = np.vstack([self._matrix, np.zeros((grow, self.dims), np.float32)])
            self._labels = np.concatenate([self._labels, np.zeros(grow, np.int64)])
        self._labels[row] = label
        self._row[label] = row
        return row

    def delete(self, labels: Sequence[int]) -> None:
        """Remove labels; their vectors are overwritten first so no copy lingers on disk."""
        gone = [label for label in labels if label in self._row or self._in_graph(label)]
        if not gone:
            return
        noise = _unit(np.random.default_rng().standard_normal((len(gone), self.dims)))
        self._graph.add_items(noise, np.asarray(gone))
        for label in gone:
            self._graph.mark_deleted(label)
            self._drop_row(label)

    def _drop_row(self, label: int) -> None:
        row = self._row.pop(label, None)
        if row is None:
            return
        last = len(self._row)  # the row count before the pop, minus one
        if row != last:
            moved = int(self._labels[last])
            self._matrix[row] = self._matrix[last]
            self._labels[row] = moved
            self._row[moved] = row
        self._matrix[last] = 0.0

    def _in_graph(self, label: int) -> bool:
        try:
            self._graph.get_items([label])
        except RuntimeError:
            return False
        return True

    # -- reads --------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(label, cosine similarity) pairs, best first, restricted to ``allowed``."""
        q = _unit(np.asarray(query))[0]
        if allowed is None:
            rows = None
            count = len(self._row)
        else:
            rows = self._rows_of(allowed)
            count = len(rows)
        k = min(k, count)
        if k <= 0:
            return []
        if count <= EXACT_LIMIT:
            return self._exact(q, k, rows)
        return self._approximate(q, k, allowed, count)

    def _rows_of(self, allowed: set[int]) -> np.ndarray:
        """Matrix rows of the allowed labels (vectorised: scopes hold thousands of labels)."""
        wanted = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
        return np.flatnonzero(np.isin(self._labels[: len(self._row)], wanted))

    def _exact(self, q: np.ndarray, k: int, rows: np.ndarray | None) -> list[tuple[int, float]]:
        if rows is None:
            rows = np.arange(len(self._row))
            sims = self._matrix[: len(rows)] @ q  # a view: no copy of the matrix
        elif 4 * len(rows) >= len(self._row):
            # Most rows wanted: one product over the matrix (a view) beats copying them out.
            sims = (self._matrix[: len(self._row)] @ q)[rows]
        else:
            sims = self._matrix[rows] @ q
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        # Ties break by label so that equal indexes give equal answers.
        order = sorted(top, key=lambda i: (-float(sims[i]), int(self._labels[rows[i]])))
        return [(int(self._labels[rows[i]]), float(sims[i])) for i in order]

    def _approximate(
        self, q: np.ndarray, k: int, allowed: set[int] | None, count: int
    ) -> list[tuple[int, float]]:
        fraction = count / max(1, len(self._row))
        self._graph.set_ef(int(min(2000, max(100, 2 * k) / max(fraction, 0.05))))
        filt = None if allowed is None else allowed.__contains__
        try:
            labels, distances = self._graph.knn_query(q.reshape(1, -1), k=k, filter=filt)
        except RuntimeError:
            # hnswlib cannot always walk to k results (deleted nodes); the scan can.
            return self._exact(q, k, None if allowed is None else self._rows_of(allowed))
        return [(int(lab), 1.0 - float(dist)) for lab, dist in zip(labels[0], distances[0])]
