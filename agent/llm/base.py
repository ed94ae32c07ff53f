"""What every LLM backend shares: the ``ChatModel`` interface, ``LLMError`` and JSON parsing.

Imports no backend; the backends import this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol

Message = dict[str, str]
OnToken = Callable[[str], None]


class LLMError(Exception):
    """An LLM call failed; the message is one line saying why."""


class ChatModel(Protocol):
    backend: str
    model: str

    def chat(self, messages: Sequence[Message], *, schema: dict | None = None,
             max_tokens: int = 512, temperature: float = 0.2,
             on_token: OnToken | None = None) -> str:
        """The reply text (JSON matching ``schema`` when given); streamed through
        ``on_token`` as it is produced. Raises ``LLMError``."""
        ...


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:200]


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> dict:
    """The JSON object in a reply (a model may wrap it in prose or code fences)."""
    text = text.strip()
    try:
        # strict=False: llama.cpp's JSON grammar lets raw newlines into strings
        value = json.loads(text, strict=False, parse_constant=_no_constant)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise LLMError("the reply holds no JSON object") from None
        try:
            value = json.loads(text[start:end + 1], strict=False, parse_constant=_no_constant)
        except ValueError as err:
            raise LLMError(f"the reply is not valid JSON ({' '.join(str(err).split())[:200]})") from None
    if not isinstance(value, dict):
        raise LLMError("the reply is JSON but not an object")
    return value
