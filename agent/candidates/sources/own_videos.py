"""``own_videos``: the user's own videos by how they sound and look (``retrieval.descriptors``,
measured at ingest) and what is said in them.

- "More like Harbour Lights" (one of them): the others, by their fused similarity to it
  (``sound_picture.fused_similarity``: sound and picture, and speech), those at least
  ``min_similar`` alike (``descriptors.toml`` [fusion]).
- "Something fast-paced and loud", "a calm, dark one" (``Request.feel``, read by
  ``reader.feel``): the videos that fit it at least ``min_match``, best first.

Someone who asks for their own videos this way means them: the weight puts them before the
catalog's films, which follow as they would without this source; with no own videos (or
none alike) it says nothing. The evidence cites the descriptors ("a cut every 1.0 s, Harbour
Lights every 1.1 s; bright, loud, like Harbour Lights")."""

from __future__ import annotations

from recbot.retrieval.ledger import USER_ITEM_BASE
from ...explain.cards import ASPECTS
from ...explain.evidence import Words, fact
from ...i18n import N_
from ...kinds import FactKind
from .base import Source

WEIGHT = 4.0    # as the transcript source: rank 1 at 4/61 leads any catalog film
SAME_SPEECH = 0.8    # the cosine of two videos' mean speech vectors that says "close"

# which aspect a wanted feature is said by
_FEATURE_ASPECT = {"cut_rate": "pace", "motion": "motion", "loudness": "loudness",
                   "brightness": "light", "colourfulness": "colour", "speech": "sound",
                   "onset_rate": "sound", "pulse": "sound"}


def collect(gen, req, found, lists):
    videos = gen.own_videos()
    if not videos:
        return None
    from recbot.retrieval.sound_picture import fused_similarity, match, rules

    fusion = rules()["fusion"]
    scores: dict[int, float] = {}
    for seed in req.seeds:
        mine = videos.get(seed)
        if mine is None or seed < USER_ITEM_BASE:
            continue    # "like The Matrix" asks for the film, even if a file of it was ingested
        for item, other in videos.items():
            if item == seed or item in req.seeds:
                continue
            s = fused_similarity(mine, other)
            if s is not None and s >= fusion["min_similar"]:
                scores[item] = max(scores.get(item, 0.0), s)
    if req.feel:
        for item, video in videos.items():
            if video.descriptors is None or item in req.seeds:
                continue
            s = match(video.descriptors, req.feel)
            if s is not None and s >= fusion["min_match"]:
                scores[item] = max(scores.get(item, 0.0), s)
    return sorted(scores, key=lambda i: (-scores[i], i)) or None


def evidence(gen, cand, req, clues, facts) -> None:
    videos = gen.own_videos()
    video = videos.get(cand.movie_id) if videos else None
    if video is None or video.descriptors is None:
        return
    d = video.descriptors
    words = d.words()
    for seed in clues.seeds:
        mine = videos.get(seed.movie_id)
        if mine is None or mine.descriptors is None or seed.movie_id < USER_ITEM_BASE:
            continue
        theirs = mine.descriptors.words()
        shared = tuple(ASPECTS[w] for aspect, w in words.items()
                       if aspect != "pace" and theirs.get(aspect) == w and w in ASPECTS)
        a, b = _every(d), _every(mine.descriptors)
        if a is not None and b is not None and max(a, b) <= 1.6 * min(a, b):
            facts.append(fact(FactKind.SOUND_PICTURE,
                              N_("a cut every {a:.1f} s, {title} every {b:.1f} s") if not shared
                              else N_("a cut every {a:.1f} s, {title} every {b:.1f} s; "
                                      "{aspects}, like {title}"),
                              a=a, b=b, title=seed.title, aspects=Words(shared, phrases=True)))
        elif shared:
            facts.append(fact(FactKind.SOUND_PICTURE, N_("{aspects}, like {title}"),
                              aspects=Words(shared, phrases=True), title=seed.title))
        from recbot.retrieval.sound_picture import speech_similarity

        said = speech_similarity(video, mine)
        if said is not None and said >= SAME_SPEECH:
            facts.append(fact(FactKind.SOUND_PICTURE, N_("what is said in it is close to what "
                                                         "is said in {title}"),
                              title=seed.title))
        return
    if req.feel:
        asked = {_FEATURE_ASPECT[k] for k in req.feel if k in _FEATURE_ASPECT}
        said = tuple(ASPECTS[w] for aspect, w in words.items()
                     if aspect in asked and aspect != "pace" and w in ASPECTS)
        every = _every(d) if "pace" in asked else None
        if every is not None:
            facts.append(fact(FactKind.SOUND_PICTURE,
                              N_("a cut every {a:.1f} s; {aspects}, as you asked") if said
                              else N_("a cut every {a:.1f} s, as you asked"),
                              a=every, aspects=Words(said, phrases=True)))
        elif "pace" in asked and d.cuts == 0 and said:
            facts.append(fact(FactKind.SOUND_PICTURE, N_("one long shot; {aspects}, as you asked"),
                              aspects=Words(said, phrases=True)))
        elif said:
            facts.append(fact(FactKind.SOUND_PICTURE, N_("{aspects}, as you asked"),
                              aspects=Words(said, phrases=True)))


def _every(d) -> float | None:
    """Seconds between cuts, None without picture or cuts."""
    if d.cuts is None or not d.cuts:
        return None
    return d.duration / d.cuts


SOURCE = Source("own_videos", WEIGHT, collect,
                N_("#{rank} among your videos by how they sound and look"), evidence,
                (FactKind.SOUND_PICTURE,))
