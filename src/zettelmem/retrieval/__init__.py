"""Ranking: fusion of the retrievers and spreading along the note graph."""
