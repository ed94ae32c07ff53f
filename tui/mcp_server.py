"""``recbot mcp``: recbot as an MCP server over stdio, for other agents (oterm, Claude
Desktop, agent frameworks), built on the official MCP SDK (``mcp``, ``MCPServer``).

One warm process: the catalog, the ranker, the search index and the chat memory load once,
on a thread started with the server (the client's handshake is answered at once; a first
call waits for it, on a fresh data dir about a minute), so each call after that costs a
turn, not a process start. A call that cannot be answered (no such session, bad input) is
an error result (``isError``) with one line saying why. The tools answer in JSON: films with their MovieLens id, IMDb and TMDB
ids (from the dataset's links.csv), year and reason; a session id to continue a
conversation ("why the second one?", "none of these").

Nothing here prints to stdout but the protocol: logs go to stderr.
"""

from __future__ import annotations

import logging
import threading

from recbot.agent.settings import Settings

log = logging.getLogger(__name__)

MAX_K = 20
INSTRUCTIONS = (
    "recbot recommends films from its catalog (MovieLens, up to 2018, plus the user's own "
    "ingested videos) with a reason grounded in data for each. Call recommend with what the "
    "user asked in their words; pass the returned session to continue the conversation "
    "(follow-ups such as 'none of these', 'older', 'why the second one?'). Films come with "
    "their MovieLens id and, where known, IMDb and TMDB ids.")


class Recbot:
    """What the tools call: one chat service (workspace, agent, memory) for the process."""

    def __init__(self, settings: Settings, llm: str | None = None) -> None:
        from recbot.agent.service import ChatService

        self.service = ChatService(settings, llm)
        self._lock = threading.Lock()     # one turn at a time: the agent is not reentrant

    def warm(self) -> None:
        """Load what a first turn needs (catalog, model, index); calls wait for it."""
        with self._lock:
            try:
                self.service.prepare(lambda *a, **k: None)
            except Exception:  # noqa: BLE001 — the first call meets the error itself
                log.warning("warming up failed", exc_info=True)

    @property
    def agent(self):
        return self.service.agent

    # -- tools -------------------------------------------------------------------------------
    def recommend(self, message: str, session: str | None = None, k: int = 5) -> dict:
        from recbot.agent.errors import user_errors

        if not 1 <= k <= MAX_K:
            return {"error": f"k must be between 1 and {MAX_K}, not {k}"}
        with self._lock:       # (after the warm-up: one workspace, one agent)
            if session and not self.agent.memory.exists(session):
                return {"error": f"no session {session!r}; leave session out to start one"}
            try:
                answer = self.agent.ask(message, session or None, k=k)
            except user_errors() as exc:     # bad input, a failing LLM, ...: one line back
                return {"error": str(exc)}
            return self._answer(answer)

    def why(self, session: str, film: str) -> dict:
        """"why #2?" / "why Heat?" in a session."""
        film = film.strip()
        which = f"#{film}" if film.isdigit() else film
        return self.recommend(f"why {which}?", session)

    def why_not(self, session: str, title: str) -> dict:
        return self.recommend(f"why not {title}?", session)

    def similar(self, title: str, k: int = 5) -> dict:
        return self.recommend(f"something like {title}", None, k)

    def search(self, query: str, k: int = 10) -> dict:
        from recbot.agent.errors import user_errors

        if not 1 <= k <= 50:
            return {"error": f"k must be between 1 and 50, not {k}"}
        with self._lock:
            try:
                hits = self.service.workspace.search(query, k=k)
            except (*user_errors(), ValueError) as exc:
                return {"error": str(exc)}
            return {"query": query,
                    "hits": [{**self._ids(h.movie_id), "title": h.title, "year": h.year,
                              "score": round(float(h.score), 4),
                              "evidence": [e.text for e in h.evidence][:2]} for h in hits]}

    def profile(self) -> dict:
        with self._lock:
            return self._profile()

    def _profile(self) -> dict:
        memory = self.agent.memory
        catalog = self.agent.catalog
        out: dict[str, list] = {}
        for movie_id, kind in sorted(memory.profile().items()):
            movie = catalog.get(movie_id)
            out.setdefault(kind, []).append({**self._ids(movie_id),
                                             "title": movie.title if movie else None,
                                             "year": movie.year if movie else None})
        return {"profile": out, "taste": self.service.taste()}

    # -- shapes ------------------------------------------------------------------------------
    def _ids(self, movie_id: int) -> dict:
        return {"id": movie_id, **self.service.workspace.data.external_ids(movie_id)}

    def _answer(self, answer) -> dict:
        return {"session": answer.session, "reply": answer.reply, "kind": answer.kind,
                "films": [{**self._ids(r.movie_id), "title": r.title, "year": r.year,
                           "genres": list(r.genres), "reason": r.explanation}
                          for r in answer.recommendations]}


def _answered(got: dict) -> dict:
    """The tool's answer, or the SDK's error result (``isError``) for one that failed."""
    from mcp.server.mcpserver.exceptions import ToolError

    if "error" in got:
        raise ToolError(got["error"])
    return got


def build_server(bot: Recbot):
    """The MCP server with recbot's tools."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("recbot", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def recommend(message: str, session: str | None = None, k: int = 5) -> dict:
        """Films for what the user asked, in their words ("something like Heat", "a funny
        animated film after 2000", "none of these"), each with ids, year and a grounded
        reason. Pass `session` (from an earlier answer) to continue that conversation."""
        return _answered(bot.recommend(message, session, k))

    @server.tool()
    def why(session: str, film: str) -> dict:
        """Why a film of the session's last list was picked: `film` is its position
        ("2") or its title."""
        return _answered(bot.why(session, film))

    @server.tool()
    def why_not(session: str, title: str) -> dict:
        """Why a film was not in the session's last list (what keeps it out, where it ranks)."""
        return _answered(bot.why_not(session, title))

    @server.tool()
    def similar(title: str, k: int = 5) -> dict:
        """Films like `title` (its fans' favourites, shared genres, people and tags)."""
        return _answered(bot.similar(title, k))

    @server.tool()
    def search(query: str, k: int = 10) -> dict:
        """Semantic search of the catalog (and the user's ingested videos' transcripts) for
        a description ("a heist that goes wrong"); hits with ids, year and score."""
        return _answered(bot.search(query, k))

    @server.tool()
    def profile() -> dict:
        """The user's taste profile: films liked, disliked and seen, and their taste."""
        return _answered(bot.profile())

    return server


def serve(settings: Settings, llm: str | None = None) -> int:
    """Serve MCP over stdio until the client closes it, warming up on a thread meanwhile."""
    bot = Recbot(settings, llm)
    server = build_server(bot)       # (the SDK is imported here: a missing one fails now)
    threading.Thread(target=bot.warm, name="recbot-warm", daemon=True).start()
    server.run("stdio")
    return 0
