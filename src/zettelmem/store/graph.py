"""The note graph (networkx), built from the record's links table on demand."""

from __future__ import annotations

import networkx as nx

from zettelmem.store.protocol import RecordStore


def load_graph(records: RecordStore, scope: str | None = None) -> nx.MultiDiGraph:
    """A directed multigraph: one node per note, one edge per link (kind, weight)."""
    graph = nx.MultiDiGraph()
    nodes, edges = records.graph_rows(scope)
    for note_id, note_scope, status in nodes:
        graph.add_node(note_id, scope=note_scope, status=status)
    for src, dst, kind, weight in edges:
        if src in graph and dst in graph:
            graph.add_edge(src, dst, key=kind, kind=kind, weight=weight)
    return graph
