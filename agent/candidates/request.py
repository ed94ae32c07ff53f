"""What one turn asks the candidate sources for, and what they hand back: the hard
filters (``Constraints``, kept across follow-ups), the ``Request``, a ``Candidate`` with
its facts, and what the search and the chats ``Found`` about single films."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from ..explain.evidence import Fact
from ..kinds import CritiqueKind
from ..reader.lexicon import lexicon

LEX = lexicon()
VIOLENT = tuple(LEX.word_list("subjects.violent_genres"))
_VIOLENT_TAGS = LEX.re("subjects.violent_tags")



@dataclass(slots=True)
class Constraints:
    """Hard filters that stay active across follow-ups until a new ask replaces them."""

    genres: list[list[str]] = field(default_factory=list)   # every group: any one genre
    exclude_genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    runtime_max: int | None = None
    runtime_min: int | None = None
    soft: list[str] = field(default_factory=list)             # critiques applied as nudges
    exclude_ids: list[int] = field(default_factory=list)      # films of people to avoid
    exclude_years: list[list[int]] = field(default_factory=list)   # "nothing from the 90s"
    avoided: list[str] = field(default_factory=list)   # what they are, in words, for the header

    def allows(self, movie) -> bool:
        if self.exclude_ids and movie.movie_id in self.exclude_ids:
            return False
        g = set(movie.genres)
        if any(not (set(group) & g) for group in self.genres):
            return False
        if g & set(self.exclude_genres):
            return False
        if CritiqueKind.LESS_VIOLENT in self.soft and self._violent(movie):
            return False
        if self.year_min is not None and (movie.year is None or movie.year < self.year_min):
            return False
        if self.year_max is not None and (movie.year is None or movie.year > self.year_max):
            return False
        if self.exclude_years and (movie.year is None or any(
                lo <= movie.year <= hi for lo, hi in self.exclude_years)):
            return False
        rt = movie.runtime_min
        if (self.runtime_max is not None or self.runtime_min is not None) and rt is None:
            return False    # a runtime bound needs a known runtime: never a guess
        if self.runtime_max is not None and rt > self.runtime_max:
            return False
        return not (self.runtime_min is not None and rt < self.runtime_min)

    def _violent(self, movie) -> bool:
        """"Less violent": MovieLens tags of violence, or an Action film unless Action was
        asked for (a nudge let the chats' action favourites back in: they outscore the
        rest many times over)."""
        asked = {x for group in self.genres for x in group}
        return bool(_VIOLENT_TAGS.search(" ".join(movie.tags).lower())) or (
            "Action" in movie.genres and "Action" not in asked)

    def why_not(self, movie) -> str | None:
        """The constraint that excludes ``movie``, in words, or None."""
        g = set(movie.genres)
        for group in self.genres:
            if not set(group) & g:
                return f"you asked for {' or '.join(group)}"
        bad = sorted(g & set(self.exclude_genres))
        if bad:
            if CritiqueKind.LESS_VIOLENT in self.soft and set(bad) <= set(VIOLENT):
                return f"you asked for something less violent, so no {' or '.join(bad)}"
            return f"you asked for no {', '.join(bad)}"
        if CritiqueKind.LESS_VIOLENT in self.soft and self._violent(movie):
            return "you asked for something less violent" + (
                ", and its tags speak of violence" if _VIOLENT_TAGS.search(
                    " ".join(movie.tags).lower()) else ", and it is an Action film")
        if self.year_min is not None and (movie.year or 0) < self.year_min:
            return f"you asked for nothing before {self.year_min}"
        if self.year_max is not None and (movie.year or 9999) > self.year_max:
            return f"you asked for nothing after {self.year_max}"
        for lo, hi in self.exclude_years:
            if movie.year is None or lo <= movie.year <= hi:
                return f"you asked for nothing from {lo}–{hi}"
        if (self.runtime_max or self.runtime_min) and not movie.runtime_min:
            return "the catalog doesn't know its runtime, and you asked for a length"
        if movie.runtime_min and self.runtime_max and movie.runtime_min > self.runtime_max:
            return f"it runs {movie.runtime_min} min, longer than the {self.runtime_max} you asked for"
        if movie.runtime_min and self.runtime_min and movie.runtime_min < self.runtime_min:
            return f"it runs {movie.runtime_min} min, shorter than the {self.runtime_min} you asked for"
        return None

    def is_empty(self) -> bool:
        return not (self.genres or self.exclude_genres or self.year_min or self.year_max
                    or self.runtime_max or self.runtime_min or self.soft or self.exclude_ids
                    or self.exclude_years)

    def describe(self) -> str:
        """The constraints as the reply names them ("Comedy, no Horror, from 1990 on"), in
        the turn's language (agent.i18n)."""
        from ..i18n import current, genre, join, ptr, tr

        parts = [join([genre(g) for g in group], " or ") for group in self.genres]
        parts += [tr("no {genre}", genre=genre(g)) for g in self.exclude_genres]
        if self.year_min and self.year_max and self.year_min == self.year_max:
            parts.append(tr("from {year}", year=self.year_min))
        elif self.year_min and self.year_max and current() != "en":   # "de 1980 a 1989"
            parts.append(tr("{first}–{last}", first=self.year_min, last=self.year_max))
        else:
            if self.year_min:
                parts.append(tr("from {year} on", year=self.year_min))
            if self.year_max:
                parts.append(tr("up to {year}", year=self.year_max))
        parts += [tr("nothing from {first}–{last}", first=lo, last=hi)
                  for lo, hi in self.exclude_years]
        if self.runtime_max:
            parts.append(tr("at most {minutes} min", minutes=self.runtime_max))
        if self.runtime_min:
            parts.append(tr("at least {minutes} min", minutes=self.runtime_min))
        parts += [ptr("critique", s.replace("_", " ")) for s in self.soft]
        parts += self.avoided
        return ptr("list", ", ").join(parts)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Constraints:
        d = d or {}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(slots=True)
class Request:
    seeds: list[int] = field(default_factory=list)
    likes: list[int] = field(default_factory=list)
    dislikes: list[int] = field(default_factory=list)
    exclude: set[int] = field(default_factory=set)     # seen, disliked, already shown
    user_id: int | None = None
    query: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    k: int = 5
    only: set[int] | None = None      # pick only from these (a person's films)
    people: list[str] = field(default_factory=list)
    series: str = ""                  # "the bourne movies": the series' name ...
    series_films: list[int] = field(default_factory=list)   # ... and its films (``only``)
    quality: bool = False             # "the best ...": well-rated first
    boost: list[int] = field(default_factory=list)   # films of people named in passing
    similar: bool = False             # "like X" (item similarity) rather than "I loved X"
    talk: str = ""                    # what the user said in this chat (newest messages)
    topic: bool = False               # the query says what the film is about ("about dogs")
    prefer_genres: dict[str, float] = field(default_factory=dict)  # said earlier: genre -> signed weight
    prefer_years: tuple = ()   # years asked for earlier: (from or None, to or None, weight)
    carried: dict[int, float] = field(default_factory=dict)   # films liked or named earlier: weight
    # films of what was kept out earlier ("nothing with Adam Sandler", "no superhero stuff"),
    # with the avoidance's weight, and those avoidances in words (the headline)
    away: dict[int, float] = field(default_factory=dict)
    away_said: list[str] = field(default_factory=list)
    about: dict[str, float] = field(default_factory=dict)   # descriptions said earlier: weight
    said: str = ""    # the ask's message, titles and names left out (the transcript search)
    lang: str = "en"  # the ask's language: another than English searches multilingually
    feel: dict[str, float] = field(default_factory=dict)   # how a video should look, sound


@dataclass(slots=True)
class Found:
    """What the sources found about single films: search hits, and the real seekers' words
    behind a chat suggestion."""

    hits: dict = field(default_factory=dict)
    quotes: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Candidate:
    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    score: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)    # source -> rank (1-based)
    facts: list[Fact] = field(default_factory=list)
    explanation: str = ""
    explained_by: str = "template"
    info: dict = field(default_factory=dict)    # card fields: year, runtime, ratings, line

    def label(self) -> str:
        return self.title if self.year is None else f"{self.title} ({self.year})"


def shift_years(cons: Constraints, shown_years: list[int], *, newer: bool) -> None:
    """"More recent" / "older" relative to what was shown: the window moves that way, it
    does not shrink ("comedies from the 2000s", "older": before 2004, not 2000-2004)."""
    if not shown_years:
        return
    mid = int(statistics.median(shown_years))
    if newer:
        cons.year_min, cons.year_max = max(cons.year_min or 0, mid + 1), None
    else:
        cons.year_max, cons.year_min = min(cons.year_max or 9999, mid - 1), None
