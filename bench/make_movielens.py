"""Generate a synthetic MovieLens-format dataset shaped like ml-25m / ml-32m.

Writes movies.csv, ratings.csv, tags.csv and links.csv in the format of
retrieval/data/ml-latest-small/ (and the GroupLens full sets). Sizes follow ml-32m
(200,948 users, 87,585 films, 32 M ratings): users ~ N/150, films ~ N/370.

Structure, so a ranker has something to learn:
* film popularity is Zipf-like (weight ~ (rank + 10)^-1.05), user activity is Pareto-like
  with every user >= 20 ratings (as in MovieLens);
* rating = clip(round_to_half(mu + b_u + b_i + p_u.q_i + noise), 0.5, 5.0) with latent
  factors where q_i is partly built from the film's genres;
* timestamps 1995..2023 (per-user activity window), no duplicate (user, film) pairs,
  ~1 tag per 30 ratings from a small, genre-aware vocabulary.

Seeded and written in chunks of users with numpy, so 32 M ratings need well under
2 GB of RAM.

    python bench/make_movielens.py --ratings 1000000 --out /tmp/ml-1m [--seed 0]

``--films N`` sets the number of films instead of N ratings / 370 (ml-32m itself has
87,585); ``--movies-only`` writes the catalog files alone (movies.csv, links.csv and a
tags.csv drawn per film as the ratings pass would, ~1 tag per 30 ratings, popular films
tagged most) and no ratings: the same movies.csv as a full run with the same arguments,
in seconds instead of minutes.

    python bench/make_movielens.py --films 87585 --movies-only --out /tmp/ml-32m-catalog
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

GENRES = ("Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
          "Sci-Fi", "Thriller", "War", "Western")
# rough ml-32m genre frequencies (relative)
GENRE_WEIGHTS = np.array([9, 5, 3, 3, 23, 7, 6, 27, 4, 0.6, 7, 0.3, 1.2, 3.5, 8, 4, 9, 1.8, 1.2])

ADJ = ("Silent", "Broken", "Golden", "Hidden", "Last", "Lost", "Crimson", "Quiet", "Wild",
       "Distant", "Frozen", "Burning", "Hollow", "Electric", "Secret", "Northern", "Velvet",
       "Savage", "Gentle", "Endless", "Restless", "Shattered", "Forgotten", "Sacred",
       "Midnight", "Iron", "Paper", "Glass", "Scarlet", "Bitter", "Sweet", "Lonely", "Brave",
       "Pale", "Dark", "Bright", "Empty", "Final", "First", "Second", "Little", "Great",
       "Black", "White", "Blue", "Silver", "Hungry", "Crooked", "Falling", "Rising",
       "Sleeping", "Wandering", "Painted", "Invisible", "Eternal", "Strange", "Perfect",
       "Wicked", "Honest", "Stolen")
NOUN = ("River", "Mountain", "City", "Garden", "Road", "House", "Winter", "Summer", "Storm",
        "Harbor", "Island", "Forest", "Desert", "Kingdom", "Promise", "Letter", "Mirror",
        "Shadow", "Dream", "Horizon", "Station", "Bridge", "Tower", "Valley", "Ocean", "Moon",
        "Sun", "Star", "Heart", "Hand", "Voice", "Song", "Dance", "Game", "Machine", "Engine",
        "Empire", "Frontier", "Border", "Canyon", "Lighthouse", "Circus", "Carnival", "Hotel",
        "Palace", "Prison", "Village", "Harvest", "Season", "Journey", "Passage", "Signal",
        "Echo", "Whisper", "Thunder", "Lantern", "Compass", "Anchor", "Orchard", "Meadow",
        "Glacier", "Volcano", "Comet", "Planet", "Orbit", "Circuit", "Cipher", "Ledger",
        "Verdict", "Witness", "Stranger", "Daughter", "Brother", "Sister", "Father", "Mother",
        "Captain", "Soldier", "Teacher", "Doctor", "Dancer", "Painter", "Thief", "Hunter",
        "Pilot", "Sailor", "Widow", "Prince", "Queen", "King", "Angel", "Ghost", "Wolf",
        "Raven", "Tiger", "Horse", "Fox", "Bear", "Dragon", "Serpent")
GLOBAL_TAGS = ("atmospheric", "visually appealing", "great soundtrack", "classic",
               "overrated", "underrated", "slow", "beautiful", "cult film", "boring",
               "masterpiece", "predictable", "based on a book", "twist ending", "quirky",
               "thought-provoking", "great acting", "bad acting", "remake", "sequel")
GENRE_TAGS = {"Action": ("explosions", "car chase", "martial arts", "fast paced"),
              "Adventure": ("treasure hunt", "epic", "exploration"),
              "Animation": ("pixar", "anime", "hand-drawn"),
              "Children": ("family", "kids", "talking animals"),
              "Comedy": ("funny", "hilarious", "dark comedy", "satire", "witty"),
              "Crime": ("heist", "gangster", "mafia", "police"),
              "Documentary": ("true story", "history", "nature"),
              "Drama": ("emotional", "tearjerker", "character study", "melancholy"),
              "Fantasy": ("magic", "dragons", "fairy tale"),
              "Film-Noir": ("noir", "femme fatale"),
              "Horror": ("scary", "gore", "haunted house", "zombies"),
              "IMAX": ("imax",),
              "Musical": ("singing", "broadway"),
              "Mystery": ("whodunit", "detective", "suspense"),
              "Romance": ("romantic", "love story", "chick flick"),
              "Sci-Fi": ("space", "time travel", "aliens", "dystopia", "robots"),
              "Thriller": ("tense", "psychological", "conspiracy"),
              "War": ("world war ii", "vietnam", "military"),
              "Western": ("cowboys", "gunfight")}

T_START = 788918400     # 1995-01-01
T_END = 1703980800      # 2023-12-31
DIM = 8
CHUNK_RATINGS = 2_000_000


def shape(n_ratings: int) -> tuple[int, int]:
    """(users, films) for N ratings, ml-32m proportions."""
    users = max(25, round(n_ratings / 150))
    films = max(50, round(n_ratings / 370))
    return users, films


def user_counts(rng: np.random.Generator, n_ratings: int, users: int, films: int) -> np.ndarray:
    """Ratings per user: >= 20, Pareto-like tail, summing to n_ratings, capped below films."""
    cap = max(20, min(int(0.8 * films), 6000))          # heaviest ml-32m user ~ 33 k; keep feasible
    w = rng.pareto(1.4, users) + 0.05
    extra = n_ratings - 20 * users
    counts = np.full(users, 20, dtype=np.int64)
    if extra <= 0:
        return counts
    fixed = np.zeros(users, dtype=bool)
    for _ in range(50):                                 # redistribute what the cap cuts off
        free = ~fixed
        left = n_ratings - counts[fixed].sum() - 20 * free.sum()
        share = w[free] / w[free].sum() * left
        c = 20 + np.floor(share).astype(np.int64)
        over = c > cap
        idx = np.flatnonzero(free)
        counts[idx] = np.minimum(c, cap)
        if not over.any():
            break
        fixed[idx[over]] = True
    short = n_ratings - counts.sum()                    # rounding remainder, one each
    if short > 0:
        room = np.flatnonzero(counts < cap)
        pick = rng.choice(room, size=min(short, room.size), replace=False)
        counts[pick] += 1
    return counts


def make_titles(rng: np.random.Generator, films: int) -> list[str]:
    a, n = len(ADJ), len(NOUN)
    out: set[str] = set()
    titles: list[str] = []
    while len(titles) < films:
        kind = rng.integers(0, 5)
        i, j, k = rng.integers(0, a), rng.integers(0, n), rng.integers(0, n)
        if kind == 0:
            t = f"{ADJ[i]} {NOUN[j]}"
        elif kind == 1:
            t = f"The {ADJ[i]} {NOUN[j]}"
        elif kind == 2:
            t = f"{NOUN[j]} of the {NOUN[k]}" if j != k else f"The {NOUN[j]}"
        elif kind == 3:
            t = f"The {NOUN[j]} and the {ADJ[i]} {NOUN[k]}"
        else:
            t = f"{NOUN[j]} of the {ADJ[i]} {NOUN[k]}"
        if t in out:
            if len(out) > 0.9 * (2 * a * n + n * n + 2 * a * n * n):
                t = f"{t} {len(titles)}"
            else:
                continue
        out.add(t)
        titles.append(t)
    return titles


def write_catalog_tags(rng: np.random.Generator, path: Path, n_ratings: int,
                       movie_ids: np.ndarray, pop: np.ndarray, first_genre: np.ndarray,
                       genre_tag_idx: list[np.ndarray], tag_vocab: np.ndarray) -> int:
    """tags.csv without ratings: ~1 tag per 30 ratings a film would get (popularity),
    70% from its genre's vocabulary, as the ratings pass draws them. Returns the count."""
    per_film = rng.poisson(pop * n_ratings / 30)
    films = np.repeat(np.arange(movie_ids.size), per_film)
    fg = first_genre[films]
    tidx = rng.integers(0, len(GLOBAL_TAGS), films.size)
    for i in np.flatnonzero((rng.random(films.size) < 0.7) & (fg >= 0)):
        opts = genre_tag_idx[fg[i]]
        tidx[i] = opts[rng.integers(0, opts.size)]
    users = rng.integers(1, max(2, n_ratings // 150), films.size)
    ts = rng.integers(T_START, T_END, films.size)
    with open(path, "w", newline="") as fh:
        fh.write("userId,movieId,tag,timestamp\n")
        fh.write("".join(f"{u},{m},{t},{s}\n" for u, m, t, s in zip(
            users.tolist(), movie_ids[films].tolist(), tag_vocab[tidx].tolist(), ts.tolist())))
    return int(films.size)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ratings", type=float, help="number of ratings, e.g. 1e6 (default with "
                                                  "--films: 370 per film)")
    p.add_argument("--films", type=int, help="number of films (default: ratings / 370)")
    p.add_argument("--movies-only", action="store_true",
                   help="write movies.csv, links.csv and tags.csv only, no ratings")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.ratings is None and args.films is None:
        p.error("give --ratings, --films or both")
    n_ratings = int(args.ratings) if args.ratings is not None else 370 * args.films
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    users, films = shape(n_ratings)
    films = args.films or films

    # ---- films: ids, popularity, genres, latent factors, titles
    movie_ids = np.sort(rng.choice(np.arange(1, 3 * films + 2), size=films, replace=False))
    rank = rng.permutation(films)                      # popularity rank, uncorrelated with id
    pop = (rank + 10.0) ** -1.05
    pop /= pop.sum()
    cdf = np.cumsum(pop)
    cdf[-1] = 1.0
    gw = GENRE_WEIGHTS / GENRE_WEIGHTS.sum()
    n_gen = rng.choice([1, 2, 3, 4], size=films, p=[0.35, 0.35, 0.22, 0.08])
    genre_sets = [np.sort(rng.choice(len(GENRES), size=k, replace=False, p=gw)) for k in n_gen]
    no_genre = rng.random(films) < 0.02
    gvec = rng.normal(0, 0.45, (len(GENRES), DIM))
    q = rng.normal(0, 0.25, (films, DIM))
    for f, gs in enumerate(genre_sets):
        if not no_genre[f]:
            q[f] += gvec[gs].mean(axis=0)
    b_i = rng.normal(0, 0.45, films) + 0.25 * (np.log(pop) - np.log(pop).mean()) / np.log(pop).std()
    titles = make_titles(rng, films)
    years = np.clip(2023 - np.floor(rng.exponential(20, films)), 1902, 2023).astype(int)
    with open(out / "movies.csv", "w", newline="") as fh:
        fh.write("movieId,title,genres\n")
        fh.write("".join(
            f"{movie_ids[f]},{titles[f]} ({years[f]}),"
            f"{'(no genres listed)' if no_genre[f] else '|'.join(GENRES[g] for g in genre_sets[f])}\n"
            for f in range(films)))
    imdb = rng.choice(np.arange(10_000, 9_999_999), size=films, replace=False)
    tmdb = rng.choice(np.arange(1, 1_500_000), size=films, replace=False)
    with open(out / "links.csv", "w", newline="") as fh:
        fh.write("movieId,imdbId,tmdbId\n")
        fh.write("".join(f"{movie_ids[f]},{imdb[f]:07d},{tmdb[f]}\n" for f in range(films)))
    first_genre = np.array([-1 if no_genre[f] else int(rng.choice(genre_sets[f]))
                            for f in range(films)])
    tag_vocab = list(GLOBAL_TAGS)
    genre_tag_idx = []
    for g in GENRES:
        genre_tag_idx.append(np.arange(len(tag_vocab), len(tag_vocab) + len(GENRE_TAGS[g])))
        tag_vocab.extend(GENRE_TAGS[g])
    tag_vocab_arr = np.array(tag_vocab, dtype=object)
    if args.movies_only:
        n_tags = write_catalog_tags(rng, out / "tags.csv", n_ratings, movie_ids, pop,
                                    first_genre, genre_tag_idx, tag_vocab_arr)
        print(f"wrote {out}: {films:,} films, {n_tags:,} tags, no ratings "
              f"in {time.perf_counter() - t0:.1f} s")
        return

    # ---- users
    counts = user_counts(rng, n_ratings, users, films)
    b_u = rng.normal(0, 0.4, users)
    p_u = rng.normal(0, 0.45, (users, DIM))
    start = rng.uniform(T_START, T_END - 86400 * 30, users)
    span = np.minimum(rng.exponential(86400 * 365 * 1.5, users) + 3600, T_END - start)
    mu = 3.5
    heavy = max(20, films // 40)                       # above this, sample exactly (Gumbel top-k)
    log_pop = np.log(pop)

    written = n_tags = 0
    rf = open(out / "ratings.csv", "w", newline="")
    tf = open(out / "tags.csv", "w", newline="")
    rf.write("userId,movieId,rating,timestamp\n")
    tf.write("userId,movieId,tag,timestamp\n")
    bounds = np.searchsorted(np.cumsum(counts), np.arange(CHUNK_RATINGS, n_ratings + CHUNK_RATINGS,
                                                          CHUNK_RATINGS), side="right")
    lo = 0
    for hi in np.unique(np.append(bounds, users)):
        hi = int(min(max(hi, lo + 1), users))
        if lo >= users:
            break
        us = np.arange(lo, hi)
        k = counts[us]
        parts_u, parts_f = [], []
        # heavy users: exact weighted sampling without replacement
        for u in us[k > heavy]:
            keys = log_pop - np.log(-np.log(rng.random(films)))
            sel = np.argpartition(-keys, counts[u])[:counts[u]]
            parts_u.append(np.full(sel.size, u, dtype=np.int64))
            parts_f.append(sel.astype(np.int64))
        # light users: oversample with replacement, dedupe, top up
        need_u = us[k <= heavy]
        need_k = counts[need_u].copy()
        got_u = np.empty(0, np.int64)
        got_f = np.empty(0, np.int64)
        for _ in range(100):
            if need_u.size == 0:
                break
            draws = np.ceil(need_k * 1.3 + 2).astype(np.int64)
            du = np.repeat(need_u, draws)
            df = np.searchsorted(cdf, rng.random(du.size), side="right").clip(0, films - 1)
            key = np.unique(np.concatenate([got_u * films + got_f, du * films + df]))
            ku, kf = key // films, key % films
            # random subset of size counts[u] per user
            order = np.lexsort((rng.random(ku.size), ku))
            ku, kf = ku[order], kf[order]
            starts = np.searchsorted(ku, ku, side="left")
            pos = np.arange(ku.size) - starts
            keep = pos < counts[ku]
            got_u, got_f = ku[keep], kf[keep]
            have = np.bincount(got_u - lo, minlength=hi - lo)[need_u - lo]
            short = have < counts[need_u]
            need_k = (counts[need_u] - have)[short]
            need_u = need_u[short]
        parts_u.append(got_u)
        parts_f.append(got_f)
        cu = np.concatenate(parts_u)
        cf = np.concatenate(parts_f)
        order = np.lexsort((movie_ids[cf], cu))
        cu, cf = cu[order], cf[order]
        x = (mu + b_u[cu] + b_i[cf] + np.einsum("ij,ij->i", p_u[cu], q[cf])
             + rng.normal(0, 0.6, cu.size))
        r = np.clip(np.round(x * 2) / 2, 0.5, 5.0)
        ts = (start[cu] + rng.random(cu.size) * span[cu]).astype(np.int64)
        mat = np.column_stack([cu + 1, movie_ids[cf], r, ts])
        np.savetxt(rf, mat, fmt=("%d", "%d", "%.1f", "%d"), delimiter=",")
        written += cu.size
        # tags: ~1 per 30 ratings
        tsel = np.flatnonzero(rng.random(cu.size) < 1 / 30)
        if tsel.size:
            fg = first_genre[cf[tsel]]
            use_g = (rng.random(tsel.size) < 0.7) & (fg >= 0)
            tidx = rng.integers(0, len(GLOBAL_TAGS), tsel.size)
            for i in np.flatnonzero(use_g):
                opts = genre_tag_idx[fg[i]]
                tidx[i] = opts[rng.integers(0, opts.size)]
            tts = ts[tsel] + rng.integers(1, 3600, tsel.size)
            tf.write("".join(f"{a},{b},{c},{d}\n" for a, b, c, d in zip(
                (cu[tsel] + 1).tolist(), movie_ids[cf[tsel]].tolist(),
                tag_vocab_arr[tidx].tolist(), tts.tolist())))
            n_tags += tsel.size
        lo = hi
        el = time.perf_counter() - t0
        print(f"  users {hi:>8,}/{users:,}  ratings {written:>12,}  {written / el:,.0f} rows/s",
              flush=True)
    rf.close()
    tf.close()
    el = time.perf_counter() - t0
    sizes = {n: os.path.getsize(out / n) for n in ("movies.csv", "ratings.csv", "tags.csv",
                                                   "links.csv")}
    print(f"wrote {out}: {users:,} users, {films:,} films, {written:,} ratings, {n_tags:,} tags "
          f"in {el:.1f} s ({written / el:,.0f} rows/s)")
    for n, s in sizes.items():
        print(f"  {n:12s} {s / 1e6:10.1f} MB")


if __name__ == "__main__":
    main()
