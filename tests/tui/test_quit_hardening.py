"""Quitting the chat while an LLM server keeps a turn waiting (it streams only keep-alive
comments, with a 10-minute LLM timeout): the call is abandoned and the chat ends at once.

Through the Pilot with a backend that asks a real OpenAIChat, and through the real
`recbot` in a pseudo-terminal, where a user who quit sees whether the process ends and
what a Ctrl-C prints."""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import shutil
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from recbot.agent.events import Status
from recbot.agent.llm import LLMError
from recbot.agent.llm.openai_chat import OpenAIChat
from recbot.tui.app import RecbotApp
from tests.fakes import FakeBackend
from tests.llm_servers import KeepAliveServer

HANG = 60.0         # s: a chat or a call still going this long after quit is hung
LLM_TIMEOUT = 600   # s: so only abandoning the call can end the turn within HANG
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


class LLMBackend(FakeBackend):
    """A scripted backend whose turns first ask a real LLM server, as the agent does, and
    answer without it when the call fails."""

    def __init__(self, model: OpenAIChat) -> None:
        super().__init__()
        self.model = model
        self.llm_failure: LLMError | None = None
        self.finished = threading.Event()

    def ask(self, text, on_event):
        try:
            try:
                self.model.chat([{"role": "user", "content": text}],
                                on_token=lambda token: on_event(Status(token)))
            except LLMError as err:
                self.llm_failure = err
            return super().ask(text, on_event)
        finally:
            self.finished.set()


async def wait_until(pilot, predicate, limit: float = HANG) -> None:
    end = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < end, "the condition never came true"
        await pilot.pause(0.05)


@pytest.mark.asyncio
async def test_quitting_mid_turn_abandons_the_pending_llm_call():
    with KeepAliveServer() as server:
        backend = LLMBackend(OpenAIChat(server.base_url, "m", timeout=LLM_TIMEOUT))
        app = RecbotApp(backend)
        async with app.run_test() as pilot:
            await app.workers.wait_for_complete()
            app.query_one("#prompt").value = "something like Heat"
            await pilot.press("enter")
            await wait_until(pilot, lambda: server.streams == 1)
            assert app.busy
            await pilot.press("ctrl+q")
        finished = await asyncio.to_thread(backend.finished.wait, HANG)
        assert finished, "the turn still waits for the LLM after quitting"
        assert "abandoned" in str(backend.llm_failure)
        assert server.hung_up.wait(HANG)              # its connection closed, not left open


# -- the real chat in a pseudo-terminal ----------------------------------------------------


class Terminal:
    """`recbot` (the chat) on a pseudo-terminal of 100x30, as a user runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        recbot = str(Path(sys.executable).with_name("recbot"))
        pid, fd = os.forkpty()
        if pid == 0:   # the child: it has the terminal as its controlling tty
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
                os.execve(recbot, [recbot], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = bytearray()
        self.code: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    self.output.extend(data)
            except OSError:       # EIO: the child has gone and the terminal closed
                return

    def press(self, keys: bytes) -> None:
        try:
            os.write(self.fd, keys)
        except OSError:
            pass                  # the chat has ended already

    def wait_for(self, predicate, limit: float = HANG) -> bool:
        end = time.monotonic() + limit
        while not predicate():
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def ended(self) -> bool:
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code is not None

    def close(self) -> None:
        if not self.ended():
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        self._reader.join(5)
        os.close(self.fd)


@pytest.fixture
def chat_waiting_for_the_llm(indexed_data_dir, tmp_path):
    """The real chat, one turn in, its LLM call held open by keep-alive comments."""
    data = shutil.copytree(indexed_data_dir, tmp_path / "data")
    with KeepAliveServer() as server:
        env = {**os.environ, "RECBOT_DATA_DIR": str(data), "TERM": "xterm-256color",
               "RECBOT_LLM_BASE_URL": server.base_url, "RECBOT_LLM_TIMEOUT": str(LLM_TIMEOUT)}
        term = Terminal(env)
        try:
            assert term.wait_for(lambda: b"films" in term.output, 120), bytes(term.output[-2000:])
            term.press(b"something like Forrest Gump\r")
            assert term.wait_for(lambda: server.streams == 1), bytes(term.output[-2000:])
            yield term, server
        finally:
            term.close()


def test_quitting_mid_request_ends_the_chat_and_restores_the_terminal(
        chat_waiting_for_the_llm):
    term, server = chat_waiting_for_the_llm
    quit_at = len(term.output)
    term.press(b"\x11")                                     # ctrl+q
    assert term.wait_for(term.ended), "the chat did not end after ctrl+q (a blank screen)"
    assert term.code == 0
    assert LEAVE_ALT_SCREEN in term.output[quit_at:]       # the user's screen is back
    assert server.hung_up.wait(HANG)                       # the LLM connection was closed


def test_ctrl_c_after_quitting_mid_request_prints_no_traceback(chat_waiting_for_the_llm):
    """The impatient user: ctrl+q, then Ctrl-C at the screen that seems stuck, twice."""
    term, _ = chat_waiting_for_the_llm
    term.press(b"\x11")
    for _ in range(2):
        term.wait_for(term.ended, 3)
        term.press(b"\x03")
    assert term.wait_for(term.ended), "the chat did not end after ctrl+q and two Ctrl-C"
    assert b"Traceback" not in term.output, bytes(term.output[-3000:]).decode(errors="replace")
