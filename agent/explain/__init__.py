"""Why a pick: the facts each candidate carries (``evidence``), the card a pick shows
(``cards``), and the explanations built from the facts, by template or by an LLM whose
every word is checked against them (``grounding``)."""
