"""Pluggable backends: embedders and LLM clients, each with a deterministic fake."""
