"""Access tokens in the record (mixed into Records): name, hash, grants, times.

Only a token's hash is stored (see ``grants.token_hash``); the token itself is shown
once, when it is made, and never written anywhere.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from zettelmem.errors import InvalidInput
from zettelmem.grants import TokenInfo

SCHEMA = """
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,  -- SHA-256 of the token, hex, never the token
        grants TEXT NOT NULL,  -- JSON list of 'PATTERN:MODE'
        created_at TEXT NOT NULL,
        last_used TEXT
    );
"""

_COLUMNS = "name, grants, created_at, last_used"


def _info(row: sqlite3.Row) -> TokenInfo:
    grants = json.loads(row["grants"])
    return TokenInfo(
        name=str(row["name"]),
        grants=tuple(str(g) for g in grants) if isinstance(grants, list) else (),
        created_at=str(row["created_at"]),
        last_used=row["last_used"],
    )


class TokenRecords:
    """add_token, tokens, token_by_hash, revoke_token, token_used."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def add_token(self, name: str, token_hash: str, grants: Sequence[str], created_at: str) -> None:
        """Store a token's hash under a new name; a taken name is refused."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM tokens WHERE name=?", (name,)).fetchone():
                raise InvalidInput(
                    f"a token named {name!r} exists; pick another name or "
                    f"`mem token revoke {name}` first"
                )
            db.execute(
                "INSERT INTO tokens(name, hash, grants, created_at) VALUES (?, ?, ?, ?)",
                (name, token_hash, json.dumps(list(grants)), created_at),
            )

    def tokens(self) -> list[TokenInfo]:
        """Every token, by name."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY name").fetchall()
        return [_info(r) for r in rows]

    def token_hashes(self) -> list[tuple[TokenInfo, str]]:
        """Every token with its hash (to move tokens between records; never shown)."""
        rows = self.db.execute(f"SELECT {_COLUMNS}, hash FROM tokens ORDER BY name").fetchall()
        return [(_info(r), str(r["hash"])) for r in rows]

    def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM tokens WHERE hash=?", (token_hash,)
        ).fetchone()
        return None if row is None else _info(row)

    def revoke_token(self, name: str) -> bool:
        """Delete a token; False when no token has that name."""
        with self.transaction() as db:
            return db.execute("DELETE FROM tokens WHERE name=?", (name,)).rowcount > 0

    def token_used(self, name: str, at: str) -> None:
        """Record when a token was last used."""
        with self.transaction() as db:
            db.execute("UPDATE tokens SET last_used=? WHERE name=?", (at, name))
