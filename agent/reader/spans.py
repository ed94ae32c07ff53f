"""Reading one kind of span out of a message's text: the sentiment around a title, the
numbers of picks referred to, genre words and how they combine, runtimes, years."""

from __future__ import annotations

import re

from .lexicon import lexicon
from .reading import (
    GENRE_WORDS,
    Intent,
    ORDINALS,
    _NUMBER_WORDS,
)

LEX = lexicon()


_CLAUSE_END = LEX.re("feedback.clause_end")
_DISLIKE_CUES = LEX.re("feedback.dislike")
_UNSEEN_CUES = LEX.re("feedback.unseen")
_SEEN_CUES = LEX.re("feedback.seen")
_SEEN_RIGHT_BEFORE = LEX.re("feedback.seen_right_before")
_SIMILAR_CUES = LEX.re("feedback.similar")
_LIKE_CUES = LEX.re("feedback.like")


_NOT_BEFORE = LEX.re("feedback.not_before")
_OTHER_THAN = LEX.re("feedback.other_than")
_NEGATED = LEX.re("feedback.negated")
_BUT_IT = LEX.re("feedback.but_it")
_IT_WAS = LEX.re("feedback.it_was")
_BEFORE_TITLE = LEX.re("feedback.before_title")
_PRONOUN = LEX.re("feedback.pronoun")
_LOSES_TO = LEX.re("feedback.loses_to")
_NO_BETTER = LEX.re("feedback.no_better")
_SETS_BAR = LEX.re("feedback.sets_bar")
_QUESTION_LEAD = LEX.re("feedback.question_lead")
_SAID_NEXT = LEX.re("titles.said_next")


def _sentiment(text: str, start: int, end: int) -> str:
    """What the user says of the film at ``text[start:end]``, from its own clause."""
    # (over the whole text: a boundary may look ahead at the film, ", ____ was great")
    bounds = [m.start() for m in _CLAUSE_END.finditer(text) if m.start() < start]
    a = bounds[-1] if bounds else 0
    nxt = _CLAUSE_END.search(text, end)
    b = nxt.start() if nxt else len(text)
    before, after = text[a:start], text[end:b]
    clause = before + " " + after
    cut = len(before)         # where the film stands in ``clause``

    def gap(m) -> int:        # how far a cue stands from the film
        return cut - m.end() if m.end() <= cut else m.start() - cut

    if _SIMILAR_CUES.search(before[-40:]):
        # "didn't care for it, something like Amelie instead": only the words that go with
        # "like X" judge X ("I hate movies like Titanic", "not like X", "like X, it sucked")
        own = re.split(r"[,;]|\binstead\b", before)[-1]
        if _DISLIKE_CUES.search(own + " " + after) or _NOT_BEFORE.search(before):
            return "dislike"
        return "similar"
    # the sentence before the film, across a clause's "but" ("anything but ____")
    near = re.split(r"[.!?;\n]", text[max(0, start - 60):start])[-1]
    negated = _NOT_BEFORE.search(near)
    if negated:
        # "I've seen heat but not casino": not seen, not disliked
        return "unseen" if _SEEN_CUES.search(near[:negated.start()]) else "dislike"
    other = _OTHER_THAN.search(near)
    if other and _SEEN_CUES.search(near[:other.start()]):
        return "unseen"     # "I already watched those except ____"
    if other and not _NEGATED.search(near[:other.start()]):
        return "seen"       # "a tom hanks movie other than ____": kept out, not judged
        # (but "nothing appeals, except for ____" is the one that does)
    if nxt is not None and LEX.re("feedback.incredulous_end").match(text, nxt.start()) and \
            LEX.re("feedback.incredulous").match(clause) and \
            LEX.re("feedback.incredulous_lead").search(text[:start]):
        return "dislike"    # "she's eight. john wick and seven??"
    asked = nxt is not None and nxt.group(0) == "?"    # "why is this better than ____?"
    if asked and _QUESTION_LEAD.search(before):
        return "neutral"    # "is django unchained any good?": asked, not judged
    if not asked and _NO_BETTER.search(before):
        return "neutral"    # "it's not better than ____": a comparison, no verdict
    if not asked and _SETS_BAR.search(before):
        return "like"       # "nothing better than ____", "not as good as ____"
    if not asked and (lost := _LOSES_TO.search(before)):
        # "much better than ____": not liked; "I liked Inception more than ____": liked less,
        # not disliked (seen)
        return "seen" if "more" in lost.group(0).lower() else "dislike"
    def own(m) -> bool:     # a cue after the film that stands right before another title
        return m.end() <= cut or not _BEFORE_TITLE.match(clause, m.end())   # is that title's

    # ("I loved heat and the departed, hated the godfather": "hated" is the Godfather's)
    dislikes = [m for m in _DISLIKE_CUES.finditer(clause) if own(m)]
    if dislikes:
        # a like cue of its own, nearer the film than any dislike cue, wins: "I liked
        # Titanic, The Notebook was too cheesy" (one clause) likes Titanic
        likes = [m for m in _LIKE_CUES.finditer(clause)
                 if not any(d.start() <= m.start() < d.end() for d in dislikes)]
        if not likes or min(map(gap, likes)) >= min(map(gap, dislikes)):
            return "dislike"
    if nxt is not None:     # "I saw X but didn't care for it": the next clause says of "it"
        more = _CLAUSE_END.search(text, nxt.end())
        tail = text[nxt.start():more.start() if more and more.start() > nxt.start() else len(text)]
        if _BUT_IT.search(tail) and _DISLIKE_CUES.search(tail) and not _LIKE_CUES.search(clause):
            return "dislike"
    if _SIMILAR_CUES.search(before[-40:]):
        return "similar"

    unseen = [m for m in _UNSEEN_CUES.finditer(clause) if own(m)]
    likes = [m for m in _LIKE_CUES.finditer(clause)
             if own(m) and not any(u.start() <= m.start() < u.end() for u in unseen)]
    if unseen and not (likes and min(map(gap, likes)) < min(map(gap, unseen))):
        return "unseen"     # the nearer cue decides: "I love ____ and have never seen ____"
    if likes:
        if _SEEN_RIGHT_BEFORE.search(before) and all(
                m.end() <= cut and _BEFORE_TITLE.match(clause, m.end()) for m in likes):
            return "seen"   # "loved heat, seen the godfather": "loved" is Heat's
        return "like"
    if nxt is not None and nxt.group(0) in ".!":
        # "I've seen ____. It's pretty good.": the next sentence judges "it" (one title only)
        sentence = re.split(r"[.!?\n]", text[nxt.end():], maxsplit=1)[0]
        if "__" not in text[end:nxt.start()] + sentence and (
                _IT_WAS.match(text, nxt.end()) or _PRONOUN.search(sentence)):
            # the part that judges "it" decides, the last such ("It was too long but I loved
            # it": liked; "It was great but I hated the ending": liked)
            parts = [p for p in re.split(r"\b(?:but|though|although|however)\b", sentence)
                     if _LIKE_CUES.search(p) or _DISLIKE_CUES.search(p)]
            said = [p for p in parts if _PRONOUN.search(p)] or parts
            if said and _DISLIKE_CUES.search(said[-1]) and not _LIKE_CUES.search(said[-1]):
                return "dislike"        # "I saw ____. It was awful." "Not interested in that."
            if said and _LIKE_CUES.search(said[-1]) and (
                    _IT_WAS.match(text, nxt.end()) or said is not parts):
                return "like"
    said = _SAID_NEXT.match(text, end)     # "the notebook? seen it", "gone girl - loved it"
    if said:
        return {"loved": "like", "liked": "like", "hated": "dislike"}.get(said.group(1).lower(),
                                                                           "seen")
    if _SEEN_CUES.search(clause):
        return "seen"
    return "neutral"


def _ref_numbers(low: str) -> list[int]:
    refs: list[int] = []
    for m in LEX.re("reader.ref_numbers_1").finditer(low):
        refs.append(int(m.group(1) or m.group(2) or m.group(3)))
    for m in LEX.re("reader.ref_numbers_3").finditer(low):
        n = m.group(1)
        refs.extend(range(1, (int(n) if n.isdigit() else _NUMBER_WORDS[n]) + 1))
    for m in re.finditer(r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")(?:\s+(?:one|film|movie|pick))?\b", low):
        word = m.group(1)
        if word == "last" and not LEX.re("reader.ref_numbers_2").search(low):
            continue
        refs.append(ORDINALS[word])
    for m in re.finditer(r"\b(?:the )?(" + "|".join(w for w in _NUMBER_WORDS if " " not in w)
                         + r")\b(?= one\b)", low):
        if m.group(1) != "one":
            refs.append(_NUMBER_WORDS[m.group(1)])
    return list(dict.fromkeys(refs))


_GENRE_ADJECTIVES = LEX.genre_adjectives | LEX.words("genres.extra_adjectives")


def _genre_groups(word: str) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """The genre groups a genre word asks for, and what saying "no <word>" keeps out: a
    "rom com" is a romance and a comedy (two groups); "no rom coms" keeps out romances."""
    together = LEX.genre_together.get(word)
    if together is None:
        return [GENRE_WORDS[word]], GENRE_WORDS[word]
    return [(g,) for g in together], together[:1]


def _combine_genres(text: str, hits: list[tuple[int, int, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    """Genre words written together describe one film ("a funny animated film", "romantic
    comedy", "scary and funny"): all must hold. Genres named apart ("I like comedies, and
    horror too", "sci-fi but I also like comedy", "horror or thrillers") are alternatives:
    any one will do."""
    hits = sorted(set(hits))
    chains: list[list[tuple[str, ...]]] = [[hits[0][2]]]
    for (s0, e0, _g0), (s1, e1, g1) in zip(hits, hits[1:]):
        gap = text[e0:s1]
        both_adjectives = text[s0:e0] in _GENRE_ADJECTIVES and text[s1:e1] in _GENRE_ADJECTIVES
        if LEX.re("reader.combine_genres_1").fullmatch(gap):
            together = both_adjectives           # "scary and funny"; "comedy and horror": either
        elif both_adjectives and LEX.re("reader.combine_genres_3").fullmatch(gap):
            together = True                      # "funny but also kinda scary": one film
        else:                                    # "scary from the 90s for kids": one film
            together = not LEX.re("reader.combine_genres_2").search(gap)
        if together:
            chains[-1].append(g1)
        else:
            chains.append([g1])
    chains = [list(dict.fromkeys(c)) for c in chains]
    if len(chains) == 1:
        return chains[0]
    if all(len(c) == 1 for c in chains):
        return [tuple(dict.fromkeys(g for c in chains for g in c[0]))]
    return list(dict.fromkeys(g for c in chains for g in c))   # mixed: every genre, as before


def _parse_runtime(intent: Intent, low: str) -> str:
    """"under 90 minutes", "less than two hours", "at least 2h" -> runtime bounds."""
    def blank(span):
        nonlocal low
        low = low[: span[0]] + " " * (span[1] - span[0]) + low[span[1]:]

    low = LEX.re("reader.parse_runtime_1").sub("90 minutes", low)
    low = LEX.re("reader.parse_runtime_2").sub("60 minutes", low)
    low = LEX.re("reader.parse_runtime_3").sub("120 minutes", low)
    num = r"(\d{1,3}(?:\.\d)?|an?|one|two|three|four|half an?|one and a half)"
    unit = r"\s*(hours?|hrs?|h|minutes?|mins?|m)\b"
    words = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "half a": 0.5,
             "half an": 0.5, "one and a half": 1.5}
    # "nothing over 2 hours", "not under 90 minutes": a negation turns the bound round
    for m in re.finditer(rf"\b(?:(nothing|not|no|never|none)\s+)?(under|less than|shorter than|"
                         rf"at most|max(?:imum)?|up to|within|over|above|more than|longer than|"
                         rf"at least|min(?:imum)?)\s+{num}{unit}", low):
        value = words.get(m.group(3), None)
        value = float(m.group(3)) if value is None else value
        minutes = int(value * 60) if m.group(4).startswith("h") else int(value)
        lower = m.group(2) in ("over", "above", "more than", "longer than", "at least", "min",
                               "minimum")
        if lower != bool(m.group(1)):
            intent.runtime_min = minutes
        else:
            intent.runtime_max = minutes
        blank(m.span())
    # "between 90 and 100 minutes", "90-120 min", "1.5 to 2 hours"
    for m in LEX.re("reader.parse_runtime_4").finditer(low):
        scale = 60 if m.group(3).startswith("h") else 1
        a, b = sorted((float(m.group(1)) * scale, float(m.group(2)) * scale))
        if b >= 30:
            intent.runtime_min, intent.runtime_max = int(a), int(b)
            blank(m.span())
    # "a 2 hour thriller", "a 90 minute comedy": about that long
    m = LEX.re("reader.parse_runtime_5").search(low)
    if m and intent.runtime_min is None and intent.runtime_max is None:
        value = words.get(m.group(1)) or float(m.group(1))
        minutes = value * 60 if m.group(2).startswith("h") else value
        if minutes >= 30:
            intent.runtime_min, intent.runtime_max = int(minutes * 0.85), int(minutes * 1.15)
            blank(m.span())
    m = LEX.re("reader.parse_runtime_6").search(low)
    if m:
        intent.runtime_max = int(m.group(1))
        blank(m.span())
    return low


def _parse_years(intent: Intent, low: str, max_year: int) -> str:
    """Set the year range from ``low``; returns ``low`` with the understood parts blanked."""
    def blank(span: tuple[int, int]) -> None:
        nonlocal low
        low = low[: span[0]] + " " * (span[1] - span[0]) + low[span[1]:]

    def year(s: str) -> int:
        y = int(s)
        return y + (1900 if y >= 20 else 2000) if y < 100 else y

    pat = r"(?:19|20)\d{2}|'?\d{2}"
    for m in LEX.re("years.age_decade").finditer(low):   # "they're in their 80s": an age
        blank(m.span())
    for m in LEX.re("reader.parse_years_1").finditer(low):
        a, b = sorted((int(m.group(1)), int(m.group(2))))
        intent.year_min, intent.year_max = a, b
        blank(m.span())
    for m in LEX.re("years.decade_open").finditer(low):
        start = year(m.group(1))
        if m.group(2) in ("older", "earlier", "before"):
            intent.year_max = start + 9
        else:
            intent.year_min = start
        blank(m.span())
    # "nothing older than the 90s" (from 1990), "nothing after the 80s" (to 1989), "before
    # the 90s" (to 1989), "after the 80s" (from 1990): (rule, bound, years from the decade)
    for key, bound, shift in (("years.decade_not_before", "year_min", 0),
                              ("years.decade_not_after", "year_max", 9),
                              ("years.decade_before", "year_max", -1),
                              ("years.decade_after", "year_min", 10)):
        for m in LEX.re(key).finditer(low):
            setattr(intent, bound, year(m.group(1)) + shift)
            blank(m.span())
    for m in LEX.re("years.decade_pair").finditer(low):
        first, second = sorted((year(m.group(1)), year(m.group(3))))
        if m.group(2) and second - first != 10:
            continue        # "the 60s and the 90s": not one range
        if LEX.re("years.not_decade").search(low[:m.start()]):
            intent.avoid_years.append((first, second + 9))    # "nothing from the 70s or 80s"
        else:
            intent.year_min, intent.year_max = first, second + 9
        blank(m.span())
    for m in LEX.re("reader.parse_years_2").finditer(low):
        start = year(m.group(2))
        lo, hi = {"early": (0, 3), "mid": (3, 6), "late": (6, 9)}.get(m.group(1) or "", (0, 9))
        negated = LEX.re("years.not_decade").search(low[:m.start()])
        if negated:
            # "a comedy, nothing from the 90s", "anything but the 80s": those years kept out
            intent.avoid_years.append((start + lo, start + hi))
            blank((negated.start(), m.end()))
            continue
        intent.year_min, intent.year_max = start + lo, start + hi
        blank(m.span())
    for m in LEX.re("reader.parse_years_3").finditer(low):
        words = {"two": 2, "three": 3, "five": 5, "ten": 10, "twenty": 20, "decade": 10,
                 "couple of years": 2, "few years": 3, "year": 1}
        n = int(m.group(1)) if (m.group(1) or "").isdigit() else words[m.group(1) or m.group(2)]
        intent.year_min = max_year - n + 1     # "the last 10 years" of what the catalog has
        blank(m.span())
    m = LEX.re("reader.parse_years_4").search(low)
    if m and intent.year_min is None:
        intent.year_min = max_year - 5     # "a recent horror movie": the catalog's last 6 years
        blank(m.span())
    for m in LEX.re("reader.parse_years_5").finditer(low):
        intent.year_min, intent.year_max = sorted((int(m.group(1)), int(m.group(2))))
        blank(m.span())
    rules = (
        (rf"\b(?:nothing|none|no films?|no movies?|no(?= pre))(?: from| made| released)? "
         rf"(?:before|older than|earlier than|prior to|pre-?) ?({pat})\b", "min", 0),
        (rf"\b(?:nothing|none|no films?|no movies?|no(?= post))(?: from| made| released)? "
         rf"(?:after|newer than|later than|post-?) ?({pat})\b", "max", 0),
        (rf"\b(?:after|newer than|later than|post)[- ]({pat})\b", "min", 1),
        # "from 1995" is a year; "from 1995 on", "since 1995" a start
        (rf"\b(?:from|starting(?: in| from)?) ({pat})(?: onwards?| on| and (?:later|after|up|"
         rf"newer)| or (?:later|newer)| forwards?|\+)\b", "min", 0),
        (rf"\b(?:since|made in or after) ({pat})\b(?! to)", "min", 0),
        (rf"\b(?:before|older than|earlier than|pre)[- ]({pat})\b", "max", -1),
        (rf"\b(?:until|up to|through) ({pat})\b", "max", 0),
        (r"\b(?:from|in|of)(?: the year)? ((?:19|20)\d{2}|'\d{2})\b", "exact", 0),
        (r"\b((?:19|20)\d{2}) (?:films?|movies?)\b", "exact", 0),
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


# "a movie about a boy and his dog", "films set in space", "something involving time travel"
