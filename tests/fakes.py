"""Fakes for fast unit tests of the logic around real components (never instead of them)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recbot.retrieval.transcribe import Segment, Transcript


class HashEmbedder:
    """Bag-of-words hashed into a fixed space: texts sharing words are close. Deterministic."""

    def __init__(self, dim: int = 64, name: str = "hash-64") -> None:
        self.dim = dim
        self.name = name
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress=None) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if progress:
                progress(row + 1, len(texts))
        return out


class FakeTranscriber:
    """Returns scripted transcripts by file name; records the paths it was asked about."""

    name = "fake-whisper"

    def __init__(self, scripts: dict[str, list[tuple[float, float, str]]] | None = None,
                 fail: dict[str, Exception] | None = None) -> None:
        self.scripts = scripts or {}
        self.fail = fail or {}
        self.calls: list[Path] = []

    def transcribe(self, path: Path) -> Transcript:
        path = Path(path)
        self.calls.append(path)
        if path.name in self.fail:
            raise self.fail[path.name]
        segs = tuple(Segment(s, e, t) for s, e, t in self.scripts.get(path.name, []))
        duration = segs[-1].end if segs else 0.0
        return Transcript(" ".join(s.text for s in segs), "en", duration, segs, self.name)


class FakeChatModel:
    """A scripted ``ChatModel``: each call takes the next reply (text, an exception to
    raise, or a function of (messages, schema) returning text); when the script runs out
    it uses ``default``. Records every call's messages and schema in ``calls``; streams
    replies through ``on_token`` in small pieces like a real server."""

    backend = "fake"

    def __init__(self, replies=None, *, default=None, model: str = "scripted") -> None:
        self.replies = list(replies or [])
        self.default = default
        self.model = model
        self.calls: list[tuple[list[dict], dict | None]] = []

    def chat(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):
        self.calls.append(([dict(m) for m in messages], schema))
        reply = self.replies.pop(0) if self.replies else self.default
        if reply is None:
            from recbot.agent.llm import LLMError

            raise LLMError("the fake model has no scripted reply")
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            reply = reply(messages, schema)
        if on_token:
            for i in range(0, len(reply), 7):
                on_token(reply[i:i + 7])
        return reply

    def prompts(self) -> list[str]:
        return ["\n".join(m["content"] for m in msgs) for msgs, _ in self.calls]


def schema_ids(schema: dict | None) -> list[int]:
    """The candidate IDs a rerank/explain schema allows (its enum)."""
    props = (schema or {}).get("properties", {})
    if "ids" in props:
        return list(props["ids"]["items"]["enum"])
    if "reasons" in props:
        return list(props["reasons"]["items"]["properties"]["id"]["enum"])
    return []


class FakeBackend:
    """A scripted chat backend for the TUI: answers from a list of (reply, [(id, title,
    year, genres, reason)]) or raises what it is given; streams events like the agent."""

    def __init__(self, answers=None, *, pending=(), delay: float = 0.0) -> None:
        self.answers = list(answers or [])
        self.pending = list(pending)
        self.delay = delay
        self.session = "s-test"
        self.asked: list[str] = []
        self.feedback_given: list[tuple[int, str]] = []
        self.prepared: list[tuple[str, int, int]] = []
        self.llm = "no LLM"
        self.llm_error = None

    def status(self) -> dict:
        return {"llm": self.llm, "catalog": 9742, "session": self.session}

    def pending_steps(self) -> list[str]:
        return list(self.pending)

    def prepare(self, progress) -> None:
        for step in self.pending:
            for done in range(4):
                progress(step, done, 3)
                self.prepared.append((step, done, 3))

    def ask(self, text, on_event):
        import time

        from recbot.agent.chat import Answer, Recommendation
        from recbot.agent.events import Candidates, Final, Reason, Reply, Status
        from recbot.agent.explain.evidence import Fact

        self.asked.append(text)
        item = self.answers.pop(0) if self.answers else ("Nothing scripted.", [])
        if isinstance(item, BaseException):
            raise item
        reply, rows = item
        recs = [Recommendation(mid, title, year, tuple(genres), 1.0 - i / 10, reason,
                               [Fact("co_rating", f"fans of the seed also rated {title} 4+"),
                                Fact("genres", ", ".join(genres))])
                for i, (mid, title, year, genres, reason) in enumerate(rows)]
        on_event(Status("ranking"))
        if recs:
            on_event(Reply(reply))
            on_event(Candidates(tuple(Recommendation(r.movie_id, r.title, r.year, r.genres,
                                                     r.score, "(template)", r.evidence)
                                      for r in recs)))
            for r in recs:
                for cut in range(8, len(r.explanation) + 8, 8):
                    on_event(Reason(r.movie_id, r.explanation[:cut]))
                    if self.delay:
                        time.sleep(self.delay)
        answer = Answer(reply, recs, session=self.session,
                        kind="recommend" if recs else "clarify")
        on_event(Final(answer))
        return answer

    def feedback(self, movie_id, kind) -> None:
        self.feedback_given.append((movie_id, kind))

    def profile(self) -> dict:
        return {"like": [str(m) for m, k in self.feedback_given if k == "like"],
                "dislike": [], "seen": [str(m) for m, k in self.feedback_given if k == "seen"]}

    def forget(self, title: str) -> str:
        self.forgotten = getattr(self, "forgotten", []) + [title]
        return f"forgot {title}"

    def import_ratings(self, path: str, user: int | None = None) -> str:
        self.imported = getattr(self, "imported", []) + [path]
        return f"Imported 3 of 3 ratings from Letterboxd ({path})."

    def taste(self) -> list[str]:
        return ["Your taste, from 1 liked film:", "  genres", "    Drama  ████ 1"]

    def reset(self) -> str:
        self.session = "s-new"
        return self.session

    def set_llm(self, name: str) -> str:
        self.llm = name
        return name

    def ingest(self, paths) -> dict:
        self.ingested = list(paths)
        return {"ingested": len(paths), "unchanged": 0, "failed": []}
