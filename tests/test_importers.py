"""Importers: chat exports, messages, Markdown vaults and text become Groups of notes.

Fixtures in tests/fixtures are small files written by hand from each format's
public description; bigger or stranger inputs are built in tmp_path.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from zettelmem.errors import InvalidInput
from zettelmem.redaction import redact
from zettelmem.store.threads import thread_of
from zettelmem.transfer import importers
from zettelmem.transfer.importers import chatgpt, locomo, markdown
from zettelmem.transfer.importers.units import Group, Rejected, Unit, split_text, when
from zettelmem.validation import TAG_PATTERN, validate_tag

FIX = Path(__file__).resolve().parent / "fixtures"
LISBON = "6634a1f0-5c2e-4a8e-9d0b-3f1a2b3c4d5e"
DEPLOY = "66359b02-0d1e-4c77-8a51-7e9f0a1b2c3d"
PLANT = "6636c3d4-1111-4222-8333-944455556666"


def _units(path: Path, fmt: str = "auto", **kwargs: Any) -> tuple[str, list[Unit]]:
    found, stream = importers.units(path, fmt, **kwargs)
    return found, list(stream)


def _groups(path: Path, fmt: str = "auto", **kwargs: Any) -> dict[str, Group]:
    _, units = _units(path, fmt, **kwargs)
    assert all(isinstance(u, Group) for u in units), units
    return {u.ref: u for u in units if isinstance(u, Group)}


def _contents(group: Group) -> list[str]:
    return [n.content for n in group.notes]


# -- ChatGPT -----------------------------------------------------------------------------


def test_chatgpt_follows_the_visible_branch_and_skips_what_was_not_said() -> None:
    groups = _groups(FIX / "chatgpt" / "conversations.json")
    assert list(groups) == [f"conversations.json#{c}" for c in (LISBON, DEPLOY, PLANT)]
    lisbon = groups[f"conversations.json#{LISBON}"]
    assert lisbon.title == "Lisbon weekend"
    assert [n.source.rsplit("/", 1)[1] for n in lisbon.notes] == [
        "aaa2-u1", "c9f2-a1", "aaa2-u2", "d4a3-a2",
    ]  # fmt: skip
    text = "\n".join(_contents(lisbon))
    assert "first draft" not in text  # the regenerated sibling
    assert "memory context" not in text  # hidden node, and not text content
    assert lisbon.notes[0].content.startswith("User: Plan a three-day weekend in Lisbon")
    assert lisbon.notes[1].content.startswith("ChatGPT: Here is a plan: ride tram 28")
    deploy = groups[f"conversations.json#{DEPLOY}"]
    assert len(deploy.notes) == 2  # the code call and the tool output are gone
    assert deploy.notes[1].content.startswith("ChatGPT: A 401 means the key was rejected")
    plant = groups[f"conversations.json#{PLANT}"]
    assert _contents(plant)[0] == "User: What plant is this? It grows on my balcony."
    assert len(plant.notes) == 2  # the empty assistant message is skipped


def test_chatgpt_notes_carry_source_time_scope_and_dedupe_key() -> None:
    groups = _groups(FIX / "chatgpt" / "conversations.json", scope="me")
    first = groups[f"conversations.json#{LISBON}"].notes[0]
    assert first.source == f"chatgpt:conversations.json#{LISBON}/aaa2-u1"
    # The thread is the conversation, whichever file it came in.
    assert thread_of(first.source) == f"chatgpt:#{LISBON}"
    # The dedupe key names the conversation and the message, not the file.
    assert first.dedupe_key == f"chatgpt:#{LISBON}/aaa2-u1" and first.scope == "me"
    assert first.event_at == "2024-05-01T10:00:01"  # 1714557601.2 UTC
    # A message without create_time takes the conversation's.
    assert groups[f"conversations.json#{DEPLOY}"].notes[1].event_at == "2024-05-02T10:00:00"
    default = _groups(FIX / "chatgpt" / "conversations.json")
    assert {n.scope for g in default.values() for n in g.notes} == {"default"}


def test_chatgpt_redacts_the_key_in_a_message_and_counts_it() -> None:
    groups = _groups(FIX / "chatgpt" / "conversations.json")
    deploy = groups[f"conversations.json#{DEPLOY}"]
    assert deploy.redacted == 1
    assert "sk-proj-" not in deploy.notes[0].content
    assert "OPENAI_API_KEY=[REDACTED:openai_key]" in deploy.notes[0].content
    raw = _groups(FIX / "chatgpt" / "conversations.json", redact_secrets=False)
    assert (
        "sk-proj-Q3xv9LmT2bN8rK4wZ7yH1cJ6" in raw[f"conversations.json#{DEPLOY}"].notes[0].content
    )
    assert raw[f"conversations.json#{DEPLOY}"].redacted == 0


def _node(nid: str, parent: str | None, children: list[str], text: str, t: float) -> dict[str, Any]:
    role = "user" if nid.startswith("u") else "assistant"
    message = {
        "id": nid, "author": {"role": role}, "create_time": t, "recipient": "all",
        "content": {"content_type": "text", "parts": [text]}, "metadata": {},
    }  # fmt: skip
    return {"id": nid, "message": message, "parent": parent, "children": children}


def _write_chatgpt(path: Path, mapping: list[dict[str, Any]], current: str | None) -> Path:
    conv = {
        "title": "t", "create_time": 1700000000.0, "conversation_id": "c1",
        "mapping": {n["id"]: n for n in mapping}, "current_node": current,
    }  # fmt: skip
    path.write_text(json.dumps([conv]), encoding="utf-8")
    return path


def test_chatgpt_without_current_node_takes_the_newest_leaf(tmp_path: Path) -> None:
    mapping = [
        _node("u1", None, ["a-old", "a-new"], "question", 1700000001.0),
        _node("a-new", "u1", [], "newer answer", 1700000009.0),
        _node("a-old", "u1", [], "older answer", 1700000005.0),
    ]
    for current in ("gone", None):
        [group] = _groups(_write_chatgpt(tmp_path / "c.json", mapping, current), "chatgpt").values()
        assert _contents(group) == ["User: question", "ChatGPT: newer answer"]


def test_chatgpt_rejects_a_cycle_and_keeps_the_other_conversations() -> None:
    _, units = _units(FIX / "bad" / "cycle.json")
    assert isinstance(units[0], Rejected) and "cycle in the message mapping" in units[0].reason
    assert units[0].ref == "cycle.json#66370000-aaaa-4bbb-8ccc-dddddddddddd"
    assert isinstance(units[1], Group) and len(units[1].notes) == 2


def test_chatgpt_rejects_a_mapping_with_no_way_in(tmp_path: Path) -> None:
    loop = [_node("u1", "a1", ["a1"], "x", 1.0), _node("a1", "u1", ["u1"], "y", 2.0)]
    _, units = _units(_write_chatgpt(tmp_path / "c.json", loop, "missing"), "chatgpt")
    assert len(units) == 1 and isinstance(units[0], Rejected)
    assert "current_node" in units[0].reason


def test_a_truncated_export_yields_what_it_read_then_a_rejected_unit() -> None:
    path = FIX / "bad" / "truncated.json"
    _, units = _units(path)
    assert [type(u) for u in units] == [Group, Rejected]
    assert isinstance(units[1], Rejected)
    assert units[1].reason.startswith(f"the file is truncated at byte {path.stat().st_size}")
    assert "after 1 complete record" in units[1].reason


def test_malformed_json_in_the_middle_is_a_rejected_unit(tmp_path: Path) -> None:
    good = (FIX / "chatgpt" / "conversations.json").read_text(encoding="utf-8")
    path = tmp_path / "conversations.json"
    path.write_text(good.replace('"title": "Deploy script fails"', '"title": Deploy'), "utf-8")
    _, units = _units(path, "chatgpt")
    assert isinstance(units[0], Group) and isinstance(units[-1], Rejected)
    assert "malformed JSON near byte" in units[-1].reason and len(units) == 2


# -- Claude ------------------------------------------------------------------------------


def test_claude_prefers_text_blocks_and_converts_times_to_utc() -> None:
    groups = _groups(FIX / "claude" / "conversations.json")
    sourdough = groups["conversations.json#2f8c1d6e-3b4a-4c5d-9e8f-0a1b2c3d4e5f"]
    assert sourdough.title == "Sourdough starter smells odd"
    assert _contents(sourdough) == [
        "User: My sourdough starter smells like nail polish remover.",
        "Claude: That acetone smell means the starter is hungry.\n\n"
        "Feed it twice a day at a 1:1:1 ratio for a few days.",  # no thinking, no tool use
        "User: Thanks! Also my oven runs hot, around 20 degrees.",
        "Claude: Then bake at 230 instead of 250 and use an oven thermometer.",  # empty content
    ]
    assert [n.event_at for n in sourdough.notes] == [
        "2024-04-02T09:15:23", "2024-04-02T09:16:01", "2024-04-02T09:20:00",
        "2024-04-02T09:15:22",  # no created_at: the conversation's
    ]  # fmt: skip
    assert sourdough.notes[1].source == (
        "claude:conversations.json#2f8c1d6e-3b4a-4c5d-9e8f-0a1b2c3d4e5f/msg-a1"
    )
    untitled = groups["conversations.json#7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"]
    assert untitled.title == "Untitled" and untitled.notes[1].event_at == "2024-04-05T18:00:09"


# -- JSONL and JSON arrays of messages ---------------------------------------------------


def test_jsonl_groups_by_conversation_in_file_order() -> None:
    groups = _groups(FIX / "messages.jsonl")
    assert list(groups) == ["messages.jsonl#support-17", "messages.jsonl#standup"]
    support = groups["messages.jsonl#support-17"]
    assert _contents(support) == [
        "User: The invoice for February is missing.",  # the system message is skipped
        "Assistant: I have re-sent the February invoice to you.",
        "User: Got it, thanks!",
    ]
    assert [n.event_at for n in support.notes] == [
        "2024-02-10T08:00:05", "2024-02-10T08:00:10", "2024-02-10T08:00:20",
    ]  # ISO with Z, epoch milliseconds, ISO with an offset  # fmt: skip
    assert support.notes[0].source == "jsonl:messages.jsonl#support-17/m2"
    standup = groups["messages.jsonl#standup"]
    assert _contents(standup)[0] == "Priya: Yesterday I finished the billing migration."
    assert standup.notes[1].source == "jsonl:messages.jsonl#standup/5"  # no id: line number
    assert standup.notes[0].event_at == "2024-02-10T09:00:00"  # epoch seconds


def test_a_json_array_of_messages_is_one_conversation_per_file() -> None:
    fmt, units = _units(FIX / "messages.json")
    assert fmt == "jsonl" and len(units) == 1 and isinstance(units[0], Group)
    assert units[0].ref == "messages.json#messages"
    assert [n.source for n in units[0].notes][:2] == [
        "jsonl:messages.json#messages/1", "jsonl:messages.json#messages/2",
    ]  # fmt: skip
    assert _contents(units[0])[1] == "Assistant: Canberra."


def test_a_malformed_jsonl_line_is_rejected_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(
        '{"role": "user", "content": "first"}\n{"role": "assistant", "content": \n'
        '42\n{"role": "assistant", "content": "third"}\n',
        encoding="utf-8",
    )
    _, units = _units(path)
    groups = [u for u in units if isinstance(u, Group)]
    rejected = [u for u in units if isinstance(u, Rejected)]
    assert [_contents(g) for g in groups] == [["User: first", "Assistant: third"]]
    assert [r.ref for r in rejected] == ["chat.jsonl#line-2", "chat.jsonl#line-3"]
    assert "line 2 is not JSON" in rejected[0].reason
    assert units[-1] == rejected[-1]  # what was read comes first


def test_repeated_message_ids_do_not_swallow_messages(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [{"id": "x", "role": "user", "content": c} for c in ("one", "two")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    [group] = _groups(path).values()
    assert len({n.source for n in group.notes}) == 2


def test_pretty_printed_json_is_not_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"role": "user", "content": "hi"}, indent=2), encoding="utf-8")
    with pytest.raises(InvalidInput, match="spread over several lines"):
        importers.units(path, "jsonl")


# -- granularity -------------------------------------------------------------------------


def test_exchange_joins_a_question_with_its_replies() -> None:
    groups = _groups(FIX / "chatgpt" / "conversations.json", granularity="exchange")
    lisbon = groups[f"conversations.json#{LISBON}"]
    assert [n.source for n in lisbon.notes] == [
        f"chatgpt:conversations.json#{LISBON}/aaa2-u1",
        f"chatgpt:conversations.json#{LISBON}/aaa2-u2",
    ]
    assert lisbon.notes[1].content == (
        "User: Great. Which day is best for the Time Out Market?\n"
        "ChatGPT: Day two: the market is on the way back from Belem at Cais do Sodre."
    )
    assert lisbon.notes[1].event_at == "2024-05-01T11:01:40"
    standup = _groups(FIX / "messages.jsonl", granularity="exchange")["messages.jsonl#standup"]
    assert len(standup.notes) == 1  # named speakers: the first speaker opens each exchange


def _long_chat(tmp_path: Path, messages: Iterable[tuple[str, str]]) -> Path:
    path = tmp_path / "long.jsonl"
    rows = [{"role": r, "content": c, "id": f"m{i}"} for i, (r, c) in enumerate(messages)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_session_packs_a_conversation_into_notes_of_at_most_4000(tmp_path: Path) -> None:
    said = [("user" if i % 2 else "assistant", f"Message {i}. " + "word " * 150) for i in range(40)]
    [group] = _groups(_long_chat(tmp_path, said), granularity="session").values()
    assert len(group.notes) > 1 and all(len(n.content) <= 4000 for n in group.notes)
    assert [n.source for n in group.notes][:2] == [
        "jsonl:long.jsonl#long/part-1", "jsonl:long.jsonl#long/part-2",
    ]  # fmt: skip
    lines = [line for n in group.notes for line in n.content.split("\n")]
    assert len(lines) == 40 and lines[0].startswith("Assistant: Message 0.")  # message boundaries


def test_a_very_long_message_is_split_never_truncated(tmp_path: Path) -> None:
    sentence = "The quick brown fox jumps over the lazy dog number {}. "
    text = "".join(sentence.format(i) for i in range(1000))  # about 56,000 characters
    [group] = _groups(_long_chat(tmp_path, [("user", text)])).values()
    assert len(group.notes) == 3 and all(len(n.content) <= 20_000 for n in group.notes)
    assert [n.source for n in group.notes] == [
        "jsonl:long.jsonl#long/m0", "jsonl:long.jsonl#long/m0~2", "jsonl:long.jsonl#long/m0~3",
    ]  # fmt: skip
    assert all(n.content.startswith("User: ") and n.content.endswith(".") for n in group.notes)
    rebuilt = " ".join(n.content.removeprefix("User: ") for n in group.notes)
    assert rebuilt == text.strip()
    assert thread_of(group.notes[2].source) == "jsonl:#long"


def test_unknown_granularity_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="message, exchange, session"):
        importers.units(FIX / "messages.jsonl", granularity="paragraph")


def test_split_text_cuts_at_sentences_then_words() -> None:
    assert split_text("One. Two. Three.", 10) == ["One. Two.", "Three."]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("  ", 10) == []


def test_moments_from_epochs_and_iso_text() -> None:
    assert when(1714557601.2) == "2024-05-01T10:00:01"
    assert when(1714557601200) == "2024-05-01T10:00:01"  # milliseconds
    assert when("2024-04-02T11:16:01.5+0200") == "2024-04-02T09:16:01"
    assert when("2024-04-02T09:15:23.1Z") == "2024-04-02T09:15:23"
    assert when("someday") is None and when(None) is None and when(True) is None


# -- Markdown ----------------------------------------------------------------------------


def test_vault_files_skip_dot_folders_and_keep_order() -> None:
    groups = _groups(FIX / "vault")
    assert list(groups) == [
        "Compost.md", "Journal/2024-05-01.md", "Projects/Garden Plan.md", "Tomato Varieties.md",
    ]  # fmt: skip


def test_front_matter_tags_dates_and_titles() -> None:
    groups = _groups(FIX / "vault", scope="garden")
    tomato = groups["Tomato Varieties.md"]
    [note] = tomato.notes
    assert note.tags == ("gardening", "vegetables", "to-try")  # no code, no issue number
    assert note.event_at == "2024-02-20T19:45:00" and note.scope == "garden"
    assert note.source == "markdown:Tomato Varieties.md#0"
    # keyed by the file and the text (an edited section is a new version)
    assert note.dedupe_key is not None and note.dedupe_key.startswith("markdown:#Tomato Var")
    assert tomato.replaces == "markdown:Tomato Varieties.md"
    assert tomato.wikilinks == [("markdown:Tomato Varieties.md#0", "Garden Plan")]
    journal = groups["Journal/2024-05-01.md"]
    assert journal.title == "2024-05-01" and journal.notes[0].tags == ("journal", "daily-note")
    assert journal.notes[0].event_at == "2024-05-01T05:30:00"
    assert journal.redacted == 1 and "Gr33nH0use" not in journal.notes[0].content
    compost = groups["Compost.md"]
    assert compost.notes[0].tags == ("compost",) and compost.notes[0].event_at is None
    assert compost.wikilinks == [("markdown:Compost.md#0", "Garden Plan 2024")]  # not the jpg


def test_a_long_note_is_one_note_per_heading_section() -> None:
    plan = _groups(FIX / "vault")["Projects/Garden Plan.md"]
    assert plan.title == "Garden Plan 2024"
    assert list(plan.titles.values()) == [
        "Garden Plan 2024 > Garden Plan 2024", "Garden Plan 2024 > Beds",
        "Garden Plan 2024 > Sowing calendar", "Garden Plan 2024 > Budget",
    ]  # fmt: skip
    assert [n.source for n in plan.notes] == [
        f"markdown:Projects/Garden Plan.md#{i}" for i in range(4)
    ]
    assert plan.notes[1].content.startswith("## Beds\n")
    assert "```python" in plan.notes[3].content  # the code block stays with its section
    assert all(n.tags == ("gardening", "projects/active", "gardening/veg") for n in plan.notes)
    assert plan.wikilinks == [
        ("markdown:Projects/Garden Plan.md#0", "Tomato Varieties"),
        ("markdown:Projects/Garden Plan.md#0", "Compost"),
    ]  # [[Not A Link]] sits in a code block


def test_a_single_markdown_file_and_symlinks_out_of_the_vault(tmp_path: Path) -> None:
    fmt, units = _units(FIX / "vault" / "Compost.md")
    assert fmt == "markdown" and [u.ref for u in units] == ["Compost.md"]
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    vault.mkdir()
    outside.mkdir()
    (outside / "secret.md").write_text("# Private\n\nnot in the vault\n", encoding="utf-8")
    (vault / "inside.md").write_text("# Inside\n\nin the vault\n", encoding="utf-8")
    try:
        (vault / "escape.md").symlink_to(outside / "secret.md")
        (vault / "linked").symlink_to(outside, target_is_directory=True)
        (vault / "alias.md").symlink_to(vault / "inside.md")
    except OSError:
        pytest.skip("symlinks are not available here")
    assert sorted(_groups(vault)) == ["alias.md", "inside.md"]


def test_obsidian_tags_always_satisfy_the_store_rule() -> None:
    assert markdown.TAG_PATTERN.pattern == TAG_PATTERN.pattern
    raw = ["Projects/Active", "#Daily Note", "straße", "-leading", "a" * 80, "x&y", "über_cool"]
    tags = [markdown.normalise_tag(t) for t in raw]
    assert tags[:3] == ["projects/active", "daily-note", "straße"]
    for tag in tags:
        assert tag is not None and validate_tag(tag) == tag
    assert markdown.normalise_tag("###") is None


def test_front_matter_subset() -> None:
    fields, body = markdown.front_matter(
        '---\ntitle: "A: b"\ntags: [one, "two"]\nlist:\n  - x\n  - y\nnested:\n  k: v\n---\nBody'
    )
    assert fields == {"title": "A: b", "tags": ["one", "two"], "list": ["x", "y"], "nested": []}
    assert body == "Body"
    assert markdown.front_matter("---\nno end\n") == ({}, "---\nno end\n")


# -- text --------------------------------------------------------------------------------


def test_text_paragraphs_become_notes() -> None:
    [group] = _groups(FIX / "notes.txt").values()
    assert [n.source for n in group.notes] == [f"text:notes.txt#{i}" for i in range(3)]
    assert group.notes[2].content.endswith("sliding window?\nDecide by Friday.")
    assert "https://deploy:[REDACTED:password]@staging.example.com" in group.notes[1].content
    assert group.redacted == 1 and thread_of(group.notes[0].source) == "text:notes.txt"


def test_a_long_paragraph_is_cut_at_sentences(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("short one\n\n" + "A sentence that goes on. " * 400, encoding="utf-8")
    [group] = _groups(path, "text").values()
    assert [n.source for n in group.notes] == [
        "text:long.txt#0", "text:long.txt#1", "text:long.txt#1~2", "text:long.txt#1~3",
    ]  # fmt: skip
    assert all(len(n.content) <= 4000 and n.content.endswith("on.") for n in group.notes[1:])


# -- redaction ---------------------------------------------------------------------------

SECRETS = [
    ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abc", "anthropic_key"),
    ("OPENAI_API_KEY=sk-proj-abcDEF1234567890ghijKLMN", "openai_key"),
    ("use sk-1234567890abcdefghijklmnop please", "openai_key"),
    ("id AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key"),
    ("token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ12", "github_token"),
    ("gho_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ12", "github_token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_token"),
    ("slack xoxb-123456789012-abcdefABCDEF", "slack_token"),
    ("maps AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt",
    ),
    ("Authorization: Bearer abcDEF123456ghiJKL789", "bearer_token"),
    ("curl -H 'authorization: bearer 0123456789abcdef0123'", "bearer_token"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "private_key",
    ),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "private_key"),
    ("db postgres://admin:s3cr3t@db.example.com:5432/app", "password"),
    ("password=hunter22", "password"),
    ('{"api_key": "abc123xyz"}', "api_key"),
    ("passwd: Tr0ub4dor&3", "password"),
    ("secret = 'correct horse battery staple'", "secret"),
    ("token=abcdef123", "token"),
    ("DB_PASSWORD: 'x9!kQ'", "password"),
    # A key's name given as a label's value does not hide the assignment after it.
    (
        "aws secret: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key",
    ),
    ("SECRET_KEY=django-insecure-7x!k2@p#q9", "secret"),
    ("signing-key: Zx81kkLmq_p0", "api_key"),
    ("hf token hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "huggingface_token"),
]


@pytest.mark.parametrize(("text", "kind"), SECRETS, ids=[k for _, k in SECRETS])
def test_secrets_are_redacted(text: str, kind: str) -> None:
    out, count = redact(text)
    assert count == 1 and f"[REDACTED:{kind}]" in out, out


def test_redaction_keeps_the_context() -> None:
    assert redact("postgres://admin:s3cr3t@db.example.com/app")[0] == (
        "postgres://admin:[REDACTED:password]@db.example.com/app"
    )
    assert redact("Authorization: Bearer abcDEF123456ghiJKL789")[0] == (
        "Authorization: Bearer [REDACTED:bearer_token]"
    )
    assert redact('password = "hunter22"; next')[0] == 'password = "[REDACTED:password]"; next'
    assert redact("-----BEGIN EC PRIVATE KEY-----\nAAA\n-----END EC PRIVATE KEY-----\nafter") == (
        "[REDACTED:private_key]\nafter",
        1,
    )


PROSE = [
    "I spent a token amount of time on the task-list before lunch.",
    "Use a bearer token for authentication; the bearer of bad news.",
    "risk-averse people use sk-learn and disk-based caches",
    "commit a1b2c3d and sha abcdef0123456789abcdef",
    "max_tokens=256 and tokens = tokenizer.encode(text)",
    "client = OpenAI(api_key=api_key)",
    "password = os.environ['DB_PASSWORD']",
    "token = get_token(user)",
    "if password == 'x': return",
    "The secret: it is in the sauce. Password: what is it?",
    "Open http://localhost:8080/path or https://example.com/a@b",
    "basic internationalization and Basic authentication",
    "email me at ana@example.org about the AKIA prefix",
    "secret_santa: Bob",
    'print("token: " + token + " expires")',
    "The key: F minor, and the house key is under the mat.",
    "a hf_transfer_helper_module_for_large_files_and_more",
]


@pytest.mark.parametrize("text", PROSE)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == (text, 0)


# -- detection and bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("chatgpt/conversations.json", "chatgpt"),
        ("claude/conversations.json", "claude"),
        ("messages.jsonl", "jsonl"),
        ("messages.json", "jsonl"),
        ("vault", "markdown"),
        ("vault/Projects/Garden Plan.md", "markdown"),
        ("vault/Compost.md", "markdown"),
        ("notes.txt", "text"),
        ("bad/truncated.json", "chatgpt"),
    ],
)
def test_detect_by_content(path: str, fmt: str) -> None:
    assert importers.detect(FIX / path) == fmt


def test_detect_ignores_the_file_name(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((FIX / "claude" / "conversations.json").read_bytes())
    assert importers.detect(renamed) == "claude"


def test_locomo_goes_through_units_one_group_per_sample(write_locomo: Any) -> None:
    path = write_locomo(
        {
            "conv-1": [("1:56 pm on 8 May, 2023", [("Caroline", "Hi there", None)])],
            "conv-2": [
                ("8 May, 2023", [("Melanie", "I painted", "a sunset"), ("Bo", "Nice", None)])
            ],
        }
    )
    fmt, units = _units(path)
    assert fmt == "locomo" and [u.ref for u in units] == [
        "locomo.json#conv-1",
        "locomo.json#conv-2",
    ]
    notes = [n for u in units if isinstance(u, Group) for n in u.notes]
    assert notes == locomo.notes(locomo.load(path))
    [_, session] = _groups(path, granularity="session").values()
    assert session.notes[0].source == "locomo:conv-2/part-1" and session.notes[0].scope == "conv-2"


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [
        ("bad/empty.json", "auto", "is empty"),
        ("bad/empty.json", "chatgpt", "is empty"),
        ("bad/latin1.txt", "auto", "is not UTF-8"),
        ("bad/latin1.txt", "text", "is not UTF-8"),
        ("bad/wrong_shape.json", "auto", "is a JSON object, but a ChatGPT export is a list"),
        ("bad/wrong_shape.json", "chatgpt", "is a JSON object, not a ChatGPT export"),
        ("claude/conversations.json", "chatgpt", "does not look like a ChatGPT export"),
        ("chatgpt/conversations.json", "claude", "does not look like a Claude.ai export"),
        ("notes.txt", "jsonl", "is not JSON Lines"),
        ("notes.txt", "yaml", "use one of: auto, chatgpt, claude, jsonl, markdown, text, locomo"),
        ("vault", "text", "is a folder"),
        ("missing.json", "auto", "does not exist"),
    ],
)
def test_bad_input_is_refused_before_anything_is_read(path: str, fmt: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        importers.units(FIX / path, fmt)
    assert "\n" not in str(info.value)


def test_a_json_file_that_is_not_json_or_not_an_export_is_refused(tmp_path: Path) -> None:
    for name, content in [("bad.json", "not json at all"), ("odd.json", '[{"no_sample_id": 1}]')]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(InvalidInput, match="--format"):
            importers.units(path)


def test_an_empty_vault_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "x.md").write_text("# hidden\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="holds no Markdown"):
        importers.units(tmp_path)


def test_read_still_returns_every_note_or_raises(tmp_path: Path) -> None:
    fmt, notes = importers.read(FIX / "messages.jsonl", "auto")
    assert fmt == "jsonl" and len(notes) == 5
    with pytest.raises(InvalidInput, match="truncated at byte"):
        importers.read(FIX / "bad" / "truncated.json", "auto")


# -- streaming ---------------------------------------------------------------------------


def _big_export(path: Path, conversations: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for c in range(conversations):
            mapping = {}
            parent = None
            for m in range(4):
                nid = f"c{c}-m{m}"
                text = f"Conversation {c} message {m}. " + "lorem ipsum dolor sit amet " * 90
                mapping[nid] = _node(("u" if m % 2 == 0 else "a") + nid, parent, [], text, 1.7e9)
                mapping[nid]["id"] = nid
                if parent is not None:
                    mapping[parent]["children"] = [nid]
                parent = nid
            conv = {"title": f"c{c}", "conversation_id": f"c{c}", "create_time": 1.7e9,
                    "mapping": mapping, "current_node": parent}  # fmt: skip
            out.write(("," if c else "") + json.dumps(conv))
        out.write("]")


def test_chatgpt_streams_a_large_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conversations.json"
    _big_export(path, 2000)
    size = path.stat().st_size
    assert size > 15_000_000

    def whole_file(*_: object, **__: object) -> None:
        raise AssertionError("the whole export was loaded at once")

    monkeypatch.setattr(json, "load", whole_file)
    monkeypatch.setattr(json, "loads", whole_file)
    monkeypatch.setattr(Path, "read_text", whole_file)
    monkeypatch.setattr(Path, "read_bytes", whole_file)
    tracemalloc.start()
    try:
        count = 0
        for unit in chatgpt.read(path, "default", "message", True):
            assert isinstance(unit, Group) and len(unit.notes) == 4
            count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte export"


def test_fixture_files_are_what_the_tests_say() -> None:
    assert (FIX / "bad" / "empty.json").stat().st_size == 0
    with pytest.raises(UnicodeDecodeError):
        (FIX / "bad" / "latin1.txt").read_bytes().decode("utf-8")
    assert os.path.isdir(FIX / "vault" / ".obsidian")


def test_locomo_is_told_by_its_keys_in_any_order_however_long_the_questions(
    tmp_path: Path,
) -> None:
    """The published file puts a long `qa` list before `conversation` and `sample_id`."""
    qa = [{"question": f"Question {i} about the garden?", "answer": "x", "evidence": ["D1:1"],
           "category": 4} for i in range(2000)]  # fmt: skip
    conversation = {"speaker_a": "A", "speaker_b": "B", "session_1_date_time": "8 May, 2023",
                    "session_1": [{"speaker": "A", "dia_id": "D1:1", "text": "hello"}]}  # fmt: skip
    path = tmp_path / "dev.json"
    path.write_text(json.dumps([{"qa": qa, "conversation": conversation, "sample_id": "c"}]))
    assert path.stat().st_size > 100_000
    assert importers.detect(path) == "locomo"
    not_locomo = tmp_path / "other.json"
    not_locomo.write_text(json.dumps([{"qa": qa, "messages": [{"role": "user", "text": "hi"}]}]))
    try:
        other = importers.detect(not_locomo)
    except InvalidInput:
        other = "refused"
    assert other != "locomo"


def test_one_locomo_record_alone_is_told_too(tmp_path: Path) -> None:
    """A file of one conversation written as the record itself (not a one-item list) is
    LoCoMo, as `load` reads it, not a chat log with no text."""
    conversation = {"speaker_a": "A", "speaker_b": "B", "session_1_date_time": "8 May, 2023",
                    "session_1": [{"speaker": "A", "dia_id": "D1:1", "text": "hello"}]}  # fmt: skip
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"qa": [], "conversation": conversation, "sample_id": "c"}))
    assert importers.detect(path) == "locomo"
    path.write_text(json.dumps({"conversation": {"messages": []}, "title": "x"}))
    try:
        other = importers.detect(path)
    except InvalidInput:
        other = "refused"
    assert other != "locomo"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"mapping": {', "is not valid JSON .* it ends early, as a file cut off"),
        (b'{"a": 1, "b": [1,2}', "is not valid JSON .* fix the file"),
        (b"[]", "holds no conversations \\(an empty JSON list\\)"),
        ("hello world".encode("utf-16"), "is UTF-16 text; convert it to UTF-8 first"),
    ],
)
def test_a_broken_or_empty_file_says_what_is_wrong_with_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as info:
        importers.units(path)
    assert "\n" not in str(info.value)
