"""Queries the Zettelkasten's reflect step asks of the record (mixed into Records)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

_NODE_COLUMNS = "id, scope, status, content, tags, keywords"  # a graph node's


class InsightRecords:
    """Link-graph reads for reflect: related edges, an insight's sources, prior insights."""

    db: sqlite3.Connection

    def related_edges(self, scope: str | None, skip_source: str) -> list[tuple[str, str, float]]:
        """`related` links between active notes not written by ``skip_source``."""
        sql = (
            "SELECT l.src, l.dst, l.weight FROM links l JOIN notes a ON a.id=l.src "
            "JOIN notes b ON b.id=l.dst WHERE l.kind='related' AND a.status='active' "
            "AND b.status='active' AND a.source!=? AND b.source!=?"
        )
        order = " ORDER BY l.src, l.dst"
        args: list[object] = [skip_source, skip_source]
        if scope is not None:
            sql += " AND a.scope=? AND b.scope=?"
            args += [scope, scope]
        return [(str(s), str(d), float(w)) for s, d, w in self.db.execute(sql + order, args)]

    def derived_sources(self, insight_id: str) -> set[str]:
        rows = self.db.execute(
            "SELECT dst FROM links WHERE src=? AND kind='derived_from'", (insight_id,)
        ).fetchall()
        return {str(r[0]) for r in rows}

    def insight_sharing_most(
        self, scope: str, source: str, context_like: str, exact: bool, members: Sequence[str]
    ) -> tuple[str, int] | None:
        """The active insight (by source and context) derived from most of ``members``."""
        marks = ",".join("?" * len(members))
        row = self.db.execute(
            f"SELECT l.src, COUNT(*) c FROM links l JOIN notes n ON n.id=l.src "
            f"WHERE l.kind='derived_from' AND n.status='active' AND n.scope=? AND n.source=? "
            f"AND n.context {'=' if exact else 'LIKE'} ? "
            f"AND l.dst IN ({marks}) GROUP BY l.src ORDER BY c DESC, l.src LIMIT 1",
            [scope, source, context_like, *members],
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def all_history_reasons(self) -> list[tuple[str, str]]:
        """(note id, reason) of every change in history (benchmarks audit what changed)."""
        rows = self.db.execute("SELECT note_id, reason FROM history").fetchall()
        return [(str(n), str(r)) for n, r in rows]

    def graph_rows(
        self, scope: str | None
    ) -> tuple[list[tuple[str, str, str, str, str, str]], list[tuple[str, str, str, float]]]:
        """(id, scope, status, content, tags JSON, keywords JSON) of every note and (src,
        dst, kind, weight) of every link."""
        # Ordered, so that every record (SQLite or PostgreSQL) builds the same graph.
        if scope is None:
            nodes = self.db.execute(f"SELECT {_NODE_COLUMNS} FROM notes ORDER BY label").fetchall()
            edges = self.db.execute(
                "SELECT src, dst, kind, weight FROM links ORDER BY src, dst, kind"
            ).fetchall()
        else:
            nodes = self.db.execute(
                f"SELECT {_NODE_COLUMNS} FROM notes WHERE scope=? ORDER BY label", (scope,)
            ).fetchall()
            edges = self.db.execute(
                "SELECT l.src, l.dst, l.kind, l.weight FROM links l JOIN notes n ON n.id = l.src "
                "WHERE n.scope=? ORDER BY l.src, l.dst, l.kind",
                (scope,),
            ).fetchall()
        return [tuple(r) for r in nodes], [tuple(r) for r in edges]
