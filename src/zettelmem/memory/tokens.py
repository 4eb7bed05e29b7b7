"""Access tokens: make one (shown once), list, revoke, and find a caller's access."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from zettelmem.errors import HomeError, NotFound
from zettelmem.grants import (
    Access,
    TokenInfo,
    access_of,
    new_token,
    parse_grants,
    token_hash,
    validate_token_name,
)
from zettelmem.memory.base import MemoryBase
from zettelmem.timeutil import now_iso

# A token's `last used` time is rewritten at most this often: one write a minute per
# busy token instead of one per request (the time is for people, to spot stale tokens).
LAST_USED_EVERY = timedelta(minutes=1)


class Tokens(MemoryBase):
    """create_token, tokens, revoke_token, access_for."""

    def create_token(self, name: str, grants: Sequence[str]) -> str:
        """A new token with these grants; returns the token, which is stored nowhere."""
        validate_token_name(name)
        parsed = parse_grants(grants)
        token = new_token()
        self.records.add_token(name, token_hash(token), [str(g) for g in parsed], now_iso())
        return token

    def tokens(self) -> list[TokenInfo]:
        return self.records.tokens()

    def revoke_token(self, name: str) -> None:
        if not self.records.revoke_token(name):
            raise NotFound(f"no token named {name!r}; `mem token list` shows the names")

    def access_for(self, token: str) -> Access | None:
        """The access a presented token gives, or None when it is not (or no longer) one."""
        info = self.records.token_by_hash(token_hash(token))
        if info is None:
            return None
        self._mark_used(info)
        return access_of(info)

    def _mark_used(self, info: TokenInfo) -> None:
        now = now_iso()
        try:
            last = datetime.fromisoformat(info.last_used) if info.last_used else None
            if last is None or datetime.fromisoformat(now) - last >= LAST_USED_EVERY:
                self.records.token_used(info.name, now)
        except (ValueError, TypeError, HomeError):
            pass  # a read-only home, or a damaged time: the token still works
