"""The ``openai`` backend: the ``openai`` client against any OpenAI-compatible server
(OpenAI, Ollama, vLLM, LM Studio, llama.cpp's server), JSON-schema constrained when asked."""

from __future__ import annotations

import queue
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from .base import LLMError, Message, OnToken, one_line

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
"""The model asked on OpenAI's hosted API (host api.openai.com) when RECBOT_LLM_MODEL is
not set: small, cheap, and it supports strict JSON-schema answers. A self-hosted server
gets no default: its only model is used, and with several the user must choose."""

MAX_NAMED_MODELS = 5   # model ids named in the "several models" error
MAX_FAILURES = 3       # failed calls in a row (HTTP errors, bad answers) before a server is down


def is_hosted_openai(base_url: str) -> bool:
    """Whether ``base_url`` is OpenAI's hosted API rather than a self-hosted server."""
    url = base_url if "://" in base_url else f"//{base_url}"
    return urlsplit(url).hostname == "api.openai.com"


# What OpenAI's strict mode accepts (Structured Outputs guide, "Supported schemas"):
# type, properties, required, additionalProperties, items, enum, const, anyOf, $defs/$ref,
# description, title; for strings ``pattern`` and ``format`` (the formats below); for
# numbers minimum/maximum/exclusiveMinimum/exclusiveMaximum/multipleOf; for arrays
# minItems/maxItems. These are refused with a 400, so ``strict_schema`` takes them out and
# restates them in the description (the model still reads them; callers check anyway).
STRICT_UNSUPPORTED = ("minLength", "maxLength", "patternProperties", "unevaluatedProperties",
                      "propertyNames", "minProperties", "maxProperties", "unevaluatedItems",
                      "contains", "minContains", "maxContains", "uniqueItems", "default")
STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname",
                            "ipv4", "ipv6", "uuid"})
_NOTES = {"minLength": "at least {} characters", "maxLength": "at most {} characters"}


def _is_object(node: dict) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or \
        "properties" in node


def strict_schema(schema: dict) -> dict:
    """A copy of ``schema`` valid for OpenAI's strict mode, recursively (objects inside
    properties, items, anyOf/oneOf, $defs/definitions): every object gets
    ``"additionalProperties": false`` and requires all its properties (one that was
    optional may now be null instead); ``oneOf`` becomes ``anyOf``; keywords strict mode
    refuses move into the description. ``allOf``, ``not`` and if/then/else have no strict
    equivalent and stay (the server refuses them; ``chat`` then falls back to the next
    form). The input is not changed."""
    if not isinstance(schema, dict):
        return schema
    out: dict = {}
    notes: list[str] = []
    for key, value in schema.items():
        if key in STRICT_UNSUPPORTED or (key == "format" and value not in STRICT_FORMATS):
            notes.append(_NOTES[key].format(value) if key in _NOTES else f"{key}: {value}")
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: strict_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") and isinstance(value, dict):
            out[key] = strict_schema(value)
        elif key in ("items", "prefixItems", "anyOf", "oneOf", "allOf") and \
                isinstance(value, list):
            out["anyOf" if key == "oneOf" else key] = [strict_schema(sub) for sub in value]
        elif key in ("required", "additionalProperties"):
            continue   # set below for objects
        else:
            out[key] = value
    if _is_object(schema):
        props = out.setdefault("properties", {})
        required = schema.get("required") or []
        for name, sub in props.items():
            if name not in required:   # strict mode has no optional keys: null stands for absent
                props[name] = {"anyOf": [sub, {"type": "null"}]}
        out["required"] = list(props)
        out["additionalProperties"] = False
    elif "required" in schema:
        out["required"] = schema["required"]
    if notes:
        text = "; ".join(notes)
        out["description"] = f"{out['description']} ({text})" if out.get("description") else text
    return out


class _FormatRejected(Exception):
    """The server refused this way of asking for JSON; try the next."""


class _ServerDown(LLMError):
    """The server is not there: no answer in time, connection refused or dropped."""


class _Call:
    """One request to the server, run on a thread of its own so that the caller waits for
    it with one total deadline, whatever the server sends (keep-alive comments reset every
    read timeout of the HTTP client). What the thread gets goes into ``events``; ``stop``
    makes it hang up."""

    def __init__(self, model: OpenAIChat) -> None:
        self.model = model
        self.events: queue.SimpleQueue = queue.SimpleQueue()   # (kind, value)
        self.response = None      # the httpx response, once its headers are in
        self.stopped = False

    def stop(self) -> None:
        """Stop reading and close the connection, which ends a read blocked on it."""
        self.stopped = True
        _hang_up(self.response)

    def abandon(self, reason: str) -> None:
        """The caller returns at once with LLMError(reason); the model is not asked again."""
        self.model.down = self.model.down or reason
        self.events.put(("abandoned", reason))
        self.stop()


def _hang_up(response) -> None:
    """Shut the response's socket down: unlike closing it, this wakes a blocked read on
    another thread (httpx has no call for that)."""
    stream = getattr(response, "extensions", {}).get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass   # already closed


_IN_FLIGHT: weakref.WeakSet[_Call] = weakref.WeakSet()
_IN_FLIGHT_LOCK = threading.Lock()


def abandon_calls(reason: str = "abandoned: recbot is quitting") -> int:
    """Abandon every call to an OpenAI-compatible server in flight in this process (the
    chat is quitting): each caller gets LLMError at once, the connections are closed and
    those models are not asked again. Returns how many calls were abandoned."""
    with _IN_FLIGHT_LOCK:
        calls = list(_IN_FLIGHT)
    for call in calls:
        call.abandon(reason)
    return len(calls)


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
        if not model and is_hosted_openai(base_url):
            model = DEFAULT_OPENAI_MODEL   # known without asking: no listing on a hosted API
        self._model = model or None
        self._model_error: str | None = None   # a lasting "which model?" problem
        self._form: str | None = None
        # Why the server is not asked again in this process (None while it is): it did not
        # answer in time, refused the connection or failed MAX_FAILURES calls in a row.
        # Callers skip a model that is down; ``chat`` refuses at once.
        self.down: str | None = None
        self._failures = 0

    @property
    def known_model(self) -> str | None:
        """The model name if known without asking the server (for status lines)."""
        return self._model

    def load(self) -> None:
        """Look up the server's default model now (off the UI thread), not on first use."""
        try:
            self._run(lambda call: self.model, time.monotonic() + self.timeout)
        except _ServerDown as err:
            self.down = f"{err}; answering without it from now on"
            raise LLMError(self.down) from None
        except LLMError:
            pass   # a question of which model: the first chat call reports it

    @property
    def model(self) -> str:
        """The model to ask: RECBOT_LLM_MODEL; else DEFAULT_OPENAI_MODEL on OpenAI's hosted
        API; else a self-hosted server's only model (one call to list them). A server with
        several models raises LLMError naming some, every time, without asking again."""
        if self._model_error is not None:
            raise LLMError(self._model_error)
        if self._model is None:
            try:
                ids = [m.id for m in self.client.models.list().data]
            except self._openai.APITimeoutError:
                raise _ServerDown(f"{self.base_url} did not answer within {self.timeout:g} s") \
                    from None
            except self._openai.APIConnectionError as err:
                # not a model question: the server is down
                raise _ServerDown(f"cannot reach {self.base_url} ({one_line(err)})") from None
            except Exception as err:  # noqa: BLE001 — any failure means "ask without a name"
                self._model = "default"   # don't ask again on every status refresh
                raise LLMError(f"cannot list models at {self.base_url} ({one_line(err)}); "
                               "set RECBOT_LLM_MODEL") from None
            if not ids:
                self._model = "default"
                raise LLMError(f"{self.base_url} lists no models; set RECBOT_LLM_MODEL")
            if len(ids) > 1:
                named = ", ".join(ids[:MAX_NAMED_MODELS]) + (", …" if len(ids) > MAX_NAMED_MODELS
                                                             else "")
                self._model_error = (f"{self.base_url} serves {len(ids)} models ({named}); "
                                     "set RECBOT_LLM_MODEL to the one to use")
                raise LLMError(self._model_error)
            self._model = ids[0]
        return self._model

    # How servers take a JSON schema: OpenAI, vLLM and Ollama the standard ``json_schema``
    # (strict, so the schema goes through ``strict_schema``; the other forms get it as is);
    # llama.cpp's Python server only ``json_object`` with a ``schema`` (it answers 500 to
    # the other). The first form that works is remembered; with neither, the prompt alone
    # asks for JSON and the caller's checks do the rest.
    SCHEMA_FORMS = ("json_schema", "json_object+schema", "prompt")

    def _response_format(self, form: str, schema: dict) -> dict | None:
        if form == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": "answer", "schema": strict_schema(schema),
                                    "strict": True}}
        if form == "json_object+schema":
            return {"type": "json_object", "schema": schema}
        return None

    def chat(self, messages: Sequence[Message], *, schema: dict | None = None,
             max_tokens: int = 512, temperature: float = 0.2,
             on_token: OnToken | None = None) -> str:
        """The reply, within ``timeout`` seconds in all (however the server streams, and
        across the response formats tried). A server that does not answer in time or
        cannot be reached is marked ``down``, as is one failing MAX_FAILURES calls in a
        row; the error that marks it says so, and later calls raise at once."""
        if self.down:
            raise LLMError(self.down)
        deadline = time.monotonic() + self.timeout
        try:
            text = self._chat_forms(messages, schema, max_tokens, temperature, on_token, deadline)
        except LLMError as err:
            if self.down:          # abandoned meanwhile
                raise LLMError(self.down) from None
            self._failures += 1
            if isinstance(err, _ServerDown):
                self.down = f"{err}; answering without it from now on"
            elif self._failures >= MAX_FAILURES:
                self.down = (f"{err} ({self._failures} failures in a row); answering without "
                             "it from now on")
            else:
                raise
            raise LLMError(self.down) from None
        self._failures = 0
        return text

    def _chat_forms(self, messages, schema, max_tokens, temperature, on_token,
                    deadline) -> str:
        if schema is None:
            return self._chat(messages, None, max_tokens, temperature, on_token, deadline)
        forms = [self._form] if self._form else list(self.SCHEMA_FORMS)
        for i, form in enumerate(forms):
            try:
                text = self._chat(messages, self._response_format(form, schema), max_tokens,
                                  temperature, on_token, deadline)
            except _FormatRejected as err:
                if i == len(forms) - 1:
                    raise LLMError(str(err)) from None
                continue
            self._form = form
            return text
        raise LLMError("no response format worked")  # pragma: no cover

    def _run(self, work: Callable[[_Call], object], deadline: float,
             on_token: OnToken | None = None) -> object:
        """``work(call)`` on a thread of its own; its ("token", text) events go to
        ``on_token`` here, on the caller's thread, until it ends with ("end", value) or
        ("error", exception). Raises _ServerDown at ``deadline`` and LLMError when
        abandoned; the thread is told to hang up either way."""
        call = _Call(self)

        def target() -> None:
            try:
                call.events.put(("end", work(call)))
            except BaseException as err:  # noqa: BLE001 — handed to the caller
                call.events.put(("error", err))

        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(call)
        kind = None
        streamed = False
        try:
            threading.Thread(target=target, name="recbot-llm-call", daemon=True).start()
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    kind, value = call.events.get(timeout=remaining)
                except queue.Empty:
                    # a server that was writing is slow, not gone: this call fails, the
                    # next is tried (MAX_FAILURES in a row mark it down)
                    error = LLMError if streamed else _ServerDown
                    raise error(f"{self.base_url} gave no complete answer within "
                                f"{self.timeout:g} s") from None
                if kind == "token":
                    streamed = True
                    if on_token:
                        on_token(value)
                elif kind == "end":
                    return value
                elif kind == "abandoned":
                    raise LLMError(value)
                else:
                    raise value
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(call)
            if kind not in ("end", "error"):   # the thread still reads: make it hang up
                call.stop()

    def _stream(self, call: _Call, request: dict) -> str:
        """On the call's thread: the streamed reply, each piece also sent as a token."""
        stream = self.client.chat.completions.create(model=self.model, stream=True, **request)
        call.response = stream.response
        parts: list[str] = []
        try:
            if call.stopped:     # the caller gave up while the headers were coming
                _hang_up(call.response)
                return ""
            for chunk in stream:
                if call.stopped:
                    return ""
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content or ""
                if delta:
                    parts.append(delta)
                    call.events.put(("token", delta))
        finally:
            stream.close()
        return "".join(parts)

    def _chat(self, messages, response_format, max_tokens, temperature, on_token,
              deadline) -> str:
        request: dict = {"messages": list(messages), "max_tokens": max_tokens,
                         "temperature": temperature}
        if response_format is not None:
            request["response_format"] = response_format
        try:
            text = self._run(lambda call: self._stream(call, request), deadline, on_token)
            if not text:
                raise LLMError(f"{self.base_url} sent an empty answer")
            return text
        except LLMError:
            raise
        except self._openai.APITimeoutError:
            raise _ServerDown(f"{self.base_url} did not answer within {self.timeout:g} s") \
                from None
        except self._openai.APIConnectionError as err:
            raise _ServerDown(f"cannot reach {self.base_url} ({one_line(err)})") from None
        except self._openai.APIStatusError as err:
            message = f"{self.base_url} answered HTTP {err.status_code} ({one_line(err)})"
            if response_format is not None and err.status_code in (400, 422, 500, 501) and \
                    ("response_format" in str(err) or "json" in str(err).lower()):
                raise _FormatRejected(message) from None
            raise LLMError(message) from None
        except Exception as err:  # noqa: BLE001 — malformed streams raise many kinds
            raise LLMError(f"bad answer from {self.base_url} ({one_line(err)})") from None
