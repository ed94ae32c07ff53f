"""The preference state of a conversation: every film, genre and person the user has said
something about, with its polarity, how sure the reading is and the turn it was said in.

A new ask is built from its own words (``chat._request``); what was said before joins it
only as weighted nudges: ``carried`` gives each older preference a weight that fades with
its age (``DECAY`` per turn since), and the newest word on a film, genre or person replaces
any older one ("I love horror", later "no horror": the horror is avoided). Nothing here is a
filter: the hard filters are only those the newest ask's words make hard. People are
recorded (asked, avoided, named in passing); of them, and of the kinds and moods kept out
("nothing with Adam Sandler", "no superhero stuff", "nothing sad"), a later ask carries only
the avoidance, as a lean away from their films (``chat._carry``).
"""

from __future__ import annotations

from dataclasses import dataclass

# How much an older preference counts, per turn since it was said: said one turn before the
# new ask it counts DECAY, two turns before DECAY**2, so the newest ask weighs most (0.7: an
# ask three turns back counts a third). On ReDial's learn folds (variant b, novel R@10, fold 1
# / fold 2) the choices hardly matter: the carried films' source at weight 0 / 0.5 / 1 gave
# 0.227 / 0.226 / 0.224 and 0.259 / 0.261 / 0.260; the previous turn unfaded 0.226 / 0.262;
# only the last ask's genres as the lean (the rule before this state) 0.226 / 0.264.
DECAY = 0.7
# What the user is against fades slower: "I hate horror" is a taste more than a filter of one
# ask. With 0.7, the TUI showed The Sixth Sense five turns after "I hate horror"; 0.9 keeps
# horror at x0.66 there. (On ReDial's learn folds avoidances are rare: see DECAY.)
AGAINST_DECAY = 0.9
FLOOR = 0.1      # a preference weighing less than this no longer counts
MAX_PREFS = 64   # the newest this many are kept (a long chat forgets its oldest words)

# How sure each reading is (the weight of a preference said in the turn before the ask).
CONFIDENCE = {
    "seed": 1.0,        # "something like X", a film named in an ask
    "liked": 1.0,       # "I loved X", feedback: "loved it", "X was great"
    "liked_guess": 0.5, # a bare mention the learned reader (reader.polarity) reads as liked
    "disliked": 1.0,    # "I hated X", "not #2"
    "genre": 1.0,       # a genre asked for
    "genre_either": 1.0,  # one genre of an either-or word ("family": children or animation)
    "avoid_genre": 1.0, # "no horror"
    "lean_away": 0.5,   # "not a huge fan of musicals": a hedge, leaned away from
    "person": 1.0,      # "anything with Tom Hanks"
    "avoid_person": 1.0,
    "avoid_kind": 1.0,  # "no superhero stuff", "not Star Wars": films whose title or tags say it
    "avoid_mood": 1.0,  # "nothing sad": films tagged so
    "fan": 0.5,         # a person named in passing: "I love Tom Hanks" inside another ask
    "about": 1.0,       # what a film should be about or be like, in the ask's own words
    "era": 1.0,         # "from the 90s", "nothing before 2000": the years asked for
    # (searched with a later ask, faded: on ReDial's learn folds, prior and contexts from
    # the other fold, turn by turn novel R@10 0.097 / 0.093 without, 0.096 / 0.095 with)
}

ROLE_KIND = {"seed": "film", "liked": "film", "liked_guess": "film", "disliked": "film",
             "genre": "genre", "genre_either": "genre",
             "avoid_genre": "genre", "lean_away": "genre", "person": "person", "avoid_person": "person",
             "fan": "person", "about": "about", "era": "era", "avoid_kind": "kind",
             "avoid_mood": "mood"}


@dataclass(slots=True)
class Pref:
    """One thing the user said: ``kind`` film | genre | person | about | era | kind | mood,
    its ``value`` (a movie id, a genre name, a person's name, the words of a description or
    of what is kept out), ``polarity`` +1 or -1, the ``role`` it was said in (a key of
    ``CONFIDENCE``), the user ``turn`` it was said in (1 = the first message)."""

    kind: str
    value: int | str
    polarity: int
    role: str
    turn: int

    @property
    def confidence(self) -> float:
        return CONFIDENCE.get(self.role, 0.5)

    def weight(self, now: int, decay: float = DECAY) -> float:
        """Its weight at turn ``now``: its confidence, faded by the turns since (slower for
        what the user is against: ``AGAINST_DECAY``)."""
        rate = max(decay, AGAINST_DECAY) if self.polarity < 0 else decay
        return self.confidence * rate ** max(0, now - self.turn)

    def as_list(self) -> list:
        return [self.kind, self.value, self.polarity, self.role, self.turn]

    @classmethod
    def from_list(cls, row) -> Pref | None:
        try:
            kind, value, polarity, role, turn = row
        except (TypeError, ValueError):
            return None     # a damaged row: left out
        if ROLE_KIND.get(role) != kind or type(polarity) is not int or polarity not in (1, -1) \
                or type(turn) is not int or turn < 1:
            return None
        if (kind == "film") != (type(value) is int) or not (isinstance(value, (int, str))):
            return None
        return cls(kind, value, polarity, role, turn)


FEEDBACK_ROLE = {"like": "liked", "dislike": "disliked"}   # feedback kind -> role ("seen": none)


def said(intent, feedback: dict[int, str] | None = None) -> list[tuple[str, int | str, int, str]]:
    """What one message says of films, genres and people: (kind, value, polarity, role);
    ``feedback`` (film -> like | dislike | seen) adds the films it judges that the message
    does not name ("#2 loved it")."""
    out: list[tuple[str, int | str, int, str]] = []
    for m in intent.seeds:
        if m.movie_id is not None and not any(m is x for x in intent.liked):
            out.append(("film", m.movie_id, 1, "liked_guess" if m.learned else "seed"))
    for m in intent.liked:
        out.append(("film", m.movie_id, 1, "liked"))
    for m in intent.disliked:
        out.append(("film", m.movie_id, -1, "disliked"))
    for m in intent.seen:    # "I watched X last week": the learned reader says liked
        if m.learned and m.movie_id is not None and not any(m is s for s in intent.seeds):
            out.append(("film", m.movie_id, 1, "liked_guess"))
    for group in intent.genres:
        for g in group:    # one of an either-or word's genres ("family": children or animation)
            either = len(group) > 1 and g not in intent.named_genres
            out.append(("genre", g, 1, "genre_either" if either else "genre"))
    for g in intent.exclude_genres:
        out.append(("genre", g, -1, "avoid_genre"))
    for g in intent.lean_away:
        out.append(("genre", g, -1, "lean_away"))
    for p in intent.people:
        out.append(("person", p.name, 1, "person"))
    for p in intent.avoid_people:
        out.append(("person", p.name, -1, "avoid_person"))
    for p in intent.fans_of:
        out.append(("person", p.name, 1, "fan"))
    for kind in intent.avoid_kinds:
        out.append(("kind", kind, -1, "avoid_kind"))
    for mood in intent.avoid_moods:
        out.append(("mood", mood, -1, "avoid_mood"))
    if intent.describe:     # "a heist that goes wrong": searched for now, carried faded
        out.append(("about", intent.describe, 1, "about"))
    if intent.year_min is not None or intent.year_max is not None:   # "from the 90s"
        out.append(("era", era_value(intent.year_min, intent.year_max), 1, "era"))
    named = {v for k, v, _, _ in out if k == "film"}
    for m, kind in (feedback or {}).items():
        if kind in FEEDBACK_ROLE and m not in named:
            out.append(("film", m, 1 if kind == "like" else -1, FEEDBACK_ROLE[kind]))
    return out


def era_value(year_min: int | None, year_max: int | None) -> str:
    """An era as a preference value: "1990-1999", "2000-" (from 2000), "-1989"."""
    return f"{year_min if year_min is not None else ''}-{year_max if year_max is not None else ''}"


def era_bounds(value: str) -> tuple[int | None, int | None]:
    """``era_value``'s bounds back; (None, None) for a value that does not read as one."""
    lo, _, hi = str(value).partition("-")
    try:
        return (int(lo) if lo else None), (int(hi) if hi else None)
    except ValueError:
        return None, None


def in_era(year: int | None, lo: int | None, hi: int | None) -> bool:
    """Whether a film of ``year`` is of the era from ``lo`` to ``hi`` (either may be open)."""
    return year is not None and (lo is None or year >= lo) and (hi is None or year <= hi)


def without(prefs: list[Pref], kind: str, values=None, *, keep_against: bool = False) -> list[Pref]:
    """``prefs`` less those of ``kind`` (only ``values`` of it, when given); with
    ``keep_against``, what the user is against stays ("make it a comedy" keeps "no horror")."""
    return [p for p in prefs if p.kind != kind or (values is not None and p.value not in values)
            or (keep_against and p.polarity < 0)]


def drop_films(rows, movie_ids) -> list:
    """Stored preference rows (``Pref.as_list``) less those of ``movie_ids``; rows that do
    not read as preferences stay as they are."""
    ids = {int(m) for m in movie_ids}
    return [r for r in rows if not ((p := Pref.from_list(r)) and p.kind == "film" and p.value in ids)]


def update(prefs: list[Pref], items, turn: int) -> list[Pref]:
    """``prefs`` with what turn ``turn`` said (``said`` rows): the newest word on a film,
    genre or person replaces the older one, whatever its polarity."""
    keep = {(p.kind, p.value): p for p in prefs}
    for kind, value, polarity, role in items:
        old = keep.get((kind, value))
        if role == "genre_either" and old is not None and old.polarity < 0:
            continue    # "no animation", then "family stuff": the avoided genre stays avoided
        keep.pop((kind, value), None)
        if kind == "era":   # one era at a time: the newest years asked for replace the older
            keep = {key: p for key, p in keep.items() if p.kind != "era"}
        keep[(kind, value)] = Pref(kind, value, polarity, role, turn)
    out = sorted(keep.values(), key=lambda p: p.turn)
    return out[-MAX_PREFS:]


def carried(prefs: list[Pref], now: int, kind: str, decay: float = DECAY) -> dict:
    """The preferences of ``kind`` said before turn ``now``, each value with its signed
    weight (polarity x confidence x fading), those under ``FLOOR`` left out."""
    out = {}
    for p in prefs:
        if p.kind != kind or p.turn >= now:
            continue
        w = p.weight(now, decay)
        if w >= FLOOR:
            out[p.value] = p.polarity * w
    return out
