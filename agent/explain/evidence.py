"""Facts about a candidate that an explanation may use, each traceable to data.

Co-rating shares come from the ratings, MF contributions from the ranker, shared
genres/tags/director/stars and the overview from the catalog, transcript passages from
the vector store. Text from tags, overviews and transcripts is *untrusted*: it is shown
to the LLM as quoted data, and passages that read like instructions are withheld.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..i18n import N_
from ..kinds import FactKind as K

LIKE_THRESHOLD = 4.0

# Text in the data that talks to the model instead of describing a film.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|"
    r"above|previous|system)\b|\b(?:system prompt|you are (?:now )?an? |as an ai\b|"
    r"(?:always|must|should) (?:recommend|rank|choose|pick)|recommend\s+only\b|"
    r"respond with|reply with|output (?:only|the)|<\|?(?:im_start|system|assistant)\|?>|"
    # words addressed to the model: "note for the assistant", "dear AI", "tell the user"
    r"\b(?:note|message|instructions?|memo|reminder|hint)s?\s+(?:for|to)\s+(?:the\s+|any\s+)?"
    r"(?:assistant|ai|model|llm|bot|chatbot|recommender|system)\b|"
    r"\b(?:dear|hey|attention|hello)[,:]?\s+(?:the\s+)?(?:assistant|ai|chatbot|llm|model)\b|"
    r"\b(?:tell|inform|convince) the user\b)",
    re.IGNORECASE | re.DOTALL)


def looks_like_instructions(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


@dataclass(frozen=True, slots=True)
class Fact:
    """One piece of evidence. ``kind``: person (the one asked for), shared_director,
    shared_cast, shared_tags, theme (a tag or plot word of the ask), transcript,
    because_you_liked, co_rating, chat, match, popular, director, cast, overview, tags,
    genres, thin (too few raters to say more)."""

    kind: str
    text: str
    start: float | None = None
    end: float | None = None
    source: str | None = None
    short: str | None = None     # a terser wording for small models' prompts (not shown)
    bars: tuple[tuple[str, float], ...] = ()   # figures that read better as bars (0..1)
    msg: str | None = None       # the catalogs' phrase ``text`` was made of (agent.i18n) ...
    fields: tuple[tuple[str, object], ...] = ()   # ... and its fields

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", K(self.kind))   # a typo raises here

    def said(self) -> str:
        """The fact in the turn's language (its English ``text`` when no phrase made it,
        or the turn is English): data in it (titles, tags, names) stays as it is."""
        from ..i18n import current, tr

        if self.msg is None or current() == "en":
            return self.text
        try:
            return tr(self.msg, **dict(self.fields))
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            return self.text     # a phrase its fields cannot fill: the English text

    def as_dict(self) -> dict:
        d: dict = {"kind": str(self.kind), "text": self.text}
        if self.kind == "transcript":
            d.update(start=self.start, end=self.end, source=self.source)
        if self.bars:
            d["bars"] = [[label, round(v, 4)] for label, v in self.bars]
        if self.msg is not None:
            d["msg"] = self.msg
            d["fields"] = [[k, v.as_dict() if isinstance(v, Words) else v]
                           for k, v in self.fields]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Fact:
        msg, fields = d.get("msg"), ()
        if isinstance(msg, str):
            try:
                fields = tuple((str(k), Words.from_dict(v) if isinstance(v, dict) else v)
                               for k, v in d.get("fields") or ()
                               if isinstance(v, (str, int, float, dict)))
            except (TypeError, ValueError):
                msg, fields = None, ()
            if not _fills(msg, fields, d["text"]):
                msg, fields = None, ()    # a stored phrase that is not this fact's: English
        return cls(d["kind"], d["text"], d.get("start"), d.get("end"), d.get("source"),
                   bars=tuple((str(a), float(b)) for a, b in d.get("bars") or ()),
                   msg=msg if isinstance(msg, str) else None, fields=fields)

    @property
    def origin(self) -> str:
        """Where the fact comes from, for the evidence view."""
        if self.kind == "transcript":
            return self.source or "a transcript"
        return ORIGINS.get(self.kind, "the catalog")


def _fills(msg, fields, text: str) -> bool:
    """Whether a stored phrase, filled with its stored fields, says the fact's English text
    (fields by plain name only: no attribute or index lookups)."""
    import string

    from ..i18n import speaking

    if not isinstance(msg, str):
        return False
    try:
        names = [n for _, n, _, _ in string.Formatter().parse(msg) if n is not None]
        if not all(n.isidentifier() for n in names):
            return False
        with speaking("en"):
            return msg.format(**dict(fields)) == text
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return False


@dataclass(frozen=True, slots=True)
class Words:
    """A list of data (names, tags, genres) inside a fact, joined in the turn's language
    when the fact is said ("A and B", "A y B", "A 和 B"); genres are named in it too."""

    items: tuple[str, ...]
    by: str = ", "
    genres: bool = False
    phrases: bool = False     # the items are phrases of the catalogs ("bright", "loud")

    def __str__(self) -> str:
        from ..i18n import genre, join, tr

        if self.phrases:
            return join([tr(x) for x in self.items], self.by)
        return join([genre(g) for g in self.items] if self.genres else self.items, self.by)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def as_dict(self) -> dict:
        return {"items": list(self.items), "by": self.by, "genres": self.genres,
                "phrases": self.phrases}

    @classmethod
    def from_dict(cls, d: dict) -> Words:
        items = d.get("items")
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise ValueError("a Words field holds a list of strings")
        return cls(tuple(items), str(d.get("by", ", ")), bool(d.get("genres")),
                   bool(d.get("phrases")))


def fact(kind: str, msg: str, /, *, short: str | None = None,
         bars: tuple[tuple[str, float], ...] = (), **fields) -> Fact:
    """A fact said by a phrase of the catalogs: its English ``text`` now (for the LLM's
    prompt, the checker and ``--json``), the phrase and its fields kept so the reply can
    say it in the language of the ask."""
    from ..i18n import speaking

    with speaking("en"):
        text = msg.format(**fields)
    return Fact(kind, text, short=short, bars=bars, msg=msg, fields=tuple(fields.items()))


ORIGINS = {
    K.CO_RATING: "MovieLens ratings", K.THIN: "MovieLens ratings",
    K.POPULAR: "MovieLens ratings", K.BECAUSE_YOU_LIKED: "MF ranker, your likes",
    K.CHAT: "ReDial chats", K.CHAT_TALK: "ReDial chats", K.MATCH: "semantic search",
    K.THEME: "MovieLens tags / IMDb plot",
    K.SHARED_TAGS: "MovieLens tags", K.TAGS: "MovieLens tags", K.GENRES: "MovieLens genres",
    K.SHARED_GENRES: "MovieLens genres", K.OVERVIEW: "IMDb top 1000",
    K.DIRECTOR: "IMDb top 1000", K.CAST: "IMDb top 1000", K.SHARED_DIRECTOR: "IMDb top 1000",
    K.SHARED_CAST: "IMDb top 1000", K.PERSON: "IMDb top 1000 / MovieLens tags",
    K.SOUND_PICTURE: "your videos' sound and picture",
}


SPECIFIC = frozenset({K.PERSON, K.SHARED_DIRECTOR, K.SHARED_CAST, K.DIRECTOR, K.CAST,
                      K.SHARED_TAGS, K.TAGS, K.THEME, K.TRANSCRIPT, K.BECAUSE_YOU_LIKED,
                      K.CO_RATING, K.SOUND_PICTURE})
"""Facts that say something particular about a film (a person, its tags or themes, its
dialogue, your likes, a co-rating with lift): a genre list, a plot line, chat counts, a
similarity score or popularity alone do not."""

STRONG = frozenset({K.CO_RATING, K.BECAUSE_YOU_LIKED, K.CHAT, K.CHAT_TALK, K.PERSON,
                    K.TRANSCRIPT, K.MATCH, K.THEME, K.SHARED_DIRECTOR, K.SHARED_CAST,
                    K.SOUND_PICTURE})
"""Facts that say why a film came up for this ask; a film with none of them gets its
ratings as a fact (when enough people rated it)."""

MIN_SUPPORT = 5
"""No co-rating claim is made over fewer people than this ("67% of the 3 people ...")."""

MIN_LIFT = 1.5
"""A co-rating is a reason only when X's fans love Y this many times as often as everyone
does: 41% of Alien fans loving Toy Story says nothing when 40% of all raters do."""


class CoRatings:
    """Who liked what: a binary users x items matrix of ratings >= 4."""

    _ARRAYS = ("like_counts", "quality", "means", "rating_counts")

    def __init__(self, interactions, *, _arrays: dict | None = None) -> None:
        if _arrays is not None:
            self._from_arrays(interactions, _arrays)
            return
        r = interactions.ratings
        likes = r.copy()
        likes.data = (likes.data >= LIKE_THRESHOLD).astype(np.float32)
        likes.eliminate_zeros()
        self.likes = likes.tocsc()
        self._rows = likes.tocsr()
        self._cache: dict[int, tuple[int, np.ndarray] | None] = {}
        self.item_index = interactions.item_index()
        self.item_ids = interactions.item_ids
        self.like_counts = np.asarray(self.likes.sum(axis=0)).ravel()
        counts = np.diff(r.tocsc().indptr)
        sums = np.asarray(r.sum(axis=0)).ravel()
        mean = sums.sum() / max(r.nnz, 1)
        # Bayesian average rating, for "well liked" fallbacks.
        self.quality = (sums + 20 * mean) / (counts + 20)
        self.means = sums / np.maximum(counts, 1)
        self.rating_counts = counts
        self.raters = max(int(r.shape[0]), 1)

    # -- a snapshot, so a one-shot `recbot ask` maps it instead of building it (1.5 s for
    # -- 32 M ratings): the same arrays, memory-mapped from one file
    def save(self, fh) -> None:
        from recbot.ranking.store import write_arrays

        csc, csr = self.likes, self._rows
        write_arrays(fh, {"csc_data": csc.data, "csc_indices": csc.indices,
                          "csc_indptr": csc.indptr, "csr_data": csr.data,
                          "csr_indices": csr.indices, "csr_indptr": csr.indptr,
                          "shape": np.array(csc.shape), "raters": np.array([self.raters]),
                          **{name: getattr(self, name) for name in self._ARRAYS}})

    @classmethod
    def load(cls, path, interactions) -> CoRatings:
        """The snapshot at ``path`` for ``interactions`` (ValueError/OSError when it is not
        one: missing, torn, or for a matrix of another shape)."""
        from recbot.ranking.store import open_arrays

        return cls(interactions, _arrays=open_arrays(path))

    def _from_arrays(self, interactions, z: dict) -> None:
        import scipy.sparse as sp

        shape = tuple(int(x) for x in z["shape"])
        if shape != interactions.ratings.shape:
            raise ValueError(f"co-ratings snapshot is {shape}, the ratings {interactions.ratings.shape}")
        self.likes = sp.csc_matrix((z["csc_data"], z["csc_indices"], z["csc_indptr"]), shape=shape)
        self._rows = sp.csr_matrix((z["csr_data"], z["csr_indices"], z["csr_indptr"]), shape=shape)
        self._cache = {}
        self.item_index = interactions.item_index()
        self.item_ids = interactions.item_ids
        for name in self._ARRAYS:
            setattr(self, name, z[name])
        self.raters = int(z["raters"][0])

    def co_likes(self, seed: int) -> tuple[int, np.ndarray] | None:
        """(fans of ``seed``, per-item count of those fans who also liked the item)."""
        key = int(seed)
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = self._co_likes(key)
        return self._cache[key]

    def _co_likes(self, seed: int) -> tuple[int, np.ndarray] | None:
        col = self.item_index.get(seed)
        if col is None:
            return None
        fans = self.likes[:, col]
        n = int(fans.nnz)
        if n == 0:
            return None
        co = np.asarray(self._rows[fans.indices].sum(axis=0)).ravel()
        return n, co

    def share(self, seed: int, item: int) -> tuple[int, int] | None:
        """(fans of seed who also liked item, fans of seed)."""
        got = self.co_likes(seed)
        col = self.item_index.get(int(item))
        if got is None or col is None:
            return None
        n, co = got
        return int(co[col]), n

    def lift(self, seed: int, item: int) -> tuple[int, int, float] | None:
        """(fans of seed who also liked item, fans of seed, lift): how many times as often
        the seed's fans rate the item 4+ as all raters do."""
        got = self.share(seed, item)
        if got is None:
            return None
        both, fans = got
        base = self.like_counts[self.item_index[int(item)]] / self.raters
        return both, fans, (both / fans) / base if fans and base > 0 else 0.0

    def neighbours(self, seed: int, n: int = 50, min_likes: int = 10) -> list[int]:
        """Items most often also liked by the seed's fans (ties by id): "people who loved
        X also loved". Used as the reference set in benchmarks."""
        got = self.co_likes(seed)
        if got is None:
            return []
        _, co = got
        co = co.astype(np.float64)
        co[self.like_counts < min_likes] = 0
        co[self.item_index[int(seed)]] = 0
        top = np.argsort(-co, kind="stable")[:n]
        return [int(self.item_ids[i]) for i in top if co[i] > 0]


CO_RATING = N_("people who rated {title} 4+ rate it 4+ {lift:.1f}× as often as raters overall "
               "({both} of {fans})")
"""The one wording of a co-rating claim, with its support."""


def co_rating_text(seed_title: str, both: int, fans: int, lift: float) -> str:
    """The co-rating claim in English."""
    return CO_RATING.format(title=seed_title, lift=lift, both=both, fans=fans)


def directed_by(movie) -> Words:
    """The film's directors as ``Movie.directed_by`` names them in English ("Joel Coen and
    Ethan Coen", "A, B and C"), the last two joined in the turn's language."""
    names = _directors(movie)
    if len(names) > 2:
        names = (", ".join(names[:-1]), names[-1])
    return Words(tuple(names), " and ")


def _directors(movie) -> tuple[str, ...]:
    named = getattr(movie, "directors", None)
    return named if named is not None else ((movie.director,) if movie.director else ())


def catalog_facts(movie, seeds: list) -> list[Fact]:
    """Facts from the catalog: what the movie shares with the seeds, then its own fields."""
    facts: list[Fact] = []
    for seed in seeds:
        shared = [g for g in movie.genres if g in seed.genres]
        if shared:
            facts.append(fact(K.SHARED_GENRES, N_("shares {genres} with {title}"),
                              genres=Words(tuple(shared), genres=True), title=seed.title))
        tags = [t for t in movie.tags if t in set(seed.tags) and not looks_like_instructions(t)]
        if tags:
            facts.append(fact(K.SHARED_TAGS, N_("tagged {tags} like {title}"),
                              tags=Words(tuple(tags[:4])), title=seed.title))
        shared = [d for d in _directors(movie) if d in set(_directors(seed))]
        if shared:
            facts.append(fact(K.SHARED_DIRECTOR, N_("directed by {names}, who also directed "
                                                    "{title}"),
                              names=Words(tuple(shared), " and "), title=seed.title))
        stars = [s for s in movie.stars if s in set(seed.stars)]
        if stars:
            facts.append(fact(K.SHARED_CAST, N_("stars {names}, also in {title}"),
                              names=Words(tuple(stars[:2]), " and "), title=seed.title))
    if movie.overview and not looks_like_instructions(movie.overview):
        facts.append(Fact(K.OVERVIEW, movie.overview.strip()))
    if movie.director and not any(f.kind == "shared_director" for f in facts):
        facts.append(fact(K.DIRECTOR, N_("directed by {names}"), names=directed_by(movie)))
    if movie.stars and not any(f.kind == "shared_cast" for f in facts):
        facts.append(fact(K.CAST, N_("starring {names}"), names=Words(tuple(movie.stars[:3]))))
    tags = [t for t in movie.tags if not looks_like_instructions(t)]
    if tags and not any(f.kind == "shared_tags" for f in facts):
        facts.append(fact(K.TAGS, N_("tagged {tags}"), tags=Words(tuple(tags[:5]))))
    if movie.genres:
        facts.append(fact(K.GENRES, "{genres}", genres=Words(tuple(movie.genres), genres=True)))
    return facts
