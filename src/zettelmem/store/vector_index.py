"""The vector index: receives vectors by label and scope, answers nearest-neighbour queries
(cosine), filtered by scope and by a small set of excluded labels natively.

One hnswlib graph holds every vector (the only copy on disk). Beside it, per
scope, a contiguous block of the same vectors answers exactly (one matrix
product) whenever the candidates number at most EXACT_LIMIT; up to that size a
rebuilt index therefore answers exactly as the old one did. Blocks are built
from the graph on first use, so a process that only searches a large store
never copies its vectors. Above EXACT_LIMIT the graph answers; a scope or
exclusion is applied to its results in numpy (asking the graph for as many
more as the filter is expected to drop), never by a Python call per candidate.

A loaded index reads its saved graph in place (memory-mapped) and answers its first
search by one exact scan of the vectors there; the graph itself is loaded when a second
search or a write needs it. A process that asks once (`mem recall`) never pays the load:
at 100,000 notes the scan costs about 60 ms where the load costs about 200 ms, and it
runs outside the interpreter (in the thread that embeds the query) while the load holds it.
Writes made before the graph is loaded wait beside it (their vectors in memory, searched
with the file's) and go into the graph when it loads: a process that writes one note and
searches once (`mem remember`) never loads the graph either, and it need not save it on
closing, since the record keeps each vector and the next process replays what the file
lacks (derived.py).
"""

from __future__ import annotations

import functools
import math
import mmap
import os
import struct
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import hnswlib
import numpy as np

# Up to this many candidates the exact scan is used (it is cheap and has no
# recall loss); above it, the HNSW graph.
EXACT_LIMIT = 20_000
# Inner product on vectors normalised here: cosine, and the graph keeps each vector
# exactly as given (its cosine space would normalise it again, changing the last
# bits), so the exact blocks built from the graph hold the very vectors written.
SPACE = "ip"
# Extra results asked of the graph beyond those a filter is expected to keep
# (1.5: a quarter-of-the-store scope at 100k notes needed a second query for 1
# in 6 searches at 1.25).
FETCH_MARGIN = 1.5
# hnswlib's get_items costs about 50 us a vector (1.1 s for a 20k-note scope, paid by
# every fresh process on its first exact search); a copy of the graph's whole level-0
# store through its pickling state costs about 1.7 us per vector in the graph (36 ms
# at 20k, 156 ms at 100k; measured on this 2-core machine). So the copy is taken
# whenever more than a thirtieth of the graph is wanted: the cheaper of two measured
# costs, not a tuned value.
WHOLE_COPY_SHARE = 1 / 30
_NO_LABELS = np.zeros(0, dtype=np.int64)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, vectors.shape[-1])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = vectors / norms
    return out


class _Block:
    """One scope's live vectors in contiguous rows (label -> row kept by the index)."""

    def __init__(self, dims: int, capacity: int = 256) -> None:
        self.matrix = np.zeros((capacity, dims), dtype=np.float32)
        self.labels = np.zeros(capacity, dtype=np.int64)
        self.count = 0

    def append(self, label: int, vector: np.ndarray) -> int:
        if self.count >= len(self.labels):
            grow = max(256, len(self.labels))
            self.matrix = np.vstack([self.matrix, np.zeros((grow, self.matrix.shape[1]),
                                                           np.float32)])  # fmt: skip
            self.labels = np.concatenate([self.labels, np.zeros(grow, np.int64)])
        row = self.count
        self.matrix[row], self.labels[row] = vector, label
        self.count += 1
        return row

    def drop(self, row: int) -> int | None:
        """Remove a row (the last one moves into it); returns the moved label, if any."""
        last = self.count - 1
        moved = None
        if row != last:
            moved = int(self.labels[last])
            self.matrix[row], self.labels[row] = self.matrix[last], moved
        self.matrix[last] = 0.0
        self.count = last
        return moved


# hnswlib's saved graph begins with this header (its field order, little-endian):
# level-0 offset, max elements, element count, bytes per element, label offset, vector
# offset, max level, entry point, maxM, maxM0, M, mult, ef_construction. The elements
# follow, each one its level-0 links, its vector and its label.
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")


class _UnknownLayout(ValueError):
    """A graph file whose header this code does not read (it is loaded instead)."""


class _Mapped:
    """A saved graph's vectors and labels read in place, without loading the graph.

    The file stays open, so the graph loaded later (``source``) is the one mapped here
    even if another process has saved a newer file under the same name since.
    """

    def __init__(self, path: Path, dims: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self.fd)
        with open(self.fd, "rb", closefd=False) as f:
            head = f.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise ValueError("graph file is truncated")
        level0, _, count, size, label_at, vector_at, *_ = _HEADER.unpack(head)
        if level0 != 0 or label_at + 8 > size or size % 4 or vector_at % 4 or label_at < vector_at:
            raise _UnknownLayout("graph file has an unknown layout")
        found = (label_at - vector_at) // 4
        if found != dims:
            raise ValueError(f"graph has {found} dimensions, expected {dims}")
        if _HEADER.size + count * size > os.fstat(self.fd).st_size:
            raise ValueError("graph file is truncated")
        self.vectors = np.zeros((0, dims), dtype=np.float32)
        self._labels = np.zeros(0, dtype="<u8")
        if count:  # nothing is read yet: the pages come in on the first search
            raw = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)
            start = _HEADER.size
            self.vectors = np.ndarray((count, dims), "<f4", raw, start + vector_at, (size, 4))
            self._labels = np.ndarray((count,), "<u8", raw, start + label_at, (size,))

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """Each stored element's label, in the file's order."""
        return self._labels.astype(np.int64)

    @property
    def source(self) -> str | None:
        """A path that opens this very file, where the system has one."""
        for folder in ("/proc/self/fd", "/dev/fd"):
            candidate = f"{folder}/{self.fd}"
            if os.path.exists(candidate):
                return candidate
        return None

    def close(self) -> None:
        self._closer()


def _mapped_or_none(path: Path, dims: int) -> _Mapped | None:
    """The saved graph read in place, or None where its header is not the layout this
    code knows (another hnswlib version): then the graph is loaded as before."""
    try:
        return _Mapped(path, dims)
    except _UnknownLayout:
        return None


class VectorIndex:
    """Live vectors in an HNSW graph plus per-scope exact blocks; saved as two files."""

    def __init__(self, dims: int, capacity: int = 1024) -> None:
        self.dims = dims
        self._path = ""  # where a saved graph not loaded yet is read from
        self._mapped: _Mapped | None = None  # that graph, read in place
        self._scanned = False  # its one exact scan is spent
        # Writes waiting for the graph to load: label -> its unit vector, or None when
        # the label was deleted (folded into the graph by _load_graph).
        self._pending: dict[int, np.ndarray | None] = {}
        self._hnsw: hnswlib.Index | None = hnswlib.Index(space=SPACE, dim=dims)
        self._hnsw.init_index(max_elements=capacity, ef_construction=200, M=16)
        self._names: list[str] = []  # scope code -> scope
        self._codes: dict[str, int] = {}
        self._code = np.full(capacity + 1, -1, dtype=np.int32)  # by label; -1: absent
        self._row = np.full(capacity + 1, -1, dtype=np.int32)  # by label, in its block
        self._sizes: list[int] = []  # live labels per scope code
        self._blocks: dict[int, _Block] = {}  # built on first exact search

    def __len__(self) -> int:
        return sum(self._sizes)

    @property
    def labels(self) -> set[int]:
        return {int(x) for x in np.flatnonzero(self._code >= 0)}

    def scopes(self) -> list[str]:
        """The scopes holding at least one live vector."""
        return [name for code, name in enumerate(self._names) if self._sizes[code]]

    def count(self, scope: str | None = None) -> int:
        if scope is None:
            return len(self)
        code = self._codes.get(scope)
        return 0 if code is None else self._sizes[code]

    # -- persistence --------------------------------------------------------

    @staticmethod
    def labels_path(path: Path) -> Path:
        return path.with_name(path.name + ".npz")

    def save(self, path: Path) -> None:
        """Write the graph, then its labels with their scopes (each file atomically)."""
        tmp = path.with_name(path.name + ".tmp")
        self._graph.save_index(str(tmp))
        os.replace(tmp, path)
        live = np.flatnonzero(self._code >= 0)
        labels_tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(labels_tmp, labels=live, codes=self._code[live],
                 scopes=np.array(self._names, dtype=str))  # fmt: skip
        os.replace(labels_tmp, self.labels_path(path))

    @classmethod
    def load(cls, path: Path, dims: int) -> VectorIndex:
        """Load a saved index; raises OSError/RuntimeError/ValueError when it is unusable."""
        try:
            with np.load(cls.labels_path(path)) as saved:
                labels = saved["labels"].astype(np.int64)
                codes = saved["codes"].astype(np.int32)
                names = [str(x) for x in saved["scopes"]]
        except KeyError as exc:
            raise ValueError(f"labels file lacks {exc}") from None
        if labels.shape != codes.shape or (len(codes) and codes.max() >= len(names)):
            raise ValueError("labels file is inconsistent")
        self = cls.__new__(cls)
        self.dims = dims
        self._hnsw, self._scanned, self._pending = None, False, {}
        self._mapped = _mapped_or_none(path, dims)
        self._path = (self._mapped.source if self._mapped else None) or str(path)
        top = int(labels.max()) if len(labels) else 0
        self._names, self._codes = names, {name: i for i, name in enumerate(names)}
        self._code = np.full(max(1024, 2 * top) + 1, -1, dtype=np.int32)
        self._code[labels] = codes
        self._row = np.full(len(self._code), -1, dtype=np.int32)
        self._sizes = np.bincount(codes, minlength=len(names)).tolist()
        self._blocks = {}
        if self._mapped is None or self._mapped.source is None:
            self._load_graph()  # the mapped file could not be reopened later: load it now
        return self

    @property
    def _graph(self) -> hnswlib.Index:
        """The HNSW graph, loaded from the saved file on first use."""
        return self._load_graph()

    def _load_graph(self) -> hnswlib.Index:
        if self._hnsw is None:
            graph = hnswlib.Index(space=SPACE, dim=self.dims)
            graph.load_index(str(self._path), max_elements=0)
            if graph.dim != self.dims:
                raise ValueError(f"graph has {graph.dim} dimensions, expected {self.dims}")
            self._hnsw = graph
            if self._mapped is not None:
                self._mapped.close()
                self._mapped = None
            self._fold_pending(graph)
        return self._hnsw

    def _fold_pending(self, graph: hnswlib.Index) -> None:
        """Put the writes made before the graph loaded into it (deletes overwrite the
        saved vector first, as ``delete`` does)."""
        pending, self._pending = self._pending, {}
        gone = [label for label, vector in pending.items() if vector is None]
        kept = [label for label, vector in pending.items() if vector is not None]
        needed = graph.get_current_count() + len(pending)
        if needed > graph.get_max_elements():
            graph.resize_index(max(needed, 2 * graph.get_max_elements()))
        _erase(graph, [label for label in gone if _holds(graph, label)], self.dims)
        if kept:
            vectors = np.stack([pending[label] for label in kept])  # type: ignore[misc]
            graph.add_items(vectors, np.asarray(kept, dtype=np.int64))

    # -- writes -------------------------------------------------------------

    def upsert(self, labels: Sequence[int], vectors: np.ndarray, scopes: Sequence[str]) -> None:
        """Add or replace vectors; ``scopes[i]`` is the scope of ``labels[i]`` (immutable)."""
        if not len(labels):
            return
        unit = _unit(vectors)
        if self._hnsw is None:
            self._upsert_pending(labels, unit, scopes)
            return
        # add_items revives a deleted label by itself and overwrites a present one.
        needed = self._graph.get_current_count() + len(labels)
        if needed > self._graph.get_max_elements():
            self._graph.resize_index(max(needed, 2 * self._graph.get_max_elements()))
        keys = np.asarray(labels, dtype=np.int64)
        self._graph.add_items(unit, keys)
        self._reserve(int(keys.max()))
        # The blocks hold the graph's own copy, so a loaded index answers like this one.
        stored = self._graph.get_items(keys) if self._blocks else None
        for i, (label, scope) in enumerate(zip(keys.tolist(), scopes)):
            code = self._place(label, scope)
            block = self._blocks.get(code)
            if block is not None and stored is not None:
                row = int(self._row[label])
                if row < 0:
                    self._row[label] = block.append(label, stored[i])
                else:
                    block.matrix[row] = stored[i]

    def _upsert_pending(
        self, labels: Sequence[int], unit: np.ndarray, scopes: Sequence[str]
    ) -> None:
        """An upsert while the graph is not loaded: kept beside it (no block exists yet)."""
        keys = np.asarray(labels, dtype=np.int64)
        self._reserve(int(keys.max()))
        for i, (label, scope) in enumerate(zip(keys.tolist(), scopes)):
            self._place(label, scope)
            self._pending[label] = unit[i].copy()

    def _place(self, label: int, scope: str) -> int:
        """Count a written label live in its scope (moved out of another); its scope code."""
        code = self._code_for(scope)
        if self._code[label] >= 0 and self._code[label] != code:
            self._forget_row(label)
        if self._code[label] < 0:
            self._sizes[code] += 1
        self._code[label] = code
        return code

    def _code_for(self, scope: str) -> int:
        code = self._codes.get(scope)
        if code is None:
            code = self._codes[scope] = len(self._names)
            self._names.append(scope)
            self._sizes.append(0)
        return code

    def _reserve(self, top: int) -> None:
        if top >= len(self._code):
            grow = max(top + 1, 2 * len(self._code)) - len(self._code)
            self._code = np.concatenate([self._code, np.full(grow, -1, np.int32)])
            self._row = np.concatenate([self._row, np.full(grow, -1, np.int32)])

    def _forget_row(self, label: int) -> None:
        """Take a live label out of its scope's count and block."""
        code = int(self._code[label])
        self._sizes[code] -= 1
        self._code[label] = -1
        block, row = self._blocks.get(code), int(self._row[label])
        self._row[label] = -1
        if block is not None and row >= 0:
            moved = block.drop(row)
            if moved is not None:
                self._row[moved] = row

    def delete(self, labels: Sequence[int]) -> None:
        """Remove labels; their vectors are overwritten first so no copy lingers on disk."""
        gone = [label for label in labels if self._live(label) or self._in_graph(label)]
        if not gone:
            return
        if self._hnsw is None:
            self._pending.update(dict.fromkeys(gone))  # erased when the graph loads
        else:
            _erase(self._graph, gone, self.dims)
        for label in gone:
            if self._live(label):
                self._forget_row(label)

    def _live(self, label: int) -> bool:
        return 0 <= label < len(self._code) and bool(self._code[label] >= 0)

    def _in_graph(self, label: int) -> bool:
        """Whether the graph (or the file it is loaded from, or a write waiting for it)
        holds a vector for this label, live or not."""
        if self._hnsw is None:
            if self._pending.get(label) is not None:
                return True
            mapped = self._mapped
            if mapped is not None:
                return bool((mapped.labels == label).any())
        return _holds(self._graph, label)

    # -- reads --------------------------------------------------------------

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[int] | None = None,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
        scopes: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        """(label, cosine similarity) pairs, best first.

        Restricted to ``scope`` and to ``scopes`` (when given), minus the labels in
        ``exclude`` (a small set: the notes a status hides), and to ``allowed`` when
        given (an explicit label set, for filters the index does not hold).
        """
        q = _unit(np.asarray(query))[0]
        want = self._wanted(scope, scopes)
        if want is not None and not len(want):
            return []
        excluded = self._excluded(exclude, want)
        mapped = self._mapped
        if mapped is not None and not self._scanned:
            # The first search of a loaded index: one exact scan of the saved file. The
            # graph is loaded by the next one (and by any write, which drops the map).
            self._scanned = True
            fresh = self._fresh_labels()
            live = self._mapped_live(mapped, fresh)
            if int(live.sum()) + len(fresh) == len(self):  # the file agrees with the labels
                return self._scan_mapped(mapped, live, fresh, q, k, want, excluded, allowed)
            self._load_graph()  # its labels disagree with the labels file: the graph as it lies
        if allowed is not None:
            wanted = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
            wanted = wanted[self._passes(wanted, want, excluded)]
            return self._among(q, min(k, len(wanted)), wanted)
        count = self._count(want) - len(excluded)
        k = min(k, count)
        if k <= 0:
            return []
        if count <= EXACT_LIMIT:
            return self._exact(q, k, want, excluded)
        return self._approximate(q, k, count, want, excluded)

    def search_many(
        self,
        queries: np.ndarray,
        k: int,
        scope: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> list[list[tuple[int, float]]]:
        """``search`` for each row of ``queries`` (one scope, the same exclusions).

        Where the scope is small enough for the exact scan, every query is compared in
        one matrix product: a bulk import's neighbour look-ups then read each scope's
        vectors once a batch instead of once a note (20,000 notes: 4.2 ms a query alone,
        0.4 ms in a batch of 128).
        """
        rows = _unit(np.asarray(queries))
        if len(rows) == 1:
            return [self.search(rows[0], k, scope=scope, exclude=exclude)]
        # A batch's neighbours (a bulk import, which loads the graph to write anyway): no
        # scan of the saved file first.
        self._scanned = True
        want = self._wanted(scope, None)
        if want is not None and not len(want):
            return [[] for _ in rows]
        excluded = self._excluded(exclude, want)
        count = self._count(want) - len(excluded)
        k = min(k, count)
        if k <= 0 or not len(rows):
            return [[] for _ in rows]
        if count > EXACT_LIMIT:
            return [self.search(q, k, scope=scope, exclude=exclude) for q in rows]
        scanned = self._scan(rows.T, want, excluded)
        if scanned is None:
            return [[] for _ in rows]
        sims, labels = scanned
        return [
            _settle(np.ascontiguousarray(sims[:, i]), labels, k, row, self._block_vectors)
            for i, row in enumerate(rows)
        ]

    def _scan_mapped(
        self,
        mapped: _Mapped,
        live: np.ndarray,
        fresh: np.ndarray,
        q: np.ndarray,
        k: int,
        want: np.ndarray | None,
        excluded: np.ndarray,
        allowed: set[int] | None,
    ) -> list[tuple[int, float]]:
        """Exact search over a saved graph's vectors in place (its ``live`` rows that pass,
        and the ``fresh`` labels written since, from their pending vectors)."""
        labels = mapped.labels
        ok = live
        if want is not None or len(excluded):
            ok = live & self._passes(labels, want, excluded)
            fresh = fresh[self._passes(fresh, want, excluded)]
        if allowed is not None:
            wanted = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
            ok = ok & np.isin(labels, wanted)
            fresh = fresh[np.isin(fresh, wanted)]
        rows = np.flatnonzero(ok)
        sims, found = (mapped.vectors @ q)[rows], labels[rows]
        pending = np.zeros((0, self.dims), dtype=np.float32)
        if len(fresh):
            pending = np.stack([self._pending[int(x)] for x in fresh])  # type: ignore[misc]
            sims, found = np.concatenate([sims, pending @ q]), np.concatenate([found, fresh])

        def vectors(at: np.ndarray) -> np.ndarray:
            inside = at < len(rows)
            out = np.empty((len(at), self.dims), dtype=np.float32)
            out[inside] = mapped.vectors[rows[at[inside]]]
            out[~inside] = pending[at[~inside] - len(rows)]
            return out

        return _settle(sims, found, k, q, vectors, by_position=True)

    def _fresh_labels(self) -> np.ndarray:
        """The labels written since the graph file was mapped (their vectors pending)."""
        fresh = [label for label, vector in self._pending.items() if vector is not None]
        return np.asarray(fresh, dtype=np.int64)

    def _mapped_live(self, mapped: _Mapped, fresh: np.ndarray) -> np.ndarray:
        """Which rows of the mapped file hold a live label not written since. With the
        ``fresh`` labels they must number every live label for the file to agree with the
        labels file (then scanning it answers as the graph would)."""
        labels = mapped.labels
        live = self._passes(labels, None, _NO_LABELS)
        if len(fresh):
            live &= ~np.isin(labels, fresh)
        return live

    def _wanted(self, scope: str | None, scopes: Sequence[str] | None) -> np.ndarray | None:
        """The scope codes searched (None: every scope); unknown scopes hold nothing."""
        if scope is None and scopes is None:
            return None
        names = [n for n in (scopes if scopes is not None else [scope]) if n in self._codes]
        if scope is not None:
            names = [n for n in names if n == scope]
        return np.array(sorted(self._codes[n] for n in names), dtype=np.int32)

    def _count(self, want: np.ndarray | None) -> int:
        return len(self) if want is None else sum(self._sizes[int(c)] for c in want)

    def _excluded(self, exclude: set[int] | frozenset[int], want: np.ndarray | None) -> np.ndarray:
        """The live labels of ``exclude`` in the scopes searched."""
        if not exclude:
            return _NO_LABELS
        labels = np.fromiter(exclude, dtype=np.int64, count=len(exclude))
        labels = labels[(labels >= 0) & (labels < len(self._code))]
        codes = self._code[labels]
        keep = codes >= 0 if want is None else np.isin(codes, want)
        return np.sort(labels[keep])

    def _passes(
        self, labels: np.ndarray, want: np.ndarray | None, excluded: np.ndarray
    ) -> np.ndarray:
        """Which of these labels are live, in the scopes and not excluded (vectorised)."""
        inside = (labels >= 0) & (labels < len(self._code))
        codes = np.full(len(labels), -1, dtype=np.int32)
        codes[inside] = self._code[labels[inside]]
        ok = codes >= 0 if want is None else np.isin(codes, want)
        if len(excluded):
            ok &= ~np.isin(labels, excluded)
        return ok

    def _block(self, code: int) -> _Block:
        """The scope's exact block, built from the graph's vectors on first use."""
        block = self._blocks.get(code)
        if block is None:
            labels = np.flatnonzero(self._code == code)
            block = _Block(self.dims, max(256, len(labels)))
            if len(labels):
                block.matrix[: len(labels)] = self.stored_vectors(labels)
                block.labels[: len(labels)] = labels
                block.count = len(labels)
                self._row[labels] = np.arange(len(labels), dtype=np.int32)
            self._blocks[code] = block
        return block

    def _exact(
        self, q: np.ndarray, k: int, want: np.ndarray | None, excluded: np.ndarray
    ) -> list[tuple[int, float]]:
        scanned = self._scan(q, want, excluded)
        return [] if scanned is None else _settle(*scanned, k, q, self._block_vectors)

    def _block_vectors(self, labels: np.ndarray) -> np.ndarray:
        """The exact blocks' rows of these live labels."""
        out = np.empty((len(labels), self.dims), dtype=np.float32)
        for i, label in enumerate(labels.tolist()):
            out[i] = self._blocks[int(self._code[label])].matrix[int(self._row[label])]
        return out

    def _scan(
        self, q: np.ndarray, want: np.ndarray | None, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Similarities of every live vector of the scopes wanted to ``q`` (one query, or
        one per column), one row per vector, and their labels; None when there are none."""
        codes = [int(c) for c in want] if want is not None else range(len(self._names))
        sims_parts, label_parts = [], []
        for code in codes:
            if not self._sizes[code]:
                continue
            block = self._block(code)
            sims_parts.append(block.matrix[: block.count] @ q)  # a view: no copy
            label_parts.append(block.labels[: block.count])
        if not sims_parts:
            return None
        sims, labels = np.concatenate(sims_parts), np.concatenate(label_parts)
        if len(excluded):
            keep = ~np.isin(labels, excluded)
            sims, labels = sims[keep], labels[keep]
        return sims, labels

    def _among(self, q: np.ndarray, k: int, wanted: np.ndarray) -> list[tuple[int, float]]:
        """Search an explicit set of live labels."""
        if k <= 0:
            return []
        if len(wanted) <= EXACT_LIMIT:
            matrix = self.stored_vectors(wanted)
            return _settle(matrix @ q, wanted, k, q, lambda at: matrix[at], by_position=True)
        mask = np.zeros(len(self._code), dtype=bool)
        mask[wanted] = True
        return self._filtered(q, k, len(wanted), lambda labels: mask[labels])

    def _approximate(
        self, q: np.ndarray, k: int, count: int, want: np.ndarray | None, excluded: np.ndarray
    ) -> list[tuple[int, float]]:
        return self._filtered(q, k, count, lambda labels: self._passes(labels, want, excluded))

    def _filtered(
        self, q: np.ndarray, k: int, count: int, passes: Callable[[np.ndarray], np.ndarray]
    ) -> list[tuple[int, float]]:
        """The graph's nearest, kept where ``passes`` says, asking for more until k pass."""
        total = max(1, len(self))
        fraction = min(1.0, count / total)
        if count == total:
            fetch, ef = k, max(100, 2 * k)
        else:
            # The graph is searched unfiltered: ef need only cover the results fetched
            # (a filtered walk needed ef accepted nodes, max(100, 2k) / fraction).
            fetch = min(total, math.ceil(k / fraction * FETCH_MARGIN))
            ef = min(2000, max(100, math.ceil(1.5 * fetch)))
        while True:
            self._graph.set_ef(max(ef, fetch))
            try:
                labels, distances = self._graph.knn_query(q.reshape(1, -1), k=fetch)
            except RuntimeError:
                break  # hnswlib cannot always walk to k results (deleted nodes)
            found = labels[0].astype(np.int64)
            keep = passes(found)
            if int(keep.sum()) >= k or fetch >= total:
                sims = 1.0 - distances[0][keep].astype(np.float64)
                return _top(sims, found[keep], k)
            fetch = min(total, 2 * fetch)
        every = np.flatnonzero(self._code >= 0)
        every = every[passes(every)]
        return _top(self.stored_vectors(every) @ q, every, k)

    def stored_vectors(self, labels: np.ndarray, whole: bool | None = None) -> np.ndarray:
        """The graph's own copy of these live labels' vectors (float32, one row each).

        ``whole``: read them out of a copy of the graph's whole store (True) or one by
        one (False); by default whichever is cheaper (see WHOLE_COPY_SHARE).
        """
        labels = np.asarray(labels, dtype=np.int64)
        total = self._graph.get_current_count()
        if whole is None:
            whole = len(labels) > WHOLE_COPY_SHARE * total
        if not whole or not len(labels):
            return np.asarray(self._graph.get_items(labels), dtype=np.float32).reshape(
                len(labels), self.dims
            )
        state = self._graph.__getstate__()[0]
        size, count = int(state["size_data_per_element"]), int(state["cur_element_count"])
        rows = state["data_level0"].view(np.uint8)[: count * size].reshape(count, size)
        start, at = int(state["offset_data"]), int(state["label_offset"])
        # Each element's row: its level-0 links, its vector, then its label (uint64).
        owners = np.ascontiguousarray(rows[:, at : at + 8]).view("<u8").ravel().astype(np.int64)
        position = np.full(int(owners.max()) + 1, -1, dtype=np.int64)
        position[owners] = np.arange(count)
        known = (labels >= 0) & (labels < len(position))
        where = np.where(known, position[np.where(known, labels, 0)], -1)
        if (where < 0).any():
            raise KeyError("a label the graph does not hold")
        picked = np.ascontiguousarray(rows[where, start : start + 4 * self.dims])
        return picked.view("<f4").reshape(len(labels), self.dims).astype(np.float32)


def _erase(graph: hnswlib.Index, labels: Sequence[int], dims: int) -> None:
    """Overwrite these labels' vectors with noise, then mark them deleted: no copy of a
    deleted vector stays in the graph or in a file saved from it."""
    if labels:
        noise = _unit(np.random.default_rng().standard_normal((len(labels), dims)))
        graph.add_items(noise, np.asarray(labels, dtype=np.int64))
        for label in labels:
            graph.mark_deleted(label)


def _holds(graph: hnswlib.Index, label: int) -> bool:
    """Whether the graph holds a vector for this label (deleted or not)."""
    try:
        graph.get_items([label])
    except RuntimeError:
        return False
    return True


# The float32 products of an exact scan round differently with the rows' layout (a row
# read from the saved file, from a block, or waiting for the graph): a few units in the
# last place, enough to reorder equal vectors. The candidates within this of the k-th
# best (far above that error: 384 products of unit vectors round to within about 2e-5)
# are scored again in float64, so equal vectors score equally whatever layout they
# were read from and ties break by label.
SETTLE_MARGIN = 1e-4


def _settle(
    sims: np.ndarray,
    labels: np.ndarray,
    k: int,
    q: np.ndarray,
    vectors: Callable[[np.ndarray], np.ndarray],
    by_position: bool = False,
) -> list[tuple[int, float]]:
    """The k best of an exact scan, the candidates near the cut scored again in float64
    (``vectors`` gives their rows, by label, or by position when ``by_position``)."""
    k = min(k, len(sims))
    if k <= 0:
        return []
    cut = float(np.partition(sims, len(sims) - k)[len(sims) - k])
    near = np.flatnonzero(sims >= cut - SETTLE_MARGIN)
    rows = vectors(near if by_position else labels[near])
    exact = (rows.astype(np.float64) @ q.astype(np.float64)).astype(np.float32)
    return _top(exact, labels[near], k)


def _top(sims: np.ndarray, labels: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (label, similarity); ties break by label so equal indexes answer equally."""
    k = min(k, len(sims))
    if k <= 0:
        return []
    if k < len(sims):
        # Ties at the cut go to the lowest labels too, not to whichever an arbitrary
        # partition left in: a rebuilt index holds the same rows in another order.
        cut = np.partition(sims, len(sims) - k)[len(sims) - k]
        above = np.flatnonzero(sims > cut)
        tied = np.flatnonzero(sims == cut)
        tied = tied[np.argsort(labels[tied], kind="stable")[: k - len(above)]]
        top = np.concatenate([above, tied])
    else:
        top = np.arange(len(sims))
    order = sorted(top.tolist(), key=lambda i: (-float(sims[i]), int(labels[i])))
    return [(int(labels[i]), float(sims[i])) for i in order]
