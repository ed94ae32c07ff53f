"""The language of a message: Chinese, Spanish, English, or one recbot does not read.

Rules as data (rules/languages.toml): Chinese by its script, other scripts as unread, and
for Latin script the language whose function words the message holds most (English on a
tie). The reader and the search use it to pick the embedder and the reply's language."""

from __future__ import annotations

import functools
import re
import unicodedata

from .lexicon import RULES_DIR, lexicon

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
    # Spanish typed without accents ("algo mas nuevo porfa"): its words count all the same
    score["es"] = sum(1 for w in words if _plain(w) in _spanish_plain())
    if score["es"]:         # "Amélie" alone is a title, not Spanish
        score["es"] += min(2, len(_SPANISH_MARKS.findall(text)))
    best = max(score.values())
    leaders = [lang for lang in _LATIN_LISTS if score[lang] == best]
    read = [lang for lang in leaders if lang in READ]
    if best >= 2 and len(leaders) > 1 and len(read) == 1 and read[0] != "en":
        return read[0]      # "algo como Shrek": Spanish and Portuguese alike; Spanish is read
    if best < 2 or len(leaders) > 1:
        keep = previous if previous in READ else "en"
        # a tie between English and another: English, unless the conversation is that one
        return keep if best < 2 or keep in leaders else ("en" if "en" in leaders else keep)
    lang = leaders[0]
    return lang if lang in READ else "other"


_ES_DECADE_WORDS = {"veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
                    "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90}
_ZH_DIGITS = {"二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def has_words_of(text: str, lang: str) -> bool:
    """Whether the message holds a function word of ``lang`` ("sin gore", "otra", "no me
    gustan" hold Spanish ones; "more", "thanks" none)."""
    if lang == "zh":
        return bool(_HAN.search(text))
    lex = lexicon()
    known = lex.words(f"languages.{lang}") if lang in _LATIN_LISTS else ()
    return any(unicodedata.normalize("NFC", w.lower()) in known for w in _WORD.findall(text))


def described_part(text: str, lang: str) -> str:
    """What a Chinese or Spanish ask describes, its lead-in taken off ("la película en la
    que fabrican un filtro" -> "fabrican un filtro"; "我想看一部关于太空探险的电影" ->
    "太空探险"); the whole text when too little would be left."""
    lex = lexicon()
    if lang == "es":
        rest = lex.re("languages.lead_in_es").sub("", text, count=1)
        return rest if len(_WORD.findall(rest)) >= 2 else text
    if lang == "zh":
        rest = lex.re("languages.tail_zh").sub("", lex.re("languages.lead_in_zh").sub(
            "", text.strip(), count=1), count=1)
        return rest if len(_HAN.findall(rest)) >= 2 else text
    return text


def _plain(text: str) -> str:
    """Lowercase without accents: "Acción" and "accion" read alike."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _spanish_plain() -> frozenset[str]:
    """The Spanish word list, lowercase without accents ("más" is "mas")."""
    return frozenset(_plain(w) for w in lexicon().words("languages.es"))


@functools.cache
def _spanish_function() -> frozenset[str]:
    """Spanish function words and fillers, lowercase without accents."""
    return _spanish_plain() | {_plain(w) for w in lexicon().words("languages.filler_es")}


def spanish_content(words: str) -> str:
    """``words`` without Spanish function words and fillers ("algo con" -> "")."""
    return " ".join(w for w in words.split() if _plain(w) not in _spanish_function())


def _describes(rest: str, lang: str) -> bool:
    """Whether what is left of an ask, once its genres and eras are read, still says
    something of the film: a content word (Spanish) or two characters that are no filler
    (Chinese). "有没有什么好看的恐怖片？" and "una película de terror de los años 80" say
    nothing more, and get the well-known films of the genre, as in English."""
    lex = lexicon()
    if lang == "es":
        return any(w not in _spanish_function() and len(w) > 2
                   for w in _WORD.findall(_plain(rest)))
    for word in sorted(lex.words("languages.filler_zh"), key=len, reverse=True):
        rest = rest.replace(word, " ")
    return len(_HAN.findall(rest)) >= 2


def read_other(text: str, lang: str) -> dict:
    """What a Chinese or Spanish ask says of genres and years, from the rows of
    rules/languages.toml: ``{"genres": [...], "exclude_genres": [...], "year_min": int |
    None, "year_max": int | None, "described": bool}``; ``described``: whether the rest of
    the ask still describes the film (``_describes``)."""
    lex = lexicon()
    out: dict = {"genres": [], "exclude_genres": [], "year_min": None, "year_max": None,
                 "described": True, "exclude_kinds": [], "kept_out_words": [], "wanted": text,
                 "critiques": [], "runtime_max": None}
    if lang not in ("es", "zh"):
        return out
    table = lex.table(f"languages.genres_{lang}")
    negation = lex.re(f"languages.negation_{lang}")
    soften = lex.re(f"languages.soften_{lang}")
    hay = _plain(text) if lang == "es" else text    # Spanish rows: no accents, lowercase
    for word, genre in sorted(table.items(), key=lambda kv: -len(kv[0])):
        key = _plain(word) if lang == "es" else word
        pattern = rf"\b{re.escape(key)}\b" if lang == "es" else re.escape(key)
        for m in re.finditer(pattern, hay):
            before = hay[:m.start()]
            hay = hay[:m.start()] + " " * (m.end() - m.start()) + hay[m.end():]  # once
            if soften.search(before):        # "不太恐怖", "no muy de terror": neither
                continue
            kept_out = bool(negation.search(before))
            into = out["exclude_genres"] if kept_out else out["genres"]
            if genre not in out["genres"] + out["exclude_genres"]:
                into.append(genre)
    # kinds kept out ("pero que no sea de superhéroes"): out of the list, and out of the
    # description with their negation ("superhéroes" would find the films it keeps out)
    same = len(_plain(text) if lang == "es" else text) == len(text)
    for word, kind in sorted(lex.table(f"languages.kinds_{lang}").items(), key=lambda kv: -len(kv[0])):
        key = _plain(word) if lang == "es" else word
        pattern = rf"\b{re.escape(key)}\b" if lang == "es" else re.escape(key)
        for m in re.finditer(pattern, hay):
            cue = negation.search(hay[:m.start()])
            if not cue:
                continue
            if kind not in out["exclude_kinds"]:
                out["exclude_kinds"].append(kind)
                out["kept_out_words"].append(word)
            a = cue.start() if same else m.start()
            if same:     # (positions in ``hay`` are the text's: cut the words said against)
                out["wanted"] = out["wanted"][:a] + " " * (m.end() - a) + out["wanted"][m.end():]
            hay = hay[:a] + " " * (m.end() - a) + hay[m.end():]
    # soft critiques ("别太血腥", "sin tanta violencia"): after a negation or a softener
    for word, crit in sorted(lex.table(f"languages.critiques_{lang}").items(),
                             key=lambda kv: -len(kv[0])):
        key = _plain(word) if lang == "es" else word
        pattern = rf"\b{re.escape(key)}\b" if lang == "es" else re.escape(key)
        for m in re.finditer(pattern, hay):
            before = hay[:m.start()]
            if lang == "es":    # "sin tanta violencia", "nada muy triste", "que no sea violenta"
                before = lex.re("languages.qualifiers_es").sub("", before)
            if not (negation.search(before) or soften.search(before)
                    or (lang == "es" and lex.re("languages.bare_negation_es").search(before))):
                continue
            if crit not in out["critiques"]:
                out["critiques"].append(crit)
            hay = hay[:m.start()] + " " * (m.end() - m.start()) + hay[m.end():]
    runtimes = list(lex.re(f"languages.runtime_{lang}").finditer(hay))
    if runtimes:    # "nada muy largo", "menos de dos horas", "不要太长的，两个小时以内"
        said = next((m for m in runtimes if _minutes(m.group()) != SHORT_MINUTES), runtimes[0])
        out["runtime_max"] = _minutes(said.group())     # a count says most
        for m in runtimes:
            a, b = m.span()
            hay = hay[:a] + " " * (b - a) + hay[b:]
            out["wanted"] = out["wanted"][:a] + " " * (b - a) + out["wanted"][b:]
    out["wanted"] = " ".join(out["wanted"].split()).strip(" ，,、。.;；")
    rest = hay       # the genre words blanked out
    for name in ("decade", "before", "after"):
        rest = lex.re(f"languages.{name}_{lang}").sub(" ", rest)
    out["described"] = _describes(rest, lang)
    text = _plain(text) if lang == "es" else text
    decade = lex.re(f"languages.decade_{lang}").search(text)
    if decade and not negation.search(text[:decade.start()]):   # "pero no de los 80": no era
        digits = next((g for g in decade.groups() if g and g.isdigit()), None)
        word = next((g for g in decade.groups() if g and not g.isdigit()), None)
        tens = int(digits) if digits else (_ES_DECADE_WORDS.get(word) if lang == "es"
                                           else 10 * _ZH_DIGITS.get(word, 0))
        if tens:
            out["year_min"], out["year_max"] = 1900 + tens, 1900 + tens + 9
    before = lex.re(f"languages.before_{lang}").search(text)
    after = lex.re(f"languages.after_{lang}").search(text)
    if before:
        year = int(before.group(1))
        if negation.search(text[:before.start()]):   # "nada antes de 2000": from 2000 on
            out["year_min"] = year
        else:
            out["year_max"] = year - 1
    if after:
        year = int(next(g for g in after.groups() if g))   # "de los 2000 en adelante"
        if year < 100:      # "de los 90 en adelante": from 1990 on, not the 90s alone
            year += 1900
            out["year_max"] = None
        # "después de 2000" is from 2001, as "after 2000" reads in English; "desde 2000"
        # and "a partir de 2000" include it
        first = year + 1 if after.group(0).startswith("despues") else year
        if negation.search(text[:after.start()]):     # "不要2010年以后的": up to 2010
            out["year_max"] = first - 1
        else:
            out["year_min"] = first
    return out


# "nothing too long" in English reads as at most this many minutes (reader: runtime rules)
SHORT_MINUTES = 100
_COUNTS = {"una": 1, "dos": 2, "tres": 3, "一个": 1, "一": 1, "两": 2, "二": 2, "三": 3}


def _minutes(said: str) -> int:
    """The minutes of "menos de dos horas", "90 minutos", "hora y media", "两个半小时以内";
    SHORT_MINUTES when no length is counted ("nada muy largo", "短一点")."""
    m = re.search(r"(\d+|una|dos|tres|一个|一|两|二|三)?\s*个?\s*(半)?\s*(horas?|h\b|minutos|min|小时|分钟)"
                  r"(\s+y\s+media|半)?", said)
    if not m:
        return SHORT_MINUTES
    count, half_before, unit, half_after = m.groups()
    n = float(count) if count and count.isdigit() else _COUNTS.get(count or "una", 1)
    if unit.startswith(("min", "分")):
        return int(n)
    return int(n * 60 + (30 if half_before or half_after else 0))


@functools.cache
def _pivot_rows() -> tuple[tuple[str, re.Pattern, str], ...]:
    """(language, compiled pattern, English) of rules/languages.toml's [[pivot]] rows (the
    lexicon compiled and checked the patterns; their English is read here)."""
    import tomllib

    rows = tomllib.loads((RULES_DIR / "languages.toml").read_text(encoding="utf-8"))
    lex = lexicon()
    return tuple((row["lang"], lex.re(f"languages.pivot:{i}"), row["english"])
                 for i, row in enumerate(rows.get("pivot", [])))


_EDGES = re.compile(r"^[\s¿¡.,!?;:…。，！？；：、~～]+|[\s¿¡.,!?;:…。，！？；：、~～]+$")
# what a follow-up may end with and still be that follow-up: "再来几部吧", "más, por favor"
_TAILS = re.compile(r"(?:[呢吧啊呀嘛哦啦]+|,?\s*(?:por\s*favor|porfa|plis|pls)|\s*(?:ja(?:ja)+|je(?:je)+|lol|xd)|哈哈+)$", re.I)


def pivot(text: str, lang: str) -> str | None:
    """The English of a follow-up, question or small talk in Chinese or Spanish that a
    [[pivot]] row reads whole ("ninguna de estas" -> "none of these", "为什么推荐第二部" ->
    "why the second one?"); None for any other message."""
    core = _EDGES.sub("", _TAILS.sub("", _EDGES.sub("", text.replace("¿", "").replace("¡", ""))))
    core = _HEADS.sub("", core)     # "jaja gracias": the laugh says nothing
    whole = _pivot_one(core, lang)
    if whole is not None:
        return whole
    # "看过了，换一个", "gracias, ¿tienes otra?": each clause a follow-up of its own
    clauses = [c for c in (_HEADS.sub("", _EDGES.sub("", _TAILS.sub("", c)))
                           for c in _CLAUSES.split(core)) if c]
    if len(clauses) < 2:
        return None
    said = [_pivot_one(c, lang) for c in clauses]
    return ". ".join(said) if all(e is not None for e in said) else None


_HEADS = re.compile(r"^(?:ja(?:ja)+|je(?:je)+|ji(?:ji)+|lol|xd|哈哈+)[\s,，!！.。]*", re.I)
_CLAUSES = re.compile(r"[,，;；。.!！?？]+")


def _pivot_one(core: str, lang: str) -> str | None:
    for row_lang, pattern, english in _pivot_rows():
        if row_lang != lang:
            continue
        m = pattern.fullmatch(core)
        if m:
            if "{n}" in english:
                said = [g for g in m.groups() if g]
                keys = [_plain(g) if lang == "es" else g for g in said]
                ordinals = {(_plain(k) if lang == "es" else k): v
                            for k, v in lexicon().table(f"languages.ordinals_{lang}").items()}
                if not keys or any(k not in ordinals for k in keys):
                    continue
                english = english.replace("{n}", ordinals[keys[0]])
                if "{m}" in english:   # "ya vi la primera y la tercera"; one said: that one
                    english = (english.replace("{m}", ordinals[keys[1]]) if len(keys) > 1
                               else english.split(" and ")[0])
            return english
    return None
