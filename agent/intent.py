"""Understand one user message, deterministically.

The parser finds what can be found without a model: titles (through the title index),
genres and moods from a lexicon, years and decades, references to shown items ("#2",
"the second one", "that one"), feedback ("loved it", "seen it", "not for me"), critiques
("less violent", "more recent") and questions ("why #2?", "why not Heat?"). Whatever
text is left over is the descriptive part, used for semantic search. An LLM may fill
what the parser left empty (see ``agent.chat``), never override it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_MESSAGE_CHARS = 2000

# Lexicon: words -> groups of genres (a group is satisfied by any one of its genres).
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "funny": ("Comedy",), "comedy": ("Comedy",), "comedies": ("Comedy",),
    "hilarious": ("Comedy",), "laugh": ("Comedy",), "lighthearted": ("Comedy",),
    "animated": ("Animation",), "animation": ("Animation",), "cartoon": ("Animation",),
    "anime": ("Animation",), "pixar": ("Animation",),
    "kids": ("Children", "Animation"), "children": ("Children", "Animation"),
    "family": ("Children", "Animation"), "kid": ("Children", "Animation"),
    "scary": ("Horror",), "horror": ("Horror",), "frightening": ("Horror",),
    "terrifying": ("Horror",), "creepy": ("Horror", "Thriller"),
    "thriller": ("Thriller",), "thrillers": ("Thriller",), "suspense": ("Thriller",),
    "suspenseful": ("Thriller",), "tense": ("Thriller",),
    "romantic": ("Romance",), "romance": ("Romance",), "romcom": ("Romance",),
    "sci-fi": ("Sci-Fi",), "scifi": ("Sci-Fi",), "science fiction": ("Sci-Fi",),
    "space": ("Sci-Fi",), "futuristic": ("Sci-Fi",),
    "action": ("Action",), "adventure": ("Adventure",), "adventures": ("Adventure",),
    "drama": ("Drama",), "dramas": ("Drama",), "documentary": ("Documentary",),
    "documentaries": ("Documentary",), "musical": ("Musical",), "musicals": ("Musical",),
    "war": ("War",), "western": ("Western",), "westerns": ("Western",),
    "crime": ("Crime",), "heist": ("Crime",), "gangster": ("Crime",), "mafia": ("Crime",),
    "mystery": ("Mystery",), "whodunit": ("Mystery",), "detective": ("Mystery", "Crime"),
    "fantasy": ("Fantasy",), "magical": ("Fantasy",), "noir": ("Film-Noir",),
    "film-noir": ("Film-Noir",),
}
_NEGATORS = r"(?:no|not|nothing|without|except|avoid|never|but not|anything but)"

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3,
            "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8, "9th": 9, "10th": 10, "last": -1}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}

FEEDBACK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("seen", (r"\b(?:(?:i(?:'ve| have)? )?(?:already )?(?:seen|watched|saw) (?:it|that|this|them|#?\d+|"
             r"(?:the )?\w+ one|number \d+)"
             r"|seen it|already seen|saw it)\b")),
    ("dislike", (r"\b(?:(?:hated?|disliked?|didn'?t like) (?:it|that|this|them|#?\d+|(?:the )?\w+ one|"
                r"number \d+)|not for me|not my thing|not (?:that|this) one|hated? it|didn'?t like"
                r"|don'?t like (?:it|that|this)|dislike|boring|no thanks|nope|meh|"
                r"not interested)\b")),
    ("like", (r"\b(?<!more )(?:(?:loved?|liked?|enjoyed|adored) (?:it|that|this|them|#?\d+|(?:the )?\w+ one|"
             r"number \d+)|like (?:that|this) one|great|awesome|perfect|"
             r"(?:i )?enjoyed it|sounds good|amazing|brilliant)\b")),
)

CRITIQUES: tuple[tuple[str, str], ...] = (
    ("less_violent", (r"\b(?:less|not so|not too|nothing) (?:violent|violence|gory|bloody|dark)\b"
                     r"|\bno (?:violence|gore)\b")),
    ("lighter", r"\b(?:lighter|happier|more cheerful|feel[- ]good|uplifting)\b"),
    ("darker", r"\b(?:darker|grittier|more serious)\b"),
    ("more_recent", r"\b(?:more recent|newer|recent|modern|new ones?)\b"),
    ("older", r"\b(?:older|classic|classics|old ones?|vintage)\b"),
    ("shorter", r"\b(?:shorter|short ones?|not too long|quick watch)\b"),
    ("longer", r"\b(?:longer|epic)\b"),
    ("more_popular", r"\b(?:more popular|well[- ]known|mainstream|blockbusters?)\b"),
    ("less_popular", r"\b(?:less popular|lesser[- ]known|hidden gems?|obscure|underrated)\b"),
)

_SEED_TRIGGER = (r"(?:(?:something|anything|films?|movies?|stuff|more)\s+)?"
                 r"(?:(?:just |a bit |kind of |sort of )?like|similar to|in the vein of|"
                 r"along the lines of|reminds? me of|in the style of)")
_LIKE_TRIGGER = r"(?:i (?:really |just )?(?:loved|liked|enjoyed|adored)|i'm a fan of|big fan of|fan of)"
_DISLIKE_TRIGGER = r"(?:i (?:really )?(?:hated|disliked|didn'?t (?:like|enjoy))|i can'?t stand)"
_SEEN_TRIGGER = r"(?:i(?:'ve| have)? (?:already )?(?:seen|watched)|i saw)"
_STOP_AT = (r"(?=\s*(?:[.;!?]|,\s*(?:but|and|or|nothing|no|not|only|something|preferably|"
            r"ideally|from|after|before|since|with|without)\b|\bbut\b|\bnothing\b|\bexcept\b|"
            r"\bfrom the\b|\bafter\b|\bbefore\b|\bsince\b|\bwithout\b|\bplease\b|$))")


@dataclass(slots=True)
class Mention:
    """A piece of text naming a movie; ``movie_id`` is None when no title matched well."""

    text: str
    movie_id: int | None = None
    title: str | None = None
    year: int | None = None
    suggestions: tuple[tuple[int, str], ...] = ()  # (movie_id, label) when unresolved

    def as_dict(self) -> dict:
        return {"mention": self.text, "movie_id": self.movie_id, "title": self.title}


@dataclass(slots=True)
class Intent:
    text: str
    seeds: list[Mention] = field(default_factory=list)       # "like X"
    liked: list[Mention] = field(default_factory=list)       # "I loved X"
    disliked: list[Mention] = field(default_factory=list)
    seen: list[Mention] = field(default_factory=list)
    unresolved: list[Mention] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)            # 1-based; -1 = last shown
    that_one: bool = False                                   # "it", "that one" with no number
    feedback: str | None = None                              # like | dislike | seen (for refs)
    more: bool = False                                       # "more like that"
    genres: list[tuple[str, ...]] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    critiques: list[str] = field(default_factory=list)
    question: str | None = None                              # "why" | "why_not"
    why_not: Mention | None = None
    k: int | None = None
    describe: str = ""                                       # residual descriptive text
    filled_by_llm: list[str] = field(default_factory=list)

    @property
    def mentions(self) -> list[Mention]:
        return [*self.seeds, *self.liked, *self.disliked, *self.seen,
                *([self.why_not] if self.why_not else [])]

    @property
    def has_ask(self) -> bool:
        """Does the message ask for (new) recommendations?"""
        return bool(self.seeds or self.liked or self.genres or self.exclude_genres
                    or self.year_min or self.year_max or self.critiques or self.more
                    or self.describe) and self.question is None

    def understood(self) -> bool:
        """Did the parser find anything at all?"""
        return bool(self.mentions or self.unresolved or self.refs or self.feedback
                    or self.genres or self.exclude_genres or self.year_min or self.year_max
                    or self.critiques or self.question or self.more)


class InputError(ValueError):
    """The message cannot be used as it is; the text says what to do."""


def clean_message(text: str) -> str:
    """Reject absurd input with one clear sentence; return the text with spaces collapsed."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"the message is {len(text):,} characters long; keep it under "
                         f"{MAX_MESSAGE_CHARS:,} (say what you'd like to watch in a sentence or two)")
    bad = sorted({c for c in text if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:3])
        raise InputError(f"the message holds control characters ({shown}); send plain text")
    text = " ".join(text.split())
    if not text:
        raise InputError("the message is empty; say what you'd like to watch")
    return text


def parse(text: str, titles, *, max_year: int = 2018,
          popularity: dict[int, int] | None = None) -> Intent:
    """Parse ``text``; ``titles`` is a ``TitleIndex`` (``resolve(text)``). With
    ``popularity`` (ratings per movie), an ambiguous title goes to a film rated three
    times as often as the other candidates ("Heat" -> Heat (1995), not The Heat)."""
    global _POPULARITY
    _POPULARITY = popularity or {}
    text = clean_message(text)
    intent = Intent(text=text)
    low = text.lower()
    rest = low  # parts get blanked out as they are understood

    def blank(span: tuple[int, int]) -> None:
        nonlocal rest
        rest = rest[: span[0]] + " " * (span[1] - span[0]) + rest[span[1]:]

    # --- questions -------------------------------------------------------------------
    m = re.search(r"\bwhy (?:not|didn'?t you (?:recommend|suggest|show|include)|no)\s+(.+?)"
                  r"(?:\?|$)", low)
    if m and (not _ref_numbers(m.group(1))
              or _resolve(text[m.start(1):m.end(1)], titles, strict=True).movie_id):
        intent.question = "why_not"
        intent.why_not = _resolve(text[m.start(1):m.end(1)], titles)
        why_not_span = m.span(1)
        blank(m.span())
    elif re.search(r"\bwhy\b|\bhow come\b|\bexplain\b|\bwhat makes\b", low):
        intent.question = "why"
        blank(re.search(r"\bwhy\b.*|\bhow come\b.*|\bexplain\b.*|\bwhat makes\b.*", low).span())

    # --- references to shown items (for now; titles like "The Sixth Sense" win below) -----
    intent.refs = _ref_numbers(low)

    # --- "more like that" ----------------------------------------------------------------
    if re.search(r"\bmore (?:like|of) (?:that|this|it|those|these|them|#?\d+|the \w+ one)\b"
                 r"|\b(?:more|another) (?:one )?like (?:that|this|it)\b|^more\W*$", low):
        intent.more = True
        rest = re.sub(r"\bmore (?:like|of) (?:that|this|it|those|these|them)\b", " ", rest)

    # --- feedback ------------------------------------------------------------------------
    short = len(low.split()) <= 7
    for kind, pattern in FEEDBACK_PATTERNS:
        fm = re.search(pattern, low)
        if fm and intent.question is None and (short or intent.refs or intent.that_one):
            intent.feedback = kind
            blank(fm.span())
            break

    # --- how many ------------------------------------------------------------------------------
    km = re.search(r"\b(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?:more\s+)?"
                   r"(?:films?|movies?|picks|recommendations|suggestions|options|ideas)\b", rest)
    if km:
        n = km.group(1)
        intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        blank(km.span())

    # --- titles --------------------------------------------------------------------------
    title_spans: list[tuple[int, int]] = []
    if intent.why_not is not None and intent.why_not.movie_id:
        title_spans.append(why_not_span)
    for attr, trigger in (("seeds", _SEED_TRIGGER), ("liked", _LIKE_TRIGGER),
                          ("disliked", _DISLIKE_TRIGGER), ("seen", _SEEN_TRIGGER)):
        for tm in re.finditer(rf"\b{trigger}\s+(.+?){_STOP_AT}", low):
            span_text = text[tm.start(1):tm.end(1)]
            if _ref_numbers(span_text.lower()) and not _resolve(span_text, titles,
                                                                strict=True).movie_id:
                continue
            if re.fullmatch(
                    r"(?:that|this|it|them|those|these)(?: ones?)?", span_text.lower().strip()):
                continue
            found = _resolve_list(span_text, titles)
            end = tm.end()
            if not any(f.movie_id for f in found):
                # "Toy Story for kids": the longest leading part that is a title
                words = span_text.split()
                for n in range(len(words) - 1, 0, -1):
                    head = _resolve(" ".join(words[:n]), titles, strict=True)
                    if head.movie_id:
                        found = [head]
                        end = tm.start(1) + len(" ".join(words[:n]))
                        break
            if not found:
                continue
            for mention in found:
                (getattr(intent, attr) if mention.movie_id else intent.unresolved).append(mention)
            blank((tm.start(), end))
            if any(f.movie_id for f in found):
                title_spans.append((tm.start(1), end))
    # Quoted titles anywhere: "Heat"
    for qm in re.finditer(r"[\"“']([^\"”']{2,80})[\"”']", text):
        mention = _resolve(qm.group(1), titles)
        if mention.movie_id and all(x.movie_id != mention.movie_id for x in intent.mentions):
            intent.seeds.append(mention)
            blank(qm.span())
            title_spans.append(qm.span())

    # references: only in what no title took ("The Sixth Sense" is no "#6")
    no_titles = low
    for a, b in title_spans:
        no_titles = no_titles[:a] + " " * (b - a) + no_titles[b:]
    intent.refs = _ref_numbers(no_titles)
    if re.search(r"\b(?:that one|this one|that|it|them|those)\b", no_titles) and not intent.refs:
        intent.that_one = bool(re.search(r"\b(?:that one|this one|it|that)\b", no_titles))

    # --- years -----------------------------------------------------------------------------
    rest = _parse_years(intent, rest, max_year)

    # --- critiques ---------------------------------------------------------------------------
    for name, pattern in CRITIQUES:
        cm = re.search(pattern, rest)
        if cm:
            intent.critiques.append(name)
            blank(cm.span())

    # --- genres (negated ones first) -----------------------------------------------------------
    for word in sorted(GENRE_WORDS, key=len, reverse=True):
        for gm in re.finditer(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,2}}?{re.escape(word)}\b", rest):
            for g in GENRE_WORDS[word]:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            blank(gm.span())
        for gm in re.finditer(rf"\b{re.escape(word)}\b", rest):
            group = GENRE_WORDS[word]
            if group not in intent.genres and not set(group) & set(intent.exclude_genres):
                intent.genres.append(group)
            blank(gm.span())

    # --- a bare title: the whole message names a movie ------------------------------------------
    if not intent.understood() and len(text.split()) <= 8:
        mention = _resolve(text.strip(" ?!."), titles, strict=True)
        if mention.movie_id:
            intent.seeds.append(mention)
            rest = ""

    intent.describe = _residual(rest)
    return intent


def _ref_numbers(low: str) -> list[int]:
    refs: list[int] = []
    for m in re.finditer(r"#\s*(\d{1,2})\b|\b(?:number|no\.?|item|pick)\s*(\d{1,2})\b", low):
        refs.append(int(m.group(1) or m.group(2)))
    for m in re.finditer(r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")(?:\s+(?:one|film|movie|pick))?\b", low):
        word = m.group(1)
        if word == "last" and not re.search(r"\blast (?:one|film|movie|pick)\b", low):
            continue
        refs.append(ORDINALS[word])
    for m in re.finditer(r"\b(?:the )?(" + "|".join(_NUMBER_WORDS) + r")\b(?= one\b)", low):
        if m.group(1) != "one":
            refs.append(_NUMBER_WORDS[m.group(1)])
    return list(dict.fromkeys(refs))


def _resolve(text: str, titles, *, strict: bool = False) -> Mention:
    text = text.strip(" ,.?!\"'“”")
    text = re.sub(r"^(?:the movie|the film|movie|film)\s+", "", text, flags=re.IGNORECASE)
    res = titles.resolve(text)
    b = res.best
    if b is not None and (res.confident or _clear_favourite(res)):
        return Mention(text, b.movie_id, b.title, b.year)
    if strict:
        return Mention(text)
    return Mention(text, suggestions=tuple((m.movie_id, m.label()) for m in res.matches[:3]))


_POPULARITY: dict[int, int] = {}


def _clear_favourite(res) -> bool:
    if not res.ambiguous or res.confidence < 0.85 or not res.alternatives:
        return False
    first = _POPULARITY.get(res.best.movie_id, 0)
    second = _POPULARITY.get(res.alternatives[0].movie_id, 0)
    return first >= 3 * max(second, 1)


def _resolve_list(text: str, titles) -> list[Mention]:
    """``"Heat and Ronin"`` -> two mentions when each part is a confident title; else one."""
    whole = _resolve(text, titles)
    if whole.movie_id:
        return [whole]
    parts = [p for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+", text) if p.strip()]
    if len(parts) > 1:
        found = [_resolve(p, titles) for p in parts]
        if any(f.movie_id for f in found):
            return found
    return [whole] if len(text.split()) <= 8 else []


def _parse_years(intent: Intent, low: str, max_year: int) -> str:
    """Set the year range from ``low``; returns ``low`` with the understood parts blanked."""
    def blank(span: tuple[int, int]) -> None:
        nonlocal low
        low = low[: span[0]] + " " * (span[1] - span[0]) + low[span[1]:]

    def year(s: str) -> int:
        y = int(s)
        return y + (1900 if y >= 20 else 2000) if y < 100 else y

    pat = r"(?:19|20)\d{2}|'?\d{2}"
    for m in re.finditer(r"\bbetween ((?:19|20)\d{2}) and ((?:19|20)\d{2})\b", low):
        a, b = sorted((int(m.group(1)), int(m.group(2))))
        intent.year_min, intent.year_max = a, b
        blank(m.span())
    for m in re.finditer(r"\b(?:the )?((?:19|20)?\d0)'?s\b", low):
        start = year(m.group(1))
        intent.year_min, intent.year_max = start, start + 9
        blank(m.span())
    rules = (
        (rf"\b(?:nothing|none|no films?|no movies?) (?:before|older than|earlier than) ({pat})\b", "min", 0),
        (rf"\b(?:nothing|none|no films?|no movies?) (?:after|newer than|later than) ({pat})\b", "max", 0),
        (rf"\b(?:after|newer than|later than|post)[- ]({pat})\b", "min", 1),
        (rf"\b(?:since|from|starting|made in or after) ({pat})\b(?! to)", "min", 0),
        (rf"\b(?:before|older than|earlier than|pre)[- ]({pat})\b", "max", -1),
        (rf"\b(?:until|up to|through) ({pat})\b", "max", 0),
        (r"\b(?:from|in) ((?:19|20)\d{2})\b", "exact", 0),
    )
    for pattern, kind, shift in rules:
        for m in re.finditer(pattern, low):
            y = year(m.group(1).lstrip("'"))
            if not 1870 <= y <= max_year + 5:
                continue
            if kind == "min":
                intent.year_min = y + shift
            elif kind == "max":
                intent.year_max = y + shift
            elif intent.year_min is None and intent.year_max is None:
                intent.year_min = intent.year_max = y
            blank(m.span())
    return low


_FILLER = re.compile(
    r"\b(?:i|i'm|me|my|we|you|your|a|an|the|some|something|anything|film|films|movie|movies|"
    r"watch|want|wanna|would|like|love|please|recommend|recommendation|suggest|show|give|find|"
    r"can|could|tonight|today|good|great|nice|one|ones|to|for|of|and|or|with|that|this|it|is|"
    r"be|in|on|about|maybe|really|very|kind|sort|looking|need|get|what|any|some|more|also|"
    r"again|thanks|thank|hi|hello|hey|ok|okay|so|just|let's|lets|see|have|has|had|no|not|"
    r"nothing|but|other|else|than|from|after|before|since|which|where|there|are|was|were|do|"
    r"did|don't|me|us|our)\b")


def _residual(rest: str) -> str:
    words = re.findall(r"[a-z0-9'][a-z0-9'-]*", rest)
    content = [w for w in words if not _FILLER.fullmatch(w)]
    return " ".join(words) if len(content) >= 1 and len("".join(content)) >= 4 else ""
