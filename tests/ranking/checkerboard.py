"""Synthetic ratings with a known answer, after implicit's checkerboard test matrix.

Users come in taste blocks: a user of block ``b`` likes the items of block ``b`` and
nothing else, except one "watched it, hated it" 1.0 rating in the next block. Each user
leaves ``held_out`` of their block's items unrated (which ones varies by user), so a
sensible personalised ranker must recommend exactly those first.

External ids are deliberately neither 0-based nor contiguous, so a ranker that mixes
up row/column indices with MovieLens ids fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass

from recbot.ranking.base import BaseRanker
from recbot.ranking.interactions import Interactions
from recbot.ranking.models import make_ranker

LOW_RATING = 1.0

# Small, strongly regularised ALS: on the 40 x 20 board this gets every held-out item
# right for any random_state (checked over seeds 0-4 and 8 or 16 factors).
TEST_PARAMS: dict[str, dict] = {
    "als": {"factors": 8, "regularization": 5.0, "alpha": 5.0, "iterations": 15,
            "random_state": 0, "num_threads": 1},
}


def build(name: str) -> BaseRanker:
    """An untrained ranker with the parameters the tests use."""
    return make_ranker(name, **TEST_PARAMS.get(name, {}))


def user_id(u: int) -> int:
    return 100 + 3 * u


def item_id(i: int) -> int:
    return 1000 + 7 * i


@dataclass(frozen=True)
class Checkerboard:
    interactions: Interactions
    blocks: tuple[tuple[int, ...], ...]  # item ids of each block
    user_block: dict[int, int]  # user id -> block number
    held_out: dict[int, tuple[int, ...]]  # user id -> block items they did not rate
    rated: dict[int, frozenset[int]]  # user id -> every item they rated
    low_rated: dict[int, int]  # user id -> the other-block item they rated LOW_RATING

    @property
    def users(self) -> list[int]:
        return list(self.user_block)

    @property
    def all_items(self) -> set[int]:
        return {i for block in self.blocks for i in block}

    def block_items(self, user: int) -> tuple[int, ...]:
        return self.blocks[self.user_block[user]]


def make_checkerboard(*, n_blocks: int = 2, users_per_block: int = 20, items_per_block: int = 10,
                      held_out: int = 1, like_ratings: tuple[float, ...] = (5.0,),
                      low_rating: bool = True) -> Checkerboard:
    blocks = tuple(tuple(item_id(b * items_per_block + j) for j in range(items_per_block))
                   for b in range(n_blocks))
    users, items, ratings = [], [], []
    user_block, held, rated, low = {}, {}, {}, {}
    for b in range(n_blocks):
        for k in range(users_per_block):
            u = user_id(b * users_per_block + k)
            user_block[u] = b
            skip = {blocks[b][(k + s) % items_per_block] for s in range(held_out)}
            held[u] = tuple(sorted(skip))
            mine = set()
            for j, m in enumerate(blocks[b]):
                if m in skip:
                    continue
                users.append(u)
                items.append(m)
                ratings.append(like_ratings[(j + k) % len(like_ratings)])
                mine.add(m)
            if low_rating and n_blocks > 1:
                other = blocks[(b + 1) % n_blocks][(3 * k) % items_per_block]
                users.append(u)
                items.append(other)
                ratings.append(LOW_RATING)
                mine.add(other)
                low[u] = other
            rated[u] = frozenset(mine)
    inter = Interactions.from_arrays(users, items, ratings)
    return Checkerboard(inter, blocks, user_block, held, rated, low)
