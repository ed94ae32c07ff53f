"""What people suggest in real recommendation chats: a prior learned from ReDial.

``redial_prior.csv`` (built by ``bench/build_redial_prior.py`` from the learn part of
ReDial, CC BY 4.0, Li et al. NeurIPS 2018) counts how often a recommender suggested a film
after another film came up in the dialogue, each pair both ways (either film brings up the
other); ``mentioned`` 0 counts suggestions overall.
MovieLens ids are the same across the MovieLens sets, so the prior serves any of them.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .catalog import BUNDLED_DATA_DIR

PRIOR_CSV = BUNDLED_DATA_DIR / "redial_prior.csv"


@dataclass(slots=True)
class ChatPrior:
    suggested: dict[int, int] = field(default_factory=dict)          # film -> times suggested
    after: dict[int, dict[int, int]] = field(default_factory=dict)   # mentioned -> {film: n}

    @classmethod
    def load(cls, path: Path | None = None) -> ChatPrior:
        # RECBOT_PRIOR_CSV: benchmarks only (a prior built from one fold, tuned on another)
        path = Path(path or os.environ.get("RECBOT_PRIOR_CSV") or PRIOR_CSV)
        prior = cls()
        if not path.is_file():
            return prior
        with path.open(newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            head = next(rows, [])
            try:
                at = [head.index(name) for name in ("mentioned", "suggested", "count")]
            except ValueError:
                return prior
            for row in rows:
                x, y, n = (int(row[i]) for i in at)
                if x == 0:
                    prior.suggested[y] = n
                else:
                    prior.after.setdefault(x, {})[y] = n
        return prior

    def popular(self) -> list[int]:
        return sorted(self.suggested, key=lambda m: (-self.suggested[m], m))

    def following(self, seeds) -> list[int]:
        """Films suggested together with any of ``seeds``, most often first."""
        score: dict[int, float] = {}
        for s in seeds:
            row = self.after.get(int(s), {})
            total = sum(row.values()) or 1
            for y, n in row.items():
                score[y] = score.get(y, 0.0) + n / total ** 0.5
        return sorted(score, key=lambda m: (-score[m], m))


CONTEXTS_JSONL = BUNDLED_DATA_DIR / "redial_contexts.jsonl.gz"
CONTEXTS_VECTORS = BUNDLED_DATA_DIR / "redial_contexts.npz"
TALK_CHARS = 1000   # what a seeker said, at most: the newest messages, whole
NEIGHBOUR_POWER = 3.0   # a context's vote: its cosine ** 3 (chosen on the learn folds)


def talk_text(messages: list[str], limit: int = TALK_CHARS) -> str:
    """The newest whole messages (oldest first) that fit in ``limit`` characters; the newest
    alone, cut to its end, when it is longer."""
    kept: list[str] = []
    size = 0
    for text in reversed([m.strip() for m in messages if m and m.strip()]):
        if kept and size + len(text) + 1 > limit:
            break
        kept.append(text[-limit:])
        size += len(text) + 1
    return "\n".join(reversed(kept))


@dataclass(slots=True)
class Context:
    text: str                    # what the seeker had said so far (ReDial, @ids as names)
    films: dict[int, float]      # the films the recommender suggested next (weight 1)


SEEKER_WORDS = 8   # words per film in its catalog document
# a film named in a seeker's line ("I loved Bowling for Columbine (2002)"): its title words
# say which film, not what the seeker wants
_NAMED_FILM = re.compile(r"(?:\b[A-Z0-9][^\s()]*\s+(?:(?:of|the|and|a|an|in|to|for|on|at|with)"
                         r"\s+)?){1,8}\(\d{4}\)")
_SEEKER_WORD = re.compile(r"[a-z][a-z'-]{3,}")


def seeker_words(contexts: list[Context], stop: frozenset[str] = frozenset(),
                 k: int = SEEKER_WORDS) -> dict[int, tuple[str, ...]]:
    """What real seekers said before each film was suggested to them, as its ``k`` most
    distinctive words (in how many of its contexts a word is, times its inverse frequency
    over the films; ``stop`` words, words of no more than one film and titles left out):
    "documentary, learn, true" for a documentary. Item text that ships (ReDial, CC BY 4.0) and says what
    people who were offered a film had asked for."""
    import math
    from collections import Counter

    per_film: dict[int, Counter] = {}
    for c in contexts:
        words = set(_SEEKER_WORD.findall(_NAMED_FILM.sub(" ", c.text).lower())) - stop
        for film in c.films:
            per_film.setdefault(film, Counter()).update(words)
    df = Counter(w for counts in per_film.values() for w in counts)
    n = len(per_film)
    out = {}
    for film, counts in per_film.items():
        scored = sorted(((tf * math.log(n / df[w]), w) for w, tf in counts.items()
                         if df[w] >= 2), key=lambda sw: (-sw[0], sw[1]))
        words = tuple(w for score, w in scored[:k] if score > 0)
        if words:
            out[film] = words
    return out


SEEKER_WORDS_JSON = BUNDLED_DATA_DIR / "redial_seeker_words.json"
_SEEKER_WORDS_FORMAT = "recbot-seeker-words/1"


def seeker_words_stamp(contexts_path: Path, stop: frozenset[str]) -> str:
    """What :func:`seeker_words` of these contexts and stop words depends on: the contexts
    file's bytes, the stop words, the words per film and the format."""
    import hashlib

    digest = hashlib.sha256(f"{_SEEKER_WORDS_FORMAT}|{SEEKER_WORDS}|".encode())
    digest.update(Path(contexts_path).read_bytes())
    digest.update("\n".join(sorted(stop)).encode())
    return digest.hexdigest()[:16]


def write_seeker_words(path: Path, contexts_path: Path, stop: frozenset[str]) -> None:
    """Keep :func:`seeker_words` of the contexts at ``contexts_path`` ready-made at ``path``
    (the shipped ``redial_seeker_words.json``: computing it costs ~30 ms of each process)."""
    import json

    words = seeker_words(ChatNeighbours.load(contexts_path).contexts, stop)
    data = {"format": _SEEKER_WORDS_FORMAT, "stamp": seeker_words_stamp(contexts_path, stop),
            "words": {str(k): list(v) for k, v in sorted(words.items())}}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def read_seeker_words(path: Path, stamp: str) -> dict[int, tuple[str, ...]] | None:
    """The table :func:`write_seeker_words` kept, if it was made from what ``stamp`` says;
    None when it is missing, of other inputs, or not such a table."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data["format"] != _SEEKER_WORDS_FORMAT or data["stamp"] != stamp:
            return None
        out = {int(k): tuple(v) for k, v in data["words"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(isinstance(w, str) for v in out.values() for w in v):
        return None
    return out


_CONTEXTS_READ: dict[tuple, tuple[Context, ...]] = {}    # ChatNeighbours.load's last file


class ChatNeighbours:
    """What recommenders suggested in real chats to seekers who said something like this.

    ``redial_contexts.jsonl.gz`` (bench/build_redial_prior.py, ReDial's learn part): at every
    recommender turn that suggests a film, the seeker's turns so far and the films suggested.
    A message is embedded with the search embedder and each context votes for its films with
    its cosine ** 3; ``redial_contexts.npz`` holds the contexts' vectors for the bundled
    embedder, any other embedder gets them computed once (``ensure_vectors``)."""

    def __init__(self, contexts: list[Context], vectors: np.ndarray | None = None) -> None:
        self.contexts = contexts
        self.vectors = vectors
        self._digest: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> ChatNeighbours:
        import gzip
        import json

        path = Path(path or os.environ.get("RECBOT_CONTEXTS") or CONTEXTS_JSONL)
        try:
            st = path.stat()
        except OSError:
            return cls([])
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in _CONTEXTS_READ:      # read once a process: a turn asks two or three times
            contexts = []
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    contexts.append(Context(row["text"], {int(k): float(v)
                                                          for k, v in row["films"].items()}))
            _CONTEXTS_READ.clear()
            _CONTEXTS_READ[key] = tuple(contexts)
        return cls(list(_CONTEXTS_READ[key]))

    @property
    def digest(self) -> str:
        """Of the contexts' texts: vectors stamped with another digest belong to other texts."""
        if self._digest is None:
            import hashlib

            h = hashlib.sha256()
            for c in self.contexts:
                h.update(c.text.encode())
                h.update(b"\0")
            self._digest = h.hexdigest()[:16]
        return self._digest

    def _cache_file(self, embedder_name: str, cache_dir: Path) -> Path:
        import re

        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder_name)[:80]
        return cache_dir / f"chat-contexts-{safe}-{self.digest}.npz"

    def attach(self, embedder_name: str, cache_dir: Path | None) -> bool:
        """Load the contexts' vectors for this embedder — the shipped ones, else the cache's —
        if they exist; False if not."""
        if not self.contexts:
            return False
        files = [CONTEXTS_VECTORS]
        if cache_dir is not None:
            files.append(self._cache_file(embedder_name, cache_dir))
        for path in files:
            vectors = _read_vectors(path, embedder_name, self.digest)
            if vectors is not None and len(vectors) == len(self.contexts):
                self.vectors = vectors
                return True
        return False

    def ensure_vectors(self, embedder, cache_dir: Path, progress=None) -> bool:
        """Attach this embedder's vectors, computing and caching them when missing (the
        index build calls this; a turn only attaches). True when something was computed."""
        if not self.contexts or self.attach(embedder.name, cache_dir):
            return False
        vectors = embedder.embed([c.text for c in self.contexts], progress=progress)
        write_vectors(self._cache_file(embedder.name, cache_dir), vectors, embedder.name,
                      self.digest)
        self.vectors = vectors.astype(np.float32)
        return True

    def rank(self, query: np.ndarray) -> tuple[list[int], dict[int, int]]:
        """Films by their contexts' votes for the (unit) query vector, and for each film the
        context that voted most for it."""
        if self.vectors is None or not len(self.contexts):
            return [], {}
        sims = np.maximum(self.vectors @ np.asarray(query, dtype=np.float32), 0.0)
        votes = sims ** NEIGHBOUR_POWER
        score: dict[int, float] = {}
        best: dict[int, tuple[float, int]] = {}
        for j in np.flatnonzero(votes > 1e-6):
            v = float(votes[j])
            for film, w in self.contexts[j].films.items():
                score[film] = score.get(film, 0.0) + w * v
                if v * w > best.get(film, (0.0, -1))[0]:
                    best[film] = (v * w, int(j))
        order = sorted(score, key=lambda m: (-score[m], m))
        return order, {m: j for m, (_, j) in best.items()}


_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def _read_vectors(path: Path, embedder_name: str, digest: str) -> np.ndarray | None:
    """The vectors in ``path`` if they are this embedder's for these texts, else None (also
    for a missing or broken file)."""
    try:
        with np.load(path) as z:
            if (str(z["embedder"]), str(z["digest"])) != (embedder_name, digest):
                return None
            vectors = z["vectors"].astype(np.float32)
    except _UNREADABLE:
        return None
    return vectors if vectors.ndim == 2 else None


def write_vectors(path: Path, vectors: np.ndarray, embedder_name: str, digest: str) -> None:
    """The vectors as float16 with the embedder and contexts they belong to, atomically."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, vectors=vectors.astype(np.float16), embedder=np.array(embedder_name),
                     digest=np.array(digest))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
