"""The language of a message: Chinese, Spanish, English, or one recbot does not read.

Rules as data (rules/languages.toml): Chinese by its script, other scripts as unread, and
for Latin script the language whose function words the message holds most (English on a
tie). The reader and the search use it to pick the embedder and the reply's language."""

from __future__ import annotations

import re
import unicodedata

from .lexicon import lexicon

READ = ("en", "zh", "es")          # the languages recbot reads and answers in
_LATIN_LISTS = ("en", "es", "fr", "de", "it", "pt")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.I)
# scripts of languages recbot does not read (by Unicode block)
_OTHER_SCRIPT = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff\u0400-\u04ff\u0600-\u06ff"
    "\u0590-\u05ff\u0370-\u03ff\u0900-\u097f\u0e00-\u0e7f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language(text: str, previous: str = "en") -> str:
    """"zh", "es", "en", or "other" (a language recbot does not read). ``previous``: the
    conversation's language so far, kept when the message does not clearly say another
    ("La La Land", "gracias", "ok": a title or one word decides nothing)."""
    han = len(_HAN.findall(text))
    other = len(_OTHER_SCRIPT.findall(text))
    if han or other:
        if other >= max(2, han):       # Japanese keeps kana beside its kanji
            return "other"
        if han:
            return "zh"
    lex = lexicon()
    words = {unicodedata.normalize("NFC", w.lower()) for w in _WORD.findall(text)}
    score = {lang: sum(1 for w in words if w in lex.words(f"languages.{lang}"))
             for lang in _LATIN_LISTS}
    if score["es"]:         # "Amélie" alone is a title, not Spanish
        score["es"] += min(2, len(_SPANISH_MARKS.findall(text)))
    best = max(score.values())
    leaders = [lang for lang in _LATIN_LISTS if score[lang] == best]
    if best < 2 or len(leaders) > 1:
        keep = previous if previous in READ else "en"
        # a tie between English and another: English, unless the conversation is that one
        return keep if best < 2 or keep in leaders else ("en" if "en" in leaders else keep)
    lang = leaders[0]
    return lang if lang in READ else "other"
