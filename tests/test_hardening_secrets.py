"""Secrets never leave through a side door: `mem config set` refuses any value carrying
credentials (the redactor's rule, one home), every error and warning text is scrubbed,
and `remember` redacts by default (CLI and MCP) unless told to keep secrets."""

from __future__ import annotations

import logging

import pytest

from zettelmem.errors import ConfigError, LLMError
from zettelmem.redaction import carries_credentials, scrub

pytestmark = pytest.mark.usefixtures("offline_env")

KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT"
GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("llm_base_url", f"https://user:{KEY}@host.example/v1"),
        ("llm_base_url", "https://token123456@host.example/v1"),
        ("llm_base_url", "https://host.example/v1?key=abcdef123456"),
        ("llm_base_url", "https://host.example/v1?x=1&api_key=abcdef123456"),
        ("llm_base_url", "https://host.example/v1?token=abcdef123456"),
        ("llm_base_url", "http://host/v1?token=abc"),  # a short one is a credential too
        ("llm_base_url", "http://host/v1?a=1&key=abc"),
        ("llm_model", "Bearer abcdef1234567890ABCDEF"),
        ("llm_model", GHP),
        ("llm_model", "AKIAABCDEFGHIJKLMNOP"),
        ("llm_model", KEY),
    ],
)
def test_config_set_refuses_values_carrying_credentials(mem, key: str, value: str) -> None:
    result = mem("config", "set", key, value)
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert value not in result.stderr  # the refusal does not echo the secret either
    assert (
        not (mem.home / "config.json").exists()
        or value not in (mem.home / "config.json").read_text()
    )


@pytest.mark.parametrize("value", ["https://api.openai.com/v1", "http://localhost:11434/v1"])
def test_config_set_keeps_plain_urls(mem, value: str) -> None:
    mem.ok("config", "set", "llm_base_url", value)
    assert carries_credentials(value) is None


def test_scrub_removes_keys_from_the_environment_and_known_shapes(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plainlocalkey-0000")
    text = ('401 {"error": "bad key", "headers": {"Authorization": "Bearer plainlocalkey-0000"}}'
            f" and {KEY}")  # fmt: skip
    clean = scrub(text)
    assert "plainlocalkey-0000" not in clean and KEY not in clean and "401" in clean


def test_cli_warnings_and_errors_are_scrubbed(mem, monkeypatch) -> None:
    from zettelmem.cli.kit import setup_logging

    monkeypatch.setenv("OPENAI_API_KEY", "plainlocalkey-0000")
    setup_logging()
    import click
    from click.testing import CliRunner

    @click.command()
    def noisy() -> None:
        logging.getLogger("zettelmem").warning(
            "LLM said: Authorization: Bearer %s", "plainlocalkey-0000"
        )
        raise LLMError(f"the server answered 401: {KEY}")

    from zettelmem.cli.main import MemGroup

    group = MemGroup(commands={"noisy": noisy})
    result = CliRunner().invoke(group, ["noisy"])
    assert "plainlocalkey-0000" not in result.stderr and KEY not in result.stderr
    assert "Warning:" in result.stderr and "Error:" in result.stderr


def test_remember_redacts_by_default_and_keeps_on_request(mem) -> None:
    note = mem.json("remember", f"my key is {KEY} do not lose it")
    assert KEY not in note["content"] and "[REDACTED:openai_key]" in note["content"]
    kept = mem.json("remember", f"the test key {KEY}", "--keep-secrets")
    assert KEY in kept["content"]


def test_tool_messages_are_scrubbed() -> None:
    from zettelmem.server.core import tool_message

    assert KEY not in tool_message(ConfigError(f"invalid value {KEY!r} for llm_model"))


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"AWS key AKIAIOSFODNN7EXAMPLE secret {AWS_SECRET}; ok", AWS_SECRET),
        (f"aws_creds: {AWS_SECRET} for the backup bucket", AWS_SECRET),
        ("the wifi password is BlueHorse77, ask Sam", "BlueHorse77"),
        ("my old password was Summer2024! before the reset", "Summer2024!"),
    ],
)
def test_secrets_written_in_prose_are_redacted(text: str, secret: str) -> None:
    from zettelmem.redaction import redact

    clean, count = redact(text)
    assert secret not in clean and count >= 1 and "[REDACTED:" in clean


@pytest.mark.parametrize(
    "text",
    [
        "the token is valid until Friday",
        "The secret is Mom's recipe",
        "the password is in the drawer",
        "the key is Tuesday",
        "git commit 3f2a9c1e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a in the aws repo",
        "Our AWS bill is 400 dollars this month",
    ],
)
def test_prose_about_secrets_is_left_alone(text: str) -> None:
    from zettelmem.redaction import redact

    assert redact(text) == (text, 0)
