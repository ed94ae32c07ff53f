"""A loopback stand-in for GroupLens: serves zips and .md5 files with HTTP Range support."""

from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children\n"
    '2,"American President, The (1995)",Comedy|Drama|Romance\n'
    "3,Heat (1995),Action|Crime|Thriller\n"
)
# Enough rows that half the archive is a real mid-body cut.
RATINGS = "userId,movieId,rating,timestamp\n" + "".join(
    f"{user},{movie},{(user * movie) % 5 + 1}.0,{964982703 + user * 10 + movie}\n"
    for user in range(1, 400)
    for movie in (1, 2, 3)
)


def make_zip(top: str = "ml-latest-small/", files: dict[str, str] | None = None) -> bytes:
    files = {"movies.csv": MOVIES, "ratings.csv": RATINGS} if files is None else files
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in files.items():
            archive.writestr(top + name, text)
    return buffer.getvalue()



@dataclass
class FakeGroupLens:
    """What the handler serves and what it saw; tests script it by editing fields."""

    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    truncate_next: int = 0  # this many .zip responses stop after half the body
    ignore_range: bool = False

    def publish(self, name: str, body: bytes, md5: str | None = "auto") -> None:
        self.files[f"/movielens/{name}.zip"] = body
        if md5 == "auto":
            md5 = f"MD5 ({name}.zip) = {hashlib.md5(body).hexdigest()}\n"
        if md5 is not None:
            self.files[f"/movielens/{name}.zip.md5"] = md5.encode()

    def zip_requests(self) -> list[dict[str, str]]:
        return [headers for path, headers in self.requests if path.endswith(".zip")]


class RangeHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        state: FakeGroupLens = self.server.state  # type: ignore[attr-defined]
        state.requests.append((self.path, dict(self.headers)))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not state.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if state.truncate_next and self.path.endswith(".zip"):
            state.truncate_next -= 1
            self.wfile.write(chunk[: len(chunk) // 2])
            self.close_connection = True  # the client sees EOF short of Content-Length
            return
        self.wfile.write(chunk)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_grouplens() -> Iterator[FakeGroupLens]:
    """A FakeGroupLens on 127.0.0.1 with an ephemeral port, for the duration of the block."""
    state = FakeGroupLens()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_port}/movielens"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
