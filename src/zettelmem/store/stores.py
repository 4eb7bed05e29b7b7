"""Opening the record a store setting names: a database, with the local folder that
caches its derived indexes."""

from __future__ import annotations

from pathlib import Path

from zettelmem.store.records import Records


def open_database(url: str, home: Path) -> tuple[Records, Path]:
    """The PostgreSQL record at ``url`` and the folder (in ``home``) for its derived
    indexes, keyed by the database's identity so two databases never share one."""
    from zettelmem.store.postgres import PgRecords  # psycopg only when a URL is used

    records = PgRecords(url)
    try:
        cache = home / "stores" / records.identity()
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    except BaseException:
        records.close()
        raise
    return records, cache
