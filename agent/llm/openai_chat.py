"""The ``openai`` backend: the ``openai`` client against any OpenAI-compatible server
(OpenAI, Ollama, vLLM, LM Studio, llama.cpp's server), JSON-schema constrained when asked."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .base import LLMError, Message, OnToken, one_line


class _FormatRejected(Exception):
    """The server refused this way of asking for JSON; try the next."""


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
    def known_model(self) -> str | None:
        """The model name if known without asking the server (for status lines)."""
        return self._model

    def load(self) -> None:
        """Look up the server's default model now (off the UI thread), not on first use."""
        try:
            self.model
        except LLMError:
            pass   # the first chat call reports it

    @property
    def model(self) -> str:
        """The model to ask; the server's first model when none was configured (a call)."""
        if self._model is None:
            try:
                models = self.client.models.list()
                self._model = next(iter(m.id for m in models.data), None) or "default"
            except Exception as err:  # noqa: BLE001 — any failure means "ask without a name"
                self._model = "default"   # don't ask again on every status refresh
                raise LLMError(f"cannot list models at {self.base_url} ({one_line(err)}); "
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
            raise LLMError(f"cannot reach {self.base_url} ({one_line(err)})") from None
        except self._openai.APIStatusError as err:
            message = f"{self.base_url} answered HTTP {err.status_code} ({one_line(err)})"
            if response_format is not None and err.status_code in (400, 422, 500, 501) and \
                    ("response_format" in str(err) or "json" in str(err).lower()):
                raise _FormatRejected(message) from None
            raise LLMError(message) from None
        except Exception as err:  # noqa: BLE001 — malformed streams raise many kinds
            raise LLMError(f"bad answer from {self.base_url} ({one_line(err)})") from None
