"""LLM backends behind one small interface: ask for a pydantic model, get a validated one.

Backends: Anthropic (the official SDK, structured output through one forced
tool), any OpenAI-compatible ``/chat/completions`` server (OpenAI, Ollama,
llama.cpp) and ``ScriptedLLM``, the deterministic fake that tests and
examples use offline. Every failure of a call becomes ``LLMError`` with a
one-line message, because callers fall back to offline heuristics and warn.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from zettelmem.errors import ConfigError, LLMError

if TYPE_CHECKING:  # pydantic (~0.1 s) loads with the first reply to validate
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"
BACKENDS = ("none", "anthropic", "openai")

_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.S)
# Reasoning models served by Ollama or llama.cpp may think aloud before answering.
_THINK = re.compile(r"<think>.*?</think>", re.S)


class LLM(Protocol):
    """A chat model that answers with an instance of the pydantic model it is given."""

    @property
    def name(self) -> str: ...

    def structured(self, system: str, prompt: str, schema: type[M]) -> M:
        """The model's answer, validated by ``schema``; any failure raises ``LLMError``."""
        ...


class SettingsLike(Protocol):
    """What ``get_llm`` reads: ``config.Settings`` (a sibling layer, so not imported)."""

    def get(self, key: str) -> Any: ...


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _schema_name(schema: type[BaseModel]) -> str:
    """A tool / json_schema name both APIs accept (``^[A-Za-z0-9_-]{1,64}$``)."""
    return _TOOL_NAME.sub("_", schema.__name__)[:64] or "answer"


def _validate(backend: str, schema: type[M], data: object) -> M:
    from pydantic import ValidationError

    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise LLMError(
            f"{backend}: the reply does not fit {schema.__name__} "
            f"({exc.error_count()} error(s); {where}: {_one_line(first['msg'], 80)})"
        ) from None


def _parse_json_text(backend: str, text: str) -> object:
    """JSON from a chat reply, tolerating ``` fences and a leading <think> block."""
    body = _THINK.sub("", text).strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        return json.loads(body)
    except ValueError:
        raise LLMError(f"{backend}: the reply is not JSON: {_one_line(body, 80)!r}") from None


class AnthropicLLM:
    """Claude through the official ``anthropic`` SDK (``pip install 'zettelmem[llm]'``).

    The answer comes back as the input of one tool whose input schema is the
    pydantic model's JSON schema; ``tool_choice`` forces the model to call it.
    The key is read from ``ANTHROPIC_API_KEY`` only and never stored.
    ``http_client`` goes to the SDK unchanged (tests pass one with a mock
    transport, of the HTTP library the installed SDK is built on).
    """

    def __init__(
        self,
        model: str = DEFAULT_ANTHROPIC_MODEL,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_tokens: int = 1024,
        http_client: Any = None,
    ) -> None:
        try:
            import anthropic
        except ImportError:
            raise ConfigError(
                "the anthropic backend needs the anthropic SDK: pip install 'zettelmem[llm]' "
                "(or run `mem config set llm none`)"
            ) from None
        key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not key:
            raise ConfigError(
                "llm is 'anthropic' but ANTHROPIC_API_KEY is not set; export it, "
                "or run `mem config set llm none` to work offline"
            )
        self.model = model or DEFAULT_ANTHROPIC_MODEL
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.timeout = timeout
        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=key, timeout=timeout, max_retries=max_retries, http_client=http_client
        )

    @property
    def name(self) -> str:
        return f"anthropic:{self.model}"

    def structured(self, system: str, prompt: str, schema: type[M]) -> M:
        tool = _schema_name(schema)
        try:
            return self._read(self._create(system, prompt, schema, tool), tool, schema)
        except LLMError:
            raise
        except self._sdk.AnthropicError as exc:
            raise LLMError(self._describe(exc)) from None
        except Exception as exc:  # the contract: nothing but LLMError leaves structured()
            raise LLMError(f"{self.name}: {type(exc).__name__}: {_one_line(exc)}") from None

    def _create(self, system: str, prompt: str, schema: type[BaseModel], tool: str) -> Any:
        return self._client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,
            messages=[{"role": "user", "content": prompt}],
            tools=[
                {
                    "name": tool,
                    "description": f"Record the answer as a {schema.__name__} object.",
                    "input_schema": schema.model_json_schema(),
                }
            ],
            tool_choice={"type": "tool", "name": tool},
        )

    def _read(self, response: Any, tool: str, schema: type[M]) -> M:
        if not hasattr(response, "content"):  # the SDK hands back text it could not parse
            raise LLMError(f"{self.name}: the reply is not a message: {_one_line(response, 80)!r}")
        if response.stop_reason == "refusal":
            raise LLMError(f"{self.name}: the model refused to answer")
        if response.stop_reason == "max_tokens":
            raise LLMError(f"{self.name}: the reply was cut at {self.max_tokens} tokens")
        for block in response.content:
            if block.type == "tool_use" and block.name == tool:
                return _validate(self.name, schema, block.input)
        raise LLMError(f"{self.name}: the reply has no {tool} tool call")

    def _describe(self, exc: Exception) -> str:
        sdk = self._sdk
        plural = "retry" if self.max_retries == 1 else "retries"
        retries = f" after {self.max_retries} {plural}" if self.max_retries else ""
        if isinstance(exc, sdk.APITimeoutError):
            return (
                f"{self.name}: no answer within {self.timeout:g}s{retries}; "
                "raise llm_timeout or try again later"
            )
        if isinstance(exc, sdk.APIConnectionError):
            return f"{self.name}: cannot reach the API ({_one_line(exc, 80)}); check the network"
        if isinstance(exc, sdk.APIStatusError):
            detail = _api_error_message(exc.body) or _one_line(exc.message, 120)
            status = exc.status_code
            if status == 429 or status >= 500:
                return f"{self.name}: HTTP {status} ({detail}){retries}; try again later"
            if status in (401, 403):
                return f"{self.name}: HTTP {status} ({detail}); check ANTHROPIC_API_KEY"
            return f"{self.name}: HTTP {status} ({detail})"
        return f"{self.name}: {type(exc).__name__}: {_one_line(exc)}"


def _api_error_message(body: object) -> str:
    """``error.message`` of an Anthropic or OpenAI error body, if there is one."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return _one_line(error["message"], 120)
    if isinstance(error, str):
        return _one_line(error, 120)
    return ""


class HTTPResponse(Protocol):
    """The part of an httpx (or httpx2) response the OpenAI backend reads."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class HTTPClient(Protocol):
    """The part of an httpx (or httpx2) client the OpenAI backend uses."""

    def post(
        self, url: str, *, json: Any, headers: dict[str, str], timeout: float
    ) -> HTTPResponse: ...


def _default_http_client() -> HTTPClient:
    try:
        import httpx2

        return httpx2.Client()
    except ImportError:
        pass
    try:
        import httpx

        return httpx.Client()
    except ImportError:
        raise ConfigError("the openai backend needs an HTTP client: pip install httpx") from None


def _transport_failure(exc: Exception) -> str | None:
    """Name the httpx/httpx2 failure kind by class name, so either library works."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return "timeout"
    if "HTTPError" in names:
        return "connection"
    return None


class OpenAICompatibleLLM:
    """Any server with an OpenAI ``/chat/completions`` endpoint: OpenAI, Ollama, llama.cpp.

    Asks for ``response_format`` ``json_schema`` (strict); a server that
    rejects that with HTTP 400 is asked once more with ``json_object`` and
    the schema spelled out in the system prompt, and is then asked that way
    from then on. The key comes from ``OPENAI_API_KEY`` when set (local
    servers need none).
    """

    def __init__(
        self,
        base_url: str = OPENAI_BASE_URL,
        model: str = "",
        *,
        timeout: float = 30.0,
        http_client: HTTPClient | None = None,
    ) -> None:
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        hosted = self.base_url == OPENAI_BASE_URL
        self.model = model or (DEFAULT_OPENAI_MODEL if hosted else "")
        if not self.model:
            raise ConfigError(
                f"llm is 'openai' with llm_base_url {self.base_url} but no model; "
                "run e.g. `mem config set llm_model llama3.2` with a model the server has"
            )
        self._key = os.environ.get("OPENAI_API_KEY", "").strip()
        if hosted and not self._key:
            raise ConfigError(
                "llm is 'openai' but OPENAI_API_KEY is not set; export it, set llm_base_url "
                "to a local server, or run `mem config set llm none` to work offline"
            )
        self.timeout = timeout
        self.json_schema_ok = True
        self._client = http_client if http_client is not None else _default_http_client()

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    def structured(self, system: str, prompt: str, schema: type[M]) -> M:
        if self.json_schema_ok:
            status, data = self._post(self._body(system, prompt, schema, strict=True))
            if status != 400:
                return self._answer(status, data, schema)
        status, data = self._post(self._body(system, prompt, schema, strict=False))
        answer = self._answer(status, data, schema)
        self.json_schema_ok = False  # this server takes json_object; skip the doomed request
        return answer

    def _body(self, system: str, prompt: str, schema: type[BaseModel], strict: bool) -> Any:
        json_schema = schema.model_json_schema()
        if strict:
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(schema),
                    "schema": json_schema,
                    "strict": True,
                },
            }
        else:
            response_format = {"type": "json_object"}
            system = (
                f"{system}\n\nReply with one JSON object and nothing else. "
                f"It must match this JSON schema:\n{json.dumps(json_schema)}"
            )
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
            "response_format": response_format,
        }

    def _post(self, body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            response = self._client.post(url, json=body, headers=headers, timeout=self.timeout)
            status = response.status_code
            try:
                return status, response.json()
            except ValueError:
                return status, _one_line(response.text, 120)
        except Exception as exc:  # the contract: nothing but LLMError leaves structured()
            kind = _transport_failure(exc)
            if kind == "timeout":
                raise LLMError(
                    f"{self.name}: no answer from {self.base_url} within {self.timeout:g}s; "
                    "raise llm_timeout or try again later"
                ) from None
            if kind == "connection":
                raise LLMError(
                    f"{self.name}: cannot reach {self.base_url} ({type(exc).__name__}); "
                    "is the server running? check llm_base_url"
                ) from None
            raise LLMError(f"{self.name}: {type(exc).__name__}: {_one_line(exc)}") from None

    def _answer(self, status: int, data: Any, schema: type[M]) -> M:
        if status != 200:
            detail = _api_error_message(data) or _one_line(data, 120)
            hint = "try again later" if status == 429 or status >= 500 else "check the settings"
            raise LLMError(f"{self.name}: HTTP {status} from {self.base_url} ({detail}); {hint}")
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"{self.name}: the reply has no choices[0].message") from None
        if not isinstance(message, dict):
            raise LLMError(f"{self.name}: the reply has no choices[0].message")
        if message.get("refusal"):
            raise LLMError(f"{self.name}: the model refused ({_one_line(message['refusal'], 80)})")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise LLMError(f"{self.name}: the reply is empty")
        return _validate(self.name, schema, _parse_json_text(self.name, content))


@dataclass(frozen=True)
class Call:
    """One request a ``ScriptedLLM`` received."""

    system: str
    prompt: str
    schema: type[BaseModel]


Responder = Callable[[str, str, "type[BaseModel]"], Mapping[str, Any]]
Response = Mapping[str, Any] | BaseException | Responder


class ScriptedLLM:
    """The shipped fake: answers from a script, in order, and records every call.

    Each response is a dict (validated by the schema asked for), an
    exception (raised, as ``LLMError`` unless it is one), or a callable
    ``(system, prompt, schema) -> dict``. Like a real backend, it raises only
    ``LLMError``: when a response does not validate or the script runs out.
    """

    def __init__(self, responses: Iterable[Response] = (), name: str = "scripted") -> None:
        self._responses = list(responses)
        self._name = name
        self.calls: list[Call] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def remaining(self) -> int:
        return max(len(self._responses) - len(self.calls), 0)

    def structured(self, system: str, prompt: str, schema: type[M]) -> M:
        index = len(self.calls)
        self.calls.append(Call(system, prompt, schema))
        if index >= len(self._responses):
            raise LLMError(f"{self.name}: no scripted response left ({index} used)")
        response = self._responses[index]
        if isinstance(response, BaseException):
            if isinstance(response, LLMError):
                raise response
            raise LLMError(f"{self.name}: {type(response).__name__}: {_one_line(response)}")
        if callable(response):
            try:
                response = response(system, prompt, schema)
            except LLMError:
                raise
            except Exception as exc:
                raise LLMError(f"{self.name}: {type(exc).__name__}: {_one_line(exc)}") from None
        return _validate(self.name, schema, response)


class BoundedLLM:
    """Wraps an LLM and refuses calls past a budget (e.g. ``llm_max_calls_per_write``)."""

    def __init__(self, inner: LLM, max_calls: int) -> None:
        self.inner = inner
        self.max_calls = max_calls
        self.used = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def remaining(self) -> int:
        return max(self.max_calls - self.used, 0)

    def structured(self, system: str, prompt: str, schema: type[M]) -> M:
        if self.used >= self.max_calls:
            raise LLMError(f"call budget spent ({self.max_calls} per write)")
        self.used += 1  # a failed call still spent its time and tokens
        return self.inner.structured(system, prompt, schema)


def llm_disabled_by_env() -> bool:
    """``MEM_NO_LLM=1`` (or true/yes/on) turns every LLM off for this process."""
    return os.environ.get("MEM_NO_LLM", "").strip().lower() in {"1", "true", "yes", "on"}


def get_llm(settings: SettingsLike, *, no_llm: bool = False) -> LLM | None:
    """The configured backend, or None for offline (the default, ``--no-llm``, ``MEM_NO_LLM``).

    Raises ``ConfigError`` when the chosen backend cannot be built (no key,
    SDK missing, no model for a custom server).
    """
    kind = str(settings.get("llm")).strip().lower()
    if no_llm or llm_disabled_by_env() or kind == "none":
        return None
    model = str(settings.get("llm_model") or "").strip()
    timeout = float(settings.get("llm_timeout"))
    if kind == "anthropic":
        return AnthropicLLM(model or DEFAULT_ANTHROPIC_MODEL, timeout=timeout)
    if kind == "openai":
        base_url = str(settings.get("llm_base_url") or "").strip() or OPENAI_BASE_URL
        return OpenAICompatibleLLM(base_url, model, timeout=timeout)
    raise ConfigError(f"unknown llm {kind!r}; use one of {', '.join(BACKENDS)}")
