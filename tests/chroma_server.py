"""A real Chroma server on 127.0.0.1 for tests, and a token gate in front of it.

``chroma run`` in chromadb >= 1.0 is the Rust server, whose open-source build has no
authentication (its auth hook is a no-op; CHROMA_SERVER_AUTHN_* are ignored). Token auth
in front of it is what a reverse proxy or Chroma Cloud adds, so :class:`TokenGate` plays
that part: it checks each request's token the way chromadb's
``TokenAuthenticationServerProvider`` does (``Authorization: Bearer <token>`` or
``X-Chroma-Token: <token>``, whichever it is set to read), answers like it when the token
is wrong (403 ``{"error": "AuthError", "message": "Forbidden"}``) and passes everything
else to the real server.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")
# chromadb's default chroma_server_auth_ignore_paths: liveness needs no token
_OPEN_PATHS = ("/api/v2", "/api/v2/heartbeat", "/api/v2/version")
_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_run(path: Path, timeout: float = 60) -> Iterator[str]:
    """``chroma run`` persisting to ``path``; yields its URL."""
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"chroma run did not start listening within {timeout} s") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class TokenGate:
    """What the gate accepts and what it saw; tests change ``token``/``header`` freely."""

    upstream: str
    token: str
    header: str = "Authorization"     # or "X-Chroma-Token"
    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)   # request headers, in order
    refused: int = 0

    def allows(self, headers) -> bool:
        if self.header == "Authorization":
            return headers.get("Authorization") == f"Bearer {self.token}"
        return headers.get("X-Chroma-Token") == self.token


class _GateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, *args) -> None:   # quiet
        pass

    def _forward(self) -> None:
        gate: TokenGate = self.server.gate  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        gate.seen.append(dict(self.headers))
        if self.path.split("?")[0].rstrip("/") not in _OPEN_PATHS and \
                not gate.allows(self.headers):
            gate.refused += 1
            self._reply(403, {"Content-Type": "application/json"},
                        json.dumps({"error": "AuthError", "message": "Forbidden"}).encode())
            return
        host, port = gate.upstream.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers={
                k: v for k, v in self.headers.items() if k.lower() not in _HOP})
            resp = conn.getresponse()
            self._reply(resp.status, {k: v for k, v in resp.getheaders()
                                      if k.lower() not in _HOP}, resp.read())
        finally:
            conn.close()

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward


@contextmanager
def token_gate(upstream: str, token: str, header: str = "Authorization") -> Iterator[TokenGate]:
    """A :class:`TokenGate` on a free loopback port in front of ``upstream``."""
    gate = TokenGate(upstream, token, header)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GateHandler)
    server.daemon_threads = True
    server.gate = gate  # type: ignore[attr-defined]
    gate.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate
    finally:
        server.shutdown()
        server.server_close()
