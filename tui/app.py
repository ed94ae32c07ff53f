"""`recbot`: the Textual chat.

A message log, recommendation cards you can act on with one key, an input with history,
and a status bar naming the LLM, the catalog size and the session. Turns run in a
worker thread and stream into the log; the input stays usable meanwhile (messages sent
while an answer is coming wait their turn). Nothing typed is lost when a turn fails:
the reason appears as a toast and the text returns to the prompt.
"""

from __future__ import annotations

import logging
import shlex
import sys
import time
from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text as _RichText
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from recbot.agent.explain.cards import bar, card_genres, card_line
from recbot.agent.i18n import speaking
from recbot.agent.events import Candidates, Event, Reason, Reply, Status

from recbot.agent.display import printable

from . import logs
from .backend import Backend


class Text(_RichText):
    """Rich text that never carries an escape sequence or a control character from the data
    (a title, a file name, a transcript, a stored session, an LLM's words) to the terminal."""

    def __init__(self, text: str = "", *args, **kwargs) -> None:
        super().__init__(printable(text), *args, **kwargs)

    def append(self, text, style=None):
        return super().append(printable(text) if isinstance(text, str) else text, style)

_LOG = logging.getLogger(__name__)
HISTORY_TURNS = 20     # a resumed session shows at most its last 20 turns

HELP = """\
[b]Chat[/b]
  Type what you'd like to watch:  something like Heat · a funny animated film after 2000
  Follow up:  why #2? · not that one · none of these · 10 more · under 90 minutes · less violent

[b]Keys on a recommendation card[/b]  (tab / shift+tab to move between cards)
  l  like        d  dislike      s  seen it
  w  why? (show the evidence)    m  more like this
  esc  back to the prompt

[b]Prompt[/b]
  enter send · ↑/↓ earlier messages · ctrl+q quit · f1 or ? this help

[b]Commands[/b]
  /why N  /like N  /dislike N  /seen N  /more N   act on card N of the last answer
  /profile  what you liked, disliked and have seen (kept across sessions)
  /forget TITLE  /unlike N   take a film out of your profile again
  /import FILE   your ratings from Letterboxd, IMDb or a MovieLens CSV
  /export FILE   the last list and your profile as .json or .csv
  /reset    start a new session (your profile stays)
  /llm [openai|local|none]   show or switch the LLM backend
  /ingest PATH...   transcribe and index your own videos (runs in the background)
  /theme    switch between the dark and the light theme (also f2)
  /help  /quit
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1,question_mark", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 84; max-width: 100%; height: auto; max-height: 100%;
            border: round $accent; padding: 0 1; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help", markup=True)


class PrepareScreen(ModalScreen[None]):
    """First-run preparation, with one progress bar per step."""

    DEFAULT_CSS = """
    PrepareScreen { align: center middle; }
    #prepare { width: 70; max-width: 100%; height: auto; border: round $accent;
               padding: 1 2; background: $surface; }
    #prepare Label { margin-top: 1; }
    """
    STEPS = ("catalog index", "MF model", "LLM")

    def compose(self) -> ComposeResult:
        with Vertical(id="prepare"):
            yield Label("[b]First run[/b]: preparing recbot (later runs start at once)")
            for step in self.STEPS:
                yield Label(step, id=f"label-{_slug(step)}")
                yield ProgressBar(id=f"bar-{_slug(step)}", show_eta=False)

    def update(self, step: str, done: int, total: int) -> None:
        try:
            bar = self.query_one(f"#bar-{_slug(step)}", ProgressBar)
        except Exception:  # noqa: BLE001 — an unknown step has no bar
            return
        bar.update(total=max(total, 1), progress=done)


def _slug(step: str) -> str:
    return step.replace(" ", "-").lower()


class ChatMessage(Static):
    """One message in the log; bot messages grow as the reply streams in."""

    DEFAULT_CSS = """
    ChatMessage { padding: 0 1; margin: 1 0 0 0; }
    ChatMessage.user { color: $text; background: $primary 15%; }
    ChatMessage.bot { color: $text; }
    ChatMessage.note { color: $text-muted; }
    """


TYPING_BURST = 0.5   # s: keys this soon after a letter went to the prompt are typing too


class RecCard(Static, can_focus=True):
    """A recommendation: title, year, genres, the reason; the evidence on demand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "feedback('like')", "like"),
        Binding("d", "feedback('dislike')", "dislike"),
        Binding("s", "feedback('seen')", "seen"),
        Binding("w,enter", "toggle_why", "why?"),
        Binding("m", "more", "more like this"),
        Binding("escape", "app.focus_prompt", "prompt", show=False),
    ]
    DEFAULT_CSS = """
    RecCard { padding: 0 1; margin: 0 0 0 2; border-left: tall $panel; }
    RecCard:focus { border-left: tall $accent; background: $accent 10%; }
    """

    class Action(Message):
        def __init__(self, card: RecCard, action: str) -> None:
            super().__init__()
            self.card = card
            self.action = action

    def __init__(self, pos: int, rec) -> None:
        super().__init__()
        self.pos = pos
        self.rec = rec
        self.reason = rec.explanation
        self.expanded = False
        self.draft = False
        self.mark = ""

    def on_mount(self) -> None:
        self.refresh_text()

    def refresh_text(self) -> None:
        r = self.rec
        year = f" ({r.year})" if r.year else ""
        t = Text()
        t.append(f"{self.pos}. ", style="bold")
        info = getattr(r, "info", None) or {}
        t.append(f"{r.title}{year}", style="bold")
        if r.genres:
            t.append(f"  {card_genres(r.genres, info)}", style="dim")
        if self.mark:
            t.append(f"  [{self.mark}]", style="bold green")
        facts = card_line({k: v for k, v in info.items() if k != "year"})
        if facts:
            t.append(f"\n{facts}", style="dim")
        if info.get("line"):
            t.append(f"\n{info['line']}", style="dim")
        t.append("\n")
        t.append(self.reason or "…", style="dim italic" if self.draft else "")
        if self.expanded:
            t.append("\nevidence:", style="bold")
            with speaking(info.get("lang")):
                said = [f.said() if hasattr(f, "said") else f.text for f in r.evidence]
            for f, said_text in zip(r.evidence, said, strict=True):
                when = ""
                if f.kind == "transcript" and f.start is not None:
                    when = f" @ {int(f.start) // 60}:{int(f.start) % 60:02d}"
                text = said_text if len(said_text) <= 200 else said_text[:197] + "…"
                t.append("\n  • ", style="dim")
                t.append(text)
                t.append(f"  ({getattr(f, 'origin', f.kind)}{when})", style="dim")
                for label, value in getattr(f, "bars", ()) or ():
                    t.append(f"\n      {bar(value)} {round(100 * value)}%  {label}",
                             style="dim")
        self.update(t)

    def set_reason(self, text: str, *, draft: bool = False) -> None:
        """``draft``: the LLM is still writing; shown dim until the checks have run."""
        self.reason = text
        self.draft = draft
        self.refresh_text()

    def set_rec(self, rec) -> None:
        self.rec = rec
        self.reason = rec.explanation
        self.draft = False
        self.refresh_text()

    def on_key(self, event: events.Key) -> None:
        """A letter that is no card key starts a message: typing "older" on a card goes to
        the prompt (it would otherwise like and dislike the card on its 'l' and 'd')."""
        keys = {k for b in self.BINDINGS for k in b.key.split(",")}
        typing = time.monotonic() - getattr(self.app, "typed_at", 0.0) < TYPING_BURST
        if event.character and event.is_printable and event.character != "?" and (
                event.key not in keys or typing):   # "older" typed fast: its l and d too
            event.stop()
            event.prevent_default()
            self.app.type_into_prompt(event.character)

    def action_feedback(self, kind: str) -> None:
        self.post_message(self.Action(self, kind))

    def action_toggle_why(self) -> None:
        self.expanded = not self.expanded
        self.refresh_text()
        self.scroll_visible()

    def action_more(self) -> None:
        self.post_message(self.Action(self, "more"))


class HistoryInput(Input):
    """An input that recalls earlier messages with up/down."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "older", show=False), Binding("down", "newer", show=False),
        Binding("tab", "app.focus_cards", show=False),   # the newest list, not the oldest card
    ]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.history: list[str] = []
        self._pos = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._pos = len(self.history)

    def action_older(self) -> None:
        if self.history and self._pos > 0:
            self._pos -= 1
            self.value = self.history[self._pos]
            self.cursor_position = len(self.value)

    def action_newer(self) -> None:
        if self._pos < len(self.history) - 1:
            self._pos += 1
            self.value = self.history[self._pos]
        else:
            self._pos = len(self.history)
            self.value = ""
        self.cursor_position = len(self.value)


class RecbotApp(App[None]):
    TITLE = "recbot"
    CSS = """
    Screen { layout: vertical; }
    #log { height: 1fr; padding: 0 1 1 1; }
    #prompt { height: 3; }
    #status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", priority=True),
        Binding("f1", "help", "help"),
        Binding("f2", "toggle_theme", "theme", show=False),
        Binding("question_mark", "help", "help", show=False),
        Binding("escape", "focus_prompt", "prompt", show=False),
    ]

    def __init__(self, backend: Backend, *, prepare: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self.prepare_on_start = prepare
        self.busy = False
        self.ready = False
        self.quitting = False
        self.failed: str | None = None
        self.queue: deque[str] = deque()
        self.cards: list[RecCard] = []      # cards of the latest answer
        self._turn_cards: dict[int, RecCard] = {}
        self._bot: ChatMessage | None = None
        self._guard = logs.TerminalGuard()
        self._stderr_before = None
        self.log_path: Path | None = None    # where fd 2 and the log go while the app runs
        self._log_error = ""

    def notify(self, message, *args, **kwargs) -> None:
        """A toast; its text made printable (it often quotes a title, a path or an error)."""
        super().notify(printable(message) if isinstance(message, str) else message,
                       *args, **kwargs)

    def compose(self) -> ComposeResult:
        yield VerticalScroll(ChatMessage(
            "Hi! Tell me a film you like or what you're in the mood for. "
            "f1 lists the keys.", classes="note", id="welcome"), id="log")
        # no select-all on focus: a word typed on a card carries on where its first letter went
        yield HistoryInput(placeholder="something like Heat · a funny animated film after 2000",
                           id="prompt", select_on_focus=False)
        yield Static("starting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt", HistoryInput).focus()
        if self._log_error:
            self.notify(f"not logging: {self._log_error}", severity="warning", timeout=8,
                        markup=False)
        self.start()

    # -- the terminal is the UI's alone ------------------------------------------------------
    def on_load(self) -> None:
        """Before the driver exists: fd 2 into the log file, and the driver (which draws on
        ``sys.__stderr__``) onto a duplicate of the real terminal."""
        try:
            terminal = self._guard.start()
        except (logs.LogFileError, OSError) as err:
            self._log_error = _one_line(err)
            return
        self.log_path = self._guard.path
        self._stderr_before = sys.__stderr__
        sys.__stderr__ = terminal

    def _release_terminal(self) -> None:
        self._guard.stop()
        if self._stderr_before is not None:
            sys.__stderr__ = self._stderr_before
            self._stderr_before = None

    def on_unmount(self) -> None:
        self._release_terminal()
        if self.is_headless:      # nothing draws on the duplicate: close it now
            self._guard.close()

    async def run_async(self, *args, **kwargs):
        try:
            return await super().run_async(*args, **kwargs)
        finally:   # the driver has restored the terminal through the duplicate by now
            self._release_terminal()
            self._guard.close()

    def exit(self, *args, **kwargs) -> None:
        """Quitting never waits for the LLM: a call in flight is abandoned (its connection
        closed), so the turn's worker thread, which the process waits for before it can
        end, finishes at once with the deterministic answer, shown to no one."""
        self.quitting = True
        from recbot.agent.llm import abandon_calls

        abandon_calls()
        super().exit(*args, **kwargs)

    def _from_thread(self, callback, *args) -> None:
        """``call_from_thread`` for a worker that may outlive the app (the user quit
        mid-turn): what it would show is dropped then."""
        if self.quitting:
            return
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            if not self.quitting:   # "App is not running" while quitting is expected
                raise

    def _details(self) -> str:
        return f" (details in {logs.short_path(self.log_path)})" if self.log_path else ""

    # -- preparation -------------------------------------------------------------------------
    @work(thread=True, group="prepare", exit_on_error=False)
    def start(self) -> None:
        try:
            steps = self.backend.pending_steps() if self.prepare_on_start else []
            screen = None
            if steps:
                screen = PrepareScreen()
                self.call_from_thread(self.push_screen, screen)
            self.backend.prepare(
                lambda step, done, total: screen and self.call_from_thread(
                    screen.update, step, done, total))
            if screen is not None:
                self.call_from_thread(screen.dismiss)
        except Exception as err:  # noqa: BLE001 — shown to the user, the app stays up
            _LOG.error("preparation failed", exc_info=err)
            self.call_from_thread(self._prepare_failed, _one_line(err))
            return
        history = None
        try:
            history_of = getattr(self.backend, "history", None)
            history = history_of(HISTORY_TURNS) if history_of is not None else None
        except Exception as err:  # noqa: BLE001 — the chat works without the old turns
            _LOG.warning("cannot read the session's history", exc_info=err)
        self.ready = True
        self.call_from_thread(self._prepared, history)

    def _prepare_failed(self, reason: str) -> None:
        if isinstance(self.screen, PrepareScreen):
            self.screen.dismiss()
        self.notify(f"preparation failed: {reason}{self._details()}", severity="error",
                    timeout=15, markup=False)
        self.failed = reason
        self.queue.clear()

    def _prepared(self, history: dict | None = None) -> None:
        if history and history.get("turns"):
            self._show_history(history)
        self.refresh_status()
        error = getattr(self.backend, "llm_error", None)
        if error:
            self.notify(f"LLM unavailable, answering without it: {error}", severity="warning",
                        timeout=8, markup=False)
        if note := getattr(self.backend, "note", None):   # e.g. a damaged session set aside
            self.notify(note, severity="warning", timeout=12, markup=False)
        if self.queue and not self.busy:
            self._next()

    def _show_history(self, history: dict) -> None:
        """A resumed session: its last turns as they were, the latest list as cards (the
        ones /like N and the keys act on), earlier lists as text lines."""
        log = self.query_one("#log", VerticalScroll)
        turns = history["turns"]
        feedback = history.get("feedback") or {}
        last_list = max((i for i, t in enumerate(turns) if t["recommendations"]), default=None)
        widgets = []
        cards: list[RecCard] = []
        for i, turn in enumerate(turns):
            widgets.append(ChatMessage(Text(turn["user"]), classes="user"))
            if turn["reply"]:
                widgets.append(ChatMessage(Text(turn["reply"]), classes="bot"))
            recs = turn["recommendations"]
            if i == last_list:
                for pos, rec in enumerate(recs, 1):
                    card = RecCard(pos, rec)
                    card.mark = _MARKS.get(feedback.get(rec.movie_id), "")
                    cards.append(card)
                widgets.extend(cards)
            elif recs:
                widgets.append(ChatMessage(Text("\n".join(
                    f"{pos}. {rec.label()} — {rec.explanation}" for pos, rec in
                    enumerate(recs, 1))), classes="bot old-list"))
        when = history.get("updated")
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "earlier"
        widgets.append(ChatMessage(Text(f"Resumed session {history.get('session') or '-'} from "
                                        f"{date} — /reset starts a new one."), classes="note"))
        for welcome in self.query("#welcome"):
            welcome.remove()
        said = [w for w in log.children if w.id != "welcome"]
        if said:
            log.mount_all(widgets, before=said[0])   # above anything said while preparing
        else:
            log.mount_all(widgets)
        if cards and not self.cards:
            self.cards = cards
        log.scroll_end(animate=False)

    def refresh_status(self) -> None:
        st = self.backend.status()
        catalog = f"{st['catalog']:,} films" if st.get("catalog") else "catalog loading"
        self.query_one("#status", Static).update(
            Text(f"{st['llm']}  ·  {catalog}  ·  session {st.get('session') or '-'}"))

    # -- input -------------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        prompt = self.query_one("#prompt", HistoryInput)
        if not text:
            return
        prompt.remember(text)
        prompt.value = ""
        if text.startswith("/"):
            self.command(text)
            return
        self.send(text)

    def send(self, text: str) -> None:
        if self.failed:
            self.notify(f"recbot could not start: {self.failed}", severity="error",
                        markup=False)
            self._restore(text)
            return
        self.queue.append(text)
        if self.busy or not self.ready:
            if self.busy:
                self.notify("Still answering; your message is next.", timeout=3)
            return
        self._next()

    def _next(self) -> None:
        text = self.queue.popleft()
        log = self.query_one("#log", VerticalScroll)
        log.mount(ChatMessage(Text(text), classes="user"))
        self._bot = ChatMessage("…", classes="bot")
        log.mount(self._bot)
        log.scroll_end(animate=False)
        self.busy = True
        self.run_turn(text)

    @work(thread=True, group="turn", exit_on_error=False)
    def run_turn(self, text: str) -> None:
        try:
            answer = self.backend.ask(text, lambda event: self._from_thread(
                self.on_agent_event, event))
        except Exception as err:  # noqa: BLE001 — the user gets the reason and their text back
            _LOG.error("a turn failed", exc_info=err)
            self._from_thread(self.turn_failed, text, _one_line(err))
            return
        self._from_thread(self.turn_done, answer)

    def on_agent_event(self, event: Event) -> None:
        if self._bot is None:
            return
        match event:
            case Status(text):
                self._bot.update(Text(f"… {text}", style="dim"))
            case Reply(text):
                self._bot.update(Text(text))
            case Candidates(recs):
                self._show_cards(recs)
            case Reason(movie_id, text):
                card = self._turn_cards.get(movie_id)
                if card is not None:
                    card.set_reason(text, draft=True)

    def _show_cards(self, recs) -> None:
        log = self.query_one("#log", VerticalScroll)
        for card in self._turn_cards.values():
            card.remove()
        self._turn_cards = {}
        for pos, rec in enumerate(recs, 1):
            card = RecCard(pos, rec)
            self._turn_cards[rec.movie_id] = card
            log.mount(card)
        log.scroll_end(animate=False)

    def turn_done(self, answer) -> None:
        self.busy = False
        if self._bot is not None:
            self._bot.update(Text(answer.reply))
        if answer.kind == "why" and answer.recommendations:
            target = answer.recommendations[0].movie_id
            for card in self.cards:
                if card.rec.movie_id == target and not card.expanded:
                    card.action_toggle_why()
        elif answer.recommendations:
            if [r.movie_id for r in answer.recommendations] != list(self._turn_cards):
                self._show_cards(answer.recommendations)
            for r in answer.recommendations:
                self._turn_cards[r.movie_id].set_rec(r)
            self._retire(self.cards)
            self.cards = list(self._turn_cards.values())
        elif answer.kind != "why":
            for card in self._turn_cards.values():
                card.remove()
        self._turn_cards = {}
        self._bot = None
        for note in getattr(getattr(answer, "trace", None), "errors", []) or []:
            self.notify(f"LLM failed, answered without it: {note}", severity="warning",
                        timeout=6, markup=False)
        self.refresh_status()
        self.query_one("#log", VerticalScroll).scroll_end(animate=False)
        if self.queue:
            self._next()

    def turn_failed(self, text: str, reason: str) -> None:
        self.busy = False
        if self._bot is not None:
            self._bot.remove()
        for card in self._turn_cards.values():
            card.remove()
        self._turn_cards = {}
        self._bot = None
        self.notify(reason + self._details(), title="That didn't work", severity="error",
                    timeout=8, markup=False)
        self._restore(text)
        if self.queue:
            self._next()

    def _restore(self, text: str) -> None:
        prompt = self.query_one("#prompt", HistoryInput)
        if not prompt.value:
            prompt.value = text
            prompt.cursor_position = len(text)
        prompt.focus()

    # -- cards -------------------------------------------------------------------------------
    def _retire(self, old: list[RecCard]) -> None:
        """A newer list replaced ``old``: its cards stay in the log but leave the focus chain
        (tab moves between the cards of the latest answer, the ones /like N acts on)."""
        focused = self.focused
        new = [c for c in self._turn_cards.values() if c not in old]
        for card in old:
            card.can_focus = False
        if focused in old:
            if new:
                new[0].focus()
            else:
                self.action_focus_prompt()

    def _newest_cards(self) -> list[RecCard]:
        return [c for c in self._turn_cards.values() if c.is_mounted] or self.cards

    def action_focus_cards(self) -> None:
        """Tab from the prompt: the first card of the latest answer (streaming or done)."""
        cards = self._newest_cards()
        if cards:
            cards[0].focus()
            cards[0].scroll_visible()
        else:
            self.screen.focus_next()

    @on(RecCard.Action)
    def card_action(self, event: RecCard.Action) -> None:
        card = event.card
        if event.action == "more":
            label = card.rec.label().replace('"', "")
            self.send(f'more like "{label}"')
            return
        self.give_feedback(card, event.action)

    def give_feedback(self, card: RecCard, kind: str) -> None:
        try:
            self.backend.feedback(card.rec.movie_id, kind)
        except Exception as err:  # noqa: BLE001
            self.notify(_one_line(err), title="Feedback not saved", severity="error", markup=False)
            return
        card.mark = _MARKS[kind]
        card.refresh_text()
        self.notify(f"{card.rec.title}: {card.mark}; the next answer takes it into account.",
                    timeout=3, markup=False)

    # -- commands ----------------------------------------------------------------------------
    def command(self, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("profile", "llm", "reset", "like", "dislike", "seen", "forget", "unlike",
                    "import", "export") \
                and not self.ready:
            self.notify("still preparing; try again in a moment", severity="warning")
            return
        if name in ("help", "h", "?"):
            self.action_help()
        elif name in ("quit", "exit", "q"):
            self.exit()
        elif name in ("why", "more"):
            card = self._card(arg)
            if card is not None:
                self.send(f"why #{card.pos}" if name == "why" else f"more like #{card.pos}")
        elif name in ("like", "dislike", "seen"):
            card = self._card(arg)
            if card is not None:
                self.give_feedback(card, name)
        elif name == "profile":
            self._note(self._profile_text() + "\n(/like N, /dislike N, /seen N save a card; "
                       "/forget TITLE or /unlike N take a film out)")
        elif name == "import":
            if not arg:
                self.notify("usage: /import FILE (a Letterboxd, IMDb or MovieLens ratings CSV)",
                            severity="warning")
            else:
                try:
                    words = shlex.split(arg)
                except ValueError:
                    words = [arg]
                user = None
                if "--user" in words:
                    i = words.index("--user")
                    if i + 1 >= len(words) or not words[i + 1].isdigit():
                        self.notify("usage: /import FILE [--user ID]", severity="warning")
                        return
                    user = int(words[i + 1])
                    del words[i:i + 2]
                self._import(" ".join(words), user)
        elif name == "export":
            if not arg:
                self.notify("usage: /export FILE (.json or .csv: the last list and your "
                            "profile)", severity="warning")
            else:
                try:
                    words = shlex.split(arg)
                except ValueError:
                    words = [arg]
                self._export(" ".join(words))
        elif name == "forget":
            if not arg:
                self.notify("usage: /forget TITLE", severity="warning")
            else:
                self._note(_first_upper(self.backend.forget(arg)) + ".")
        elif name == "unlike":
            card = self._card(arg)
            if card is not None:
                self._note(_first_upper(self.backend.forget(card.rec.label())) + ".")
        elif name == "reset":
            if self.busy or not self.ready:
                self.notify("wait for the answer to finish, then /reset", severity="warning")
                return
            sid = self.backend.reset()
            self.query_one("#log", VerticalScroll).remove_children()
            self.cards = []
            self._note(f"New session {sid}. Your likes and seen films are remembered.")
            self.refresh_status()
        elif name == "llm":
            if arg:
                if self.busy:
                    self.notify("wait for the answer to finish, then /llm", severity="warning")
                    return
                self._note(f"Switching the LLM to {arg}…")
                self.run_set_llm(arg)
            else:
                self._note(f"LLM: {self.backend.status()['llm']}")
        elif name == "theme":
            self.action_toggle_theme()
        elif name == "ingest":
            if not arg:
                self.notify("usage: /ingest PATH (files or directories)", severity="warning")
            else:
                self._note(f"Ingesting {arg} in the background; keep chatting.")
                self.run_ingest(shlex.split(arg))
        else:
            self.notify(f"unknown command /{name}; /help lists them", severity="warning")
            prompt = self.query_one("#prompt", HistoryInput)
            prompt.value = text
            prompt.cursor_position = len(text)

    def _card(self, arg: str) -> RecCard | None:
        try:
            n = int(arg.lstrip("#"))
        except ValueError:
            self.notify("give a card number, e.g. /like 2", severity="warning")
            return None
        if not 1 <= n <= len(self.cards):
            self.notify(f"there is no card {n} in the last answer", severity="warning")
            return None
        return self.cards[n - 1]

    def _profile_text(self) -> str:
        prof = self.backend.profile()
        lines = []
        for kind, label in (("like", "Liked"), ("dislike", "Not for you"), ("seen", "Seen")):
            items = prof.get(kind) or []
            more = f" and {len(items) - 20} more" if len(items) > 20 else ""
            lines.append(f"{label}: {', '.join(items[:20]) + more if items else '—'}")
        return "\n".join([*lines, *self.backend.taste()])

    @work(thread=True, exclusive=True, group="import")
    def _import(self, path: str, user: int | None = None) -> None:
        try:
            text = self.backend.import_ratings(path, user)
        except Exception as err:  # noqa: BLE001 — one line; nothing was imported
            self.call_from_thread(self.notify, _one_line(err), title="Nothing imported",
                                  severity="error", timeout=10, markup=False)
            return
        self.call_from_thread(self._note, text + " Your next answers use these ratings.")

    @work(thread=True, exclusive=True, group="export")
    def _export(self, path: str) -> None:
        try:
            text = self.backend.export(path)
        except Exception as err:  # noqa: BLE001 — one line; nothing was written
            self.call_from_thread(self.notify, _one_line(err), title="Nothing exported",
                                  severity="error", timeout=10, markup=False)
            return
        self.call_from_thread(self._note, text + ".")

    def _note(self, text: str) -> None:
        log = self.query_one("#log", VerticalScroll)
        log.mount(ChatMessage(Text(text), classes="note"))
        log.scroll_end(animate=False)

    @work(thread=True, group="llm", exclusive=True, exit_on_error=False)
    def run_set_llm(self, name: str) -> None:
        """Loading a model or asking a server for its models must not block the screen."""
        try:
            got = self.backend.set_llm(name)
        except Exception as err:  # noqa: BLE001
            got = f"cannot switch: {_one_line(err)}"
        self._from_thread(self._note, f"LLM: {got}")
        self._from_thread(self.refresh_status)

    @work(thread=True, group="ingest", exit_on_error=False)
    def run_ingest(self, paths: list[str]) -> None:
        try:
            got = self.backend.ingest(paths)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(self.notify, _one_line(err), title="Ingest failed",
                                  severity="error", timeout=8, markup=False)
            return
        text = f"Ingested {got['ingested']} file(s), {got['unchanged']} unchanged"
        if got["failed"]:
            text += f"; {len(got['failed'])} failed: " + "; ".join(got["failed"][:3])
        self.call_from_thread(self._note, text + ".")

    # -- actions -----------------------------------------------------------------------------
    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme != "textual-light" else "textual-dark"

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def type_into_prompt(self, text: str) -> None:
        self.typed_at = time.monotonic()
        prompt = self.query_one("#prompt", HistoryInput)
        prompt.focus()
        prompt.insert_text_at_cursor(text)

    def action_focus_prompt(self) -> None:
        self.query_one("#prompt", HistoryInput).focus()


_MARKS = {"like": "♥ liked", "dislike": "✗ not for me", "seen": "✓ seen"}


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one_line(err: BaseException) -> str:
    return (" ".join(str(err).split()) or type(err).__name__)[:300]
