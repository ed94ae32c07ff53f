"""Candidates for one turn, with their evidence.

- ``request``: the hard filters (``Constraints``), the ``Request``, a ``Candidate``.
- ``sources/``: the candidate sources, one module each, as a registry (name, weight, how it
  finds films, how its evidence reads).
- ``generator``: ``CandidateGenerator`` fuses the sources' lists, constrains, nudges,
  diversifies and gives each film its facts.
- ``text``: how an ask's words meet a film's tags, plot, year and studio.
"""

from __future__ import annotations

from .generator import WELL_LIKED, CandidateGenerator
from .request import Candidate, Constraints, Found, Request, shift_years
from . import sources
from .text import quote_line

__all__ = ["WELL_LIKED", "Candidate", "CandidateGenerator", "sources",
           "Constraints", "Found", "Request", "quote_line", "shift_years"]
