"""Find the films and the people a message names, with where they stand in it.

Titles are spotted anywhere in a message, several at once, in any case, with or without a
year — and never from ordinary words. A span counts as a title when it normalises exactly
to a catalog title and something says it is meant as one: a year after it ("Coco (2017)"),
quotes, capitals on a title of ordinary words, a cue before it ("like", "loved", "seen"),
or words no chat would use otherwise ("Forrest Gump"). Typos are forgiven only where a
cue or quotes say a title follows ("something like Forest Gumpp").

People (directors and stars of the IMDb table, and MovieLens tags that name them) are
found by their full name, or by a surname that only one well-known person has, when it
is capitalised or followed by "movies"/"films" ("Spielberg movies"). A first name alone
("Tom") is never a person.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from functools import cached_property

from recbot.retrieval.titles import normalise_title

from .lexicon import lexicon

MAX_TITLE_WORDS = 10

LEX = lexicon()
# Words people chat with; a title made of nothing else ("Up", "Her", "The Game",
# "Much Ado About Nothing") needs a cue, capitals, quotes or a year to count.
COMMON_WORDS = LEX.words("words.common")
# Cues before a span (titles.toml): a film follows; a film, not just a noun, follows; a
# typo is allowed in what follows (and where such a title ends)
_CUE = LEX.re("titles.cue")
_STRONG_CUE = LEX.re("titles.strong_cue")
_EXCLUDE_CUE = LEX.re("titles.exclude_cue")
_FUZZY_CUE = LEX.re("titles.fuzzy_cue")
_VERDICT_AFTER = LEX.re("titles.verdict_after")
_FUZZY_STOP = LEX.re("titles.fuzzy_stop")
_YEAR_AFTER = re.compile(r"\s*\(\s*((?:19|20)\d{2})\s*\)")
_TOKEN = re.compile(r"[\w'’.:&!?-]*\w[\w'’.:&-]*|[&]", re.UNICODE)
_HINT_ORIGINAL = LEX.re("titles.hint_original")
_HINT_REMAKE = LEX.re("titles.hint_remake")


@dataclass(slots=True)
class Spot:
    """A title in the message: ``movie_id`` when settled, ``options`` when it must be asked."""

    start: int
    end: int
    text: str
    movie_id: int | None = None
    title: str | None = None
    year: int | None = None
    how: str = "exact"                       # year | quoted | exact | cue | fuzzy
    options: tuple[tuple[int, str], ...] = ()  # (movie_id, label) of an ambiguous title
    suggestions: tuple[tuple[int, str], ...] = ()  # closest titles when nothing matched


@dataclass(slots=True)
class Person:
    """A director or star the message names, with the catalog films the data links to."""

    start: int
    end: int
    name: str
    films: tuple[int, ...] = ()
    roles: dict[int, str] = field(default_factory=dict)   # movie_id -> "director" | "star"
    explicit: bool = False   # "with X", "X movies", "directed by X", or the whole ask


def free_of(taken: list[tuple[int, int]], a: int, b: int) -> bool:
    return not any(a < y and x < b for x, y in taken)


def people_index(catalog) -> tuple[dict[str, str], dict[str, dict[int, str]], dict[str, str]]:
    """(folded full name -> name, name -> {movie_id: role}, folded surname -> name) for a
    catalog; kept on the catalog object, so the catalog snapshot carries it (the turn
    snapshot, agent/workspace/data.py)."""
    cached = getattr(catalog, "__dict__", {}).get("_people_index")
    if cached is not None:
        return cached
    films: dict[str, dict[int, str]] = {}
    for m in catalog:
        for name in m.directors:
            films.setdefault(name, {})[m.movie_id] = "director"
        for star in m.stars:
            films.setdefault(star, {}).setdefault(m.movie_id, "star")
    # MovieLens tags that are a known person's name add that person's other films; a tag
    # on 3+ films that reads as a name (a first name some listed person has, then a
    # capitalised word: "Adam Sandler", "Jim Carrey") is a person too.
    firsts = {n.split()[0] for n in films if len(n.split()) >= 2}
    tag_films: dict[str, set[int]] = {}
    for m in catalog:
        for tag in m.tags:
            parts = tag.split()
            if 2 <= len(parts) <= 3 and parts[0] in firsts and \
                    all(w[:1].isupper() and w.replace(".", "").replace("-", "").isalpha()
                        for w in parts[1:]):
                tag_films.setdefault(" ".join(parts), set()).add(m.movie_id)
    for name, movies in tag_films.items():
        if name not in films and len(movies) >= 3 and name.casefold() not in \
                {n.casefold() for n in films}:
            films[name] = {}
    folded = {n.casefold(): n for n in films}
    for m in catalog:
        for tag in m.tags:
            name = folded.get(tag.casefold())
            if name is not None:
                films[name].setdefault(m.movie_id, "tag")
    by_surname: dict[str, list[str]] = {}
    for name, movies in films.items():
        parts = name.split()
        if len(parts) >= 2 and len(movies) >= 3:
            by_surname.setdefault(parts[-1].casefold(), []).append(name)
    surnames = {}
    for surname, names in by_surname.items():
        ranked = sorted(names, key=lambda n: -len(films[n]))
        # unique, or one person with clearly more films (Spielberg, Kubrick, Hanks)
        if surname not in COMMON_WORDS and (
                len(ranked) == 1 or len(films[ranked[0]]) >= 3 * len(films[ranked[1]])):
            surnames[surname] = ranked[0]
    index = (folded, films, surnames)
    if hasattr(catalog, "__dict__"):
        catalog.__dict__["_people_index"] = index
    return index


class MentionFinder:
    """Spots titles and people in messages; built once per catalog."""

    def __init__(self, catalog) -> None:
        self.catalog = catalog
        self.titles = catalog.titles
        self.popularity = catalog.popularity
        self._describing: frozenset[str] | None = None

    # -- people ------------------------------------------------------------------------------
    @cached_property
    def _series(self) -> frozenset[str]:
        starts: dict[str, int] = {}
        for m in self.catalog:
            words = LEX.re("spotter.series_1").findall(m.title.lower())
            if words and words[0] in ("the", "a", "an"):
                words = words[1:]       # "The Lord of the Rings: ..." starts "lord of the rings"
            for n in (2, 3, 4):
                if len(words) >= n:
                    key = " ".join(words[:n])
                    starts[key] = starts.get(key, 0) + 1
        return frozenset(k for k, v in starts.items() if v >= 2)

    def is_series(self, phrase: str) -> bool:
        """Whether two or more catalog titles start with ``phrase`` ("star wars", "harry
        potter"): a series someone can ask to keep out in lowercase."""
        return " ".join(LEX.re("spotter.is_series_1").findall(phrase.lower())) in self._series

    @cached_property
    def _franchises(self) -> dict[str, list[int]]:
        """Series key -> its films, most rated first: a title that is the key, or goes on
        from it as a franchise title does ("Toy Story 2", "Star Wars: Episode IV", "Harry
        Potter and the ..."), for keys of two or more such films ("new york" is no series:
        New York Stories, New York Cop)."""
        go_on = re.compile(r"\s*(?:$|[:(-]|\b(?:\d+|ii|iii|iv|v|vi|part|chapter|episode|vol|"
                           r"volume|and the|returns|forever|begins|rises)\b)")
        out: dict[str, list[int]] = {}
        for m in self.catalog:
            low = m.title.lower()
            words = LEX.re("spotter.series_1").findall(low)
            lead = 1 if words and words[0] in ("the", "a", "an") else 0
            for n in (2, 3, 4):
                if len(words) < lead + n:
                    break
                key = " ".join(words[lead:lead + n])
                at = low.find(words[lead + n - 1], low.find(words[lead]))
                rest = low[at + len(words[lead + n - 1]):] if at >= 0 else ""
                if go_on.match(rest):
                    out.setdefault(key, []).append(m.movie_id)
        pop = self.popularity
        return {k: sorted(v, key=lambda i: (-pop.get(i, 0), i)) for k, v in out.items()
                if len(v) >= 2 and not all(w in COMMON_WORDS for w in k.split())}

    def series_films(self, phrase: str, n: int = 3) -> list[int]:
        """The ``n`` most-rated films of the series ``phrase`` names ("harry potter", a
        typo forgiven: "hary poter"), oldest first; [] when it names no series."""
        words = LEX.re("spotter.is_series_1").findall(phrase.lower())
        if words and words[0] in ("the", "a", "an"):
            words = words[1:]
        key = " ".join(words)
        if len(words) < 2:
            return []
        if key not in self._franchises:
            from rapidfuzz import fuzz, process

            best = process.extractOne(key, self._franchises.keys(), scorer=fuzz.ratio,
                                      score_cutoff=85)
            if best is None:
                return []
            key = best[0]
        top = self._franchises[key][:n]
        return sorted(top, key=lambda i: (self.catalog[i].year or 0, i))

    def series_named(self, phrase: str) -> list[int]:
        """Every film of the series ``phrase`` names, oldest first ("harry potter", "the
        bourne", "rocky"): a franchise of two or more titles (``series_films``) and the
        titles (or alternate titles) holding the name as words ("Jason Bourne"); only films
        sharing a genre with the series' best-known one ("Rocky", not "The Rocky Horror
        Picture Show") and rated by a twentieth as many people (not the 1978 TV "Star Wars
        Holiday Special"); [] for fewer than 2."""
        words = LEX.re("spotter.is_series_1").findall(phrase.lower())
        if words and words[0] in ("the", "a", "an"):
            words = words[1:]
        if not words:
            return []
        key = " ".join(words)
        name = re.compile(rf"\b{re.escape(key)}\b", re.I)
        if len(words) >= 2:     # a franchise ("kung fu movies" are none: "Kung Fu Panda"), and
            films = self.series_films(key, n=10**6)    # every title that holds its name ("The
            if films:                                   # Lost World: Jurassic Park", "Raiders of
                films = list(dict.fromkeys([*films, *(  # the Lost Ark (Indiana Jones and ...)")
                    m.movie_id for m in self.catalog
                    if any(name.search(t) for t in (m.title, *m.alt_titles)))]))
        else:   # one word: the titles it starts (after an article) or ends ("Jason Bourne");
            # those it starts as a series title does when two or more do ("Twilight", "The
            # Twilight Saga: New Moon", not "The Twilight Samurai"; "Rocky II", not "Rocky Horror")
            w = re.escape(key)
            starts = re.compile(rf"^(?:the |a |an )?{w}\b", re.I)
            goes_on = re.compile(rf"^(?:the |a |an )?{w}(?:$|\s*[:(-]|\s+(?:\d+|ii|iii|iv|v|vi|"
                                 rf"part|chapter|saga|the (?:second|third)|forever)\b)", re.I)
            ends = re.compile(rf"\b{w}$", re.I)
            films = [m.movie_id for m in self.catalog if goes_on.search(m.title)]
            if len(films) < 2:
                films = [m.movie_id for m in self.catalog if starts.search(m.title)]
            films += [m.movie_id for m in self.catalog
                      if ends.search(m.title) and m.movie_id not in films]
        if len(films) < 2:
            return []
        pop = self.popularity
        top = self.catalog[max(films, key=lambda i: (pop.get(i, 0), -i))]
        floor = max(2, 0.05 * pop.get(top.movie_id, 0))   # not "The Star Wars Holiday Special"
        films = [i for i in films if set(self.catalog[i].genres) & set(top.genres)
                 and pop.get(i, 0) >= floor]
        if len(films) < 2:
            return []
        return sorted(films, key=lambda i: (self.catalog[i].year or 0, i))

    @cached_property
    def known_tags(self) -> frozenset[str]:
        """Every tag of the catalog, lowercased: a name that is a tag ("Dwayne Johnson",
        "Marvel") is something the data knows, not a missing title."""
        return frozenset(t.lower() for m in self.catalog for t in m.tags)

    @cached_property
    def _people(self) -> tuple[dict[str, str], dict[str, dict[int, str]], dict[str, str]]:
        """(folded full name -> name, name -> {movie_id: role}, folded surname -> name)."""
        return people_index(self.catalog)

    def people(self, text: str) -> list[Person]:
        folded, films, surnames = self._people
        out: list[Person] = []
        taken: list[tuple[int, int]] = []
        tokens = [(m.start(), m.end()) for m in LEX.re("spotter.people_1").finditer(text)]
        for n in (4, 3, 2):
            for i in range(len(tokens) - n + 1):
                a, b = tokens[i][0], tokens[i + n - 1][1]
                if any(a < y and x < b for x, y in taken):
                    continue
                name = folded.get(" ".join(text[a:b].replace("’", "'").split()).casefold())
                if name is not None:
                    out.append(Person(a, b, name, tuple(films[name]), dict(films[name])))
                    taken.append((a, b))
        for m in re.finditer(r"\b(?:the )?([A-Za-z][\w-]+) (?:brothers|bros\.?|sisters)\b", text, re.I):
            a, b = m.span()
            if not free_of(taken, a, b):
                continue
            family = [n for n in films if n.split()[-1].casefold() == m.group(1).casefold()
                      and len(films[n]) >= 2]
            if len(family) >= 2:   # "the Coen brothers": everything either directed
                merged: dict[int, str] = {}
                for n in family:
                    for movie_id, role in films[n].items():
                        merged.setdefault(movie_id, role)
                label = f"the {m.group(1).title()} brothers"
                out.append(Person(a, b, label, tuple(merged), merged))
                taken.append((a, b))
        for m in LEX.re("spotter.people_2").finditer(text):
            a, b = m.span(1)
            if any(a < y and x < b for x, y in taken):
                continue
            word = m.group(1)
            name = surnames.get(word.casefold())
            if name is None:
                continue
            cued = re.search(r"\b(?:with|starring|featuring|by|directed by|from|anything|"
                             r"something)\s+$", text[max(0, a - 20):a], re.I) or (
                re.search(r"\b(?:nothing|no|without|minus|except|not)\s+$",
                          text[max(0, a - 20):a], re.I)
                and word[:1].isupper())      # "nothing Nolan", not "no rush"
            alone = not text[:a].strip(" \"'") and not text[b:].strip(" .!?\"'")
            # "leo dicaprio", "sam jackson": a short form of their first name before it
            first = re.search(r"\b([A-Za-z]{3,})\s+$", text[max(0, a - 20):a])
            if first and len(name.split()) >= 2 and name.split()[0].casefold().startswith(
                    first.group(1).casefold()) and free_of(taken, a - len(first.group(0)), b):
                a, cued = a - len(first.group(0)), True
            if not (word[:1].isupper() or m.group(2) or cued or alone):
                continue   # "directed by nolan", "tarantino" name a person; "a hanks" would not
            if self._inside_title(text, tokens, a):
                continue   # "Mr. & Mrs. Smith", "Mr. Smith Goes to Washington": a film
            out.append(Person(a, b, name, tuple(films[name]), dict(films[name])))
            taken.append((a, b))
        for m in LEX.re("spotter.people_3").finditer(text):
            a, b = m.span(1)       # "stuff with keanu": a first name only one star has
            name = self._first_names.get(m.group(1).casefold())
            nxt = LEX.re("spotter.people_4").match(text[b:])
            if name is not None and nxt:     # "keanu reeves.", "denzel washingon": the name
                from rapidfuzz import fuzz

                if fuzz.ratio(nxt.group(1).casefold(), name.split()[-1].casefold()) >= 80:
                    b += nxt.end()
                elif nxt.group(1)[:1].isupper():
                    continue                 # "Gena Davis" is someone else
            if name is not None and free_of(taken, a, b):
                out.append(Person(a, b, name, tuple(films[name]), dict(films[name])))
                taken.append((a, b))
        if not out:
            out += self._misspelt_people(text, taken)
        for p in out:
            before = text[max(0, p.start - 30):p.start].lower()
            after = text[p.end:p.end + 20].lower()
            p.explicit = bool(
                LEX.re("spotter.people_5").search(before)
                or LEX.re("spotter.people_6").match(after)
                or len(text.split()) <= 8)
        return sorted(out, key=lambda p: p.start)

    def _inside_title(self, text: str, tokens: list[tuple[int, int]], at: int) -> bool:
        """Whether the word at ``at`` belongs to a run of two or more words that is exactly
        a catalog title."""
        idx = next((i for i, (x, y) in enumerate(tokens) if x <= at < y), None)
        if idx is None:
            return False
        for i in range(max(0, idx - 5), idx + 1):
            for j in range(max(idx, i + 1), min(len(tokens), idx + 6)):
                if self.titles.exact(text[tokens[i][0]:tokens[j][1]]):
                    return True
        return False

    def _misspelt_people(self, text: str, taken) -> list[Person]:
        """"films with tom hnaks", "a comdey by wes andersen": two or three words after a cue
        (with, by, starring, directed by) that are one letter or two off a known person with
        3+ films, and not English words both."""
        from rapidfuzz import fuzz, process

        folded, films, _ = self._people
        names = self._fuzzy_names
        out: list[Person] = []

        def found(a: int, b: int, raw: str, cutoff: float = 88) -> bool:
            hit = process.extractOne(raw, names, scorer=fuzz.ratio, score_cutoff=cutoff)
            if hit:
                name = folded[hit[0]]
                out.append(Person(a, b, name, tuple(films[name]), dict(films[name])))
                taken.append((a, b))
            return bool(hit)

        # ... or after a cue of taste: "I like Steve Carrel", "I love Quinton tarantino"
        for cm in re.finditer(r"\b(?:with|by|starring|featuring|directed by|films? of|movies? of|"
                              r"(?:i |i really |we )(?:like|love|loved|liked|adore|enjoy)|"
                              r"(?:a |big |huge )?fan of)\s+", text, re.I):
            words = list(LEX.re("spotter.misspelt_people_1").finditer(text[cm.end():]))[:3]
            for n in (3, 2):
                if len(words) < n:
                    continue
                a, b = cm.end() + words[0].start(), cm.end() + words[n - 1].end()
                if any(a < y and x < b for x, y in taken):
                    continue
                raw = " ".join(text[a:b].split()).casefold()
                if all(w in COMMON_WORDS for w in raw.split()):
                    continue
                if found(a, b, raw):
                    break
        # no cue, but a name is all there is, or it owns the films: "leonardo dicapprio films",
        # "steven spielburg"
        spans = [m.span(1) for m in re.finditer(
            r"\b([a-z][\w'’.-]+(?:\s+[a-z][\w'’.-]+){1,2}?)(?:'s)?\s+(?:movies?|films?|flicks?)\b",
            text, re.I)]
        whole = re.fullmatch(r"\W*([a-z][\w'’.-]+(?:\s+[a-z][\w'’.-]+){1,2})\W*", text, re.I)
        if whole:
            spans.append(whole.span(1))
        for a0, b in spans:
            # the name may be the last words only: "any good brad pit films"
            starts = [a0] + [a0 + w.start() for w in re.finditer(r"(?<=\s)\S", text[a0:b])]
            for a in starts:
                raw = " ".join(text[a:b].split()).casefold()
                if len(raw.split()) < 2:
                    break
                if any(a < y and x < b for x, y in taken) or all(w in COMMON_WORDS
                                                                 for w in raw.split()):
                    continue
                # English words both ("brad pit") only one letter off a name
                english = all(w in english_words() for w in raw.split())
                if found(a, b, raw, 93 if english else 88):
                    break
        return out

    @cached_property
    def _first_names(self) -> dict[str, str]:
        """Folded first name -> the person, for first names that are no English word and
        that one person with 3+ films has ("keanu", "meryl"; not "tom" or "will")."""
        _, films, _ = self._people
        by_first: dict[str, list[str]] = {}
        for name in films:
            parts = name.split()
            if len(parts) >= 2:
                by_first.setdefault(parts[0].casefold(), []).append(name)
        vocab = english_words() | COMMON_WORDS
        return {first: names[0] for first, names in by_first.items()
                if len(names) == 1 and len(films[names[0]]) >= 3 and first not in vocab
                and first.isalpha() and len(first) >= 4}

    @cached_property
    def _fuzzy_names(self) -> list[str]:
        folded, films, _ = self._people
        return [f for f, n in folded.items() if len(films[n]) >= 3 and len(f.split()) >= 2]

    # -- titles ------------------------------------------------------------------------------
    def describing(self, build) -> frozenset[str]:
        """The words that describe films, built once from the catalog's tags by ``build``."""
        if self._describing is None:
            self._describing = build(t for m in self.catalog for t in m.tags)
        return self._describing

    def titles_in(self, text: str, *, blocked: list[tuple[int, int]] = ()) -> list[Spot]:
        """Every title the message names, in order; spans in ``blocked`` are skipped."""
        spots: list[Spot] = []
        # "#10" points at a shown pick; it never names the film "10" (1979) or "9" (2009)
        taken = [*blocked, *(m.span() for m in LEX.re("spotter.titles_in_1").finditer(text))]

        def free(a: int, b: int) -> bool:
            return not any(a < y and x < b for x, y in taken)

        def add(spot: Spot) -> None:
            spots.append(spot)
            taken.append((spot.start, spot.end))

        # 1. "Title (year)": the longest run of words before the year that is a title.
        for ym in _YEAR_AFTER.finditer(text):
            year = int(ym.group(1))
            spot = self._before_year(text, ym.start(), year, free)
            if spot is not None:
                spot.end = ym.end()
                add(spot)
            else:   # a film the catalog lacks: its words are no other title
                taken.append((self._name_start(text, ym.start()), ym.end()))
        # 2. Quoted: "Heat", “Up”.
        for qm in LEX.re("spotter.titles_in_2").finditer(text):
            a, b = qm.span()
            inner = qm.group(1) or qm.group(2)
            key = normalise_title(inner)
            if qm.group(2) and (len(key.split()) < 2 and key in english_words() | COMMON_WORDS):
                continue   # 'Night! — an apostrophe, not quotes
            if free(a, b):
                spot = self._resolve_span(text, a, b, inner, "quoted", fuzzy=True)
                if spot is not None:
                    add(spot)
        # 3. Exact titles anywhere, longest first.
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        found: list[Spot] = []
        for i in range(len(tokens)):
            for n in range(min(MAX_TITLE_WORDS, len(tokens) - i), 0, -1):
                a, b = tokens[i][0], tokens[i + n - 1][1]
                raw = text[a:b].rstrip(".,!?:;")
                b = a + len(raw)
                if not raw or not free(a, b):
                    continue
                key = normalise_title(raw)
                if not key or not self.titles.is_key(key):
                    continue
                # "seen interstellar and the prestige": a title right after another one and
                # "and", "or" or a comma is named as the first one was
                listed = key not in _NOT_AFTER_THE and (any(   # not "inception and the others"
                    LIST_SEP.fullmatch(text[sp.end:a]) for sp in (*spots, *found) if sp.end <= a)
                    or self._known_before(text, a))
                if not self._meant_as_title(text, a, b, raw, key, listed=listed):
                    continue
                spot = self._resolve_span(text, a, b, raw, "exact", fuzzy=False)
                if spot is not None:
                    found.append(spot)
                    break
        for spot in sorted(found, key=lambda s: (-(s.end - s.start), s.start)):
            if free(spot.start, spot.end):
                add(spot)
        # 4. After a cue, allow a typo: "something like forest gumpp".
        for cm in _FUZZY_CUE.finditer(text):
            a = cm.end()
            stop = _FUZZY_STOP.search(text, a)
            b = stop.start() if stop else len(text)
            raw = text[a:b].strip(" \"'“”")
            if not raw or not free(a, a + len(raw)) or len(raw.split()) > 8:
                continue
            first = raw.lower().split()
            if first[0] in _NOT_A_TITLE_START and not (
                    first[0] == "the" and len(first) > 1 and first[1] not in _NOT_AFTER_THE):
                continue   # "like the ones before", but "like the dark night" is a title
            words = normalise_title(raw).split()
            # "something like the matrx", "... the dark night but funnier": a title, typos and all
            named = bool(_SIMILAR_HEAD.search(cm.group())) or (
                not text[:cm.start()].strip() and cm.group().strip().lower() == "like")
            # ... and so does a message that opens with it: "like the dark night"
            if not raw[:1].isupper() and not named and (
                    all(w in COMMON_WORDS for w in words) or any(w in _GENREISH for w in words)
                    or (len(words) == 1 and words[0] in english_words())):
                continue   # "sounds like fun", "like romance movies": words, not a title
            if named and any(w in _GENREISH for w in words):
                continue   # "something like a horror": a kind of film
            spot = self._resolve_span(text, a, a + len(raw), raw, "fuzzy", fuzzy=True)
            if spot is not None and named and not raw[:1].isupper() and spot.movie_id and \
                    self.popularity.get(spot.movie_id, 0) < 20 and \
                    all(w in COMMON_WORDS for w in words):
                spot = None   # everyday words name only a well-known film
            if spot is not None and _close(raw, spot.title or raw):
                add(spot)
            elif raw[:1].isupper() and len(raw.split()) <= 4 and len(text.split()) <= 12 and \
                    not any(w.lower() in _GENREISH for w in raw.split()):
                # "something like Zxqwv Blorp": a title the catalog lacks; offer the closest
                res = self.titles.resolve(raw)
                spots.append(Spot(a, a + len(raw), raw, how="fuzzy", suggestions=tuple(
                    (m.movie_id, m.label()) for m in res.matches[:3])))
                taken.append((a, a + len(raw)))
        # 5. A rare word that only a well-known title has ("shawshank vibes"), or a typo of
        #    a one-word title ("inceptoin"): never an English word.
        vocab = english_words()
        for m in LEX.re("spotter.titles_in_3").finditer(text):
            a, b = m.span()
            word = m.group().lower()
            if not free(a, b) or not vocab or word in vocab or word in COMMON_WORDS or \
                    _plain(word) in _everyday_other():
                continue   # ("tambien" is Spanish for "too", not Y tu mamá también)
            if m.group()[:1].islower() and _derived_english(word):
                continue   # "a picky movie watcher": an English word the vocabulary lacks
            if re.match(r"\s+(?:movies?|films?|flicks?|ones|stuff|series|franchise)\b", text[b:],
                        re.I):
                continue   # "the Avenger movies": a kind or series, not one film
            films = [f for f in self.titles.with_word(word)
                     if self.popularity.get(f.movie_id, 0) >= 20]
            if len(films) == 1 or (len(films) > 1 and self.popularity[films[0].movie_id] >=
                                   3 * self.popularity[films[1].movie_id]):
                f = films[0]
                add(Spot(a, b, m.group(), f.movie_id, f.title, f.year, "word"))
                continue
            res = self.titles.resolve(word)
            best = res.best
            if best is not None and res.confidence >= 0.88 and len(best.title.split()) == 1 \
                    and _close(word, best.title) and self.popularity.get(best.movie_id, 0) >= 20:
                add(Spot(a, b, m.group(), best.movie_id, best.title, best.year, "fuzzy"))
        return sorted(spots, key=lambda s: s.start)

    @staticmethod
    def _name_start(text: str, end: int) -> int:
        """Where the capitalised name before ``end`` begins ("... lol Boo! A Madea Halloween")."""
        start = end
        for m in reversed(list(_TOKEN.finditer(text[:end]))):
            word = m.group()
            if not (word[:1].isupper() or word[:1].isdigit() or word.lower() in _SMALL):
                break
            start = m.start()
        return start

    @cached_property
    def _heads(self) -> dict[str, list[tuple[int, int | None]]]:
        """Title before a colon -> films ("jumanji" -> Jumanji: Welcome to the Jungle)."""
        heads: dict[str, list[tuple[int, int | None]]] = {}
        for m in self.catalog:
            for t in (m.title, *m.alt_titles):
                if ":" in t:
                    key = normalise_title(t.split(":", 1)[0])
                    if key:
                        heads.setdefault(key, []).append((m.movie_id, m.year))
        return heads

    def _before_year(self, text: str, end: int, year: int, free) -> Spot | None:
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text[:end])]
        best = None
        for n in range(min(MAX_TITLE_WORDS + 2, len(tokens)), 0, -1):
            a = tokens[len(tokens) - n][0]
            raw = text[a:end].strip(" ,")
            if not free(a, end) or not raw:
                continue
            exact = [m for m in self.titles.exact(raw)
                     if m.year is None or abs(m.year - year) <= 1]
            if exact:
                pick = min(exact, key=lambda m: (abs((m.year or year) - year),
                                                 -self.popularity.get(m.movie_id, 0)))
                return Spot(a, end, raw, pick.movie_id, pick.title, pick.year, "year")
            heads = [(i, y) for i, y in self._heads.get(normalise_title(raw), ())
                     if y is not None and abs(y - year) <= 1]
            if heads and a == self._name_start(text, end):
                movie = self.catalog[heads[0][0]]
                return Spot(a, end, raw, movie.movie_id, movie.title, movie.year, "year")
            if best is None and a == self._name_start(text, end):
                res = self.titles.resolve(f"{raw} ({year})")
                b = res.best
                if b is not None and res.confidence >= 0.9 and b.year is not None \
                        and abs(b.year - year) <= 1 and _close(raw, b.title):
                    best = Spot(a, end, raw, b.movie_id, b.title, b.year, "year")
        return best

    def _known_before(self, text: str, a: int) -> bool:
        """"interstellar and arrival are my faves": right before "and" or a comma stands a
        well-known film's whole title (one the later passes find by its rare word)."""
        sep = next((m for m in LIST_SEP.finditer(text, max(0, a - 8), a) if m.end() == a), None)
        m = sep and re.search(r"((?:[\w'’:.-]+\s+){0,4}[\w'’:.-]+)$", text[:sep.start()])
        if not m:
            return False
        words = m.group(1).split()
        vocab = english_words() | COMMON_WORDS
        return any(self.popularity.get(t.movie_id, 0) >= 20
                   for n in range(1, len(words) + 1)
                   if not all(w in vocab for w in normalise_title(" ".join(words[-n:])).split())
                   for t in self.titles.exact(" ".join(words[-n:])))

    def _meant_as_title(self, text: str, a: int, b: int, raw: str, key: str, *,
                        listed: bool = False) -> bool:
        words = key.split()
        if len(key.replace(" ", "")) <= 2:   # "M", "Us": a year, quotes, or "I loved Up"
            return len(key) == 2 and raw[:1].isupper() and bool(
                _STRONG_CUE.search(text[max(0, a - 40):a])) and bool(text[:a].strip())
        if len(words) == 1 and re.match(r"\s+(?:movies?|films?|flicks?|ones|stuff|type|genre|"
                                        r"kind|franchise|series)\b", text[b:], re.I):
            return False   # "ghost movies", "superhero movies": a kind of film
        ordinary = all(w in COMMON_WORDS or w.isdigit() for w in words)
        english = all(w in COMMON_WORDS or w.isdigit() or w in english_words() or
                      (not raw[:1].isupper() and _derived_english(w)) for w in words)
        prev = LEX.re("spotter.meant_as_title_1").search(text[:a])
        if raw[:1].isupper() and prev and prev.group(1)[:1].isupper() and \
                prev.group(1) not in ("I", "I'm", "I've") and \
                not LEX.re("spotter.meant_as_title_2").search(text[:prev.start()] or ".") and \
                prev.group(1).lower() not in _SMALL | COMMON_WORDS:
            return False   # part of a longer name: "Batman: The Dark Knight Returns"
        inner = re.search(r"\b([A-Z][\w'-]*)\s+(?:(?:at|of|the|a|an|to|for|from|by)\s+)+$",
                          text[:a])     # not "in": "Matt Damon in The Martian"
        if raw[:1].isupper() and inner and inner.group(1) not in ("I", "I'm", "I've") and \
                inner.group(1).lower() not in _SMALL and \
                not LEX.re("spotter.meant_as_title_2").search(text[:inner.start()] or "."):
            return False   # "Everything Everywhere All at Once": not Once (2006)
        after = LEX.re("spotter.meant_as_title_3").match(text[b:])
        if raw[:1].isupper() and after and after.group(1).lower() not in _SMALL:
            return False
        before = text[max(0, a - 40):a]
        cue = bool(_CUE.search(before))
        strong = bool(_STRONG_CUE.search(before)) or listed
        whole = not text[:a].strip(" \"'") and not text[b:].strip(" .!?\"'")
        shown = raw.split()
        capitalised = all(w[:1].isupper() or w.lower() in _SMALL or not w[:1].isalpha()
                          for w in shown) and shown[0][:1].isupper()
        sentence_start = not text[:a].strip() or bool(LEX.re("spotter.meant_as_title_4").search(text[:a]))
        article = bool(LEX.re("spotter.meant_as_title_5").match(raw))   # "The Matrix was good"
        lead = LEX.re("spotter.meant_as_title_6").match(raw)
        if lead and english and not capitalised and not any(
                m.title.lower().startswith(lead.group(0)) for m in self.titles.exact(raw)[:3]):
            return False   # "a scary movie" is a kind of film, not Scary Movie (2000)
        said_of = capitalised and bool(_VERDICT_AFTER.match(text[b:]))  # "Frozen was great"
        # "gone girl - seen it.", "the notebook? seen it", "... prisoners?": a known film
        # named on its own, then judged or asked about, in any case
        if (_SAID_NEXT.match(text[b:]) or _ASKED_ALONE.match(text[b:]) or _VERDICT_AFTER.match(
                text[b:])) and _ALONE_BEFORE.search(
                text[:a]) and key not in _COMMANDS and key not in _GENREISH and self._known(raw):
            return True
        if len(words) == 1:
            if whole and key in _COMMANDS:
                return False
            if said_of and key not in _GENREISH:
                return True
            if key in _GENREISH:
                return (whole and capitalised) or (capitalised and strong)
            if ordinary:
                # "Up", "Her": only as the whole message, capitalised, or capitalised after a cue
                return (whole and capitalised) or (cue and capitalised and not sentence_start)
            if article:
                return True
            if english and _EXCLUDE_CUE.search(before) and not key.endswith("s") and \
                    self._known(raw):
                return True     # "a dicaprio movie but not titanic"
            if english:   # "aliens", "somewhere", "Passion": a cue that names a film
                if re.search(r"\b(?:movie|film)\s*$", before, re.I) and not re.search(
                        r"\b(?:the|that|this|called|named|titled)\s+(?:movie|film)\s*$",
                        before, re.I):
                    strong = False   # "a picky movie watcher", "a film buff": a compound
                return whole or (strong and not sentence_start) or (cue and capitalised
                                                                    and not sentence_start)
            return whole or cue or capitalised
        if ordinary:
            # "loved get out", "i watched home alone": everyday words right after a strong
            # cue, up to the end of the clause, name a film people know
            known = self._known(raw)
            return whole or (capitalised and (cue or not sentence_start)) or (
                (listed or _VERB_CUE.search(before)) and known and bool(_CLAUSE_END.match(text[b:])))
        if english:   # "young adult", "Merry Christmas": capitals mid-sentence, or a cue
            return whole or cue or said_of or (capitalised and not sentence_start) or (
                self._distinct_known(words, raw) and bool(_NAMED_THEN.match(text[b:]))
                and bool(_CLAUSE_START.search(text[:a])))
        return True

    def _known(self, raw: str) -> bool:
        """Is ``raw`` exactly the title of a film people know (10+ ratings)?"""
        return any(self.popularity.get(m.movie_id, 0) >= 10 for m in self.titles.exact(raw))

    def _distinct_known(self, words: list[str], raw: str) -> bool:
        """A well-known film's whole title of three words or more, one of them no everyday
        word: "wtf wolf of wall street??", "kramer vs kramer and bridges" name the film in any
        case (not "in the mood for love stories": followed by more words)."""
        return len(raw.split()) >= 3 and any(
            w not in COMMON_WORDS and w not in _FUNCTION and not w.isdigit() for w in words
        ) and not self.is_series(raw) and self._known(raw)

    def _resolve_span(self, text: str, a: int, b: int, raw: str, how: str, *,
                      fuzzy: bool) -> Spot | None:
        exact = self.titles.exact(raw)
        if exact:
            return self._settle(text, a, b, raw, exact, how)
        if not fuzzy:
            return None
        res = self.titles.resolve(raw)
        best = res.best
        if best is None or res.confidence < 0.85:
            return None
        if res.ambiguous and not _clear_favourite(res, self.popularity):
            tied = [m for m in res.matches if m.score >= res.confidence - 0.015]
            return self._settle(text, a, b, raw, tied, how)
        return Spot(a, b, raw, best.movie_id, best.title, best.year, how)

    def _settle(self, text: str, a: int, b: int, raw: str, matches, how: str) -> Spot:
        """One of several films with this title: a year, a hint or popularity decides;
        when none does, the spot carries the options to ask about."""
        if len(matches) > 1 and re.match(r"(?:the|a|an)\s", raw, re.I):
            same = [m for m in matches if m.title.lower().startswith(raw.split()[0].lower() + " ")]
            matches = same or matches    # "The Heat" is not Heat
        elif len(matches) > 1:           # ... and "arrival" is Arrival, not The Arrival
            bare = [m for m in matches if not re.match(r"(?:the|a|an)\s", m.title, re.I)]
            matches = bare or matches
        if len(matches) == 1:
            m = matches[0]
            return Spot(a, b, raw, m.movie_id, m.title, m.year, how)
        if how in ("fuzzy", "cue") and len({normalise_title(m.title) for m in matches}) > 1:
            m = max(matches, key=lambda m: self.popularity.get(m.movie_id, 0))
            return Spot(a, b, raw, m.movie_id, m.title, m.year, how)   # "harry potter"
        around = text[max(0, a - 30):b + 40]
        dated = [m for m in matches if m.year is not None]
        if dated and _HINT_ORIGINAL.search(around):
            m = min(dated, key=lambda m: m.year)
            return Spot(a, b, raw, m.movie_id, m.title, m.year, how)
        if dated and _HINT_REMAKE.search(around):
            m = max(dated, key=lambda m: m.year)
            return Spot(a, b, raw, m.movie_id, m.title, m.year, how)
        pops = sorted(((self.popularity.get(m.movie_id, 0), m) for m in matches),
                      key=lambda pm: -pm[0])
        if pops[0][0] >= 3 * max(pops[1][0], 1):
            m = pops[0][1]
            return Spot(a, b, raw, m.movie_id, m.title, m.year, how)
        options = tuple((m.movie_id, m.label()) for _, m in pops[:4])
        return Spot(a, b, raw, how=how, options=options)


# Whole messages that are chat, never the film of that name ("Next", "More", "Yes").
_COMMANDS = LEX.words("titles.commands")
_SMALL = LEX.words("titles.small")
_NOT_AFTER_THE = LEX.words("titles.not_after_the")
_SIMILAR_HEAD = LEX.re("titles.similar_head")
_CLAUSE_END = LEX.re("titles.clause_end")
# after a title named in lower case: the clause ends, or the film is judged ("... looks cool")
_NAMED_THEN = re.compile(_CLAUSE_END.pattern + "|" + _VERDICT_AFTER.pattern
                         + r"|\s+(?:is|was|looks|sounds|seems)\b", re.I)
_FUNCTION = frozenset(LEX.words("words.function"))
# ... and where it starts the message or a clause ("wtf wolf of wall street??", "kramer vs
# kramer and bridges ..."; not "we're about to meet the parents", "reminds me life is
# beautiful")
_CLAUSE_START = re.compile(r"(?:^|[.!?,;:])\W*(?:(?:and|or|also|maybe|ok|okay|hmm+|ooh+|oh|wtf|"
                           r"seriously|lol|no|nope|nah|um+|uh+|but|yeah|yes)\W+)*$", re.I)
LIST_SEP = LEX.re("titles.list_sep")
_VERB_CUE = LEX.re("titles.verb_cue")
_SAID_NEXT = LEX.re("titles.said_next")
_ASKED_ALONE = LEX.re("titles.asked_alone")
_ALONE_BEFORE = LEX.re("titles.alone_before")
_NOT_A_TITLE_START = LEX.words("titles.not_a_title_start")
# Words that name a kind of film, not a film: every genre word of genres.toml
_GENREISH = frozenset(LEX.genre_words) | frozenset(LEX.genre_together) | LEX.words(
    "titles.film_words")


def _close(raw: str, title: str) -> bool:
    """A fuzzy match is a typo, not a different, longer title ("College" is no
    "College Road Trip")."""
    from rapidfuzz import fuzz

    a, b = normalise_title(raw), normalise_title(title)
    return fuzz.ratio(a, b) >= 80 or fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")) >= 85


@functools.cache
def _plain(word: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@functools.cache
def _everyday_other() -> frozenset[str]:
    """Everyday words of the other languages recbot tells apart (languages.toml), accents
    off: no rare word a title alone has."""
    return frozenset(_plain(w.lower()) for lang in ("es", "fr", "de", "it", "pt")
                     for w in LEX.words(f"languages.{lang}"))


def english_words() -> frozenset[str]:
    """English words: the whole-word tokens of MiniLM's WordPiece vocabulary (about 20k),
    read from the tokenizer that ships with recbot (retrieval/data/minilm/)."""
    import json

    from recbot.retrieval.embed import BUNDLED_TOKENIZER

    try:
        vocab = json.loads(BUNDLED_TOKENIZER.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and len(w) > 1)


def _derived_english(word: str) -> bool:
    """A word formed from an English one by a common suffix ("watcher", "lovers",
    "binged"): WordPiece keeps only the stem whole."""
    vocab = english_words()
    for suffix in ("ers", "er", "ing", "ed", "es", "s", "ly", "r", "d"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and (
                stem in vocab or (suffix in ("ers", "er", "ing", "ed") and stem + "e" in vocab)
                or (len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in vocab)):
            return True
    return False


def _clear_favourite(res, popularity) -> bool:
    if not res.alternatives:
        return True
    first = popularity.get(res.best.movie_id, 0)
    second = popularity.get(res.alternatives[0].movie_id, 0)
    return first >= 3 * max(second, 1)
