"""The passes that read a message, each one kind of thing, in the order of ``PASSES``:
each takes the shared ``_Reading``, writes what it understood into its ``intent`` and
blanks the words it used, so later passes see only what is left."""

from __future__ import annotations

import functools
import re

from ..kinds import CritiqueKind
from .lexicon import lexicon
from .mentions import LIST_SEP, MentionFinder, Spot, english_words
from .reading import (
    COMMON_WORDS,
    GENRE_WORDS,
    Intent,
    word_or_plural,
    Mention,
    _DISLIKE_VERBS,
    _META_WORDS,
    _MORE,
    _NEGATORS,
    _NUMBER_WORDS,
    _REFINE,
    _REJECT,
    _Reading,
)
from .spans import (
    _DISLIKE_CUES,
    _LIKE_CUES,
    _NOT_BEFORE,
    _OTHER_THAN,
    _SIMILAR_CUES,
    _UNSEEN_CUES,
    _combine_genres,
    _genre_groups,
    _parse_runtime,
    _parse_years,
    _ref_numbers,
    _sentiment,
)

LEX = lexicon()


def _read_cues(r: _Reading) -> None:
    """Words that say how this message relates to the last ask: "also", "make it...",
    "only...", "with <person>"."""
    intent, low = r.intent, r.low
    intent.also = bool(LEX.re("feedback.also").search(low))
    # "actually, make it a comedy": a lead-in word does not hide the refinement
    lead = LEX.re("critiques.lead_in").match(low)
    body = low[lead.end():] if lead else low
    if _REFINE.match(body):
        intent.refine = "switch" if LEX.re("critiques.switch").match(body) else "narrow"
    elif LEX.re("critiques.only_tail").search(body):
        intent.refine = "narrow"          # "from the 90s only"
    # "with Jim Carrey" after a list: that person, in the ask already made
    intent.add_person = bool(LEX.re("critiques.add_person").match(body))


def _find_names(r: _Reading) -> None:
    """People, then titles (a person's name is no title)."""
    intent, text, low, finder = r.intent, r.text, r.low, r.finder
    r.people = finder.people(text)
    r.spots = finder.titles_in(text, blocked=[(p.start, p.end) for p in r.people])
    r.title_spans = [(s.start, s.end) for s in r.spots]
    intent.foreign = _is_foreign(low) and not r.spots   # "Nosferatu, eine Symphonie des Grauens"
    intent.unknown_people = _unknown_names(text, [(p.start, p.end) for p in r.people] + r.title_spans)


def _read_question(r: _Reading) -> None:
    """Questions: only the message's last sentence asks one."""
    intent, text, low, finder = r.intent, r.text, r.low, r.finder
    cut = max((m.end() for m in LEX.re("reader.sentence_end").finditer(low)
               if not any(a <= m.start() < b for a, b in r.title_spans)),   # "Vol. 1", "L.A."
              default=0)
    last = " " * cut + low[cut:]
    why_not = LEX.re("reader.why_not").search(last)
    about = LEX.re("reader.about").search(last)
    cast = LEX.re("reader.cast").search(low)
    pronoun = (r"\s*(?:it|that|this|that one|this one|the (?:first|second|third|last) one|"
               r"#\s*\d+|number \d+|no\.? ?\d+|the \d+(?:st|nd|rd|th)(?: one)?)\s*")
    fact, facet = None, ""
    # only as the message itself: after a chat's worth of sentences ("... Is Heat any good?")
    # a seeker asking about a film wants the list that follows (ReDial learn folds: R@10 -0.002)
    for rule in (LEX.fact_questions if len(low.split()) <= 14 else ()):
        name = rule.name
        fact = rule.pattern.search(last)
        if fact:
            facet = name
            break
    if fact and (re.fullmatch(pronoun, fact.group(1)) or _spot_in(r.spots, fact.span(1))
                 or _resolves(fact.group(1), finder)):
        # "is Heat worth watching?", "how long is #3?": a fact about one film, no list
        intent.question, intent.facet = "about", facet
        if re.fullmatch(pronoun, fact.group(1)):
            r.spots = [sp for sp in r.spots if not fact.start(1) <= sp.start]
            _it_is(r, fact.group(1))
        else:
            intent.about = _mention_for(r.spots, fact.span(1), text, finder)
        r.blank(fact.span())
    elif about and re.fullmatch(pronoun, about.group(1)) or \
            cast and re.fullmatch(pronoun, cast.group(1)):
        asked = about if about and re.fullmatch(pronoun, about.group(1)) else cast
        intent.question = "about" if asked is about else "cast"
        r.blank(asked.span())
        r.spots = [sp for sp in r.spots if not (asked.start(1) <= sp.start)]
        _it_is(r, asked.group(1))
    elif len(low.split()) <= 14 and (it := LEX.re("questions.it_question").search(last)) and \
            not LEX.re("reader.why").search(last) and (facet := _pick_facet(it.group())):
        # "ooh coco looks good. is it scary at all?": that fact of the film just named
        _ask_fact(intent, facet)
        r.blank(it.span())
        _it_is(r, "it")
    elif why_not and (_spot_in(r.spots, why_not.span(1)) or not _ref_numbers(why_not.group(1))):
        intent.question = "why_not"
        intent.why_not = _mention_for(r.spots, why_not.span(1), text, finder)
        r.blank(why_not.span())
    elif cast and (_spot_in(r.spots, cast.span(1)) or _resolves(cast.group(1), finder)):
        intent.question = "cast"
        intent.about = _mention_for(r.spots, cast.span(1), text, finder)
        r.blank(cast.span())
    elif about and (_spot_leads(r.spots, about.span(1), low)
                    or _resolves(about.group(1), finder)):
        intent.question = "about"
        intent.about = _mention_for(r.spots, about.span(1), text, finder)
        r.blank(about.span())
    elif LEX.re("reader.why").search(last):
        intent.question = "why"
        # "why Rocky?", "why did you pick Raging Bull?": that film, not the first one
        named = LEX.re("reader.why_named").search(last)
        spot = _spot_in(r.spots, named.span(1)) if named else None
        if named and not _ref_numbers(named.group(1)) and (
                (spot and spot.start <= named.start(1) + 1) or _resolves(named.group(1), finder)):
            # the title is the whole tail: "why is this better than Rocky?" is about #1
            intent.why_of = _mention_for(r.spots, named.span(1), text, finder)
        r.blank(LEX.re("reader.why_tail").search(last).span())
    elif len(low.split()) <= 12 and not r.spots and LEX.re("questions.best_of").search(low):
        # "which of those is the best?", "which one should I watch?": one pick, the best rated
        intent.question, intent.facet, intent.best_of = "about", "rating", True
        r.rest = " " * len(r.rest)
    elif len(low.split()) <= 14 and LEX.re("questions.pick_asks").search(low) and \
            (place := _pick_place(r)) and (facet := _pick_facet(low)):
        # "whats the 4th one rated?", "is the first one sad?": that fact of a pick
        _ask_fact(intent, facet)
        intent.that_one = True
        r.blank(place)
        if said := LEX.re(f"questions.pick_{facet}").search(r.rest):
            r.blank(said.span())


_PICK_FACETS = ("cast", "rating", "runtime", "year", "genre", "about")


def _ask_fact(intent: Intent, facet: str) -> None:
    """A question for one fact of a film (``_PICK_FACETS``): who is in it, or what the data
    says of it with that fact first ("about" and "cast" answer with everything)."""
    intent.question = "cast" if facet == "cast" else "about"
    intent.facet = "" if facet in ("cast", "about") else facet


def _it_is(r: _Reading, pronoun: str) -> None:
    """"haven't seen ronin, what's it about?": "it" is the film the message named before
    the question (the last one); with none, "it" is the pick talked about (``that_one``)."""
    named = [sp for sp in r.spots if sp.movie_id is not None or sp.options]
    if _ref_numbers(pronoun):
        r.intent.that_one = True
    elif named:
        sp = named[-1]
        r.intent.about = _mention_for(r.spots, (sp.start, sp.end), r.text, r.finder)
    else:
        # "what's dances with wolves about? how long is it": the film an earlier question names
        for sentence in _SENTENCE.finditer(r.low):
            m = LEX.re("reader.about").search(sentence.group(0).rstrip(" .!;"))
            if m and _resolves(m.group(1), r.finder):
                a = sentence.start() + m.start(1)
                r.intent.about = _mention_for(r.spots, (a, a + len(m.group(1))), r.text, r.finder)
                return
        r.intent.that_one = True


def _pick_place(r: _Reading) -> tuple[int, int] | None:
    """Where the message names a pick by its place ("the 4th one", "#2", "the first one",
    "the 4th," — never "the first date movie"), when it names no film and asks for no other
    films ("any good ones like the first one?", "the first one was too long, any shorter?")."""
    if r.spots or LEX.re("questions.pick_not").search(r.low):
        return None
    m = LEX.re("questions.pick_place").search(r.low)
    return m.span() if m and _ref_numbers(m.group()) else None


def _pick_facet(low: str) -> str:
    return next((f for f in _PICK_FACETS if LEX.re(f"questions.pick_{f}").search(low)), "")


def _read_refs(r: _Reading) -> None:
    """References to shown items: only in what no title took ("The Sixth Sense")."""
    intent, low = r.intent, r.low
    r.no_titles = low
    for a, b in r.title_spans:
        r.no_titles = r.no_titles[:a] + " " * (b - a) + r.no_titles[b:]
    intent.refs = _ref_numbers(r.no_titles)
    bare = LEX.re("reader.more_like_number").search(r.no_titles)   # "more like 2"
    if bare and not intent.refs:
        intent.refs = [int(bare.group(1))]
    if intent.refs:   # "number 3", "#3", "the 3rd one" point at a pick: no description
        r.rest = LEX.re("reader.pick_number").sub(lambda m: " " * len(m.group()), r.rest)    # same length: spans stay put
        if bare:
            r.rest = r.rest[:bare.start(1)] + " " * len(bare.group(1)) + r.rest[bare.end(1):]
    if not intent.refs and not r.spots:
        intent.that_one = bool(LEX.re("reader.that_one").search(r.no_titles))
        # "seen them all", "I saw all of those": every film of the list, not the first
        intent.all_shown = bool(LEX.re("reader.all_shown").search(r.no_titles))


def _read_mentions(r: _Reading) -> None:
    """Mentions, each with its own sentiment."""
    intent, text, low = r.intent, r.text, r.low
    question_spans = [m for m in (intent.why_not, intent.about) if m is not None]
    masked = text   # titles as opaque words: "Bad Boys" or "Crazy, Stupid, Love" say nothing
    for sp in r.spots:
        masked = masked[:sp.start] + "_" * (sp.end - sp.start) + masked[sp.end:]
    said: dict[int, str] = {}
    ordered = sorted(r.spots, key=lambda sp: sp.start)
    for i, spot in enumerate(ordered):
        said[spot.start] = _sentiment(masked, spot.start, spot.end)
        if i == 0 or said[ordered[i - 1].start] not in ("like", "dislike", "seen", "unseen"):
            continue
        prev, nxt = ordered[i - 1], ordered[i + 1] if i + 1 < len(ordered) else None
        near = masked[max(0, prev.start - 60):prev.start]
        if said[spot.start] != "neutral":
            # a list kept out, "a good movie that's not forrest gump or cast away", stays out
            # whole: the second film's verdict came from before the list ("good"), not its own
            scoped = _NOT_BEFORE.search(near) or _OTHER_THAN.search(near)
            own = " " * prev.end + masked[prev.end:]
            if not (scoped and re.search(r"\b(?:or|and|nor)\b", text[prev.end:spot.start])
                    and _sentiment(own, spot.start, spot.end) == "neutral"):
                continue
        after = text[spot.end:nxt.start] if nxt else re.split(r"[.!?;\n]", text[spot.end:])[0]
        if LIST_SEP.fullmatch(text[prev.end:spot.start]) and (
                not after.strip(" ,") or LIST_SEP.fullmatch(after)):
            # "seen jaws, alien, and psycho": all seen (not "goodfellas was fine")
            said[spot.start] = said[prev.start]
    for spot in r.spots:
        if any(q.text == spot.text for q in question_spans):
            r.blank((spot.start, spot.end))
            continue
        mention = Mention(spot.text, spot.movie_id, spot.title, spot.year,
                          suggestions=spot.suggestions, options=spot.options,
                          sentiment=said[spot.start])
        r.blank((spot.start, spot.end))
        if mention.sentiment == "dislike":     # "I can't stand Twilight": no search words
            for cue in _DISLIKE_CUES.finditer(r.rest):
                r.blank(cue.span())
        series = _series_meant(r, spot, mention)
        if series:      # "movies like Harry Potter": the series' best-known films
            _seed_films(r, mention.text, series, mention.sentiment)
        elif spot.options:
            intent.ambiguous.append(mention)
        elif spot.movie_id is None:
            intent.unresolved.append(mention)
        elif mention.sentiment == "like":
            intent.liked.append(mention)
            intent.seeds.append(mention)
        elif mention.sentiment == "dislike":
            intent.disliked.append(mention)
        elif mention.sentiment == "seen":
            intent.seen.append(mention)
        elif mention.sentiment == "unseen":
            intent.unseen.append(mention)     # named, not seen yet: a weak seed
            intent.seeds.append(mention)
        else:
            intent.seeds.append(mention)
    if not intent.seeds and intent.seen and LEX.re("reader.mentions_1").search(low):
        intent.seeds.extend(intent.seen)   # "seen Fargo and Raising Arizona, something like them"
    kept_out_end = None     # where the last person kept out by a negator ends
    scopes = negative_scopes(low)   # "I won't watch anything with Tom Cruise"
    for person in r.people:
        before = max(0, person.start - 40)
        negator = re.search(
            rf"\b{_NEGATORS}\s+(?:(?:with|by|starring|featuring|from|of|any|more)\s+)*"
            r"(?:(?:de|di|da|van|von|del|la|le|du|mc)\s+)?$",
            low[before:person.start])                           # "nothing with Adam Sandler"
        # "... or Will Ferrell": the next name of the same list is kept out too
        listed = kept_out_end is not None and re.fullmatch(
            r"\s*(?:,|,?\s*(?:or|and|nor))\s*", low[kept_out_end:person.start])
        kept_out_end = person.end if (negator or listed) else None
        if listed:
            intent.avoid_people.append(person)
        elif _sentiment(text, person.start, person.end) == "dislike" or negator or any(
                sc[1] <= person.start < sc[2] for sc in scopes):
            intent.avoid_people.append(person)
            if negator:     # "nothing with" is no description either
                r.blank((before + negator.start(), person.start))
        elif person.explicit:
            intent.people.append(person)
        else:
            intent.fans_of.append(person)
        r.blank((person.start, person.end))
    # the cue words that introduced titles are no description
    r.rest = LEX.re("reader.mentions_2").sub(" ", r.rest)


_SENTENCE = re.compile(r"[^.!?;,]+[.!?;,]*")


def _read_more(r: _Reading) -> None:
    """"more like that", "10 more"."""
    intent, low = r.intent, r.low
    mm = _MORE.match(low.strip())
    span = None
    if not mm and len(low) <= 300:
        # one sentence of a longer message asks for more: "Okay, I will do that. Do you have
        # one more?" (the sentence alone is blanked; the rest is read as usual)
        for s in _SENTENCE.finditer(low):
            if s.start() and (mm := _MORE.match(s.group(0).strip())):
                span = s.span()
                break
    masked = low    # titles as opaque words: not "a movie like It (2017)", "like Up (2009) that"
    for a, b in r.title_spans:
        masked = masked[:a] + "_" * (b - a) + masked[b:]
    m1 = LEX.re("reader.more_1").search(masked)
    if m1 is None and not (r.title_spans or intent.seeds or intent.liked
                           or LEX.re("reader.more_similar_series").search(low)):
        m1 = LEX.re("reader.more_similar").search(masked)
    if m1 and LEX.re("reader.more_not").search(masked[:m1.start()]):
        m1 = None    # "I hate films like that", "please no more movies like these"
    if mm or m1:
        intent.more = True
        if mm and mm.group(1) and mm.group(1).lower() != "any":
            n = mm.group(1).lower()
            intent.k = int(n) if n.isdigit() else _NUMBER_WORDS.get(n)
        r.rest = LEX.re("reader.more_2").sub(" ", r.rest)
        if span:
            r.blank(span)
        elif mm:
            r.rest = ""


def _read_reject(r: _Reading) -> None:
    """Rejection of the last list."""
    intent, low = r.intent, r.low
    rj = _REJECT.match(low.strip())
    if rj and not r.spots and not intent.more:
        intent.reject = True
        r.blank((rj.start(), rj.end()))


# "Seen that one, all of those ones are great.": a message this short that speaks of "it"
# or "that one" is feedback on the pick, not a new ask
SHORT_FEEDBACK_WORDS = 12


def _read_ref_feedback(r: _Reading) -> None:
    """Feedback on referenced films."""
    intent, low = r.intent, r.low
    short = len(low.split()) <= SHORT_FEEDBACK_WORDS
    if intent.question is None:
        # "not #3" is a dislike of #3 alone, whatever else the message says of other films
        for nm in LEX.re("reader.ref_feedback_1").finditer(r.no_titles):
            intent.ref_feedback[int(nm.group(1))] = "dislike"
            r.no_titles = r.no_titles[:nm.start()] + " " * (nm.end() - nm.start()) + \
                r.no_titles[nm.end():]
            r.blank(nm.span())
        # "#1 loved it, #2 hated it": each clause's verb goes to that clause's picks
        starts = [0, *(m.end() for m in re.finditer(r"[,;.!?]|\band\b|\bbut\b", r.no_titles))]
        per = []
        for a, b in zip(starts, [*starts[1:], len(r.no_titles)]):
            clause = r.no_titles[a:b]
            if not clause.strip():
                continue
            a += len(clause) - len(clause.lstrip())      # (a clause's rules read from its start)
            clause = clause.lstrip()
            nums = _ref_numbers(clause)
            hit = next(((rule.name, m) for rule in LEX.feedback
                        if (m := rule.pattern.search(clause))), None)
            kind = hit[0] if hit else None
            if kind == "seen" and LEX.re("reader.ref_feedback_2").search(clause[:hit[1].start()]):
                # "I haven't seen the first two, but liked the last one": no verdict on those
                kind = None
                intent.refs = [n for n in intent.refs if n not in nums]
            if nums and kind:
                per.append((nums, kind, (a + hit[1].start(), a + hit[1].end())))
        if len(per) > 1 and len({k for _, k, _ in per}) > 1:
            for nums, kind, span in per:
                for n in nums:
                    intent.ref_feedback.setdefault(n, kind)
                r.blank(span)     # each clause's verdict said: no words to search
        for rule in LEX.feedback:
            kind = rule.name
            fm = rule.pattern.search(r.no_titles)
            if fm and kind == "seen" and LEX.re("reader.ref_feedback_2").search(r.no_titles[:fm.start()]):
                continue
            if fm and (intent.refs or (intent.that_one and short) or len(low.split()) <= 4):
                intent.feedback = kind
                if kind == "seen" and not (intent.refs or r.spots or intent.all_shown):
                    intent.that_one = True    # "already seen": the pick talked about
                r.blank(fm.span())
                break
        if intent.ref_feedback and not intent.feedback and \
                set(intent.refs) <= set(intent.ref_feedback):
            intent.feedback = "dislike"              # "not #2" alone
        if intent.reject and intent.that_one and not intent.feedback and \
                LEX.re("reader.ref_feedback_3").search(low):
            intent.reject, intent.feedback = False, "dislike"


def _read_count(r: _Reading) -> None:
    """How many."""
    intent = r.intent
    km = re.search(r"\b(?:top |best )?(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?:more\s+)?"
                   r"(?:(?:\w+\s+){0,2})?(?:films?|movies?|picks|recommendations|suggestions|"
                   r"options|ideas|comedies|dramas|thrillers|westerns|ones)\b", r.no_titles)
    tm = re.search(r"\btop (\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\b", r.no_titles)
    if km and not LEX.re("reader.count_1").match(km.group(1)):
        n = km.group(1)
        intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        r.blank(km.span(1))
        r.rest = r.rest[:km.start(1)] + " " * len(km.group(1)) + r.rest[km.end(1):]
    elif tm:
        n = tm.group(1)
        intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        r.blank(tm.span())
    else:   # "just 3 please", "show me fewer, like 3", "just one good thriller"
        nums = "|".join(w for w in _NUMBER_WORDS if " " not in w)
        jm = re.search(rf"\b(?:just|only|give me|show me|fewer,? like|fewer,? say|say)\s+"
                       rf"(\d{{1,2}}|{nums})\b(?!\s*(?:min|hour|hrs?\b|h\b|s\b|'s|st\b|nd\b|"
                       rf"rd\b|th\b|more))", r.no_titles)
        if jm:
            n = jm.group(1)
            intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
            r.blank(jm.span())
            if not intent.refine:
                intent.refine = "narrow"     # fewer of the same: the list just shown counts
    # "forget the year", "any genre is fine": a filter set before, dropped
    # ("forget the 80s", "drop the 1990s": the years said before go too)
    for word, what in (("years?|decades?|dates?|era", "years"), ("genres?", "genres"),
                       ("length|runtime|time limit|duration", "runtime"),
                       ("person|actor|actress|director|people", "people")):
        said = word + (r"|'?(?:19|20)?\d0'?s|(?:19|20)\d\d" if what == "years" else "")
        cm = re.search(rf"\b(?:forget|drop|remove|ignore|clear|no need for|never ?mind)\s+(?:the\s+|that\s+|my\s+)?"
                       rf"(?:{said})(?:\s+(?:filter|limit|constraint|thing|part))?\b"
                       rf"|\bany\s+(?:{word})\s+(?:is|are|will do|works)\b", r.rest)
        if cm:
            intent.clear.append(what)
            r.blank(cm.span())
    # "we've done all the pixar ones": films of that kind are kept out (a series' films are
    # marked seen by the title spotter)
    for cm in LEX.re("reader.seen_all_kind").finditer(r.low):
        words = cm.group(1).split()
        if not r.finder.is_series(cm.group(1)) and not all(
                w in COMMON_WORDS or w in _FUNCTION_WORDS or w in _META_WORDS
                or (w in GENRE_WORDS and w not in _STUDIO_WORDS) for w in words):
            r.seen_kinds.append(cm.group(1))
            r.blank(cm.span())
    # "forget the no mob thing": what was kept out before ("no mob") may come back
    for cm in LEX.re("reader.clear_kept_out").finditer(r.low):   # names still in it
        intent.clear.append("no " + cm.group(1).rstrip("."))
        r.blank(cm.span())


def _read_runtime_and_years(r: _Reading) -> None:
    """Runtimes, then years."""
    intent, max_year = r.intent, r.max_year
    r.rest = _parse_runtime(intent, r.rest)
    r.rest = _parse_years(intent, r.rest, max_year)


def _read_critiques(r: _Reading) -> None:
    """Critiques."""
    intent = r.intent
    for rule in LEX.critiques:
        cm = rule.pattern.search(r.rest)
        if cm:
            intent.critiques.append(rule.name)
            r.blank(cm.span())


_NEGATIVE = LEX.re("polarity.negative")
_NEGATIVE_SHORT = LEX.re("polarity.negative_short")
_SHORT_END = LEX.re("polarity.short_end")
_SAID_OF_A_FILM = LEX.re("polarity.said_of_a_film")
_SAID_OF_A_FILM_NOT = LEX.re("polarity.said_of_a_film_not")
_CHOSE = next(rule.pattern for rule in LEX.small_talk if rule.name == "chose")
_CHOSE_BUT = LEX.re("reader.chose_but")
SHORT_SCOPE = 6
_HEDGE = LEX.re("polarity.hedge")
_SCOPE_END = LEX.re("polarity.scope_end")
_POSITIVE = LEX.re("polarity.positive")
SCOPE_CHARS = 80     # a negative scope reaches this far at most (a long clause loses its cue)


def negative_scopes(low: str) -> list[tuple[int, int, int]]:
    """(cue start, scope start, scope end) of each negative cue of ``low``: "i don't think
    i want to watch anything scary" keeps "to watch anything scary" out, "stay away from
    romances. i like comedies" only "romances"; a short cue's scope ends at the next comma
    and holds at most SHORT_SCOPE words ("nothing scary, my kids are watching": "scary")."""
    out = []
    for m in _NEGATIVE.finditer(low):
        end = _SCOPE_END.search(low, m.end())
        stop = min(end.start() if end else len(low), m.end() + SCOPE_CHARS)
        out.append((m.start(), m.end(), stop))
    for m in _NEGATIVE_SHORT.finditer(low):
        if any(a <= m.start() < c for a, _, c in out):
            continue    # inside a longer cue's scope already
        end = _SHORT_END.search(low, m.end())
        stop = end.start() if end else len(low)
        words = list(re.finditer(r"\S+", low[m.end():stop]))
        if len(words) > SHORT_SCOPE:
            stop = m.end() + words[SHORT_SCOPE - 1].end()
        out.append((m.start(), m.end(), stop))
    return sorted(out)


_GENRE_WORDS_LONGEST_FIRST = sorted(GENRE_WORDS, key=len, reverse=True)


# (the adjectives only: "no horror" names the genre, "nothing scary" a feeling)
_STUDIO_WORDS = frozenset(a.lower() for s in LEX.studios for a in s.aliases)
_NEGATED_LEAN = {w: g.negated_lean for g in LEX.genres if g.negated_lean for w in g.adjectives}
_GENRE_NOT_BEFORE = {w: re.compile(g.not_before) for g in LEX.genres if g.not_before
                     for w in g.words}


def _read_genres(r: _Reading) -> None:
    """Genres: those in a negative scope are kept out, the rest asked for."""
    intent, low = r.intent, r.low
    genre_hits: list[tuple[int, int, tuple[str, ...]]] = []   # (start, end, group), in order
    genre_text = r.rest
    for pm in _POSITIVE.finditer(low):      # "wouldn't say no to a comedy": wanted
        low = low[:pm.start()] + " " * (pm.end() - pm.start()) + low[pm.end():]
        said = re.search(re.escape(pm.group()), r.rest)
        if said:
            r.blank(said.span())
    either = re.search(r"\blive[- ]action\b", r.rest)
    if lm := LEX.re("reader.live_action").search(r.rest):   # "something live action"
        if "Animation" not in intent.exclude_genres:
            intent.exclude_genres.append("Animation")
        r.blank(lm.span())
    elif either:                # "live action or animated": no genre said either way
        r.blank(either.span())
    scopes = negative_scopes(low)
    used: set[tuple[int, int]] = set()
    for word in _GENRE_WORDS_LONGEST_FIRST:
        if word not in low and word not in r.rest:     # most words: no regex to compile
            continue
        groups, excluded = _genre_groups(word)
        # scopes are read on the message (earlier passes may have shortened ``r.rest``)
        for gm in re.finditer(rf"\b{re.escape(word)}\b", low):
            scope = next((s for s in scopes if s[1] <= gm.start() < s[2]), None)
            left = re.search(rf"\b{re.escape(word)}\b", r.rest)
            if scope is None or left is None:
                continue
            # "not a huge fan of westerns": leaned away from; "not really in the mood for
            # anything scary", "no westerns": kept out
            hedged = bool(_HEDGE.match(low, scope[0]) or _HEDGE.search(low[scope[0]:scope[1]]))
            for g in excluded:
                into = intent.lean_away if hedged else intent.exclude_genres
                if g not in into:
                    into.append(g)
            for g in _NEGATED_LEAN.get(word, ()):     # "nothing scary": fewer thrillers
                if g not in intent.lean_away and g not in intent.exclude_genres:
                    intent.lean_away.append(g)
            r.blank(left.span())
            used.add(scope[:2])
        if re.search(rf"\b{_DISLIKE_VERBS}\s+(?:\w+\s+){{0,3}}?{re.escape(word)}\b", low):
            # "i don't like comedies": the cue "like" has left ``r.rest`` already
            for g in excluded:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            r.rest = re.sub(rf"\b{re.escape(word)}\b", lambda m: " " * len(m.group()), r.rest)
            continue
        for gm in re.finditer(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,3}}?{re.escape(word)}\b", r.rest):
            if _SAID_OF_A_FILM.search(low[:gm.start()]) and not _SAID_OF_A_FILM_NOT.match(
                    low, gm.end()):
                # "why moon? that's not romantic at all": the pick lacks it; not kept out
                # (nor asked for: "it's not scary, right?" is no ask for horror)
                r.blank(gm.span())
                continue
            for g in excluded:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            for g in _NEGATED_LEAN.get(word, ()):
                if g not in intent.lean_away and g not in intent.exclude_genres:
                    intent.lean_away.append(g)
            r.blank(gm.span())
        for gm in re.finditer(rf"\b{re.escape(word)}\b", r.rest):
            if word in _GENRE_NOT_BEFORE and _GENRE_NOT_BEFORE[word].match(low, gm.end()):
                continue    # "my kid was having a tantrum": news of the kid, no ask
            if all(len(group) == 1 for group in groups):
                intent.named_genres.extend(g for (g,) in groups if g not in intent.named_genres)
            for group in groups:
                # "with my kids, not animated": the kids' films that are not animated
                group = tuple(g for g in group if g not in intent.exclude_genres)
                if group:
                    genre_hits.append((gm.start(), gm.end(), group))
                    if group not in intent.genres:
                        intent.genres.append(group)
            r.blank(gm.span())

    for a, b in used:   # "stay away from": said, and no search words
        cue = re.search(re.escape(low[a:b]), r.rest)
        if cue:
            r.blank(cue.span())
    if not intent.genres:   # "comdey", "thriler": a typo of a genre word
        from rapidfuzz import fuzz, process

        for wm in LEX.re("reader.genres_1").finditer(r.rest):
            word = wm.group()
            if word in _vocabulary():
                continue
            hit = process.extractOne(word, list(GENRE_WORDS), scorer=fuzz.ratio,
                                     score_cutoff=80 if len(word) > 4 else 85)   # "funy"
            if hit:
                intent.genres.extend(_genre_groups(hit[0])[0])
                r.blank(wm.span())
    if len(intent.genres) > 1 and genre_hits:
        intent.genres = _combine_genres(genre_text, genre_hits)
    kids = ("Children", "Animation")
    child = LEX.re("reader.child_age").search(r.low)
    if child and not (intent.genres or intent.seeds or intent.people or
                      "Children" in intent.exclude_genres or _SUBJECT_KINDS.search(r.low)
                      or LEX.re("subjects.superhero_tag").search(r.low)):
        # "movie night w my daughter, she's 8": what a child watches, when the message says
        # nothing else of what is wanted ("marvel movies for my 9 year old", "she likes
        # Frozen": those say it)
        intent.genres.append(kids)
        r.blank(child.span())
    asked = {grp[0] for grp in intent.genres if len(grp) == 1}
    if asked & set(intent.exclude_genres):
        # "animated but not for kids": "kids" keeps out Children and Animation, but the
        # animation was asked for in so many words; "a comedy, no romcoms": no Romance
        intent.exclude_genres = [g for g in intent.exclude_genres if g not in asked]
    for rule in LEX.comparatives:
        want, avoid = tuple(rule.extra["want"]), rule.extra["avoid"]
        cm = rule.pattern.search(r.rest)
        if cm:
            if want and want not in intent.genres:
                intent.genres.append(want)
            for g in avoid:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            r.blank(cm.span())


def _read_quality(r: _Reading) -> None:
    """Quality and generic asks."""
    intent, low = r.intent, r.low
    if LEX.re("reader.quality_1").search(r.rest) and (
            intent.genres or intent.year_min or intent.k or LEX.re("reader.quality_2").search(low)):
        intent.quality = True
    if LEX.re("reader.quality_3").search(low) and intent.question is None:
        intent.asks_for_list = bool(LEX.re("reader.quality_4").search(low))   # "I hated Titanic, what else?"


def _read_small_talk(r: _Reading) -> None:
    """Chit-chat."""
    intent, low = r.intent, r.low
    for rule in LEX.small_talk:
        kind = rule.name
        if rule.pattern.search(low):
            intent.chitchat = kind
            if kind in ("chose", "thanks", "bye"):
                break
    if intent.chitchat:
        for rule in LEX.small_talk:
            r.rest = rule.pattern.sub(" ", r.rest)


def _read_description(r: _Reading) -> None:
    """Description left."""
    intent, low = r.intent, r.low
    r.film_ask = bool(_FILM_WORD.search(low) or intent.genres)   # "a comedy with a cat"
    intent.describe = _residual(r.rest, film_ask=r.film_ask)
    if intent.describe and LEX.re("reader.reaction").match(low) and all(
            w in MOODS for w in intent.describe.split()):
        intent.describe = ""     # "that's sad": a reaction ("it's christmas" still asks)
    if not intent.describe and LEX.re("reader.wants").search(low):
        # "I need a good cry": a mood word is all the ask says (too short for a description)
        moods = [w for w in LEX.re("reader.residual_1").findall(r.rest) if w in MOOD_WORDS]
        intent.describe = " ".join(dict.fromkeys(moods))
    if _AGAIN.search(low) and not (intent.content or intent.refs or intent.more):
        intent.again = True
    if intent.describe and not (intent.genres or intent.topic) and _reacts(intent) and \
            not LEX.re("reader.wants").search(low) and not LEX.re("reader.more_2").search(low) \
            and not any(_singular(w) in _describing(r.finder) or w in _describing(r.finder)
                        for w in intent.describe.split()):
        # "Seen it and it is one of the greats.": what is left of a reaction to films is
        # talk about them ("greats", "looks", "chatting"), not words a film's tags, genres
        # or moods use; it searches nothing
        intent.describe = ""
    negated = set(LEX.re("reader.description_1").findall(low))
    if negated and intent.describe:   # "no zombies please": not a word to search for
        intent.describe = " ".join(w for w in intent.describe.split() if w not in negated)
        if not _residual(intent.describe):
            intent.describe = ""


def _reacts(intent) -> bool:
    """The message says how the user feels about films or picks (or that they saw them)."""
    return bool(intent.feedback or intent.ref_feedback or intent.liked or intent.disliked
                or intent.seen or intent.unseen)


def _singular(word: str) -> str:
    """'chases' -> 'chase', 'explosions' -> 'explosion', 'battles' -> 'battle'."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _describing(finder: MentionFinder) -> frozenset[str]:
    """The words that describe what a film is: those of the catalog's tags (singular),
    genres, moods and subjects, and everyday English nouns of what a film shows."""
    return finder.describing(lambda tags: frozenset(
        _singular(w) for t in tags for w in re.findall(r"[a-z][a-z'-]+", t.lower())
        if w not in COMMON_WORDS) | MOODS | CONTENT_NOUNS | frozenset(GENRE_WORDS)
        | frozenset(MOOD_WORDS) | LEX.words("subjects.shown_nouns"))


def _seed_films(r: _Reading, text: str, films: list[int], sentiment: str) -> None:
    """The films one name means ("harry potter") as seeds, and liked when it was liked."""
    for movie_id in films:
        movie = r.finder.catalog[movie_id]
        film = Mention(text, movie_id, movie.title, movie.year, sentiment=sentiment)
        r.intent.seeds.append(film)
        if sentiment == "like":
            r.intent.liked.append(film)


def _series_meant(r: _Reading, spot: Spot, mention: Mention) -> list[int]:
    """The films of the series a liked or "like X" name means, when it is no film of its
    own ("Harry Potter") or only a little-known one of that exact title ("the lord of the
    rings": not the 1978 cartoon, unless its year is said); [] otherwise."""
    if mention.sentiment not in ("similar", "like") or spot.options:
        return []
    films = r.finder.series_films(mention.text)
    if spot.movie_id is None or not films or spot.movie_id in films:
        return films if spot.movie_id is None else []
    if re.search(r"\b(?:19|20)\d\d\b", r.text[spot.start:spot.end + 8]):
        return []
    pop = r.finder.popularity
    return films if pop.get(spot.movie_id, 0) * 5 < max(pop.get(f, 0) for f in films) else []


_SERIES_CUE = LEX.re("spotter.series_cue")
_SERIES_VERDICT = LEX.re("spotter.series_verdict")
_SERIES_END = LEX.re("spotter.series_end")


def _read_series(r: _Reading) -> None:
    """A series named in lowercase after "like" or "loved" ("something like star wars",
    "movies like hary poter"): its best-known films are the seeds, not search words."""
    intent = r.intent
    if intent.seeds or intent.question:
        return
    for g, m in [*((1, m) for m in _SERIES_CUE.finditer(r.low)),
                 *((2, m) for m in _SERIES_VERDICT.finditer(r.low))]:   # 2: "toy story was great"
        if any(sp.start < m.end(1) and m.start(1) < sp.end for sp in r.spots):
            continue    # "I didn't like Dumb and Dumber (1994)": a film was found there
        words = m.group(1).split()
        for n in range(len(words), 1 if g == 1 else len(words) - 1, -1):
            phrase = " ".join(words[:n])
            tail = r.low[m.start(1) + len(phrase):]
            if all(w in COMMON_WORDS or w in _FUNCTION_WORDS or w in _META_WORDS
                   for w in words[:n]) or (g == 1 and not _SERIES_END.match(tail)):
                continue   # "all the", "a lot of the"; "fifty shades freed": another title
            films = r.finder.series_films(phrase)
            exact = r.finder.titles.exact(phrase)
            pop = r.finder.popularity
            if films and exact and pop.get(exact[0].movie_id, 0) * 5 >= max(
                    pop.get(f, 0) for f in films):
                films = [exact[0].movie_id]    # "the lion king was amazing": the film itself
            if films:
                loved = g == 2 or not m.group(0).lstrip().startswith(("like", "similar"))
                _seed_films(r, phrase, films, "like" if loved else "similar")
                said = set(phrase.split())
                intent.describe = " ".join(w for w in intent.describe.split() if w not in said)
                intent.unresolved = [u for u in intent.unresolved
                                     if u.text.lower() not in (phrase, m.group(1))]
                return


_SERIES_ASK = LEX.re("spotter.series_ask")
_SERIES_LIKED = LEX.re("spotter.series_liked")
_SERIES_SEEN = LEX.re("spotter.series_seen")
_SERIES_VERB_AFTER = LEX.re("spotter.series_verb_after")


@functools.cache
def _not_series() -> frozenset[str]:
    """Words that never name a series on their own ("good movies", "horror films")."""
    return (COMMON_WORDS | _META_WORDS | frozenset(GENRE_WORDS) | frozenset(MOOD_WORDS)
            | _FUNCTION_WORDS | LEX.words("words.not_series"))


def _read_series_ask(r: _Reading) -> None:
    """A series asked for as such ("the bourne movies", "harry potter films", "the mission
    impossible series"): its films are the list, as a person's are for "Tom Hanks movies".
    Said of with a like ("I enjoyed the bourne movies", "movies like the bourne films") or as
    seen ("I've seen all the star wars movies"): its best-known films lead instead; kept out
    ("no star wars movies", "I didn't like the bourne movies") or judged after ("the harry
    potter movies were meh"): left to the other passes."""
    intent = r.intent
    if intent.question or intent.people or intent.series_films:
        return
    scopes = negative_scopes(r.low)
    for m in _SERIES_ASK.finditer(r.low):
        inside = [sp for sp in r.spots if sp.start < m.end(2) and m.start(2) < sp.end]
        if inside and not (len(inside) == 1 and inside[0].end == m.end(2)):
            continue     # films named there, other than the series' own name at its end
        if intent.seeds and not inside:
            continue
        words = m.group(2).split()
        for n in range(len(words), 0, -1):
            phrase = words[-n:]
            if all(w in _not_series() for w in phrase) or phrase[0] in _FUNCTION_WORDS or (
                    n == 1 and (
                    phrase[0] in _not_series() or _SUBJECT_KINDS.fullmatch(phrase[0]))):
                continue     # a franchise of two or more titles is evidence enough
            a = m.end(2) - len(" ".join(phrase))
            before = r.low[:a]
            if n == 1 and not (re.search(r"\bthe\s+$", before)
                               or m.group(3) in ("series", "franchise", "saga", "trilogy")):
                continue     # "dog movies": a subject, not the films with "Dog" in the title
            films = r.finder.series_named(" ".join(phrase))
            if not films or inside and (inside[0].movie_id not in films
                                        or r.low[inside[0].start:a].strip() not in ("", "the")):
                continue     # no series; "the toy story movies": the title is the series' name
            clause = re.split(r"[.;!?,]|\bbut\b", before)[-1]
            unseen = bool(_UNSEEN_CUES.search(clause))   # "never seen the ...": the list
            if not unseen and (any(s[1] <= a < s[2] for s in scopes) or _NOT_BEFORE.search(
                    before) or _DISLIKE_CUES.search(clause) or re.search(
                    rf"\b{_NEGATORS}\s+(?:the\s+|any\s+|more\s+)*$", before)):
                break        # "no star wars movies", "nothing like the twilight movies"
            if re.search(r"\b(?:have|did|do|are|were)\s+you\b", clause):
                break        # "have you seen all the star wars movies?": a question
            loved = False
            if _SERIES_VERB_AFTER.match(r.low, m.end()):
                # "the harry potter movies are my favourite": liked; "... were meh": a verdict
                tail = re.split(r"[.;!?,]|\bbut\b", r.low[m.end():])[0]
                if _DISLIKE_CUES.search(tail) or not _LIKE_CUES.search(tail):
                    break
                loved = True
            bare = re.sub(r"\b(?:the|all the|all of the)\s+$", "", before)
            similar = not loved and bool(_SIMILAR_CUES.search(bare[-40:]))   # "like the ..."
            seen = not (similar or unseen or loved) and bool(_SERIES_SEEN.search(clause))
            loved = loved or not (similar or unseen) and bool(_SERIES_LIKED.search(clause))
            if inside:      # ... then not a seed of its own
                intent.seeds = [x for x in intent.seeds if x.movie_id != inside[0].movie_id]
            if seen:    # "I've seen all the star wars movies": seen, not asked for;
                for movie_id in films:   # its best-known films lead what comes next
                    movie = r.finder.catalog[movie_id]
                    intent.seen.append(Mention(" ".join(phrase), movie_id, movie.title,
                                               movie.year, sentiment="seen"))
            if seen or similar or loved:   # the best-known films seed ("like harry potter")
                pop = r.finder.popularity
                top = sorted(films, key=lambda i: (-pop.get(i, 0), i))[:3]
                _seed_films(r, " ".join(phrase),
                            sorted(top, key=lambda i: (r.finder.catalog[i].year or 0, i)),
                            "like" if loved else "similar")
            else:
                intent.series = _series_title(r.finder, films, " ".join(phrase))
                intent.series_films = films
                if intent.k is None and len(films) > 5:    # "all the harry potter films"
                    intent.k = min(len(films), 10)
            said = set(phrase)
            r.blank((a, m.end()))
            intent.describe = " ".join(w for w in intent.describe.split() if w not in said)
            intent.topic = " ".join(w for w in intent.topic.split() if w not in said)
            intent.unresolved = [u for u in intent.unresolved
                                 if not set(u.text.lower().split()) <= said]
            return


def _series_title(finder: MentionFinder, films: list[int], phrase: str) -> str:
    """How a series is named in a reply: as the catalog spells it in a title ("Bourne",
    "Harry Potter", "Mission: Impossible"), else as the user wrote it ("Fast and Furious")."""
    said = phrase.split()
    for movie_id in films:
        title = finder.catalog[movie_id].title
        words = title.split()
        for i in range(len(words) - len(said) + 1):
            run = words[i:i + len(said)]
            if [re.sub(r"[^\w']", "", w).lower() for w in run] == said:
                return " ".join(run).rstrip(":,")
    small = {"and", "the", "of", "a", "an", "to", "in", "on"}
    return " ".join(w if (w in small and i) else w.capitalize() for i, w in enumerate(said))


def _read_kinds(r: _Reading) -> None:
    """Kinds of story and what to keep out."""
    intent, text, low, finder = r.intent, r.text, r.low, r.finder
    kinds, avoid = [], []
    for m in _SUBJECT_KINDS.finditer(low):
        negated = re.search(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,3}}?$", low[:m.start()])
        (avoid if negated else kinds).append(m.group(1))
    # "no superheroes", "sci-fi but not Star Wars": films of that kind or series stay out
    for m in LEX.re("reader.kinds_1").finditer(                       text):
        phrase = m.group(1).lower()
        if any(sp.start <= m.start(1) < sp.end and sp.movie_id for sp in r.spots):
            continue    # "not Titanic": a film, disliked (its mention says so)
        if len(phrase) >= 3 and not all(w in COMMON_WORDS or w in _FUNCTION_WORDS or (w in _META_WORDS)
                                        for w in phrase.split()) and not any(
                p.name.lower() == phrase for p in r.people):
            avoid.append(phrase)
            r.rest = re.sub(rf"\b{re.escape(phrase)}\b", lambda x: " " * len(x.group()), r.rest)
            intent.describe = " ".join(w for w in intent.describe.split()
                                       if w not in phrase.split())
    # ... and in lowercase when two or more titles start with it ("not star wars")
    for m in LEX.re("reader.kinds_2").finditer(low):
        words = m.group(1).split()
        for n in (4, 3, 2):
            phrase = " ".join(words[:n])
            if len(words) >= n and phrase not in avoid and finder.is_series(phrase) and not all(
                    w in COMMON_WORDS or w in _FUNCTION_WORDS or w in GENRE_WORDS for w in words[:n]
            ) and words[n - 1] not in _FUNCTION_WORDS:     # not "blood and" of "no blood and gore"
                avoid.append(phrase)
                r.rest = re.sub(rf"\b{re.escape(phrase)}\b", lambda x: " " * len(x.group()), r.rest)
                intent.describe = " ".join(w for w in intent.describe.split()
                                           if w not in phrase.split())
                break
    # "sci fi without aliens", "nothing with zombies": a plain noun the user keeps out
    for m in LEX.re("polarity.keep_out").finditer(r.rest):
        word = m.group(1)
        if len(word) >= 4 and word not in avoid and word not in _KEEP_OUT_SKIP and not (
                word in COMMON_WORDS or word in _FUNCTION_WORDS or word in _META_WORDS
                or word in GENRE_WORDS):
            avoid.append(word)
            r.blank(m.span())
            intent.describe = " ".join(w for w in intent.describe.split() if w != word)
    intent.avoid_kinds = list(dict.fromkeys(avoid))
    if kinds and not intent.question and not intent.seeds:
        # "a heist movie": a kind of story the genres only hint at (Crime); it is the topic
        intent.topic = " ".join(dict.fromkeys(kinds))
        have = intent.describe.split()
        intent.describe = " ".join([*have, *(w for w in intent.topic.split() if w not in have)])


def _read_topic(r: _Reading) -> None:
    """The topic."""
    intent, low = r.intent, r.low
    topic = _TOPIC.search(low)   # in the whole message: "a comedy about ..." ("comedy" is a genre)
    if topic and not intent.question:
        words = [w for w in LEX.re("reader.topic_1").findall(topic.group(1))
                 if w not in _FUNCTION_WORDS and len(w) > 2]
        if words:   # the subject counts even in everyday words ("a movie about a dog")
            # the subject as written ("loneliness in space" searches better than its words)
            # titles, r.people, years gone; genre words stay ("a film about the mafia")
            left = set(LEX.re("reader.topic_2").findall(r.rest)) | set(GENRE_WORDS)
            said = [w for w in LEX.re("reader.topic_3").findall(topic.group(1)) if w in left]
            while said and said[0] in _FUNCTION_WORDS:
                said.pop(0)
            while said and said[-1] in _FUNCTION_WORDS:
                said.pop()
        if words and said:
            intent.topic = " ".join(said)
            other = [w for w in intent.describe.split() if w not in said and w not in _TOPIC_CUES]
            intent.describe = " ".join([*other, intent.topic])


def _read_moods_and_nouns(r: _Reading) -> None:
    """Moods and subject nouns."""
    intent, text, low = r.intent, r.text, r.low
    moods = [w for w in intent.describe.split() if w in MOOD_WORDS and not re.search(
        rf"\b(?:no|not|nothing|without|never|i am|i'm|im|i feel|feeling|had a)\s+(?:\w+\s+)?"
        rf"{re.escape(w)}\b", low)]       # "a comedy, nothing sad", "I had a sad day"
    if CritiqueKind.LIGHTER in intent.critiques:
        moods = []
    if moods and not intent.topic and not intent.question and not intent.seeds and (
            r.film_ask or intent.asks_for_list or len(intent.describe.split()) == len(moods)):
        # "a sad movie", "a tearjerker": films tagged so come first
        intent.topic = " ".join(dict.fromkeys(moods))
    if not intent.topic and not intent.question and not intent.seeds and r.film_ask:
        nouns = [w for w in intent.describe.split() if w in CONTENT_NOUNS and w not in _NO_SUBJECT]
        kind = _KIND_OF_FILM.search(text)
        if kind and kind.group(1) and kind.group(1)[0].isupper() and kind.group(2)[0].isupper():
            kind = None     # "Nicholas Sparks movies": a name, not a subject
        if not nouns and kind:   # "a christmas movie", "chess films": the word before says
            said = intent.describe.split()
            nouns = [w for w in [kind.group(2).lower()] if w in said and w not in MOODS
                     and w not in COMMON_WORDS and w not in GENRE_WORDS
                     and not _ADJECTIVAL.search(w) and len(w) >= 4 and w not in _NO_SUBJECT]
        if nouns:   # "a movie with great music", "a film with a dog": the subject
            intent.topic = " ".join(dict.fromkeys(nouns))


def _read_closing(r: _Reading) -> None:
    """Closing."""
    intent, text, low = r.intent, r.text, r.low
    if intent.chitchat == "chose":   # "we'll watch the second one": its "watch" asks nothing
        rest = _CHOSE.sub(" ", low)
        if _CHOSE_BUT.search(rest):
            intent.chitchat = "ack"   # "I was going to watch that one but it's too long"
        intent.asks_for_list = bool(LEX.re("reader.closing_5").search(rest))
    if intent.fans_of and not (intent.content or intent.genres or intent.describe
                               or intent.question is not None):
        # "I haven't seen that one, but I love Tom Hanks": the person is all the ask there is
        intent.people, intent.fans_of = list(intent.fans_of), []
        if intent.chitchat == "ack":
            intent.chitchat = None
    if intent.chitchat and not (intent.content or intent.constraints_given or intent.critiques
                                or intent.more or intent.reject or intent.refs
                                or intent.feedback or intent.liked or intent.disliked
                                or intent.seen or intent.question):
        closing = "closing_5" if intent.chitchat in ("chose", "thanks", "bye") else "closing_1"
        intent.asks_for_list = bool(LEX.re(f"reader.{closing}").search(low))
    if intent.describe and _gibberish(intent.describe):
        intent.describe = ""
        cue = re.search(r"\b(?:like|similar to|loved|liked|seen)\s+(.{3,60}?)\s*[?!.]*$", text,
                        re.I)
        if cue and not intent.understood() and not (intent.fans_of or intent.people):
            # "movies like zorblax the unbeholden" (not "i like mel gibson.. when he sux")
            intent.unresolved.append(Mention(cue.group(1)))
        elif not intent.understood():
            if _gibberish(" ".join(LEX.re("reader.closing_2").findall(low))):
                intent.nonsense = True
            else:
                intent.chitchat = intent.chitchat or "ack"
    elif not intent.understood() and not intent.describe and not intent.chitchat:
        words = LEX.re("reader.closing_3").findall(low)
        if words and _gibberish(" ".join(words)):
            intent.nonsense = True
        elif LEX.re("reader.closing_1").search(low):   # "pick a film for me please"
            intent.asks_for_list = True
        else:   # "I haven't seen that one before", "not yet": plain talk, no list
            intent.chitchat = "ack"
    if not (intent.genres or LEX.re("reader.closing_4").search(low)):
        intent.unknown_people = []      # "ok I'll see it with Aisha": chat, not an ask
    if not intent.seeds and not intent.unresolved and not intent.question:
        _read_unknown_titles(r)


_SMALL_TITLE_WORDS = LEX.words("titles.inner_small")


def _read_unknown_titles(r: _Reading) -> None:
    """Capitalised names after "like" or "loved", or before "was amazing", that are no
    film, person, genre or word the data knows: titles the catalog lacks ("something like
    Oppenheimer or Barbie"). They are said so, not searched for as words."""
    intent, text = r.intent, r.text
    taken = [(p.start, p.end) for p in r.people] + r.title_spans
    found = []
    tags = r.finder.known_tags
    for name in ("reader.unknown_title_1", "reader.unknown_title_2"):
        for m in LEX.re(name).finditer(text):
            if any(m.start(1) < y and x < m.end(1) for x, y in taken):
                continue
            parts = re.split(r"\s*(?:,|\bor\b|\band\b)\s*", m.group(1))
            kept = []
            for part in parts:
                words = [w.lower() for w in part.split()]
                if not words or words[0] in ("i", "i'm", "i've") or any(
                        w in GENRE_WORDS or w in LEX.studio_words for w in words) or all(
                        w in COMMON_WORDS or w in _FUNCTION_WORDS or w in _META_WORDS
                        for w in words) or " ".join(words) in tags:
                    continue    # "I like Dwayne Johnson", "loved Marvel": the data knows them
                if len(words) >= 2 and not any(w in _SMALL_TITLE_WORDS for w in words) and \
                        name == "reader.unknown_title_1":
                    continue    # "I love Dylan O Brien": capitalised words after "like" name
                    #             someone more often than a film
                kept.append((part, len(words) == 1 and words[0] in english_words()))
            # a single English word is a title only beside another ("Oppenheimer or Barbie")
            if any(not english for _, english in kept):
                found += [part for part, _ in kept]
    if found:
        said = {w.lower() for f in found for w in f.split()}
        intent.unresolved += [Mention(f) for f in dict.fromkeys(found)]
        intent.describe = " ".join(w for w in intent.describe.split() if w not in said)
        intent.topic = " ".join(w for w in intent.topic.split() if w not in said)


# The passes, in order: each reads one kind of thing (later ones see what earlier ones
# left in ``rest``).
_VERDICT_AGAINST = LEX.re("polarity.verdict_against")
_VERDICT_CLAUSE_END = LEX.re("polarity.verdict_clause_end")


def _disliking_clauses(low: str) -> list[tuple[int, int]]:
    """The spans of the clauses of ``low`` that run something down ("but casino bored me",
    "The Notebook was too cheesy")."""
    out, at = [], 0
    for end in [*(m.start() for m in _VERDICT_CLAUSE_END.finditer(low)), len(low)]:
        if _VERDICT_AGAINST.search(low, at, end):
            out.append((at, end))
        at = end
    return out


_KEEP_OUT_SKIP = LEX.words("polarity.keep_out_skip")


def _read_kept_out(r: _Reading) -> None:
    """What is said in a negative scope ("I'm not in love with Batman movies", "stay away
    from zombies", "nothing sad please", "a romcom but not the cheesy kind") is never
    searched for: a mood there keeps its films out ("nothing sad": the films tagged sad), a
    subject or feel word keeps out the films that name it (words written together as one
    phrase: "nothing with jump scares"), and the rest of the scope's words just go."""
    intent = r.intent
    scopes = negative_scopes(LEX.re("polarity.positive").sub(lambda m: " " * len(m.group()),
                                                             r.low))
    disliking = _disliking_clauses(r.low)
    if not scopes and not disliking:
        return
    out, drop = [], set()
    for word in [*intent.topic.split(), *intent.describe.split()]:
        # "goodfellas was fine, but casino bored me": a clause that runs a film down is
        # no description of what is wanted
        spots = [m.start() for m in re.finditer(rf"(?<![\w'-]){re.escape(word)}(?![\w'-])", r.low)]
        if spots and all(any(a <= at < b for a, b in disliking) for at in spots):
            drop.add(word)
    for word in dict.fromkeys([*intent.topic.split(), *intent.describe.split()]):
        spots = [m.start() for m in re.finditer(rf"(?<![\w'-]){re.escape(word)}(?![\w'-])", r.low)]
        scoped = [s for s in scopes if any(s[1] <= at < s[2] for at in spots)]
        cue = any(s[0] <= at < s[1] for s in scopes for at in spots)
        if cue:      # a word of the cue itself ("nothing", "isn't"): never a search word
            drop.add(word)
            continue
        if not spots or not scoped or len(scoped) < len(spots) and not all(
                any(s[1] <= at < s[2] for s in scopes) for at in spots):
            continue
        drop.add(word)
        if word in GENRE_WORDS:     # "nothing about war": the genre is kept out already
            continue
        if word in MOOD_WORDS:      # "I don't want anything sad": the mood's films stay out
            if MOOD_WORDS[word] not in intent.avoid_moods:
                intent.avoid_moods.append(MOOD_WORDS[word])
        elif (word in MOODS or not (len(word) < 4 or word in COMMON_WORDS
                                    or word in _FUNCTION_WORDS or word in _META_WORDS)) \
                and not any(c.isdigit() for c in word) and word not in _KEEP_OUT_SKIP:
            out.append(word)    # its films stay out
    for s in scopes:    # "nothing sad please": a mood too short to be a description
        for w in re.findall(r"[a-z][\w'-]+", r.low[s[1]:s[2]]):
            if w in MOOD_WORDS and MOOD_WORDS[w] not in intent.avoid_moods:
                intent.avoid_moods.append(MOOD_WORDS[w])
    if out:     # words kept out side by side in a scope are one phrase ("jump scares")
        phrases = []
        for s in scopes:
            run: list[str] = []
            for w in [*re.findall(r"[\w'-]+", r.low[s[1]:s[2]]), ""]:
                if w in out and w not in run:
                    run.append(w)
                    continue
                if run:
                    phrases.append(" ".join(run))
                run = []
        done = {w for p in phrases for w in p.split()}
        phrases += [w for w in out if w not in done]
        intent.avoid_kinds = list(dict.fromkeys([*intent.avoid_kinds, *phrases]))
    if drop:
        intent.topic = " ".join(w for w in intent.topic.split() if w not in drop)
        intent.describe = " ".join(w for w in intent.describe.split() if w not in drop)


def _read_cleared(r: _Reading) -> None:
    """What the message has seen all of ("we've done all the pixar ones") is kept out, and
    what it lets back in ("forget the no mob thing") is not."""
    intent = r.intent
    for kind in r.seen_kinds:
        if kind not in intent.avoid_kinds:
            intent.avoid_kinds.append(kind)
        words = set(kind.split())
        intent.topic = " ".join(w for w in intent.topic.split() if w not in words)
        intent.describe = " ".join(w for w in intent.describe.split() if w not in words)
    back = {c.removeprefix("no ") for c in intent.clear if c.startswith("no ")}
    if not back:
        return

    def freed(word: str) -> bool:     # "samuel l" of "forget the no samuel l. jackson thing"
        w = word.lower()
        return any(re.search(word_or_plural(w), b) for b in back)

    intent.avoid_kinds = [k for k in intent.avoid_kinds if not freed(k)]
    intent.avoid_moods = [m for m in intent.avoid_moods if not freed(m)]
    intent.avoid_people = [p for p in intent.avoid_people if not freed(p.name)]
    intent.exclude_genres = [g for g in intent.exclude_genres if not freed(g)]


PASSES = (
    _read_cues,
    _find_names,
    _read_question,
    _read_refs,
    _read_mentions,
    _read_more,
    _read_reject,
    _read_ref_feedback,
    _read_count,
    _read_runtime_and_years,
    _read_critiques,
    _read_genres,
    _read_quality,
    _read_small_talk,
    _read_description,
    _read_series,
    _read_kinds,
    _read_topic,
    _read_moods_and_nouns,
    _read_series_ask,
    _read_kept_out,
    _read_closing,
    _read_cleared,
)


def _resolves(text: str, finder: MentionFinder) -> bool:
    """A short question tail that is a title, typos forgiven ("who directed jaws")."""
    from .mentions import _close

    text = text.strip(" ?!.\"'")
    if not text or len(text.split()) > 8:
        return False
    if all(w in COMMON_WORDS for w in text.lower().split()):
        # "what's about time about?": everyday words only as a known film's whole title
        return len(text.split()) >= 2 and any(
            finder.popularity.get(m.movie_id, 0) >= 10 for m in finder.titles.exact(text))
    res = finder.titles.resolve(text)
    return res.best is not None and res.confidence >= 0.88 and _close(text, res.best.title)


def _spot_in(spots: list[Spot], span: tuple[int, int]) -> Spot | None:
    a, b = span
    return next((s for s in spots if a <= s.start and s.end <= b + 1), None)


def _spot_leads(spots: list[Spot], span: tuple[int, int], low: str) -> Spot | None:
    """The title that ``span`` is about: it opens the span ("what's the matrix about?"),
    not one named at its end ("what's a good horror movie that's not the exorcist")."""
    spot = _spot_in(spots, span)
    if spot is None or any(w not in ("the", "a", "an", "movie", "film", "that", "this")
                           for w in low[span[0]:spot.start].split()):
        return None
    return spot


def _mention_for(spots: list[Spot], span: tuple[int, int], text: str,
                 finder: MentionFinder) -> Mention:
    spot = _spot_in(spots, span)
    if spot is None:   # "why not forest gumpp?": a typo after a question cue
        raw = text[span[0]:span[1]].strip(" ?!.\"'")
        res = finder.titles.resolve(raw)
        if res.best is not None and res.confidence >= 0.85:
            b = res.best
            return Mention(raw, b.movie_id, b.title, b.year)
        return Mention(raw, suggestions=tuple((m.movie_id, m.label()) for m in res.matches[:3]))
    if spot.options and spot.movie_id is None:
        movie_id, label = spot.options[0]
        return Mention(spot.text, movie_id, label, None, options=spot.options)
    return Mention(spot.text, spot.movie_id, spot.title, spot.year, spot.suggestions)


_TOPIC = LEX.re("subjects.topic")
# Kinds of story a genre only hints at, and the studios: searched for, and a topic
_SUBJECT_KINDS = re.compile(r"\b(" + LEX.source("subjects.kinds") + "|" + "|".join(
    re.escape(a) for a in sorted(LEX.studio_words, key=len, reverse=True)) + r")\b(?!\s*\()")
_TOPIC_CUES = LEX.words("subjects.topic_cues")
_FUNCTION_WORDS = LEX.words("words.function")
_AGAIN = LEX.re("small_talk.again")
# How a film feels: everyday words, but a description ("a sad romance, something to cry to")
MOODS = LEX.words("moods.feel") | frozenset(LEX.mood_words)
CONTENT_NOUNS = LEX.words("subjects.content_nouns")


def _unknown_names(text: str, taken: list[tuple[int, int]]) -> list[str]:
    """Names after "with", "starring", "by" that are no person, title or word the data
    knows ("anything with Zendaya"): said so, rather than answered with any film."""
    out = []
    for m in LEX.re("reader.unknown_names_1").finditer(text):
        a, b = m.span(1)     # a name ends the phrase: "with New York vibes" names no one
        words = [w.lower() for w in m.group(1).split()]
        if any(a < y and x < b for x, y in taken) or any(w in GENRE_WORDS for w in words) \
                or _SUBJECT_KINDS.search(m.group(1).lower()):
            continue
        if len(words) == 1 and (words[0] in english_words() or words[0] in COMMON_WORDS):
            continue
        out.append(m.group(1))
    return out


_KIND_OF_FILM = LEX.re("subjects.kind_of_film")
_ADJECTIVAL = LEX.re("subjects.adjectival")
_NO_SUBJECT = LEX.words("subjects.no_subject")
_FILM_WORD = LEX.re("subjects.film_word")
MOOD_TAGS = LEX.mood_tags
MOOD_WORDS = LEX.mood_words


def _residual(rest: str, film_ask: bool = False) -> str:
    """The descriptive words left: content only, or "" when nothing but meta words remain."""
    words = LEX.re("reader.residual_1").findall(rest)
    content = [w for w in words if (not (w in _META_WORDS) and w not in COMMON_WORDS
                                    and not w.isdigit()) or w in MOODS
               or (film_ask and w in CONTENT_NOUNS)]
    if not content or (len("".join(content)) < 4 and not (
            film_ask and (content[0] in CONTENT_NOUNS or content[0] in MOODS))):
        return ""
    return " ".join(w for w in words if not (w in _META_WORDS))


@functools.cache
def _vocabulary() -> frozenset[str]:
    """English words as whole tokens of MiniLM's WordPiece vocabulary (plus our lexicon)."""
    return frozenset(set(COMMON_WORDS) | set(GENRE_WORDS) | MOODS | english_words()
                     | {w for a in LEX.studio_words for w in a.split()})


_FOREIGN = LEX.words("words.foreign")
_ENGLISH_SIGNS = LEX.words("words.english_signs")


def _is_foreign(low: str) -> bool:
    """Two or more everyday words of another language and none of English's."""
    words = LEX.re("reader.is_foreign_1").findall(low)
    return sum(w in _FOREIGN for w in words) >= 2 and not any(w in _ENGLISH_SIGNS for w in words)


def _gibberish(text: str) -> bool:
    words = [w for w in LEX.re("reader.gibberish_1").findall(text) if len(w) > 1]
    vocab = _vocabulary()
    if len(vocab) < 1000 or not words:   # no vocabulary to judge by: trust the words
        return False
    known = sum(w in vocab or w.rstrip("s") in vocab for w in words)
    return known / len(words) < 0.5
