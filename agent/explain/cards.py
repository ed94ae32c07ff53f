"""What a card shows before its reason, as plain text (no heavy imports: the TUI uses it)."""

from __future__ import annotations

import re

from ..i18n import N_


def first_sentence(text: str, limit: int = 160) -> str:
    """The plot's first sentence ("Mr." and initials do not end it), at most ``limit``."""
    text = " ".join(text.split())
    m = re.search(r"(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)(?<!\b[A-Z])[.!?](?=\s+[A-Z\"'])", text)
    line = text[: m.end()] if m else text
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return line


def card_line(info: dict) -> str:
    """``"1995 · 170 min · MovieLens 3.9/5 (102 ratings) · IMDb 8.3"``, in the language of
    the answer that showed the card (``info["lang"]``, English without it)."""
    from ..i18n import ntr, speaking, tr

    parts = []
    with speaking(info.get("lang")):
        if info.get("year"):
            parts.append(str(info["year"]))
        if info.get("runtime_min"):
            parts.append(tr("{minutes} min", minutes=info["runtime_min"]))
        if info.get("ml_count"):
            parts.append(ntr("MovieLens {mean:.1f}/5 ({n} rating)",
                             "MovieLens {mean:.1f}/5 ({n} ratings)", info["ml_count"],
                             mean=info["ml_mean"]))
        if info.get("imdb_rating"):
            parts.append(f"IMDb {info['imdb_rating']:.1f}")
    if info.get("sound_picture"):       # one of the user's videos
        with speaking(info.get("lang")):
            parts.append(tr("your video"))
        parts.append(sound_picture_line(info))
    return " · ".join(p for p in parts if p)


def sound_picture_line(info: dict) -> str:
    """A video's sound and picture as its card says them ("a cut every 2.1 s · bright ·
    loud · mostly music"), in the language of the answer; "" when unknown."""
    from recbot.retrieval.sound_picture import Descriptors

    from ..i18n import speaking, tr

    d = Descriptors.from_dict(info.get("sound_picture"))
    if d is None:
        return ""
    words = d.words()
    parts = []
    with speaking(info.get("lang")):
        if d.cuts:
            parts.append(tr("a cut every {s:.1f} s", s=d.duration / d.cuts))
        elif d.cuts == 0:
            parts.append(tr("one long shot"))
        for aspect in ("light", "colour", "motion", "loudness", "sound"):
            w = words.get(aspect)
            if w == "beat" and d.tempo_bpm:
                parts.append(tr("a steady beat ({bpm:.0f} BPM)", bpm=d.tempo_bpm))
            elif w in ASPECTS:
                parts.append(tr(ASPECTS[w]))
    return " · ".join(parts)


def card_genres(genres, info: dict | None = None) -> str:
    """A card's genres ("Crime, Drama"), named in the language of its answer."""
    from ..i18n import genre, join, speaking

    with speaking((info or {}).get("lang")):
        return join([genre(g) for g in genres])


# the words of a video's sound and picture (sound_picture.Descriptors.words), as phrases
# of the catalogs
ASPECTS = {
    "fast": N_("fast-paced"), "slow": N_("slow-paced"), "bright": N_("bright"),
    "dark": N_("dark"), "colourful": N_("colourful"), "muted": N_("muted colours"),
    "moving": N_("lots of motion"), "still": N_("still camera"), "loud": N_("loud"),
    "quiet": N_("quiet"), "speech": N_("mostly speech"), "music": N_("mostly music"),
    "beat": N_("a steady beat"), "noise": N_("mostly noise"), "silence": N_("silent"),
}
BAR_WIDTH = 20


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """``share`` (0..1) as a bar of block characters, eighths included."""
    share = min(max(share, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width, "·")


def taste(profile: dict[int, str], catalog, ratings: dict[int, float] | None = None,
          top: int = 5) -> dict:
    """What the liked films have in common: genres, decades and people, most frequent first
    (each as [name, number of liked films]); among equal counts, those of films rated 5
    first."""
    ratings = ratings or {}
    genres: dict[str, float] = {}
    decades: dict[str, float] = {}
    people: dict[str, float] = {}
    liked = [m for m, kind in profile.items() if kind == "like" and m in catalog]
    for m in liked:
        movie = catalog[m]
        w = 1.001 if ratings.get(m, 0) >= 5 else 1.0      # a 5 only breaks ties
        for g in movie.genres:
            genres[g] = genres.get(g, 0) + w
        if movie.year:
            d = f"{movie.year // 10 * 10}s"
            decades[d] = decades.get(d, 0) + w
        for p in (*getattr(movie, "directors", ()), *movie.stars[:3]):
            people[p] = people.get(p, 0) + w

    def best(counts: dict[str, float], least: float = 1) -> list[list]:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [[k, int(v)] for k, v in ranked if v >= least][:top]

    return {"liked": len(liked), "genres": best(genres), "decades": best(decades),
            "people": best(people, least=2)}


def taste_lines(t: dict, width: int = 16) -> list[str]:
    """The taste as a small bar chart, one line per genre, decade or person."""
    if not t.get("liked"):
        return []
    lines = [f"Your taste, from {t['liked']} liked film{'s' if t['liked'] != 1 else ''}:"]
    for key, title in (("genres", "genres"), ("decades", "decades"), ("people", "people")):
        rows = t.get(key) or []
        if not rows:
            continue
        most = max(v for _, v in rows) or 1
        lines.append(f"  {title}")
        for name, v in rows:
            lines.append(f"    {name[:22]:<22} {bar(v / most, width)} {v:g}")
    return lines
