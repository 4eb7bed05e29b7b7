"""One home resolver and the settings stored in it (never secrets)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zettelmem.errors import ConfigError, HomeError

CONFIG_FILE = "config.json"

# Settings a user may change, with their defaults. Secrets (API keys) are
# deliberately absent: they come from the environment only.
DEFAULTS: dict[str, Any] = {
    "embedder": "minilm",
    "fusion": "weighted",
}


def default_home() -> Path:
    """The platform's user data directory for zettelmem."""
    import platformdirs

    return Path(platformdirs.user_data_dir("zettelmem", appauthor=False))


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--home`` > ``MEM_HOME`` > the platform data dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MEM_HOME")
    if env:
        return Path(env).expanduser()
    return default_home()


def prepare_home(home: Path) -> Path:
    """Create the home if needed and check that it is a writable directory."""
    if home.exists() and not home.is_dir():
        raise HomeError(
            f"home {home} is a file, not a directory; pass --home or set MEM_HOME to a directory"
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(
            f"cannot create home {home} ({exc.strerror}); pass --home or set MEM_HOME "
            "to a writable directory"
        ) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise HomeError(
            f"home {home} is not writable; fix its permissions or pass --home / set MEM_HOME "
            "to a writable directory"
        )
    return home


@dataclass
class Settings:
    """Settings read from ``config.json`` in the home, then the environment."""

    values: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))

    def get(self, key: str) -> Any:
        if key not in DEFAULTS:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
        return self.values.get(key, DEFAULTS[key])


def load_settings(home: Path) -> Settings:
    """Read the home's settings; ``MEM_EMBEDDER`` overrides the embedder."""
    values = dict(DEFAULTS)
    path = home / CONFIG_FILE
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read {path} ({exc}); fix or delete the file to go back to defaults"
            ) from None
        if not isinstance(stored, dict):
            raise ConfigError(f"{path} must hold a JSON object; fix or delete it")
        values.update({k: v for k, v in stored.items() if k in DEFAULTS})
    if os.environ.get("MEM_EMBEDDER"):
        values["embedder"] = os.environ["MEM_EMBEDDER"]
    return Settings(values)
