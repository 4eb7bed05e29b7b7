"""Settings: `mem config` show/get/set, validation, secrets refused, sources, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zettelmem.cli.main import cli
from zettelmem.config import CONFIG_FILE, DEFAULTS, env_var, load_settings, save_setting
from zettelmem.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in DEFAULTS:
        monkeypatch.delenv(env_var(key), raising=False)
    for name in ("MEM_NO_LLM", "MEM_HOME", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def mem(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def ok(home: Path, *args: str) -> Result:
    result = mem(home, *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def as_json(home: Path, *args: str) -> Any:
    return json.loads(ok(home, *args, "--json").stdout)


def test_config_shows_every_setting_with_its_default(tmp_path: Path) -> None:
    shown = as_json(tmp_path, "config")
    assert shown["home"] == str(tmp_path)
    assert shown["settings"] == {k: {"value": v, "source": "default"} for k, v in DEFAULTS.items()}
    assert shown["settings"]["llm"]["value"] == "none"
    assert shown["settings"]["guard"]["value"] == "flag"
    lines = ok(tmp_path, "config").stdout.splitlines()
    assert len(lines) == len(DEFAULTS)
    assert lines[list(DEFAULTS).index("llm")].split() == ["llm", "none", "default"]
    assert not (tmp_path / CONFIG_FILE).exists()  # reading changes nothing


def test_config_set_stores_and_get_reads_it_back(tmp_path: Path) -> None:
    assert ok(tmp_path, "config", "set", "llm", "openai").stdout == "llm = openai\n"
    ok(tmp_path, "config", "set", "llm_base_url", "http://localhost:11434/v1")
    ok(tmp_path, "config", "set", "llm_model", "llama3.2")
    assert ok(tmp_path, "config", "get", "llm").stdout == "openai\n"
    assert as_json(tmp_path, "config", "get", "llm_model") == {
        "key": "llm_model",
        "value": "llama3.2",
        "source": "config.json",
    }
    stored = json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    assert stored == {
        "llm": "openai",
        "llm_base_url": "http://localhost:11434/v1",
        "llm_model": "llama3.2",
    }
    assert as_json(tmp_path, "config")["settings"]["llm"] == {
        "value": "openai",
        "source": "config.json",
    }


@pytest.mark.parametrize(
    "key, text, stored",
    [
        ("llm_timeout", "45", 45),
        ("llm_timeout", "2.5", 2.5),
        ("llm_max_calls_per_write", "0", 0),
        ("llm", "Anthropic", "anthropic"),
        ("guard", "off", "off"),
        ("fusion", "rrf", "rrf"),
        ("llm_model", "", ""),
        ("embedder", "hashing:64", "hashing:64"),
    ],
)
def test_config_set_coerces_types(tmp_path: Path, key: str, text: str, stored: Any) -> None:
    out = as_json(tmp_path, "config", "set", key, text)
    assert out["value"] == stored and out["source"] == "config.json"
    assert json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))[key] == stored
    assert load_settings(tmp_path).get(key) == stored


def _rejected(home: Path, *args: str) -> str:
    """Runs a command that must fail: one `Error:` line, exit 2, config.json untouched."""
    before = (home / CONFIG_FILE).read_bytes()
    result = mem(home, *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert (home / CONFIG_FILE).read_bytes() == before
    return lines[0]


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("llm", "gpt4", "none, anthropic, openai"),
        ("guard", "strict", "off, flag, quarantine"),
        ("fusion", "max", "weighted, rrf"),
        ("llm_timeout", "soon", "a number from 0.1 to 600"),
        ("llm_timeout", "0", "a number from 0.1 to 600"),
        ("llm_timeout", "nan", "a number from 0.1 to 600"),
        ("llm_max_calls_per_write", "1.5", "a whole number from 0 to 100"),
        ("llm_max_calls_per_write", "-1", "a whole number from 0 to 100"),
        ("llm_base_url", "localhost:11434", "http(s) URL"),
        ("embedder", " ", "hashing[:dims]"),
    ],
)
def test_config_set_rejects_invalid_values(
    tmp_path: Path, key: str, value: str, allowed: str
) -> None:
    ok(tmp_path, "config", "set", "llm_model", "kept")
    line = _rejected(tmp_path, "config", "set", "--", key, value)  # "--": values like -1
    assert f"for {key}" in line and allowed in line


@pytest.mark.parametrize(
    "key", ["anthropic_api_key", "OPENAI_API_KEY", "api-key", "token", "client_secret", "password"]
)
def test_config_refuses_secret_looking_keys(tmp_path: Path, key: str) -> None:
    ok(tmp_path, "config", "set", "llm", "none")
    for args in (("config", "set", key, "sk-ant-0123456789"), ("config", "get", key)):
        line = _rejected(tmp_path, *args)
        assert "secret" in line and "environment" in line and "ANTHROPIC_API_KEY" in line
    assert "sk-ant" not in (tmp_path / CONFIG_FILE).read_text(encoding="utf-8")


def test_config_refuses_an_api_key_pasted_as_a_value(tmp_path: Path) -> None:
    ok(tmp_path, "config", "set", "llm", "none")
    line = _rejected(tmp_path, "config", "set", "llm_model", "sk-ant-api03-abcdefghijkl")
    assert "API key" in line and "environment" in line


def test_config_unknown_key_lists_the_known_ones(tmp_path: Path) -> None:
    ok(tmp_path, "config", "set", "llm", "none")
    line = _rejected(tmp_path, "config", "set", "colour", "blue")
    assert "unknown setting 'colour'" in line and "llm_timeout" in line
    assert "unknown setting" in _rejected(tmp_path, "config", "get", "colour")
    # A name that merely holds "key" is an unknown setting first, not a secret.
    assert "unknown setting 'monkey'" in _rejected(tmp_path, "config", "set", "monkey", "1")
    # A negative value is a value, not an unknown option.
    assert "a number from 0.1" in _rejected(tmp_path, "config", "set", "llm_timeout", "-1")


@pytest.mark.parametrize("spec", ["nonsense", "hashing:0", "hashing:abc", "onnx:", "minilm:x"])
def test_config_set_refuses_an_embedder_no_command_could_load(tmp_path: Path, spec: str) -> None:
    """A bad spec is refused when set, not stored to break every later command."""
    ok(tmp_path, "config", "set", "llm", "none")
    line = _rejected(tmp_path, "config", "set", "embedder", spec)
    assert "for embedder" in line and "hashing[:dims]" in line
    ok(tmp_path, "config", "set", "embedder", "hashing:64")
    assert ok(tmp_path, "stats")


def test_environment_overrides_are_shown_as_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(tmp_path, "config", "set", "guard", "off")
    monkeypatch.setenv("MEM_GUARD", "quarantine")
    monkeypatch.setenv("MEM_EMBEDDER", "hashing")
    settings = as_json(tmp_path, "config")["settings"]
    assert settings["guard"] == {"value": "quarantine", "source": "environment (MEM_GUARD)"}
    assert settings["embedder"] == {"value": "hashing", "source": "environment (MEM_EMBEDDER)"}
    assert settings["fusion"]["source"] == "default"
    assert "environment (MEM_GUARD)" in ok(tmp_path, "config").stdout
    # Setting it anyway stores it and warns that the environment wins here.
    result = ok(tmp_path, "config", "set", "guard", "flag")
    assert "MEM_GUARD is set and overrides" in result.stderr
    assert ok(tmp_path, "config", "get", "guard").stdout == "quarantine\n"


def test_mem_no_llm_turns_the_llm_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    ok(tmp_path, "config", "set", "llm", "anthropic")
    monkeypatch.setenv("MEM_NO_LLM", "1")
    out = as_json(tmp_path, "config", "get", "llm")
    assert out == {"key": "llm", "value": "none", "source": "environment (MEM_NO_LLM)"}


def test_an_invalid_environment_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEM_LLM", "gpt")
    result = mem(tmp_path, "config")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: invalid value 'gpt' for llm (from MEM_LLM)")


def test_config_set_llm_warns_when_the_backend_cannot_start(tmp_path: Path) -> None:
    pytest.importorskip("anthropic")
    result = ok(tmp_path, "config", "set", "llm", "anthropic")
    assert "Warning: " in result.stderr and "ANTHROPIC_API_KEY is not set" in result.stderr
    assert ok(tmp_path, "config", "get", "llm").stdout == "anthropic\n"


def test_json_on_the_group_applies_to_the_subcommand(tmp_path: Path) -> None:
    out = json.loads(ok(tmp_path, "config", "--json", "get", "guard").stdout)
    assert out == {"key": "guard", "value": "flag", "source": "default"}


def test_save_setting_is_atomic_and_keeps_other_keys(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(
        json.dumps({"fusion": "rrf", "future_setting": 3, "api_key": "leaked"}), encoding="utf-8"
    )
    assert save_setting(tmp_path, "llm_timeout", "12") == 12
    stored = json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    # Unknown keys survive a save; a secret someone wrote by hand does not.
    assert stored == {"fusion": "rrf", "future_setting": 3, "llm_timeout": 12}
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_FILE]


def test_save_setting_creates_the_home(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    save_setting(home, "guard", "off")
    assert load_settings(home).get("guard") == "off"
    assert load_settings(home).source("guard") == "config.json"


def test_load_settings_names_the_file_with_a_bad_value(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"guard": "maybe"}), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"invalid value 'maybe' for guard \(from .*config\.json\)"
    ):
        load_settings(tmp_path)


def test_load_settings_keeps_its_old_behaviour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / CONFIG_FILE).write_text(
        json.dumps({"embedder": "hashing:32", "unknown": 1}), encoding="utf-8"
    )
    settings = load_settings(tmp_path)
    assert settings.get("embedder") == "hashing:32" and settings.get("fusion") == "weighted"
    monkeypatch.setenv("MEM_EMBEDDER", "hashing")
    assert load_settings(tmp_path).get("embedder") == "hashing"
    (tmp_path / CONFIG_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        load_settings(tmp_path)
