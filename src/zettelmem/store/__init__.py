"""The home's storage: the canonical SQLite record and the indexes derived from it."""
