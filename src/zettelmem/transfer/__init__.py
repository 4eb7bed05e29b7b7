"""Moving memory in and out: importers per format, the import pipeline, export."""
