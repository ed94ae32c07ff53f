"""The built catalog as plain data: JSON in, JSON out, never code.

The catalog is kept ready-made in the data dir (agent/workspace/data.py) because building it
takes over a second. That file is data the user's machine may share, sync or restore, so it
is written and read as JSON only: reading it can build movies, a title index and a people
index and nothing else. A file that is not what :func:`dump` wrote (torn, edited, from
another version, or crafted) fails :func:`load` with :class:`SnapshotError`, and the caller
builds the catalog afresh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

FORMAT = "recbot-catalog-snapshot/1"


class SnapshotError(ValueError):
    """The file is not a catalog snapshot this version wrote."""


def dump(catalog, fh: IO[bytes]) -> None:
    """Write ``catalog`` (its title index, people index and id digest included) as JSON."""
    from .catalog import _MOVIE_FIELDS

    people = catalog.__dict__.get("_people_index")
    movies = list(catalog)
    data = {
        "format": FORMAT,
        "dataset_dir": str(catalog.dataset_dir),
        # column by column: read back with one map() per column, not a loop per film
        "movies": {f: [getattr(m, f) for m in movies] for f in _MOVIE_FIELDS},
        "popularity": [list(map(int, catalog.popularity)),
                       list(map(int, catalog.popularity.values()))],
        "enrichment": _report_data(catalog.enrichment),
        "id_digest": catalog.id_digest(),
        "titles": catalog.titles.to_data(),
        "people": None if people is None else _people_data(people),
    }
    fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                        allow_nan=False).encode("utf-8"))


def load(fh: IO[bytes]):
    """The catalog a :func:`dump` wrote; :class:`SnapshotError` for anything else."""
    try:
        data = json.loads(fh.read().decode("utf-8"), parse_constant=_no_constant)
        return _catalog(data)
    except SnapshotError:
        raise
    except Exception as err:  # noqa: BLE001 — nested too deep, numbers too big, wrong shapes
        raise SnapshotError(f"not a catalog snapshot ({type(err).__name__}: "
                            f"{str(err)[:200]})") from None


def _no_constant(name: str):
    raise SnapshotError(f"not a catalog snapshot ({name} in the file)")


def _catalog(data: Any):
    from .catalog import Catalog, Movie
    from .titles import TitleIndex

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError("not a catalog snapshot of this version")
    columns = _movie_columns(data["movies"])
    movies = dict(zip(columns[0], map(Movie, *columns), strict=True))
    if len(movies) != len(columns[0]):
        raise SnapshotError("a movie id appears twice")
    ids, counts = _list(data["popularity"])
    _only(ids, int), _only(counts, int)
    popularity = dict(zip(ids, counts, strict=True))
    catalog = Catalog(movies, popularity, _report(data["enrichment"]),
                      Path(_str(data["dataset_dir"])))
    digest = _str(data["id_digest"])
    if digest != catalog.id_digest():
        raise SnapshotError("the movie ids do not match the digest")
    titles = TitleIndex.from_data(data["titles"])
    if len(titles) != len(catalog):
        raise SnapshotError("the title index does not match the movies")
    catalog.__dict__["titles"] = titles
    if data["people"] is not None:
        catalog.__dict__["_people_index"] = _people(data["people"])
    return catalog


# ----- checked conversions (JSON has no tuples, no int keys) -----------------------------

def _column_types(name: str) -> tuple[type, ...]:
    if name in ("genres", "tags", "stars", "alt_titles", "codirectors"):
        return (list,)
    if name == "movie_id":
        return (int,)
    if name in ("year", "runtime_min"):
        return (int, type(None))
    if name in ("overview", "director", "certificate"):
        return (str, type(None))
    if name == "imdb_rating":
        return (int, float, type(None))
    return (str,)


def _movie_fields() -> tuple[str, ...]:
    from .catalog import _MOVIE_FIELDS

    return _MOVIE_FIELDS


def _only(values: list, *types: type) -> None:
    """Every value of the list is of one of ``types`` (checked at C speed)."""
    if not isinstance(values, list) or not set(map(type, values)) <= set(types):
        raise SnapshotError(f"expected a list of {' or '.join(t.__name__ for t in types)}")


def _movie_columns(data: Any) -> list[list]:
    """The Movie fields, column by column, each checked for its type (lists of text become
    tuples), all of one length."""
    from itertools import chain

    if not isinstance(data, dict):
        raise SnapshotError("the movies are not a mapping of columns")
    columns = []
    for name in _movie_fields():
        column = data[name]
        allowed = _column_types(name)
        _only(column, *allowed)
        if allowed == (list,):
            _only(list(chain.from_iterable(column)), str)
            column = list(map(tuple, column))
        columns.append(column)
    if len({len(c) for c in columns}) != 1:
        raise SnapshotError("movie columns of different lengths")
    return columns


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise SnapshotError(f"expected a list, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise SnapshotError(f"expected a whole number, got {type(value).__name__}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise SnapshotError(f"expected text, got {type(value).__name__}")
    return value


def _report_data(report) -> dict:
    return {"total_rows": report.total_rows, "matched": report.matched,
            "unmatched": [list(u) for u in report.unmatched],
            "reasons_count": dict(report.reasons_count), "matched_by": dict(report.matched_by)}


def _report(data: Any):
    from .enrich import EnrichmentReport

    if not isinstance(data, dict):
        raise SnapshotError("the enrichment report is not a mapping")
    unmatched = tuple((_str(t), None if y is None else _int(y), _str(r))
                      for t, y, r in _list(data["unmatched"]))
    return EnrichmentReport(
        total_rows=_int(data["total_rows"]), matched=_int(data["matched"]), unmatched=unmatched,
        reasons_count={_str(k): _int(v) for k, v in data["reasons_count"].items()},
        matched_by={_str(k): _int(v) for k, v in data["matched_by"].items()})


def _people_data(people) -> list:
    folded, films, surnames = people
    names = list(films)
    return [folded, [names, [list(map(int, films[n])) for n in names],
                     [list(films[n].values()) for n in names]], surnames]


def _people(data: Any):
    from itertools import chain

    folded, (names, ids, roles), surnames = _list(data)
    for mapping in (folded, surnames):
        if not isinstance(mapping, dict):
            raise SnapshotError("the people index is not what was written")
        _only(list(mapping), str), _only(list(mapping.values()), str)
    _only(names, str), _only(ids, list), _only(roles, list)
    _only(list(chain.from_iterable(ids)), int), _only(list(chain.from_iterable(roles)), str)
    films = {name: dict(zip(i, r, strict=True))
             for name, i, r in zip(names, ids, roles, strict=True)}
    return folded, films, surnames
