"""In-process chat turns on the active dataset: what bench_scale.py reports as "turn p95".

    python bench/scale_turns.py [--rounds 3]      # env: RECBOT_DATA_DIR etc. of a prepared set

Builds one agent (`--llm none`) as the chat does, warms it, then asks a fixed mix of asks
(like X, two films, a genre + decade, a description, a person-free generic ask, follow-ups
"more" and "none of these") ROUNDS times, each round in a fresh session. Prints one JSON
line: {"turns": n, "p50": s, "p95": s, "max": s, "by_kind": {...}, "load_s": s}.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--title", required=True, help="a popular title of the set")
    ap.add_argument("--other", required=True, help="a second popular title")
    args = ap.parse_args(argv)
    from recbot.agent.compose import build_agent
    from recbot.agent.settings import Settings

    t0 = time.perf_counter()
    agent = build_agent(Settings.load(), "none")
    agent.warm()
    load = time.perf_counter() - t0
    asks = [("like", f"something like {args.title}"), ("more", "more"),
            ("reject", "none of these"),
            ("two", f"a mix of {args.title} and {args.other}"),
            ("genre", "a funny adventure film from the 90s"),
            ("describe", "a quiet story about a lonely lighthouse keeper"),
            ("generic", "what should I watch tonight?"),
            ("critique", "something shorter and less violent")]
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        session = agent.memory.new_session()
        for kind, text in asks:
            t = time.perf_counter()
            agent.ask(text, session)
            times.setdefault(kind, []).append(time.perf_counter() - t)
    flat = [x for v in times.values() for x in v]
    print(json.dumps({"turns": len(flat), "p50": round(pct(flat, 0.5), 3),
                      "p95": round(pct(flat, 0.95), 3), "max": round(max(flat), 3),
                      "by_kind": {k: round(max(v), 3) for k, v in times.items()},
                      "load_s": round(load, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
