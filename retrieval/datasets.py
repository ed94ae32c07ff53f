"""MovieLens datasets: the bundled one, the user's folders and zips, and GroupLens downloads.

A dataset is a directory holding MovieLens-format CSVs: movies.csv and ratings.csv, optionally
tags.csv and links.csv. Everything recbot extracts or downloads lives under ``datasets_dir``::

    datasets_dir/
      ml-25m/                      fetched from GroupLens
      my-export-3f9c2a1b07/        extracted from a user's zip (stem + key of path, size, mtime)
      .downloads/ml-25m.zip.part   an interrupted download, resumed by the next fetch
      .tmp-*/  .old-*/             staging; a dataset appears under its name only once valid

Only the CSV-format GroupLens sets are fetchable (``KNOWN_DATASETS``): ml-100k, ml-1m and
ml-10m use other file layouts that the catalog cannot read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import http.client
    from urllib.error import HTTPError

from .errors import DatasetError

logger = logging.getLogger(__name__)

BUNDLED = "ml-latest-small"
DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens"

KNOWN_DATASETS: dict[str, str] = {
    "ml-latest-small": "100k ratings, 9.7k movies (~1 MB; bundled with recbot)",
    "ml-latest": "33M ratings, 86k movies (~335 MB; updated over time)",
    "ml-32m": "32M ratings, 87k movies (~239 MB)",
    "ml-25m": "25M ratings, 62k movies (~250 MB)",
    "ml-20m": "20M ratings, 27k movies (~190 MB)",
}

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "movies.csv": ("movieId", "title", "genres"),
    "ratings.csv": ("userId", "movieId", "rating", "timestamp"),
}

Source = Literal["bundled", "fetched", "extracted"]
Progress = Callable[[int, int | None], None]

_MARKER = ".recbot-dataset.json"
_CHUNK = 256 * 1024
_MAX_LINE = 64 * 1024  # a header longer than this is not a MovieLens header
_USER_AGENT = "recbot (+https://grouplens.org/datasets/movielens/)"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _transient() -> tuple[type[BaseException], ...]:
    """The errors a retry may cure (HTTPError is handled first). The network modules are
    imported only by a download: they cost ~15 ms of every command that reads a dataset."""
    import http.client
    from urllib.error import URLError

    return (URLError, OSError, http.client.HTTPException)


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One dataset recbot can open by name."""

    name: str
    path: Path
    source: Source
    origin: str | None = None  # the URL or zip it came from
    movies: int | None = None  # row counts, only when list_datasets(count_rows=True)
    ratings: int | None = None


def bundled_dataset_dir() -> Path:
    """The ml-latest-small copy shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / BUNDLED


# -- validation ------------------------------------------------------------------------------


def validate_dataset_dir(path: Path) -> Path:
    """Check movies.csv and ratings.csv exist, have rows and the MovieLens header columns."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(
            f"{path}: not a directory; point at a folder holding movies.csv and ratings.csv"
        )
    for filename, columns in REQUIRED_COLUMNS.items():
        file = path / filename
        if not file.is_file():
            raise DatasetError(
                f"{file}: missing; a MovieLens dataset folder needs movies.csv and ratings.csv"
            )
        with file.open("rb") as fh:
            _check_header(fh, str(file), columns)
    return path


def _check_header(fh: IO[bytes], label: str, columns: tuple[str, ...]) -> None:
    """Read the header line and the first row only; the files can be gigabytes."""
    expected = ",".join(columns)
    header = fh.readline(_MAX_LINE).decode("utf-8-sig", errors="replace").strip()
    if not header:
        raise DatasetError(f"{label}: file is empty; expected a header '{expected}' and rows")
    found = {column.strip().strip('"') for column in header.split(",")}
    missing = [column for column in columns if column not in found]
    if missing:
        raise DatasetError(
            f"{label}: header '{header[:80]}' lacks {', '.join(missing)}; "
            f"a MovieLens file starts with '{expected}'"
        )
    if not fh.readline(_MAX_LINE).strip():
        raise DatasetError(f"{label}: has a header but no rows; re-export or re-download it")


# -- opening -------------------------------------------------------------------------------


def open_dataset(spec: str, datasets_dir: Path) -> Path:
    """Resolve a name, folder or zip to a directory holding movies.csv and ratings.csv.

    ``builtin`` is always the bundled set; a bare name is looked up in ``datasets_dir`` first
    (so a fetched ml-latest-small shadows the bundled one); anything else is a path.
    """
    datasets_dir = Path(datasets_dir)
    spec = spec.strip()
    if not spec:
        raise DatasetError("empty dataset name; use builtin, a fetched name, a folder or a zip")
    if spec == "builtin":
        return bundled_dataset_dir()
    if _NAME.fullmatch(spec):
        installed = datasets_dir / spec
        if installed.is_dir():
            return validate_dataset_dir(installed)
        if spec == BUNDLED:
            return bundled_dataset_dir()
    path = Path(spec).expanduser()
    if path.is_dir():
        return _dataset_in_dir(path)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            raise DatasetError(f"{path}: is a single CSV; point at the folder that holds it")
        return _open_zip(path, datasets_dir)
    if spec in KNOWN_DATASETS:
        raise DatasetError(f"{spec} is not downloaded yet; run `recbot data fetch {spec}`")
    available = ", ".join(["builtin", *sorted({info.name for info in list_datasets(datasets_dir)})])
    raise DatasetError(
        f"{spec!r} is not a dataset name, folder or zip; available: {available} "
        f"(or fetch one of {', '.join(KNOWN_DATASETS)})"
    )


def _dataset_in_dir(path: Path) -> Path:
    if (path / "movies.csv").exists() or (path / "ratings.csv").exists():
        return validate_dataset_dir(path)
    inside = sorted(p for p in path.iterdir() if p.is_dir() and (p / "movies.csv").is_file())
    if len(inside) == 1:
        return validate_dataset_dir(inside[0])
    if not inside:
        raise DatasetError(
            f"{path}: no movies.csv here or in a subfolder; point at a MovieLens dataset folder"
        )
    names = ", ".join(p.name for p in inside)
    raise DatasetError(f"{path}: holds several datasets ({names}); point at one of them")


def _open_zip(zip_path: Path, datasets_dir: Path) -> Path:
    """Extract a user's zip once; a changed file (size or mtime) gets a fresh copy."""
    resolved = zip_path.resolve()
    stat = resolved.stat()
    key = hashlib.sha256(f"{resolved}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", zip_path.stem).lstrip("._-") or "dataset"
    target = datasets_dir / f"{stem}-{key[:10]}"
    if target.is_dir():
        return validate_dataset_dir(target)
    marker = {"source": "extracted", "origin": str(resolved)}
    _extract_zip(resolved, target, marker=marker, label=str(zip_path), replace=False)
    return target


def _extract_zip(
    zip_path: Path, target: Path, *, marker: dict[str, str], label: str, replace: bool
) -> None:
    """Check a MovieLens zip, extract its dataset folder in staging, then move it to target."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            root = _dataset_root(archive, label)
            for filename, columns in REQUIRED_COLUMNS.items():
                with archive.open(root + filename) as fh:
                    _check_header(fh, f"{label}: {root + filename}", columns)
            target.parent.mkdir(parents=True, exist_ok=True)
            with _staging_dir(target.parent) as staging:
                for member in archive.infolist():
                    if member.filename.startswith(root) and not member.is_dir():
                        archive.extract(member, staging)
                staged = staging / root
                (staged / _MARKER).write_text(json.dumps(marker), encoding="utf-8")
                validate_dataset_dir(staged)
                _install(staged, target, replace=replace)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise DatasetError(
            f"{label}: not a readable zip archive ({err}); re-download it "
            "or unzip it and point at the folder"
        ) from None
    except NotImplementedError:  # e.g. Deflate64 from Windows' zipper
        raise DatasetError(
            f"{label}: uses a compression method Python cannot read; unzip it yourself "
            "and point at the folder"
        ) from None
    except OSError as err:
        raise DatasetError(
            f"{label}: extracting into {target.parent} failed ({err.strerror or err}); "
            "check free disk space and permissions"
        ) from None


def _dataset_root(archive: zipfile.ZipFile, label: str) -> str:
    """The member prefix ('' or 'folder/') of the one folder holding movies.csv."""
    names = set(archive.namelist())
    roots = sorted(
        name[: -len("movies.csv")]
        for name in names
        if (name == "movies.csv" or name.endswith("/movies.csv"))
        and name.count("/") <= 1
        and not name.startswith("__MACOSX/")
    )
    if not roots:
        raise DatasetError(
            f"{label}: no movies.csv at the top or in a top folder; is this a MovieLens zip?"
        )
    if len(roots) > 1:
        raise DatasetError(f"{label}: holds several datasets ({', '.join(roots)}); zip only one")
    if roots[0] + "ratings.csv" not in names:
        raise DatasetError(f"{label}: has movies.csv but no ratings.csv next to it in {roots[0]}")
    return roots[0]


@contextmanager
def _staging_dir(parent: Path) -> Iterator[Path]:
    """A hidden temp dir on the same filesystem as the target, so renames are atomic."""
    path = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _install(staged: Path, target: Path, *, replace: bool) -> None:
    """Move a validated dataset into place; an existing one is swapped out only now."""
    try:
        staged.rename(target)
        return
    except OSError:
        if not target.exists():
            raise
    if not replace:  # another process extracted the same zip first; keep theirs
        return
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    target.rename(old)
    try:
        staged.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# -- listing -------------------------------------------------------------------------------


def list_datasets(datasets_dir: Path, *, count_rows: bool = False) -> list[DatasetInfo]:
    """The bundled dataset, then every valid dataset under ``datasets_dir`` by name.

    Row counts are line counts minus the header (MovieLens titles hold no newlines), read only
    when ``count_rows`` is set because ml-25m's ratings.csv is 650 MB.
    """
    found = [_info(BUNDLED, bundled_dataset_dir(), "bundled", None, count_rows)]
    datasets_dir = Path(datasets_dir)
    if not datasets_dir.is_dir():
        return found
    for child in sorted(datasets_dir.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        try:
            validate_dataset_dir(child)
        except DatasetError as err:
            logger.warning("skipping %s: %s", child, err)
            continue
        marker = _read_marker(child)
        source = marker.get("source")
        if source not in ("fetched", "extracted"):
            source = "fetched" if child.name in KNOWN_DATASETS else "extracted"
        found.append(_info(child.name, child, source, marker.get("origin"), count_rows))
    return found


def _info(name: str, path: Path, source: Source, origin: str | None, count: bool) -> DatasetInfo:
    if not count:
        return DatasetInfo(name, path, source, origin)
    movies, ratings = (_count_rows(path / f) for f in ("movies.csv", "ratings.csv"))
    return DatasetInfo(name, path, source, origin, movies, ratings)


def _read_marker(path: Path) -> dict[str, str]:
    try:
        data = json.loads((path / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _count_rows(file: Path) -> int:
    lines, last = 0, b"\n"
    with file.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (last != b"\n") - 1, 0)


# -- fetching ------------------------------------------------------------------------------


def fetch_dataset(
    name: str,
    datasets_dir: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    checksum: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Download ``{base_url}/{name}.zip``, verify it, and install it as ``datasets_dir/name``.

    ``checksum`` is an md5 (32 hex) or sha256 (64 hex) digest; without it the published
    ``{name}.zip.md5`` is used, and with neither the download is refused. An interrupted
    download is resumed with an HTTP Range request, both within this call (up to ``retries``
    times, waiting ``backoff * 2**n`` seconds) and by the next call.
    """
    if name not in KNOWN_DATASETS:
        raise DatasetError(
            f"unknown dataset {name!r}; recbot can fetch {', '.join(KNOWN_DATASETS)}"
        )
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise DatasetError(f"{base_url}: only http:// and https:// base URLs are supported")
    url = f"{base}/{name}.zip"
    algorithm, expected = _expected_digest(url, checksum, timeout, retries, backoff)

    datasets_dir = Path(datasets_dir)
    part = datasets_dir / ".downloads" / f"{name}.zip.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    _download(url, part, progress=progress, timeout=timeout, retries=retries, backoff=backoff)

    actual = _file_digest(part, algorithm)
    if actual != expected:
        part.unlink(missing_ok=True)
        raise DatasetError(
            f"{url}: checksum mismatch ({algorithm} expected {expected}, got {actual}); "
            "the download was discarded, run the command again or check --checksum"
        )
    target = datasets_dir / name
    marker = {"source": "fetched", "origin": url, "checksum": f"{algorithm}:{expected}"}
    # A failed extraction (most likely a full disk) keeps the verified .part: the next run
    # gets a 416 for its Range request, re-verifies and extracts without downloading again.
    _extract_zip(part, target, marker=marker, label=url, replace=True)
    part.unlink(missing_ok=True)
    _remove_if_empty(part.parent)
    logger.info("installed %s from %s into %s", name, url, target)
    return target


def _expected_digest(
    url: str, checksum: str | None, timeout: float, retries: int, backoff: float
) -> tuple[str, str]:
    """(algorithm, lowercase hex) from the argument, else from the server's .md5 file."""
    from urllib.error import HTTPError

    if checksum is not None:
        return _parse_checksum(checksum)
    md5_url = f"{url}.md5"
    for attempt in range(retries + 1):
        try:
            with _open_url(md5_url, {}, timeout) as response:
                text = response.read(4096).decode("ascii", errors="replace")
            break
        except HTTPError as err:
            if err.code == 404:
                raise DatasetError(
                    f"{md5_url}: no checksum published (HTTP 404); refusing unverified data, "
                    "pass --checksum HEX (md5 or sha256) to download anyway"
                ) from None
            if attempt == retries or not _retryable(err):
                raise DatasetError(
                    f"{md5_url}: HTTP {err.code} {err.reason}; try again later "
                    "or pass --checksum HEX"
                ) from None
        except _transient() as err:
            if attempt == retries:
                raise DatasetError(
                    f"{md5_url}: could not download the checksum ({_reason(err)}); "
                    "check your connection and try again"
                ) from None
        time.sleep(min(backoff * 2**attempt, 60))
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if not match:
        raise DatasetError(f"{md5_url}: holds no MD5 digest; pass --checksum HEX instead")
    return "md5", match.group(0).lower()


def _parse_checksum(value: str) -> tuple[str, str]:
    digest = value.strip().lower()
    prefix, _, rest = digest.partition(":")
    if rest and prefix in ("md5", "sha256"):
        digest = rest
    algorithms = {32: "md5", 64: "sha256"}
    if len(digest) not in algorithms or not re.fullmatch(r"[0-9a-f]+", digest):
        raise DatasetError(
            f"checksum {value!r}: expected 32 hex digits (md5) or 64 hex digits (sha256)"
        )
    return algorithms[len(digest)], digest


def _download(
    url: str, part: Path, *, progress: Progress | None, timeout: float, retries: int,
    backoff: float,
) -> None:
    from urllib.error import HTTPError

    failures = 0
    while True:
        try:
            if _download_once(url, part, progress, timeout):
                return
            reason = "connection closed before the end of the file"
        except HTTPError as err:
            if err.code == 404:
                raise DatasetError(
                    f"{url}: not found (HTTP 404); check the dataset name and base URL"
                ) from None
            if not _retryable(err):
                raise DatasetError(f"{url}: HTTP {err.code} {err.reason}") from None
            reason = f"HTTP {err.code} {err.reason}"
        except _transient() as err:
            reason = _reason(err)
        failures += 1
        done = part.stat().st_size if part.exists() else 0
        if failures > retries:
            raise DatasetError(
                f"{url}: download interrupted at {done / 1e6:.1f} MB ({reason}); kept the "
                f"partial file {part}, run the same command again to resume"
            )
        logger.info("download of %s interrupted (%s); resuming at byte %d", url, reason, done)
        time.sleep(min(backoff * 2 ** (failures - 1), 60))


def _download_once(url: str, part: Path, progress: Progress | None, timeout: float) -> bool:
    """One request, appending to ``part``; True once the whole file is there."""
    from urllib.error import HTTPError

    have = part.stat().st_size if part.exists() else 0
    try:
        response = _open_url(url, {"Range": f"bytes={have}-"} if have else {}, timeout)
    except HTTPError as err:
        if err.code != 416 or not have:
            raise
        # Range starts at or past the end: a finished .part, or one from a bigger file.
        total = _range_total(err.headers.get("Content-Range"))
        err.close()
        if total == have:
            return True
        part.unlink()
        return _download_once(url, part, progress, timeout)
    with response:
        content_range = response.headers.get("Content-Range")
        if have and response.status == 206 and _range_start(content_range) == have:
            mode = "ab"
        elif response.status == 206:  # a range we did not ask for; start over next attempt
            part.unlink(missing_ok=True)
            return False
        else:  # 200: the server ignored Range, so the body is the whole file
            if have:
                logger.info("%s does not support resuming; restarting the download", url)
            have, mode = 0, "wb"
        length = response.headers.get("Content-Length", "")
        total = _range_total(content_range) or (have + int(length) if length.isdigit() else None)
        done = have
        if progress:
            progress(done, total)
        with part.open(mode) as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    # http.client returns a short body silently when the connection drops, so compare sizes.
    return total is None or done >= total


def _open_url(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    from urllib.request import Request, urlopen

    request = Request(url, headers={"User-Agent": _USER_AGENT, **headers})
    response = urlopen(request, timeout=timeout)
    if urlsplit(response.url).scheme not in ("http", "https"):  # a redirect to ftp:// etc.
        response.close()
        raise DatasetError(f"{url}: redirected to {response.url}; only http(s) is allowed")
    return response


def _retryable(err: HTTPError) -> bool:
    return err.code >= 500 or err.code in (408, 429)


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or err
    return str(reason) or type(err).__name__


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else None


def _range_total(content_range: str | None) -> int | None:
    match = re.search(r"/(\d+)\s*$", content_range or "")
    return int(match.group(1)) if match else None


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
