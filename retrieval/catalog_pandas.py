"""pandas, imported on first use.

The catalog readers need it, but a turn that loads the catalog from its snapshot
(agent/workspace/) never does, and importing pandas costs ~0.2 s.
"""

from __future__ import annotations


class _Pandas:
    def __getattr__(self, name: str):
        import pandas

        return getattr(pandas, name)


pd = _Pandas()
