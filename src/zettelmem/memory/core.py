"""The facade both front doors call: one home's memory, assembled from its parts.

Writes (remember, forget), reads (recall), review, the note graph and maintenance
each live in their own module; this one opens the home and holds what they share.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from zettelmem.backends.embeddings import Embedder, get_embedder, identity
from zettelmem.config import (
    Settings,
    home_is_read_only,
    load_settings,
    prepare_home,
    resolve_home,
    resolve_store,
)
from zettelmem.errors import EmbedderMismatch, HomeError
from zettelmem.memory.maintenance import Maintenance
from zettelmem.memory.notes import Notes
from zettelmem.memory.review import Review
from zettelmem.memory.tokens import Tokens
from zettelmem.models import GUARD_MODES
from zettelmem.store.derived import DerivedIndexes, cache_ready
from zettelmem.store.pgconn import shown
from zettelmem.store.protocol import SearchIndexes
from zettelmem.store.records import Records
from zettelmem.store.unfinished import refusal

if TYPE_CHECKING:  # the LLM backends (and pydantic) load when an LLM is first asked for
    from zettelmem.backends.llm import LLM
from zettelmem.store.stores import open_database
from zettelmem.validation import validate_choice
from zettelmem.zettel.linking import Linker

log = logging.getLogger("zettelmem")


class Memory(Notes, Review, Maintenance, Tokens):
    """One home's memory. Not thread-safe; open one per thread or process."""

    def __init__(
        self,
        home: str | Path | None = None,
        embedder: Embedder | str | None = None,
        settings: Settings | None = None,
        reindexing: bool = False,
        llm: LLM | None | bool = None,
        guard: str | None = None,
        store: str | None = None,
        migrating: bool = False,
    ) -> None:
        """``llm``: an LLM to use, False for none (``--no-llm``), None for the configured one.
        ``guard``: off, flag or quarantine for this instance (default: the home's setting).
        ``store``: a postgresql:// URL (default: ``MEM_STORE``, else the home's ``store``
        setting, else the home's own record). ``migrating``: opened as the target of
        `mem migrate`, the one use of a record that holds part of an unfinished migration
        (every other use is refused, see store/unfinished.py)."""
        where = resolve_home(home)
        self.config_home = where
        self.settings = settings or load_settings(where)
        self.store_url = resolve_store(store, self.settings)
        spec = embedder if embedder is not None else str(self.settings.get("embedder"))
        self.embedder = get_embedder(spec) if isinstance(spec, str) else spec
        self.records: Records
        if self.store_url:
            # The database is the record; the home keeps this machine's derived indexes
            # of it (rebuildable, caught up from its ops log) under stores/<its identity>.
            self.read_only = False
            self.records, self.home = open_database(self.store_url, prepare_home(where))
        else:
            # A snapshot or backup is read where it lies: reads work, writes refuse.
            self.read_only = home_is_read_only(where)
            self.home = prepare_home(where, read_only=self.read_only)
            self.records = Records(self.home / "notes.db", read_only=self.read_only)
        if not migrating:
            self._refuse_unfinished_migration()
        if not reindexing:
            self._check_embedder()
        self.indexes = self._open_indexes()
        self._llm_choice = llm
        self._llm: LLM | None = None
        self.linker = Linker(self.records, self.indexes, self.embedder)
        mode = guard or str(self.settings.get("guard"))
        self.guard_mode = validate_choice(mode, GUARD_MODES, "guard mode")

    def _open_indexes(self) -> SearchIndexes:
        """What recall searches: this machine's derived indexes, or on a database (by the
        `search` setting) the database's own search tables."""
        choice = self.settings.get("search")
        if self.store_url and (
            choice == "database"
            or (choice == "auto" and not cache_ready(self.home, identity(self.embedder)))
        ):
            from zettelmem.store.pgsearch import DatabaseIndexes

            return DatabaseIndexes(self.records, self.embedder.dims)
        return self._local_indexes()

    def _local_indexes(self) -> DerivedIndexes:
        return DerivedIndexes(
            self.home, self.records, self.embedder.dims, identity(self.embedder),
            read_only=self.read_only,
        )  # fmt: skip

    def wants_local_indexes(self) -> bool:
        """On a database with `search auto`, before this machine has built its indexes."""
        return (
            bool(self.store_url)
            and self.settings.get("search") == "auto"
            and not isinstance(self.indexes, DerivedIndexes)
        )

    def build_local_indexes(self) -> None:
        """Build this machine's indexes of the database on a connection of their own (any
        thread may run it; this memory is left untouched). `use_local_indexes` then
        switches to them."""
        from zettelmem.store.postgres import PgRecords

        records = PgRecords(str(self.store_url))
        try:
            built = DerivedIndexes(self.home, records, self.embedder.dims, identity(self.embedder))
            built.catch_up(force_save=True)
        finally:
            records.close()

    def use_local_indexes(self) -> None:
        """Search this machine's indexes from now on (they catch up before each answer)."""
        self.indexes = self._local_indexes()
        self.linker.indexes = self.indexes

    def _refuse_unfinished_migration(self) -> None:
        """A record a migration stopped half-way through holds part of a memory and looks
        whole: refuse it (one line naming the migration and how to finish it) rather than
        let anyone search, serve or copy the part."""
        found = self.records.unfinished_migrations()
        if not found:
            return
        self.records.close()
        record = (
            f"the database {shown(self.store_url)}" if self.store_url else f"the home {self.home}"
        )
        raise HomeError(refusal(record, found))

    def _check_embedder(self) -> None:
        stored = self.records.get_meta("embedder")
        current = identity(self.embedder)
        if stored is None or (stored != current and self.records.count() == 0):
            if not self.read_only:
                self.records.set_meta("embedder", current)
        elif stored != current:
            if self.store_url:  # one database, many machines: re-embedding is everyone's
                raise EmbedderMismatch(
                    f"the shared store's vectors were made by {stored}, but this machine's "
                    f"embedder is {current}; set this machine's embedder to {stored} "
                    f"(`mem config set embedder {stored}`), or re-embed the store for every "
                    "machine with `mem reindex` and then switch them all"
                )
            raise EmbedderMismatch(
                f"this home's vectors were made by {stored}, but the embedder is now {current}",
                hint="reindex",
            )

    @property
    def llm(self) -> LLM | None:
        """The LLM for this memory (built on first use), or None offline."""
        if self._llm_choice is False:
            return None
        if self._llm is None:
            from zettelmem.backends.llm import get_llm

            choice = self._llm_choice
            self._llm = (
                get_llm(self.settings) if choice is None or isinstance(choice, bool) else choice
            )
        return self._llm

    def usable_in_this_thread(self) -> bool:
        """Whether this thread may use this memory (one opened elsewhere may not be)."""
        return self.records.usable_in_this_thread()

    def close(self) -> None:
        self.indexes.flush()
        self.records.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
