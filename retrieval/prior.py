"""What people suggest in real recommendation chats: a prior learned from ReDial.

``redial_prior.csv`` (built by ``bench/build_redial_prior.py`` from the learn part of
ReDial, CC BY 4.0, Li et al. NeurIPS 2018) counts how often a recommender suggested a film
after another film came up in the dialogue, each pair both ways (either film brings up the
other); ``mentioned`` 0 counts suggestions overall.
MovieLens ids are the same across the MovieLens sets, so the prior serves any of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import BUNDLED_DATA_DIR

PRIOR_CSV = BUNDLED_DATA_DIR / "redial_prior.csv"


@dataclass(slots=True)
class ChatPrior:
    suggested: dict[int, int] = field(default_factory=dict)          # film -> times suggested
    after: dict[int, dict[int, int]] = field(default_factory=dict)   # mentioned -> {film: n}

    @classmethod
    def load(cls, path: Path | None = None) -> ChatPrior:
        import os

        # RECBOT_PRIOR_CSV: benchmarks only (a prior built from one fold, tuned on another)
        path = Path(path or os.environ.get("RECBOT_PRIOR_CSV") or PRIOR_CSV)
        prior = cls()
        if not path.is_file():
            return prior
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                x, y, n = int(row["mentioned"]), int(row["suggested"]), int(row["count"])
                if x == 0:
                    prior.suggested[y] = n
                else:
                    prior.after.setdefault(x, {})[y] = n
        return prior

    def popular(self) -> list[int]:
        return sorted(self.suggested, key=lambda m: (-self.suggested[m], m))

    def following(self, seeds) -> list[int]:
        """Films suggested together with any of ``seeds``, most often first."""
        score: dict[int, float] = {}
        for s in seeds:
            row = self.after.get(int(s), {})
            total = sum(row.values()) or 1
            for y, n in row.items():
                score[y] = score.get(y, 0.0) + n / total ** 0.5
        return sorted(score, key=lambda m: (-score[m], m))
