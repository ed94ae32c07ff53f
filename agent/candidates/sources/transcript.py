"""``transcript``: the user's own videos whose speech matches the ask ("the one where the
crew makes a carbon dioxide filter out of duct tape"). The ask's description (the search
source's hits) and, when the user has ingested videos, its message (titles and names left
out: ``Request.said``) are searched; a passage at least ``MATCH`` similar to either, among
its first ``DEPTH`` hits, puts its item at the top of the list:
someone who describes what is said in a video they ingested means that video, however
often chats suggest other films. Its evidence is the search source's: the passage with its
timestamp and file.

MiniLM places the narration of the Apollo 13 filter scene at 0.46-0.48 from asks that
describe it and 0.32 from a paraphrase sharing no word with it ("they make an air filter
from spare parts"; its leftover words "make air filter spare parts" reach only 0.27: the
message is searched, not the leftovers); unrelated asks stay below 0.25 of any passage, and the best film
descriptions reach 0.2 for these asks: the passage must beat them by ``MARGIN`` too, which
also holds with other embedders (whose similarities sit higher or lower)."""

from __future__ import annotations

from .base import Source
from ...i18n import N_

MATCH = 0.3
MARGIN = 1.25   # times the best catalog document's similarity (Apollo 13: 0.32-0.48 vs 0.20)
DEPTH = 3
WEIGHT = 4.0    # rank 1 at 4/61 outweighs the chat sources' best film (about 2.5/61)


def collect(gen, req, found, lists):
    if gen.searcher is None:
        return None
    # the search for the description's words (the search source's), and for the message
    searches = [(lists.get("search") or [], found.hits)]
    if req.said and req.said != req.query:
        searches.append(gen.spoken(req.said, req.constraints, req.exclude))
    best: dict = {}
    for ranked, hits in searches:
        # the passage must also stand out from the catalog's best document for the ask: a
        # similarity that any film's description reaches too says nothing of this video
        docs = max((h.score for h in hits.values() if not h.spoken), default=0.0)
        for i in ranked[:DEPTH]:
            hit = hits.get(i)
            if hit is not None and hit.spoken >= max(MATCH, MARGIN * docs) and i not in best:
                best[i] = hit       # (the description's passages first, when it finds one)
    found.hits.update(best)     # the passage is the reason (the search source's evidence)
    return sorted(best, key=lambda i: -best[i].spoken) or None


SOURCE = Source("transcript", WEIGHT, collect, N_("#{rank} among your videos whose speech matches "
                                               "what you described"))
