"""The embedded backend: a GGUF chat model run in-process through llama-cpp-python.

``LocalChat`` decodes with its own small loop instead of ``create_chat_completion``, for
what two cores can afford (numbers in ``bench/results/llm_speed.md``):

* **lazy grammar.** llama-cpp-python runs the JSON grammar over every logit of the
  vocabulary (151,936 for Qwen2.5) at every step. Here the best token is taken first and
  the grammar only asked whether it may follow; only when it may not is the grammar applied
  to the whole vocabulary. llama.cpp's own sampler does the same. The output is exactly as
  constrained; JSON comes 1.65x faster for Qwen2.5-0.5B on two cores.
* **prefix reuse.** The KV cache keeps the longest common prefix with the previous call,
  so a fixed system prompt is evaluated once per process, not once per turn.

Some virtual machines advertise Intel AMX but fault on its instructions (SIGILL: the whole
process dies). llama.cpp built with ``-march=native`` uses AMX when the CPU flags say so;
on such CPUs the model is loaded without llama.cpp's extra weight layouts (AMX, repack),
which measured the same speed here.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import json
import os
import threading
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .base import LLMError, Message, OnToken, one_line


@cache
def cpu_advertises_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        pass
    return False


@contextlib.contextmanager
def safe_model_params():
    """While open, new llama.cpp models skip the extra buffer types (AMX, repack) on CPUs
    that advertise AMX. Models loaded meanwhile keep the setting."""
    if not cpu_advertises_amx():
        yield
        return
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def params():
        p = original()
        p.use_extra_bufts = False
        return p

    lib.llama_model_default_params = params
    try:
        yield
    finally:
        lib.llama_model_default_params = original


class LocalChat:
    """A GGUF chat model run in-process; loaded on first use (a second or so), then kept.
    One call at a time (a lock): llama.cpp contexts are not thread-safe."""

    backend = "local"

    def __init__(self, model_path: Path, *, label: str | None = None, n_ctx: int = 4096,
                 threads: int | None = None, timeout: float = 30.0, seed: int = 0) -> None:
        self.model_path = Path(model_path)
        self.model = label or self.model_path.name
        self.n_ctx = n_ctx
        self.threads = threads
        self.timeout = timeout
        self.seed = seed
        self._llm = None
        self._format = None
        self._lock = threading.Lock()
        # for benchmarks, about the last call: prompt tokens, how many the KV cache already
        # held, seconds evaluating the rest, tokens generated, seconds generating them
        self.last = {"prompt": 0, "reused": 0, "prompt_s": 0.0, "generated": 0, "gen_s": 0.0}

    def load(self):
        if self._llm is None:
            try:
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            except ImportError:
                raise LLMError("the local backend needs llama-cpp-python; "
                               "pip install 'recbot[local]'") from None
            try:
                with safe_model_params():
                    # (flash attention measured: prompt reading +20%, generation -18% on
                    # two cores; a wash for a turn, a loss for longer replies: left off)
                    llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx,
                                n_threads=self.threads or os.cpu_count() or 2, verbose=False)
            except Exception as err:  # noqa: BLE001 — llama.cpp reports load errors as ValueError etc.
                raise LLMError(f"{self.model_path}: cannot load the GGUF model "
                               f"({one_line(err)})") from None
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMError(f"{self.model_path}: the GGUF has no chat template; "
                               "use an instruct (chat) model")
            piece = lambda t: llm.detokenize([t]).decode("utf-8", "replace")
            self._format = Jinja2ChatFormatter(template, eos_token=piece(llm.token_eos()),
                                               bos_token=piece(llm.token_bos()))
            self._llm = llm
        return self._llm

    def chat(self, messages: Sequence[Message], *, schema: dict | None = None,
             max_tokens: int = 512, temperature: float = 0.2,
             on_token: OnToken | None = None) -> str:
        with self._lock:
            llm = self.load()
            try:
                if not _Decoder.supported(llm):
                    return _public_chat(self, llm, messages, schema, max_tokens, temperature,
                                        on_token)
                return _Decoder(llm, self.seed).run(self, messages, schema, max_tokens,
                                                    temperature, on_token)
            except LLMError:
                raise
            except Exception as err:  # noqa: BLE001
                raise LLMError(f"the local model failed ({one_line(err)})") from None


def _public_chat(chat: LocalChat, llm, messages, schema, max_tokens, temperature,
                 on_token) -> str:
    """llama-cpp-python's public chat API, for versions whose internals ``_Decoder`` does
    not know: the same grammar-constrained JSON, without the prefix reuse."""
    kwargs: dict = {}
    if schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    deadline = time.monotonic() + chat.timeout
    started = time.perf_counter()
    parts: list[str] = []
    for chunk in llm.create_chat_completion(messages=list(messages), max_tokens=max_tokens,
                                            temperature=temperature, seed=chat.seed,
                                            stream=True, **kwargs):
        text = chunk["choices"][0]["delta"].get("content") or ""
        if text:
            parts.append(text)
            if on_token:
                on_token(text)
        if time.monotonic() > deadline:
            raise LLMError(f"no complete answer within {chat.timeout:g} s")
    chat.last = {"prompt": 0, "reused": 0, "prompt_s": 0.0, "generated": len(parts),
                 "gen_s": time.perf_counter() - started}
    return "".join(parts)


class _Decoder:
    """One generation: prompt (reusing the cached prefix), then token by token.

    It reads llama-cpp-python internals (``_model``, ``_ctx``, ``_input_ids``) and the
    sampler functions of 0.3.7+; ``supported`` checks they are there, and the chat falls
    back to the public ``create_chat_completion`` when they are not (pyproject.toml caps
    the version below 0.4 for the same reason)."""

    _LIB_FUNCTIONS = ("llama_model_get_vocab", "llama_sampler_init_grammar",
                      "llama_sampler_accept", "llama_sampler_apply", "llama_sampler_free",
                      "llama_vocab_is_eog", "llama_get_logits_ith", "llama_token_data",
                      "llama_token_data_array")

    @classmethod
    def supported(cls, llm) -> bool:
        try:
            import llama_cpp.llama_cpp as lib

            return (all(hasattr(lib, f) for f in cls._LIB_FUNCTIONS)
                    and hasattr(llm._model, "model") and hasattr(llm._ctx, "ctx")
                    and hasattr(llm, "_input_ids") and hasattr(llm, "n_tokens"))
        except (ImportError, AttributeError):
            return False

    def __init__(self, llm, seed: int) -> None:
        import llama_cpp.llama_cpp as lib
        import numpy as np

        self.lib, self.np, self.llm = lib, np, llm
        self.vocab = lib.llama_model_get_vocab(llm._model.model)
        self.n_vocab = llm.n_vocab()
        self.rng = np.random.default_rng(seed)

    def run(self, chat: LocalChat, messages, schema, max_tokens, temperature, on_token) -> str:
        lib, llm = self.lib, self.llm
        deadline = time.monotonic() + chat.timeout
        formatted = chat._format(messages=list(messages))
        tokens = llm.tokenize(formatted.prompt.encode("utf-8"),
                              add_bos=not formatted.added_special, special=True)
        if len(tokens) + max_tokens > llm.n_ctx():
            raise LLMError(f"the prompt ({len(tokens)} tokens) leaves no room in the model's "
                           f"{llm.n_ctx()}-token context")
        reuse = 0
        for a, b in zip(llm._input_ids[: llm.n_tokens], tokens):
            if a != b:
                break
            reuse += 1
        reuse = min(reuse, len(tokens) - 1)        # evaluate one token at least: fresh logits
        llm.n_tokens = reuse                        # eval() drops the cache past this point
        started = time.perf_counter()
        llm.eval(tokens[reuse:])
        chat.last = {"prompt": len(tokens), "reused": reuse,
                     "prompt_s": time.perf_counter() - started, "generated": 0, "gen_s": 0.0}
        started = time.perf_counter()

        grammar = None
        if schema is not None:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            gbnf = json_schema_to_gbnf(json.dumps(schema))
            grammar = lib.llama_sampler_init_grammar(self.vocab, gbnf.encode(), b"root")
            if not grammar:
                raise LLMError("llama.cpp could not build a grammar from the schema")
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        parts: list[str] = []
        count = 0
        try:
            while count < max_tokens:
                token = self._next(grammar, temperature)
                if lib.llama_vocab_is_eog(self.vocab, token):
                    break
                count += 1
                if grammar is not None:
                    lib.llama_sampler_accept(grammar, token)
                text = decoder.decode(llm.detokenize([token]))
                if text:
                    parts.append(text)
                    if on_token:
                        on_token(text)
                if time.monotonic() > deadline:
                    raise LLMError(f"no complete answer within {chat.timeout:g} s")
                llm.eval([token])
        finally:
            if grammar is not None:
                lib.llama_sampler_free(grammar)
            chat.last.update(generated=count, gen_s=time.perf_counter() - started)
        return "".join(parts)

    def _logits(self):
        ptr = self.lib.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return self.np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _pick(self, logits, temperature: float) -> int:
        np = self.np
        if temperature <= 0:
            return int(logits.argmax())
        top = np.argpartition(logits, -40)[-40:]
        z = logits[top] / temperature
        p = np.exp(z - z.max())
        return int(top[self.rng.choice(len(top), p=p / p.sum())])

    def _next(self, grammar, temperature: float) -> int:
        lib, np = self.lib, self.np
        logits = self._logits()
        token = self._pick(logits, temperature)
        if grammar is None or self._allowed(grammar, token):
            return token
        # The best token breaks the grammar: let the grammar mask the whole vocabulary.
        data = (lib.llama_token_data * self.n_vocab)()
        view = np.ctypeslib.as_array(data)
        view["id"] = np.arange(self.n_vocab, dtype=np.int32)
        view["logit"] = logits
        view["p"] = 0.0
        array = lib.llama_token_data_array(data, self.n_vocab, -1, False)
        lib.llama_sampler_apply(grammar, ctypes.byref(array))
        masked = np.array(view["logit"], dtype=np.float32)
        if not np.isfinite(masked).any():
            raise LLMError("the grammar allows no next token")
        return self._pick(masked, temperature)

    def _allowed(self, grammar, token: int) -> bool:
        lib = self.lib
        one = lib.llama_token_data(token, 1.0, 0.0)
        array = lib.llama_token_data_array(ctypes.pointer(one), 1, -1, False)
        lib.llama_sampler_apply(grammar, ctypes.byref(array))
        return one.logit != float("-inf")
