"""What a turn tells its caller while it runs: small frozen dataclasses, one per kind.

The agent calls ``on_event(event)`` with these in this order: ``Status`` (any number),
``Reply`` and ``Candidates`` once the deterministic list is ready, ``Reason`` as an LLM's
explanation grows (full mode only), ``Final`` with the finished answer. The TUI renders
them; ``recbot ask`` only needs the returned answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .chat import Answer, Recommendation


@dataclass(frozen=True, slots=True)
class Status:
    """What the turn is doing now ("asking the LLM")."""
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """The headline of the answer, before the cards."""
    text: str


@dataclass(frozen=True, slots=True)
class Candidates:
    """The deterministic picks with template reasons; the final answer may reorder them."""
    recommendations: tuple[Recommendation, ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """An explanation as the LLM writes it (a draft until ``Final`` has the checked one)."""
    movie_id: int
    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """The finished, checked answer."""
    answer: Answer


Event = Union[Status, Reply, Candidates, Reason, Final]
OnEvent = Callable[[Event], None]
