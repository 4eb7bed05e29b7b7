"""The note graph (networkx), built from the record's links table on demand."""

from __future__ import annotations

import networkx as nx

from zettelmem.store.records import Records


def load_graph(records: Records, scope: str | None = None) -> nx.MultiDiGraph:
    """A directed multigraph: one node per note, one edge per link (kind, weight)."""
    graph = nx.MultiDiGraph()
    if scope is None:
        nodes = records.db.execute("SELECT id, scope, status FROM notes").fetchall()
        edges = records.db.execute("SELECT src, dst, kind, weight FROM links").fetchall()
    else:
        nodes = records.db.execute(
            "SELECT id, scope, status FROM notes WHERE scope=?", (scope,)
        ).fetchall()
        edges = records.db.execute(
            "SELECT l.src, l.dst, l.kind, l.weight FROM links l JOIN notes n ON n.id = l.src "
            "WHERE n.scope=?",
            (scope,),
        ).fetchall()
    for note_id, note_scope, status in nodes:
        graph.add_node(note_id, scope=note_scope, status=status)
    for src, dst, kind, weight in edges:
        if src in graph and dst in graph:
            graph.add_edge(src, dst, key=kind, kind=kind, weight=weight)
    return graph
