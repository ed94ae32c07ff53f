"""Write tests/retrieval/data/minilm_fp32_reference.npy: the float32 sentence-transformers
vectors of tests/retrieval/test_embed.py's TEXTS, the reference the torch-free variants are
tested against. Needs the torch extra (pip install -e '.[torch]'); run once, commit the file.

    python bench/make_embed_reference.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from recbot.retrieval.embed import MiniLMEmbedder  # noqa: E402
from tests.retrieval.test_embed import REFERENCE_FILE, TEXTS  # noqa: E402


def main() -> None:
    vectors = MiniLMEmbedder(variant="torch-fp32").embed(TEXTS)
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    np.save(REFERENCE_FILE, vectors.astype(np.float32))
    print(f"wrote {REFERENCE_FILE} {vectors.shape}")


if __name__ == "__main__":
    main()
