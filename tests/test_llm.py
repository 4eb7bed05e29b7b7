"""LLM backends: the real SDK / HTTP code against mock transports, the fakes, the selection.

No network: every request goes to a MockTransport handler that records it.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from zettelmem.backends.llm import (
    DEFAULT_ANTHROPIC_MODEL,
    LLM,
    AnthropicLLM,
    BoundedLLM,
    OpenAICompatibleLLM,
    ScriptedLLM,
    get_llm,
)
from zettelmem.config import Settings
from zettelmem.errors import ConfigError, LLMError


class Card(BaseModel):
    keywords: list[str]
    context: str
    tags: list[str] = []


GOOD = {"keywords": ["cat", "tom"], "context": "Tom's cat", "tags": ["pets"]}
Handler = Callable[[Any], Any]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
        "OPENAI_API_KEY",
        "MEM_NO_LLM",
    ):
        monkeypatch.delenv(name, raising=False)


class Recorder:
    """A MockTransport handler: answers from a list, keeps every request."""

    def __init__(self, http: ModuleType, *answers: Any) -> None:
        self.http = http
        self.answers = list(answers)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("simulated", request=request)
        status, body = answer
        if isinstance(body, str):
            return self.http.Response(status, text=body, headers={"retry-after-ms": "1"})
        return self.http.Response(status, json=body, headers={"retry-after-ms": "1"})

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    def client(self) -> Any:
        return self.http.Client(transport=self.http.MockTransport(self))


# --- Anthropic, through the real SDK ------------------------------------------------


def _sdk_http() -> ModuleType:
    """The HTTP library the installed SDK is built on: httpx before anthropic 2, httpx2 since."""
    anthropic = pytest.importorskip("anthropic")
    base = next(c for c in anthropic.DefaultHttpxClient.__mro__ if c.__name__ == "Client")
    return importlib.import_module(base.__module__.split(".")[0])


@pytest.fixture
def sdk() -> ModuleType:
    return pytest.importorskip("anthropic")


def _message(*content: dict[str, Any], stop_reason: str = "tool_use") -> tuple[int, Any]:
    return 200, {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": DEFAULT_ANTHROPIC_MODEL,
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 8},
    }


def _tool_use(data: Any, name: str = "Card") -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_01", "name": name, "input": data}


def _api_error(status: int, kind: str, message: str) -> tuple[int, Any]:
    return status, {"type": "error", "error": {"type": kind, "message": message}}


@pytest.fixture
def claude(
    sdk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[AnthropicLLM, Recorder]]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key-123")

    def make(*answers: Any, max_retries: int = 0) -> tuple[AnthropicLLM, Recorder]:
        recorder = Recorder(_sdk_http(), *answers)
        llm = AnthropicLLM(timeout=5, max_retries=max_retries, http_client=recorder.client())
        return llm, recorder

    return make


def test_anthropic_sends_one_forced_tool_with_the_models_schema(claude: Any) -> None:
    llm, rec = claude(_message(_tool_use(GOOD)))
    card = llm.structured("You index notes.", "Tom has a cat.", Card)
    assert card == Card(**GOOD)
    assert llm.name == f"anthropic:{DEFAULT_ANTHROPIC_MODEL}"
    request = rec.requests[0]
    assert request.method == "POST" and request.url.path == "/v1/messages"
    # The key from the environment: x-api-key in older SDKs, a Bearer token in newer ones.
    sent = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert sent.removeprefix("Bearer ") == "sk-test-key-123"
    body = rec.body()
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "You index notes."
    assert body["messages"] == [{"role": "user", "content": "Tom has a cat."}]
    assert len(body["tools"]) == 1
    assert body["tools"][0]["name"] == "Card"
    assert body["tools"][0]["input_schema"] == Card.model_json_schema()
    assert body["tool_choice"] == {"type": "tool", "name": "Card"}


def test_anthropic_uses_the_configured_model(claude: Any) -> None:
    recorder = Recorder(_sdk_http(), _message(_tool_use(GOOD)))
    llm = AnthropicLLM("claude-test-model", max_retries=0, http_client=recorder.client())
    llm.structured("s", "p", Card)
    assert recorder.body()["model"] == "claude-test-model"


@pytest.mark.parametrize(
    "answer, message",
    [
        (_message(_tool_use({"keywords": "cat", "context": 3})), "does not fit Card"),
        (_message(_tool_use({"context": "x"})), "does not fit Card"),
        (_message({"type": "text", "text": "Sure!"}, stop_reason="end_turn"), "no Card tool call"),
        (_message(_tool_use(GOOD, name="Other")), "no Card tool call"),
        (_message(stop_reason="refusal"), "refused"),
        (_message(_tool_use({"keywords": []}), stop_reason="max_tokens"), "cut at"),
        ((200, "this is not json"), "not a message"),
        (_api_error(429, "rate_limit_error", "Too many requests"), "HTTP 429"),
        (_api_error(500, "api_error", "Internal server error"), "HTTP 500"),
        (_api_error(529, "overloaded_error", "Overloaded"), "HTTP 529"),
        (_api_error(401, "authentication_error", "invalid x-api-key"), "ANTHROPIC_API_KEY"),
        (_api_error(404, "not_found_error", "model: nope"), "model: nope"),
    ],
)
def test_anthropic_failures_become_one_line_llm_errors(
    claude: Any, answer: Any, message: str
) -> None:
    llm, rec = claude(answer)
    with pytest.raises(LLMError) as caught:
        llm.structured("s", "p", Card)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert len(rec.requests) == 1  # max_retries=0: one request, no retry


@pytest.mark.parametrize(
    "exception, message", [("ReadTimeout", "no answer within 5s"), ("ConnectError", "cannot reach")]
)
def test_anthropic_timeout_and_connection_errors(claude: Any, exception: str, message: str) -> None:
    llm, _ = claude(getattr(_sdk_http(), exception))
    with pytest.raises(LLMError, match=message):
        llm.structured("s", "p", Card)


def test_anthropic_retries_through_the_sdk_then_answers(claude: Any) -> None:
    llm, rec = claude(
        _api_error(500, "api_error", "boom"), _message(_tool_use(GOOD)), max_retries=1
    )
    assert llm.structured("s", "p", Card) == Card(**GOOD)
    assert len(rec.requests) == 2


def test_anthropic_429_after_the_retries_is_an_llm_error(claude: Any) -> None:
    busy = _api_error(429, "rate_limit_error", "slow down")
    llm, rec = claude(busy, busy, max_retries=1)
    with pytest.raises(LLMError, match=r"HTTP 429 \(slow down\) after 1 retry; try again later"):
        llm.structured("s", "p", Card)
    assert len(rec.requests) == 2


def test_anthropic_needs_the_key_from_the_environment(sdk: ModuleType) -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        AnthropicLLM()


def test_anthropic_without_the_sdk_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setitem(sys.modules, "anthropic", None)  # makes `import anthropic` fail
    with pytest.raises(ConfigError, match=r"pip install 'zettelmem\[llm\]'"):
        AnthropicLLM()


# --- OpenAI-compatible servers (OpenAI, Ollama, llama.cpp) ---------------------------

OLLAMA = "http://localhost:11434/v1"


@pytest.fixture(params=["httpx", "httpx2"])
def http(request: pytest.FixtureRequest) -> ModuleType:
    """Either HTTP library works as the client."""
    return pytest.importorskip(request.param)


def _chat(content: Any, **message: Any) -> tuple[int, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content, **message}}
    return 200, {"id": "c1", "object": "chat.completion", "choices": [choice]}


def _openai(http: ModuleType, *answers: Any) -> tuple[OpenAICompatibleLLM, Recorder]:
    recorder = Recorder(http, *answers)
    llm = OpenAICompatibleLLM(OLLAMA, "llama3.2", timeout=7, http_client=recorder.client())
    return llm, recorder


def test_openai_asks_for_a_strict_json_schema(http: ModuleType) -> None:
    llm, rec = _openai(http, _chat(json.dumps(GOOD)))
    assert llm.structured("You index notes.", "Tom has a cat.", Card) == Card(**GOOD)
    assert llm.name == "openai:llama3.2"
    request = rec.requests[0]
    assert str(request.url) == f"{OLLAMA}/chat/completions"
    assert "authorization" not in request.headers  # a local server needs no key
    body = rec.body()
    assert body["model"] == "llama3.2"
    assert body["messages"] == [
        {"role": "system", "content": "You index notes."},
        {"role": "user", "content": "Tom has a cat."},
    ]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Card", "schema": Card.model_json_schema(), "strict": True},
    }


def test_openai_sends_the_key_from_the_environment(
    http: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    llm, rec = _openai(http, _chat(json.dumps(GOOD)))
    llm.structured("s", "p", Card)
    assert rec.requests[0].headers["authorization"] == "Bearer sk-openai-test"


def test_openai_falls_back_to_json_object_when_json_schema_is_rejected(http: ModuleType) -> None:
    rejected = (400, {"error": {"message": "response_format json_schema is not supported"}})
    llm, rec = _openai(http, rejected, _chat(json.dumps(GOOD)), _chat(json.dumps(GOOD)))
    assert llm.structured("You index notes.", "p", Card) == Card(**GOOD)
    fallback = rec.body(1)
    assert fallback["response_format"] == {"type": "json_object"}
    system = fallback["messages"][0]["content"]
    assert system.startswith("You index notes.")
    assert json.dumps(Card.model_json_schema()) in system
    # The server is not asked for json_schema again.
    llm.structured("s", "p", Card)
    assert len(rec.requests) == 3 and rec.body(2)["response_format"] == {"type": "json_object"}


def test_openai_fallback_failing_too_is_an_llm_error(http: ModuleType) -> None:
    rejected = (400, {"error": {"message": "bad request"}})
    llm, rec = _openai(http, rejected, rejected)
    with pytest.raises(LLMError, match="HTTP 400"):
        llm.structured("s", "p", Card)
    assert len(rec.requests) == 2 and llm.json_schema_ok


@pytest.mark.parametrize(
    "content",
    [
        f"```json\n{json.dumps(GOOD)}\n```",
        f"```\n{json.dumps(GOOD)}\n```",
        f"  {json.dumps(GOOD)}  ",
        f"<think>the user wants keywords</think>\n```json\n{json.dumps(GOOD)}\n```",
    ],
)
def test_openai_reads_fenced_json(http: ModuleType, content: str) -> None:
    llm, _ = _openai(http, _chat(content))
    assert llm.structured("s", "p", Card) == Card(**GOOD)


@pytest.mark.parametrize(
    "answer, message",
    [
        (_chat("Sure! Here are the keywords: cat, Tom"), "not JSON"),
        (_chat('```json\n{"keywords": [\n```'), "not JSON"),
        (_chat(json.dumps({"keywords": "cat"})), "does not fit Card"),
        (_chat(None, refusal="I can't help with that"), "refused"),
        (_chat(""), "empty"),
        ((200, {"choices": []}), "no choices"),
        ((200, "<html>proxy error</html>"), "no choices"),
        ((429, {"error": {"message": "rate limited"}}), "HTTP 429"),
        ((500, "Internal Server Error"), "HTTP 500"),
        ((404, {"error": "model 'llama3.2' not found"}), "not found"),
    ],
)
def test_openai_failures_become_one_line_llm_errors(
    http: ModuleType, answer: Any, message: str
) -> None:
    llm, _ = _openai(http, answer)
    with pytest.raises(LLMError) as caught:
        llm.structured("s", "p", Card)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "exception, message", [("ReadTimeout", "within 7s"), ("ConnectError", "is the server running")]
)
def test_openai_timeout_and_connection_errors(
    http: ModuleType, exception: str, message: str
) -> None:
    llm, _ = _openai(http, getattr(http, exception))
    with pytest.raises(LLMError, match=message):
        llm.structured("s", "p", Card)


def test_openai_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        OpenAICompatibleLLM()
    with pytest.raises(ConfigError, match="mem config set llm_model"):
        OpenAICompatibleLLM(OLLAMA, "")


# --- The shipped fakes --------------------------------------------------------------


def test_scripted_llm_answers_in_order_and_records_calls() -> None:
    seen: list[tuple[str, str, type[BaseModel]]] = []

    def answer(system: str, prompt: str, schema: type[BaseModel]) -> dict[str, Any]:
        seen.append((system, prompt, schema))
        return {"keywords": prompt.split(), "context": system}

    llm: LLM = ScriptedLLM([GOOD, answer])
    assert llm.structured("s1", "p1", Card) == Card(**GOOD)
    assert llm.structured("sys", "two words", Card) == Card(
        keywords=["two", "words"], context="sys"
    )
    assert seen == [("sys", "two words", Card)]
    assert isinstance(llm, ScriptedLLM)
    assert [(c.system, c.prompt, c.schema) for c in llm.calls] == [
        ("s1", "p1", Card),
        ("sys", "two words", Card),
    ]
    with pytest.raises(LLMError, match="no scripted response left"):
        llm.structured("s", "p", Card)
    assert len(llm.calls) == 3 and llm.remaining == 0


def test_scripted_llm_raises_only_llm_errors() -> None:
    def broken(system: str, prompt: str, schema: type[BaseModel]) -> dict[str, Any]:
        raise KeyError("oops")

    llm = ScriptedLLM([LLMError("timed out"), TimeoutError("slow"), broken, {"keywords": 1}])
    with pytest.raises(LLMError, match="^timed out$"):
        llm.structured("s", "p", Card)
    with pytest.raises(LLMError, match="TimeoutError: slow"):
        llm.structured("s", "p", Card)
    with pytest.raises(LLMError, match="KeyError"):
        llm.structured("s", "p", Card)
    with pytest.raises(LLMError, match="does not fit Card"):
        llm.structured("s", "p", Card)


def test_bounded_llm_stops_at_its_budget() -> None:
    inner = ScriptedLLM([LLMError("flaky"), GOOD, GOOD])
    bounded = BoundedLLM(inner, max_calls=2)
    assert bounded.name == "scripted"
    with pytest.raises(LLMError, match="flaky"):
        bounded.structured("s", "p", Card)  # a failed call still counts
    assert bounded.structured("s", "p", Card) == Card(**GOOD)
    with pytest.raises(LLMError, match="call budget spent"):
        bounded.structured("s", "p", Card)
    assert len(inner.calls) == 2 and bounded.used == 2 and bounded.remaining == 0


def test_bounded_llm_with_zero_budget_never_calls() -> None:
    inner = ScriptedLLM([GOOD])
    with pytest.raises(LLMError, match="call budget spent"):
        BoundedLLM(inner, 0).structured("s", "p", Card)
    assert inner.calls == []


# --- Selection ----------------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    settings = Settings()
    settings.values.update(values)
    return settings


def test_get_llm_is_none_by_default_and_when_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert get_llm(Settings()) is None
    assert get_llm(_settings(llm="anthropic"), no_llm=True) is None
    monkeypatch.setenv("MEM_NO_LLM", "1")
    assert get_llm(_settings(llm="anthropic")) is None


def test_get_llm_builds_the_chosen_backend(
    sdk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    claude = get_llm(_settings(llm="anthropic", llm_timeout=12))
    assert isinstance(claude, AnthropicLLM)
    assert claude.model == DEFAULT_ANTHROPIC_MODEL and claude.timeout == 12
    named = get_llm(_settings(llm="anthropic", llm_model="claude-x"))
    assert named is not None and named.name == "anthropic:claude-x"
    local = get_llm(_settings(llm="openai", llm_base_url=OLLAMA + "/", llm_model="qwen3"))
    assert isinstance(local, OpenAICompatibleLLM)
    assert local.base_url == OLLAMA and local.name == "openai:qwen3"


def test_get_llm_without_a_key_says_which_variable_to_set(sdk: ModuleType) -> None:
    with pytest.raises(ConfigError, match="export it, or run `mem config set llm none`"):
        get_llm(_settings(llm="anthropic"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_llm(_settings(llm="openai"))
    with pytest.raises(ConfigError, match="unknown llm 'gpt'"):
        get_llm(_settings(llm="gpt"))
