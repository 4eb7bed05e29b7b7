"""The note graph (networkx), built from the record's links table on demand."""

from __future__ import annotations

import json

import networkx as nx

from zettelmem.store.protocol import RecordStore

LABEL_WORDS = 8  # a node's label: the first words of its note, for graph viewers


def _label(content: str) -> str:
    words = content.split()
    return " ".join(words[:LABEL_WORDS]) + (" …" if len(words) > LABEL_WORDS else "")


def load_graph(records: RecordStore, scope: str | None = None) -> nx.MultiDiGraph:
    """A directed multigraph: one node per note (scope, status, and for people reading it a
    label, tags and keywords as comma-separated text, which GraphML can hold), one edge
    per link (kind, weight)."""
    graph = nx.MultiDiGraph()
    nodes, edges = records.graph_rows(scope)
    for note_id, note_scope, status, content, tags, keywords in nodes:
        graph.add_node(note_id, scope=note_scope, status=status, label=_label(content),
                       tags=", ".join(json.loads(tags)),
                       keywords=", ".join(json.loads(keywords)))  # fmt: skip
    for src, dst, kind, weight in edges:
        if src in graph and dst in graph:
            graph.add_edge(src, dst, key=kind, kind=kind, weight=weight)
    return graph
