"""One home resolver and the settings stored in it (never secrets)."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zettelmem.errors import ConfigError, HomeError, read_only_home
from zettelmem.redaction import carries_credentials

CONFIG_FILE = "config.json"

# Settings a user may change, with their defaults. Secrets (API keys) are
# deliberately absent: they come from the environment only.
DEFAULTS: dict[str, Any] = {
    "embedder": "minilm",
    "fusion": "weighted",
    "llm": "none",
    "llm_model": "",
    "llm_base_url": "",
    "llm_timeout": 30,
    "llm_max_calls_per_write": 1,
    "guard": "flag",
    # Where the record lives: "" for the home directory, or a postgresql:// URL.
    "store": "",
    # On a database: search its own tables ("database"), this machine's copy of the
    # indexes ("local": built from it, caught up from its ops log), or "auto": the copy
    # once this machine has built it, the database until then (a server builds it in
    # the background).
    "search": "auto",
}

# Where a setting's value came from, as `mem config` shows it.
DEFAULT_SOURCE = "default"
FILE_SOURCE = CONFIG_FILE
ENV_SOURCE = "environment"

_SECRET_WORDS = ("key", "token", "secret", "password")


def env_var(key: str) -> str:
    """The variable that overrides a setting for one process: ``MEM_<KEY>``."""
    return f"MEM_{key.upper()}"


def _choice(*allowed: str) -> Callable[[object], Any]:
    def coerce(value: object) -> str:
        text = str(value).strip().lower()
        if isinstance(value, str) and text in allowed:
            return text
        raise ValueError(f"one of {', '.join(allowed)}")

    return coerce


def _text(empty_ok: bool, hint: str) -> Callable[[object], Any]:
    def coerce(value: object) -> str:
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            raise ValueError(hint)
        if "\n" in value or "\x00" in value:
            raise ValueError(f"{hint}, on one line")
        return value.strip()

    return coerce


def _url(value: object) -> str:
    text = _text(True, 'an http(s) URL, or "" for the default')(value)
    if text and not re.match(r"^https?://[^\s/]+", text):
        raise ValueError('an http(s) URL such as http://localhost:11434/v1, or "" for the default')
    return str(text)


STORE_SCHEMES = ("postgresql", "postgres")


def is_store_url(value: str) -> bool:
    """Whether a store setting names a database (else the record is the home's)."""
    return urlsplit(value.strip()).scheme in STORE_SCHEMES


def check_store_url(value: str, origin: str = "") -> str:
    """The URL, or a one-line ConfigError: not postgresql://, or a password in it.
    Credentials come from libpq's own sources (PGPASSWORD, ~/.pgpass), never from here."""
    text = value.strip()
    where = f" (from {origin})" if origin else ""
    try:
        parts = urlsplit(text)
        password, _ = parts.password, parts.port
    except ValueError as exc:
        raise ConfigError(f"the store URL{where} is malformed ({exc}); use "
                          "postgresql://USER@HOST[:PORT]/DATABASE") from None  # fmt: skip
    if parts.scheme not in STORE_SCHEMES:
        raise ConfigError(f"the store{where} must be a postgresql://USER@HOST[:PORT]/DATABASE "
                          "URL (or \"\" for the home directory)")  # fmt: skip
    # libpq also takes a password as a parameter: ?password=... (and ?sslpassword=...)
    asked = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if password or asked & {"password", "sslpassword"}:
        raise ConfigError(f"the store URL{where} carries a password; passwords never go in a "
                          "URL or config.json: set PGPASSWORD or put it in ~/.pgpass")  # fmt: skip
    return text


def _store(value: object) -> str:
    text = str(_text(True, 'a postgresql://USER@HOST/DATABASE URL, or "" for the home')(value))
    return check_store_url(text) if text else ""


def _number(low: float, high: float, integer: bool) -> Callable[[object], Any]:
    kind = "a whole number" if integer else "a number"
    hint = f"{kind} from {low:g} to {high:g}"

    def coerce(value: object) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(hint)
        try:
            number = float(value)
        except ValueError:
            raise ValueError(hint) from None
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(hint)
        if number.is_integer():
            return int(number)
        if integer:
            raise ValueError(hint)
        return number

    return coerce


_EMBEDDERS = ("minilm, mpnet, hashing[:dims] (8 or more), onnx:<folder>, transformer:<folder>, "
              "sentence-transformers:<model> or fastembed:<model>")  # fmt: skip


def _embedder(value: object) -> str:
    """An embedder spec of a known kind (the model itself is only loaded when used)."""
    text = str(_text(False, _EMBEDDERS)(value)).strip()
    kind, colon, arg = text.partition(":")
    if kind in ("minilm", "mpnet") and not colon:
        return text
    if kind == "hashing":
        if not colon:
            return text
        if arg.isdigit() and int(arg) >= 8:
            return text
    if kind in ("onnx", "transformer", "sentence-transformers", "fastembed") and arg.strip():
        return text
    raise ValueError(_EMBEDDERS)


# How each setting's value is checked and coerced; ValueError names what is allowed.
_RULES: dict[str, Callable[[object], Any]] = {
    "embedder": _embedder,
    "fusion": _choice("weighted", "rrf"),
    "llm": _choice("none", "anthropic", "openai"),
    "llm_model": _text(True, 'a model name, or "" for the backend\'s default'),
    "llm_base_url": _url,
    "llm_timeout": _number(0.1, 600, integer=False),
    "llm_max_calls_per_write": _number(0, 100, integer=True),
    "guard": _choice("off", "flag", "quarantine"),
    "store": _store,
    "search": _choice("auto", "local", "database"),
}


def looks_secret(key: str) -> bool:
    """True for names like ``api_key``, ``token``, ``client_secret``, ``password``.

    Known settings are never secrets (``check_key`` accepts them first), so a
    future ``llm_max_tokens`` stays settable.
    """
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def check_key(key: str) -> str:
    """The setting's name, or ConfigError for a secret-looking or unknown one."""
    if key in DEFAULTS:
        return key
    known = f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}"
    if looks_secret(key):
        raise ConfigError(
            f"{known} (and secrets are never stored in {CONFIG_FILE}: set an API key in the "
            "environment, ANTHROPIC_API_KEY or OPENAI_API_KEY)"
        )
    raise ConfigError(known)


def validate_setting(key: str, value: object, origin: str = "") -> Any:
    """The value coerced to the setting's type, or a one-line ConfigError."""
    check_key(key)
    where = f" (from {origin})" if origin else ""
    if key == "store" and isinstance(value, str) and value.strip():
        # A URL's user part names a database role here; a password in it is refused.
        return check_store_url(value, origin)
    carried = carries_credentials(value) if isinstance(value, str) else None
    if carried:
        raise ConfigError(
            f"the value for {key}{where} carries {carried}; secrets are never stored in "
            f"{CONFIG_FILE}: set ANTHROPIC_API_KEY or OPENAI_API_KEY in the environment"
        )
    try:
        return _RULES[key](value)
    except ValueError as exc:
        raise ConfigError(f"invalid value {value!r} for {key}{where}; use {exc}") from None


def default_home() -> Path:
    """The platform's user data directory for zettelmem."""
    import platformdirs

    return Path(platformdirs.user_data_dir("zettelmem", appauthor=False))


def resolve_store(explicit: str | None, settings: Settings) -> str | None:
    """``--store`` > ``MEM_STORE`` > the home's ``store`` setting: a database URL, or None
    for the home directory's own record (``explicit`` "" asks for that record)."""
    if explicit is not None:
        return check_store_url(explicit, "--store") if explicit.strip() else None
    value = str(settings.get("store") or "").strip()
    return check_store_url(value, settings.source("store")) if value else None


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--home`` > ``MEM_HOME`` > the platform data dir; absolute, so every report names
    the same place whatever directory it was given from."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get("MEM_HOME")
    if env:
        return Path(env).expanduser().absolute()
    return default_home()


def home_is_read_only(home: Path) -> bool:
    """A home to read, not write: ``MEM_READ_ONLY=1``, or an existing store whose folder
    or ``notes.db`` this user cannot write (a snapshot, a backup, another user's home)."""
    if os.environ.get("MEM_READ_ONLY", "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    db = home / "notes.db"
    return db.is_file() and not (os.access(home, os.W_OK | os.X_OK) and os.access(db, os.W_OK))


def prepare_home(home: Path, read_only: bool = False) -> Path:
    """Create the home if needed (private: 0700) and check that it is a writable directory
    (``read_only``: that it holds a store to read); an existing home others can read gets
    a warning."""
    if home.exists() and not home.is_dir():
        raise HomeError(
            f"home {home} is a file, not a directory; pass --home or set MEM_HOME to a directory"
        )
    if home.is_dir():
        _warn_if_open(home)
    if read_only:
        if not (home / "notes.db").is_file():
            raise HomeError(f"home {home} holds no memory to read (no notes.db)")
        return home
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
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


def _warn_if_open(home: Path) -> None:
    mode = home.stat().st_mode & 0o777
    if mode & 0o077 and os.name == "posix":
        logging.getLogger("zettelmem").warning(
            "home %s can be read by other users (mode %o); memory is private: "
            "`chmod 700 %s` fixes it",
            home,
            mode,
            home,
        )


@dataclass
class Settings:
    """Settings read from ``config.json`` in the home, then the environment."""

    values: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    # key -> "config.json" or "environment (MEM_...)"; absent means the default.
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        if key not in DEFAULTS:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
        return self.values.get(key, DEFAULTS[key])

    def source(self, key: str) -> str:
        self.get(key)
        return self.sources.get(key, DEFAULT_SOURCE)


def _read_config(path: Path) -> dict[str, Any]:
    """The JSON object in ``config.json`` (empty when there is no file)."""
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path} ({exc}); fix or delete the file to go back to defaults"
        ) from None
    if not isinstance(stored, dict):
        raise ConfigError(f"{path} must hold a JSON object; fix or delete it")
    return stored


def load_settings(home: Path) -> Settings:
    """Read the home's settings; ``MEM_<KEY>`` (e.g. ``MEM_EMBEDDER``) overrides a setting.

    ``MEM_NO_LLM=1`` turns the LLM off. Unknown keys in the file are ignored.
    """
    settings = Settings()
    path = home / CONFIG_FILE
    for key, value in _read_config(path).items():
        if key in DEFAULTS:
            settings.values[key] = validate_setting(key, value, str(path))
            settings.sources[key] = FILE_SOURCE
    for key in DEFAULTS:
        name = env_var(key)
        if os.environ.get(name):
            settings.values[key] = validate_setting(key, os.environ[name], name)
            settings.sources[key] = f"{ENV_SOURCE} ({name})"
    if os.environ.get("MEM_NO_LLM", "").strip().lower() in {"1", "true", "yes", "on"}:
        settings.values["llm"] = "none"
        settings.sources["llm"] = f"{ENV_SOURCE} (MEM_NO_LLM)"
    return settings


def save_setting(home: Path, key: str, value: object) -> Any:
    """Validate ``value``, store it in the home's ``config.json`` atomically, return it.

    Other settings in the file are kept; anything secret-looking is dropped. A home opened
    read-only (``MEM_READ_ONLY``, a snapshot) is refused as every write to it is: settings
    change how each later process on it behaves.
    """
    coerced = validate_setting(key, value)
    if home_is_read_only(home):
        raise read_only_home(home)
    prepare_home(home)
    path = home / CONFIG_FILE
    stored = {k: v for k, v in _read_config(path).items() if k in DEFAULTS or not looks_secret(k)}
    stored[key] = coerced
    text = json.dumps(stored, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if path.exists():  # keep the file's permissions; a new one stays private (0600)
                os.chmod(tmp, path.stat().st_mode & 0o777)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(
            f"cannot write {path} ({exc.strerror}); check the home's permissions"
        ) from None
    return coerced
