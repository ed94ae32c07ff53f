"""The questions a user asks about films and picks: "why #2?", "why not Heat?", "what is
it about?", "who is in Heat?", "how long is it?". Each answer comes from the data (the
picks' evidence, the catalog, the ratings, where a film ranks for the last ask); a film
asked about that fits the last ask well is offered on the spot.

``answer(agent, turn)`` is the route for ``frames.Question`` (see ``chat.ROUTES``).
"""

from __future__ import annotations

import re

from .candidates import Constraints, Request, sources
from .explain.evidence import MIN_SUPPORT, co_rating_text
from .explain.grounding import template_explanation
from .i18n import current, genre, join, ntr, ptr, sentences, tr
from .reader.intent import Mention
from .memory import SessionState
from .state import Answer, LastAsk, Recommendation, Turn

OFFER_WITHIN = 30
"""A film asked about that ranks this high for the current ask is offered on the spot."""


def answer(agent, t: Turn) -> Answer | None:
    """The reply to the message's question (None: it asks none this module answers)."""
    intent, shown, targets = t.intent, t.shown, t.targets
    if intent.question == "why" and intent.why_of is not None and shown:
        m = intent.why_of      # "why Rocky?": that pick, whichever number it has
        same = {m.movie_id, *(i for i, _ in m.options)} | {
            x.movie_id for x in agent.catalog.titles.exact(m.title or m.text)}
        picked = [r for r in shown if r.movie_id in same]
        if not picked:
            return agent._finish(t, Answer(tr(
                "{film} isn't in the list I showed. Ask \"why not {film}?\" to see where it "
                "ranks for this ask.", film=m.title or m.text), kind="clarify"))
        targets = picked[:1]
    if intent.question == "why":
        return _why(agent, t, targets or shown[:1])
    if intent.question == "why_not":
        return _why_not(agent, t)
    if intent.question in ("about", "cast"):
        return _about(agent, t)
    return None


def _why(agent, t: Turn, targets: list[Recommendation]) -> Answer:
    if not targets:
        return agent._finish(t, Answer(tr(
            "I haven't recommended anything yet in this session; ask me for something first."),
            kind="clarify"))
    r = _in_this_language(agent, targets[0])
    t.state.focus = r.movie_id
    said = r.explanation.lower()
    extra = [f.said() if f.kind != "transcript" else tr(
                 "dialogue at {clock}: \"{words}\"", words=f.text,
                 clock=f"{int(f.start or 0) // 60}:{int(f.start or 0) % 60:02d}")
             for f in r.evidence if f.said().lower()[:40] not in said
             and f.kind not in ("overview", "genres", "thin", "match")]
    reply = tr("Why {film}: {reason}", film=r.label(), reason=r.explanation)
    seeds = [s for s in (t.state.last.seeds if t.state.last else []) if s in agent.catalog]
    names = join([agent.catalog[s].title for s in seeds[:2]], " and ")
    said = sources.signals()
    signals = [tr(said[s], names=names or tr("what you named"), rank=rank)
               for s, rank in sorted(r.sources.items(), key=lambda sr: sr[1])
               if s in said and (names or "{names}" not in said[s])]
    if signals:
        # the signals' own ranks, among the films that fit the ask; the list fuses them
        reply += tr(" Its rank by each signal (the list blends them): {signals}.",
                    signals=ptr("list", "; ").join(signals[:3]))
    if extra:
        reply += tr(" Also: {facts}.", facts=ptr("list", "; ").join(extra[:3]))
    answer = Answer(reply, [r], kind="why")
    return agent._finish(t, answer, meta={"kind": "why", "movie_id": r.movie_id})


def _in_this_language(agent, r: Recommendation) -> Recommendation:
    """A pick shown in another language's answer ("why #2?" after a Spanish list, "¿por qué
    la segunda?" after an English one): its reason said again from its facts, and its card,
    in the language of this turn."""
    import dataclasses

    from .candidates import Candidate

    lang = current()
    if (r.info or {}).get("lang", "en") == lang:
        return r
    c = Candidate(r.movie_id, r.title, r.year, tuple(r.genres), r.score, dict(r.sources),
                  list(r.evidence))
    movie = agent.catalog.get(r.movie_id)
    info = agent.generator.card(movie) if movie is not None else dict(r.info or {})
    return dataclasses.replace(r, explanation=template_explanation(c), explained_by="template",
                               info=info)


def _not_found(agent, t: Turn, m: Mention | None) -> Answer:
    if m is None:
        reply = "Which film do you mean? Name it, or give its number in the last list."
    else:
        opts = ", ".join(label for _, label in m.suggestions)
        reply = (f"I couldn't find \"{m.text}\" in the catalog"
                 + (f"; did you mean {opts}?" if opts else "."))
    return agent._finish(t, Answer(reply, kind="clarify"))


def _best_of(agent, shown: list[Recommendation]) -> Recommendation:
    """The best rated pick shown: the highest MovieLens mean among picks rated by enough
    people to go by (the first pick when none is)."""
    c = agent.generator.corate

    def mean(r: Recommendation) -> float:
        col = c.item_index.get(r.movie_id)
        if col is None or int(c.rating_counts[col]) < MIN_SUPPORT:
            return -1.0
        return float(c.means[col])
    return max(shown, key=lambda r: (mean(r), -shown.index(r)))


def _about(agent, t: Turn) -> Answer:
    intent, shown = t.intent, t.shown
    m = intent.about
    lead_in = ""
    if intent.best_of:
        if not shown:
            return agent._finish(t, Answer(tr(
                "I haven't recommended anything yet in this session; ask me for something "
                "first."), kind="clarify"))
        best = _best_of(agent, shown)     # "which of those is the best?"
        m = Mention(best.title, best.movie_id, best.title, best.year)
        lead_in = tr("Of the last list, the best rated is {film}.", film=best.label())
    if m is None and (intent.that_one or intent.refs) and shown:
        # "what is it about?": the film asked about last, the one referred to, or #1
        target = (agent._targets(intent, shown, t.state) or
                  [r for r in shown if r.movie_id == t.state.focus] or shown[:1])[0]
        m = Mention(target.title, target.movie_id, target.title, target.year)
    if m is None or m.movie_id is None:
        return _not_found(agent, t, m)
    t.state.focus = m.movie_id
    movie = agent.catalog[m.movie_id]
    bits = []
    lead = _facet(agent, movie, intent.facet) if intent.facet else _feel(
        movie, intent.text, m.text)
    if lead:   # "how long is Titanic?": the answer first, then what else the data says
        bits.append(lead)
    if intent.facet == "runtime" and movie.runtime_min:
        bits.append(tr("{n} min.", n=movie.runtime_min))
    if intent.question == "about" and movie.overview:
        bits.append(movie.overview.strip())
    if movie.director:
        bits.append(tr("Directed by {names}.", names=join(list(movie.directors), " and ")))
    if movie.stars:
        bits.append(tr("Starring {names}.", names=join(list(movie.stars))))
    if intent.question == "cast" and movie.overview:
        bits.append(movie.overview.strip())
    if movie.genres and intent.facet != "genre":
        bits.append(tr("Genres: {genres}.", genres=join([genre(g) for g in movie.genres])))
    if movie.runtime_min and intent.facet != "runtime":
        bits.append(tr("{n} min.", n=movie.runtime_min))
    if not (movie.overview or movie.director or movie.stars):
        bits.insert(1 if lead else 0, tr("The catalog has no plot or cast for it."))
    reply = f"{movie.label()}: " + sentences(bits)
    if lead_in:
        reply = sentences([lead_in, reply])
    return agent._finish(t, Answer(reply, kind="about"))


_PLOT_ASKED = re.compile(r"\b(?:about|plot|story|what happens)\b")   # "what is X about?"
_FEEL_CUE = re.compile(r"\?|\b(?:is|was|are|would|will|too|very|at all)\b")


def _feel(movie, text: str, named: str = "") -> str:
    """"is the first one scary?": what the data says of how ``movie`` feels (its genres,
    MovieLens tags and, for kids, a certificate that rules it out: the rows of
    ``questions.feel_answers``), one sentence; "" when the message asks no such thing."""
    from .reader.lexicon import lexicon

    low = text.lower()
    for title in (movie.title, *movie.alt_titles, named):   # "is the dark knight long?"
        if title:
            low = low.replace(title.lower(), " ")
    if not _FEEL_CUE.search(low) or _PLOT_ASKED.search(low):
        return ""
    for row in lexicon().table("questions.feel_answers").values():
        said = next((w for w in row["words"] if re.search(rf"\b{re.escape(w)}\b", low)), None)
        if said is None:
            continue
        word = row.get("label") or said[0].upper() + said[1:]
        if movie.certificate and movie.certificate in row.get("not_certificates", ()):
            return tr("{word}? Probably not: its certificate is {certificate}.", word=word,
                      certificate=movie.certificate)
        wanted = {t.lower() for t in row.get("tags", ())}
        tags = sorted({t for t in movie.tags if t.lower() in wanted}, key=str.lower)
        genres = [g for g in row.get("genres", ()) if g in movie.genres]
        evidence = []
        if genres:
            evidence.append(tr("listed as {genres}", genres=join([genre(g) for g in genres])))
        if tags:
            evidence.append(tr("MovieLens users tagged it {tags}", tags=join(tags[:4])))
        if evidence:
            return tr("{word}? What the data says: {evidence}.", word=word,
                      evidence=ptr("list", "; ").join(evidence))
        return tr("{word}? Nothing in the data says so (not its genres, not its MovieLens "
                  "tags).", word=word)
    return ""


def _facet(agent, movie, facet: str) -> str:
    """The one fact a question asks for, from the data; says so when the data lacks it."""
    if facet == "runtime":
        return "" if movie.runtime_min else tr("The catalog doesn't know its runtime.")
    if facet == "year":
        return tr("Released in {year}.", year=movie.year) if movie.year else tr(
            "The catalog has no year for it.")
    if facet == "genre":
        return tr("Genres: {genres}.", genres=join([genre(g) for g in movie.genres])) \
            if movie.genres else tr("The catalog lists no genre for it.")
    if facet == "rating":
        c = agent.generator.corate
        col = c.item_index.get(movie.movie_id)
        n = int(c.rating_counts[col]) if col is not None else 0
        parts = []
        if n:
            parts.append(ntr("rated {mean:.1f} of 5 by {n} person on MovieLens",
                             "rated {mean:.1f} of 5 by {n} people on MovieLens", n,
                             mean=float(c.means[col]))
                         + (tr(" (too few to go by)") if n < MIN_SUPPORT else ""))
        if movie.imdb_rating:
            parts.append(tr("{rating:.1f} of 10 on IMDb", rating=movie.imdb_rating))
        if not parts:
            return tr("Nobody in the ratings has rated it, so I can't say.")
        text = ptr("list", "; ").join(parts)
        return text[0].upper() + text[1:] + "."
    return ""


def _why_not(agent, t: Turn) -> Answer:
    intent, st = t.intent, t.session
    m = intent.why_not
    if m is None or m.movie_id is None:
        return _not_found(agent, t, m)
    last = t.state.last
    cons = last.fresh_constraints() if last else Constraints()
    movie = agent.catalog[m.movie_id]
    if not re.search(r"\b(?:19|20)\d\d\b", m.text) and not cons.allows(movie):
        # "why not King Kong?" after a 70s ask: the film of that name that fits the ask
        same = [i for i, _ in m.options] + [x.movie_id for x in
                                            agent.catalog.titles.exact(movie.title)]
        fitting = [agent.catalog[i] for i in dict.fromkeys(same)
                   if i in agent.catalog and cons.allows(agent.catalog[i])]
        movie = fitting[0] if fitting else movie
    label = movie.label()
    fb = {**agent.memory.profile(), **st.feedback}
    seeds = list(last.seeds) if last else []
    if movie.movie_id in seeds:
        reply = f"{label} is the film you asked for things like, so I don't repeat it."
    elif fb.get(movie.movie_id) in ("seen", "dislike", "like"):
        why = {"seen": "you told me you've seen it", "dislike": "you said it's not for you",
               "like": "you told me you already loved it"}[fb[movie.movie_id]]
        reply = f"I left out {label} because {why}."
    elif movie.movie_id in {r["movie_id"] for r in st.last_shown}:
        pos = [r["movie_id"] for r in st.last_shown].index(movie.movie_id) + 1
        reply = f"{label} is in the list: it's #{pos}."
    elif movie.movie_id in st.shown_ids:
        reply = f"I showed {label} earlier in this session, so I don't repeat it."
    elif (reason := cons.why_not(movie)) is not None:
        reply = f"{label} doesn't fit your filters: {reason}."
    elif last:
        return _placed(agent, t, movie, fb)
    else:
        reply = _rank_reason(agent, movie, seeds, st)
    return agent._finish(t, Answer(reply, kind="why_not"))


def _last_request(agent, last: LastAsk, fb: dict[int, str]) -> Request:
    """The last list's request, rebuilt to look a film up against it."""
    people = list(last.people)
    only = None
    if people:
        films = [set(agent.mentions_person(p)) for p in people]
        only = set.intersection(*films) or set.union(*films)   # as the ask had it
    seeds = list(last.seeds)
    return Request(seeds=seeds,
                   likes=[m for m, kind in fb.items() if kind == "like" and m not in seeds],
                   dislikes=[m for m, kind in fb.items() if kind == "dislike"],
                   query=last.query, constraints=last.fresh_constraints(), only=only,
                   people=people, quality=last.quality, similar=last.similar, topic=last.topic)


def _placed(agent, t: Turn, movie, fb) -> Answer:
    """"Why not X?" against the current ask: where X ranks and which signals reach it;
    a film that fits and ranks near the list is offered now."""
    label, st = movie.label(), t.session
    req = _last_request(agent, t.state.last, fb)
    if req.only is not None and movie.movie_id not in req.only:
        who = " and ".join(req.people)
        reply = f"You asked for films with {who}, and the catalog doesn't list {who} for {label}."
        return agent._finish(t, Answer(reply, kind="why_not"))
    pos, found, total = agent.generator.place(req, movie.movie_id)
    asked = {g for group in req.constraints.genres for g in group}
    genres = sorted(movie.genres, key=lambda g: g not in asked)[:3]   # the asked-for first
    what = ", ".join(x for x in (str(movie.year or ""), "/".join(genres)) if x)
    if pos is not None and pos <= OFFER_WITHIN:
        cands = agent.generator.gather(Request(
            seeds=req.seeds, likes=req.likes, query=req.query, constraints=req.constraints,
            only={movie.movie_id}, people=req.people, similar=req.similar), pool=1)
        if cands:
            cands[0].sources = dict(found)       # its ranks in this ask, not in a list of one
            cands[0].explanation = template_explanation(cands[0])
            rec = Recommendation.from_candidate(cands[0])
            shown = [*t.shown, rec]
            where = (f"it ranked #{pos} for this ask, below the ones I showed"
                     if pos > len(st.last_shown) else
                     f"it ranked #{pos} for this ask, but I kept the list varied "
                     f"(one film per franchise, few of one genre mix)")
            reply = f"{label} fits — {what} — {where}; added as #{len(shown)}."
            return agent._finish(t, Answer(reply, shown, kind="why_not"), shown)
    names = " and ".join(agent.catalog[s].title for s in req.seeds[:2] if s in agent.catalog)
    said = sources.signals()
    signals = [said[s].format(names=names or "what you named", rank=r)
               for s, r in sorted(found.items(), key=lambda sr: sr[1]) if s in said]
    fits = "fits your filters" if not req.constraints.is_empty() else "is not ruled out"
    if pos is None:
        reply = (f"{label} {fits}, but none of this ask's signals reach it "
                 f"({_asked(req, names)}).")
    else:
        reply = (f"{label} {fits}, but it ranks #{pos} of {total:,} for this ask "
                 f"({_asked(req, names)})")
        reply += f": {'; '.join(signals[:3])}." if signals else "."
    share = None
    if req.seeds:
        share = agent.generator.corate.lift(req.seeds[0], movie.movie_id)
    if share and share[1] >= MIN_SUPPORT and share[0] >= MIN_SUPPORT:
        both, fans, lift = share
        seed = agent.catalog[req.seeds[0]].title
        text = co_rating_text(seed, both, fans, lift)
        reply += f" {text[0].upper()}{text[1:]}."
    return agent._finish(t, Answer(reply, kind="why_not"))


def _rank_reason(agent, movie, seeds: list[int], st: SessionState) -> str:
    label = movie.label()
    gen = agent.generator
    if movie.movie_id not in gen.corate.item_index:
        return f"{label} has no ratings in the data, so the ranker can't place it."
    likes = seeds or st.ids("like")
    if not likes:
        return f"Nothing in this session points to {label} yet; tell me what you like."
    ranked = [c.item_id for c in agent.ranker.recommend_for_items(likes, n=len(agent.catalog))]
    pos = ranked.index(movie.movie_id) + 1 if movie.movie_id in ranked else None
    names = " and ".join(agent.catalog[s].title for s in likes[:2] if s in agent.catalog)
    text = f"{label} ranks #{pos} of {len(ranked)} for people who loved {names}" if pos else \
        f"{label} doesn't score for people who loved {names}"
    share = gen.corate.lift(likes[0], movie.movie_id) if likes else None
    if share and share[1] >= MIN_SUPPORT and share[0] >= MIN_SUPPORT:
        text += "; " + co_rating_text(agent.catalog[likes[0]].title, *share)
    shown = st.last_shown
    return text + (f", below the {len(shown)} I showed." if shown else ".")




def _asked(req: Request, names: str) -> str:
    parts = []
    if names:
        parts.append(f"like {names}")
    if req.people:
        parts.append(f"with {' and '.join(req.people)}")
    if req.query:
        parts.append(f'"{req.query}"')
    if not req.constraints.is_empty():
        parts.append(req.constraints.describe())
    return ", ".join(parts) or "a general ask"
