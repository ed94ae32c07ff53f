"""What the front ends show of the data, made safe: the TUI and the CLI reach
retrieval/safe_text.py (escape sequences and control characters out, spreadsheet formulas
neutralised) through here, as they reach everything else through the agent."""

from __future__ import annotations

from recbot.retrieval.safe_text import csv_cell, json_text, one_line, printable

__all__ = ["csv_cell", "json_text", "one_line", "printable"]

