"""Importers: one module per format, each turning a file into prepared notes."""
