"""MCP manners: invalid arguments answered in one sentence, closed vocabularies as enums,
prompts that are useful, forget that says which insights went with a note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from test_server import data, error_text, run
from zettelmem.memory.core import Memory
from zettelmem.models import LINK_KINDS
from zettelmem.server.mcp import MemoryServer, build_server

pytestmark = pytest.mark.usefixtures("offline_env")


@pytest.fixture
def server(home: Path) -> MemoryServer:
    return build_server(Memory(home, embedder="hashing"))


@pytest.mark.parametrize(
    ("tool", "args", "argument", "allowed"),
    [
        ("recall", {"query": "x", "k": 0}, "k", "greater than or equal to 1"),
        ("recall", {"query": "x", "k": "many"}, "k", "integer"),
        ("remember", {"content": 5}, "content", "string"),
        ("remember", {}, "content", "required"),
        ("link", {"from_id": "a", "to_id": "b", "kind": "friend"}, "kind", "'supersedes'"),
    ],
)
def test_invalid_arguments_are_one_sentence_naming_the_argument(
    server: MemoryServer, tool: str, args: dict[str, Any], argument: str, allowed: str
) -> None:
    async def body(client: Client) -> None:
        text = error_text(await client.call_tool(tool, args))
        assert "\n" not in text and "pydantic" not in text and "validation error" not in text
        assert f"`{argument}`" in text and allowed in text
        assert "[type=" not in text

    run(body, server)


def test_link_kind_is_an_enum_in_the_schema(server: MemoryServer) -> None:
    async def body(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        kind = tools["link"].input_schema["properties"]["kind"]
        assert set(kind["enum"]) == set(LINK_KINDS)

    run(body, server)


def test_prompts_are_offered_and_say_what_to_do(server: MemoryServer) -> None:
    async def body(client: Client) -> None:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"recall_before_answering", "save_decisions"} <= set(prompts)
        got = await client.get_prompt("recall_before_answering", {"question": "Who is Lena?"})
        text = " ".join(getattr(m.content, "text", "") for m in got.messages)
        assert "recall" in text and "Who is Lena?" in text
        saved = await client.get_prompt("save_decisions", {})
        text = " ".join(getattr(m.content, "text", "") for m in saved.messages)
        assert "remember" in text and "supersedes" in text

    run(body, server)


def test_forget_reports_the_insights_that_went_with_a_note(home: Path) -> None:
    memory = Memory(home, embedder="hashing")
    garden = [
        f"my garden tomatoes and basil grew tall with compost and watering {w}"
        for w in ("in May", "this spring", "all week", "near the fence", "at dawn")
    ]
    ids = [memory.remember(text).note.id for text in garden]
    insight = memory.reflect().created
    assert insight, "the garden notes form a cluster"
    server = build_server(memory)

    async def body(client: Client) -> None:
        out = data(await client.call_tool("forget", {"ids": [ids[0]]}))
        assert out["insights"] == [insight[0].id]
        assert set(out["forgotten"]) == {ids[0], insight[0].id}

    run(body, server)


def test_a_prompt_with_a_wrong_or_missing_argument_is_one_sentence(
    server: MemoryServer, caplog: pytest.LogCaptureFixture
) -> None:
    from mcp.shared.exceptions import MCPError

    async def body(client: Client) -> None:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("save_decisions", {"subject": "databases"})
        assert str(unknown.value) == (
            "unknown argument `subject` for prompt save_decisions; it takes `topic`."
        )
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("recall_before_answering", {})
        assert "missing argument `question` for prompt recall_before_answering" in str(
            missing.value
        )

    run(body, server)
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info], (
        caplog.text
    )


def test_forget_takes_id_prefixes_and_an_unknown_prompt_names_the_prompts(
    server: MemoryServer, caplog: pytest.LogCaptureFixture
) -> None:
    from mcp.shared.exceptions import MCPError

    async def body(client: Client) -> None:
        made = data(await client.call_tool("remember", {"content": "the cat is called Luna"}))
        gone = data(await client.call_tool("forget", {"ids": [made["id"][:12]]}))
        assert gone == {"forgotten": [made["id"]], "insights": []}
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("save_decision", {})
        assert "unknown prompt 'save_decision'; the prompts are" in str(unknown.value)
        assert "save_decisions" in str(unknown.value)

    run(body, server)
    assert not [r for r in caplog.records if r.exc_info], caplog.text
