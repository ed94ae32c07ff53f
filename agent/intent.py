"""Read one user message into dialogue acts, deterministically.

A message may hold several acts at once: a **request** (new, or refining the last one),
**feedback** on named or referenced films (liked / disliked / seen, several films at a
time, each with its own sentiment), a **rejection** of the last list ("none of these"),
**critiques** ("less violent", "under 90 minutes", "not animated"), **more** ("10 more"),
a **question** (why #n, why not X, what is X about, who is in X), **chit-chat**
(greetings, thanks) or **nonsense**. Titles and people come from ``agent.mentions``;
genres and moods from a lexicon; years, decades, runtimes and counts from patterns.
What content is left after all that (never chit-chat, meta words, rejections or
critiques) is the descriptive part, used for semantic search.

An LLM may fill what the parser left empty (see ``agent.chat``), never override it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .mentions import COMMON_WORDS, MentionFinder, Person, Spot, english_words

MAX_MESSAGE_CHARS = 2000

# Lexicon: words -> groups of genres (a group is satisfied by any one of its genres).
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "funny": ("Comedy",), "comedy": ("Comedy",), "comedies": ("Comedy",),
    "hilarious": ("Comedy",), "laugh": ("Comedy",), "lighthearted": ("Comedy",),
    "animated": ("Animation",), "animation": ("Animation",), "cartoon": ("Animation",),
    "cartoons": ("Animation",), "anime": ("Animation",), "pixar": ("Animation",),
    "kids": ("Children", "Animation"), "children": ("Children", "Animation"),
    "family": ("Children", "Animation"), "kid": ("Children", "Animation"),
    "scary": ("Horror",), "horror": ("Horror",), "horrors": ("Horror",),
    "frightening": ("Horror",), "terrifying": ("Horror",), "creepy": ("Horror", "Thriller"),
    "thriller": ("Thriller",), "thrillers": ("Thriller",), "suspense": ("Thriller",),
    "suspenseful": ("Thriller",), "tense": ("Thriller",),
    "romantic": ("Romance",), "romance": ("Romance",), "romcom": ("Romance",),
    "rom-com": ("Romance",), "romances": ("Romance",),
    "sci-fi": ("Sci-Fi",), "scifi": ("Sci-Fi",), "science fiction": ("Sci-Fi",), "sci fi": ("Sci-Fi",),
    "futuristic": ("Sci-Fi",),
    "action": ("Action",), "adventure": ("Adventure",), "adventures": ("Adventure",),
    "drama": ("Drama",), "dramas": ("Drama",), "documentary": ("Documentary",),
    "documentaries": ("Documentary",), "musical": ("Musical",), "musicals": ("Musical",),
    "war": ("War",), "western": ("Western",), "westerns": ("Western",),
    "crime": ("Crime",), "heist": ("Crime",), "gangster": ("Crime",), "mafia": ("Crime",),
    "mystery": ("Mystery",), "mysteries": ("Mystery",), "whodunit": ("Mystery",),
    "detective": ("Mystery", "Crime"),
    "fantasy": ("Fantasy",), "magical": ("Fantasy",), "noir": ("Film-Noir",),
    "film-noir": ("Film-Noir",),
}
_DISLIKE_VERBS = (r"(?:hate[sd]?|dislike[sd]?|(?:don'?t|dont|do not|doesn'?t|does not) (?:like|"
                  r"want|enjoy|care for)|can'?t stand|not a fan of|sick of|tired of)")
_NEGATORS = (r"(?:no|not|nothing|without|except|avoid|never|but not|anything but|non|"
             + _DISLIKE_VERBS + ")")

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3,
            "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8, "9th": 9, "10th": 10, "last": -1}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a couple": 2, "a few": 3, "twenty": 20,
                 "fifteen": 15, "twelve": 12}

# Feedback on referenced films ("#2 seen it", "loved the first one", "not that one").
FEEDBACK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("seen", (r"\b(?:(?:i(?:'ve| have)? )?(?:already )?(?:seen|watched|saw) (?:all (?:of )?)?(?:it|that|this|them|"
              r"those|#?\d+|(?:the )?\w+ one|number \d+)|seen it|already seen|saw it)\b")),
    ("dislike", (r"\b(?:(?:hated?|disliked?|didn'?t like) (?:it|that|this|them|#?\d+|(?:the )?\w+ "
                 r"one|number \d+)|not for me|not my thing|not (?:that|this) one|not the (?:first|"
                 r"second|third|fourth|fifth|last) one|hated? it|"
                 r"didn'?t like|don'?t like (?:it|that|this)|dislike|boring|not interested)\b")),
    ("like", (r"\b(?<!more )(?<!something )(?<!anything )(?<!movies )(?<!films )(?<!stuff )"
              r"(?<!one )(?<!ones )(?:(?:loved?|liked?|enjoyed|adored) (?:it|that|this|them|#?\d+|"
              r"(?:the )?\w+ one|number \d+)|like (?:that|this) one|perfect|(?:i )?enjoyed it|"
              r"sounds good|love it|loved it)\b")),
    ("like", r"\b(?:looks|sounds|seems) (?:good|great|interesting|fun|cool|promising)\b"),
)

CRITIQUES: tuple[tuple[str, str], ...] = (
    ("less_violent", (r"\b(?:less|not so|not too|nothing too|nothing|not|isn'?t|without(?: any)?|"
                      r"nothing with|no)\s+(?:too\s+)?(?:much\s+)?(?:violent|violence|gory|gore|bloody|"
                      r"blood|brutal)\b|\bnon[- ]violent\b")),
    ("lighter", r"\b(?:lighter|happier|more cheerful|feel[- ]good|uplifting|less (?:dark|"
                r"depressing|sad|serious|heavy))\b"),
    ("darker", r"\b(?:darker|grittier|more serious|less (?:happy|light))\b"),
    ("more_recent", r"\b(?:more recent|newer|recent ones?|modern ones?|new ones?|something new)\b"),
    ("older", r"\b(?:older|old ones?|vintage|old school|oldies)\b"),
    ("shorter", r"\b(?:shorter|short ones?|(?:not|nothing) (?:too |very |that )?long|quick watch|"
                r"something short)\b"),
    ("longer", r"\b(?:longer|an epic|epics)\b"),
    ("more_popular", r"\b(?:more popular|well[- ]known|mainstream|blockbusters?|more famous)\b"),
    ("less_popular", r"\b(?:less popular|lesser[- ]known|hidden gems?|obscure|underrated|"
                     r"less mainstream|not mainstream|indie)\b"),
)

_REJECT = re.compile(
    r"^(?:(?:no+|nah+|nope|meh|hmm+|ugh)\W*)*(?:none of (?:these|those|them|that)(?: (?:work|"
    r"appeal|sound good|interest me))?|not (?:these|those|them|any of (?:these|those|them))|"
    r"(?:i )?(?:don'?t|do not) (?:like|want) (?:any|these|those|them)(?: of (?:these|those|them))?|"
    r"neither(?: of (?:them|those|these))?|(?:something|anything) (?:else|different)|"
    r"other (?:ones|options|suggestions|films|movies)|(?:show me |give me )?(?:others|different "
    r"ones?)|try again|not really|not quite|no+|nah+|nope|meh|(?:i'?ve )?(?:already )?seen "
    r"(?:them|those|these|all of (?:them|those|these))(?: all| already)?)"
    r"(?=\W*$|\W*(?:please|thanks|,|\.|!|;|-|how about|what about|maybe|i want|i'?d like|give me|"
    r"show me|something|anything))", re.I)
_MORE = re.compile(
    r"^(?:(?:ok|okay|great|cool|nice|good|thanks)\W+)?(?:can you |could you |please )?"
    r"(?:give me |show me |i want |i'?d like |let'?s see |list )?(?:(\d{1,2}|one|two|three|four|"
    r"five|six|seven|eight|nine|ten|a few|a couple|some) )?(?:more|next|others|another(?: one)?|"
    r"keep going|go on|more please)(?: (?:films?|movies?|ones?|picks|options|suggestions|please|"
    r"pls|plz|thanks|"
    r"like (?:that|this|these|those|them|it)))*\W*$", re.I)
_CHITCHAT = (
    ("greeting", r"\b(?:hi+|hello+|hey+|hiya|howdy|yo|good (?:morning|afternoon|evening)|"
                 r"greetings)\b"),
    ("how_are_you", r"\bhow (?:are|r) (?:you|u)\b|\bhow'?s it going\b|\bwhat'?s up\b|\bsup\b"),
    ("thanks", r"\b(?:thanks+|thank (?:you|u)|thx|ty|cheers|appreciate it|much appreciated)\b"),
    ("bye", r"\b(?:bye+|goodbye|good night|see (?:you|ya)|later|that'?s all|i'?m done|"
            r"have a (?:good|nice|great) (?:one|day|night))\b"),
    ("ack", r"\b(?:ok(?:ay)?|cool|nice|great|awesome|sounds (?:good|great|fun)|sure|yes|yeah|yep|"
            r"lol|haha+|wow|interesting|perfect|got it|will do|"
            r"(?:i'?ll|gonna|going to) (?:check|look|try|watch) "
            r"(?:it|them|those|that|these)(?: out)?|i will check (?:it|them|those) out|"
            r"good (?:idea|choice|one|suggestion)s?|i'?m (?:good|fine|great|well)|not bad)\b"),
)
_CHITCHAT_REPLIES = {
    "greeting": "Hi! Tell me a film you like or what you're in the mood for.",
    "how_are_you": "I'm well, thanks! What are you in the mood to watch?",
    "thanks": "You're welcome — enjoy! Ask me any time for more.",
    "bye": "Enjoy the films! Come back for more any time.",
    "ack": "Glad to help. Want more like these, or something different?",
}
# Words that only say "recommend me a film": never search text.
_META = re.compile(
    r"\b(?:i|i'm|im|i'd|i'll|me|my|we|us|our|you|your|a|an|the|some|something|anything|"
    r"film|films|movie|movies|flick|flicks|watch|watching|see|want|wanna|would|like|love|"
    r"please|recommend|recommendation|recommendations|suggest|suggestion|suggestions|show|"
    r"give|find|can|could|tonight|today|tomorrow|weekend|night|evening|good|great|nice|one|"
    r"ones|to|for|of|and|or|with|that|this|it|is|be|in|on|about|maybe|really|very|kind|sort|"
    r"looking|look|need|get|what|any|more|also|again|thanks|thank|hi|hello|hey|ok|okay|so|"
    r"just|let's|lets|have|has|had|no|not|but|other|else|than|from|after|before|since|which|"
    r"where|there|are|was|were|do|did|don't|should|shall|open|ideas?|options?|pick|picks|"
    r"something's|mood|feel|feeling|fun|enjoy|all|time|lol|yes|yeah|well|cool|am|how|into|"
    r"type|genre|genres|stuff|kinda|sorta|preferably|ideally|please|pls|plz|thing|things|"
    r"anyone|someone|know|think|seen|heard|new|latest|best|top|favorite|favourite|classic|"
    r"classics|great|awesome|amazing|perfect|cinema|theater|theatre|netflix|prime|hbo|"
    r"tv|show|shows|series|recommended|suggested|again|minutes?|mins?|hours?|long|watched|"
    r"loved?|liked?|likes|hated?|hates|disliked?|enjoyed|adored?|mix|both|combination|"
    r"cross|between|blend|those|these|them|was|too|said|saw|fan|big|huge|lot|lots|will|seek|"
    r"out|check|try|finished|finish|watching|think|heard|already|yet|maybe|probably|sure|"
    r"definitely|actually|honestly|ever|never|still|far|much|many|lot|loves|enjoys|adores|"
    # who it is for: "my wife loves Titanic" is no description of a film
    r"he|she|they|his|her|their|wife|husband|partner|girlfriend|boyfriend|son|daughter|mom|"
    r"dad|friend|friends|directed|by|starring|featuring|whats|what's|"
    # chat, not a description: "awesome, gonna watch it now", "cheers mate", "im bored"
    r"gonna|gotta|now|mate|dude|bro|buddy|bored|appreciate|appreciated|list|released|made)\b")


@dataclass(slots=True)
class Mention:
    """A piece of text naming a movie; ``movie_id`` is None when no title matched well."""

    text: str
    movie_id: int | None = None
    title: str | None = None
    year: int | None = None
    suggestions: tuple[tuple[int, str], ...] = ()  # (movie_id, label) when unresolved
    options: tuple[tuple[int, str], ...] = ()      # an ambiguous title's films
    sentiment: str = "neutral"                     # similar | like | dislike | seen | neutral

    def as_dict(self) -> dict:
        return {"mention": self.text, "movie_id": self.movie_id, "title": self.title}


@dataclass(slots=True)
class Intent:
    text: str
    seeds: list[Mention] = field(default_factory=list)       # "like X", "I loved X", "X (2017)"
    liked: list[Mention] = field(default_factory=list)       # feedback: loved X
    disliked: list[Mention] = field(default_factory=list)    # feedback: hated X
    seen: list[Mention] = field(default_factory=list)        # feedback: seen X
    unseen: list[Mention] = field(default_factory=list)      # "haven't seen X"
    unresolved: list[Mention] = field(default_factory=list)  # a title-like span, no film
    ambiguous: list[Mention] = field(default_factory=list)   # several films of that name
    people: list[Person] = field(default_factory=list)
    avoid_people: list[Person] = field(default_factory=list)
    avoid_kinds: list[str] = field(default_factory=list)     # "no superheroes", "not Star Wars"
    fans_of: list[Person] = field(default_factory=list)      # named in passing: a nudge
    refs: list[int] = field(default_factory=list)            # 1-based; -1 = last shown
    ref_feedback: dict[int, str] = field(default_factory=dict)  # "loved #1, not #3": #3 only
    that_one: bool = False                                   # "it", "that one" with no number
    unknown_people: list[str] = field(default_factory=list)  # "anything with Zendaya"
    all_shown: bool = False                                  # "seen them all"
    why_of: Mention | None = None                            # "why Rocky?"
    foreign: bool = False                                    # not English: "quiero una película"
    feedback: str | None = None                              # like | dislike | seen (for refs)
    more: bool = False                                       # "more like that", "10 more"
    again: bool = False                                      # "show me the list again"
    reject: bool = False                                     # "none of these"
    genres: list[tuple[str, ...]] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    runtime_min: int | None = None
    runtime_max: int | None = None
    critiques: list[str] = field(default_factory=list)
    question: str | None = None                              # why | why_not | about | cast
    facet: str = ""                    # what an "about" question asks: rating runtime year genre
    why_not: Mention | None = None
    about: Mention | None = None
    k: int | None = None
    quality: bool = False                                    # "best", "top", "greatest"
    chitchat: str | None = None                              # greeting | thanks | bye | ...
    help: bool = False                                       # "help", "what can you do?"
    nonsense: bool = False
    describe: str = ""                                       # residual descriptive text
    topic: str = ""                    # what the film is about, when said: "a movie about dogs"
    filled_by_llm: list[str] = field(default_factory=list)

    @property
    def mentions(self) -> list[Mention]:
        extra = [m for m in (self.why_not, self.about) if m is not None]
        return [*self.seeds, *self.liked, *self.disliked, *self.seen, *extra]

    @property
    def constraints_given(self) -> bool:
        return bool(self.genres or self.exclude_genres or self.year_min or self.year_max
                    or self.runtime_min or self.runtime_max)

    @property
    def content(self) -> bool:
        """Does the message say what to look for (a new ask rather than a follow-up)?"""
        return bool(self.seeds or self.people or self.genres or self.describe
                    or self.quality or self.ambiguous)

    @property
    def has_ask(self) -> bool:
        """Does the message ask for (new or more) recommendations?"""
        return self.question is None and bool(
            self.content or self.constraints_given or self.critiques or self.more
            or self.reject or self.asks_for_list or self.avoid_people or self.avoid_kinds
            or self.clear)

    asks_for_list: bool = False                              # "what should I watch?"
    refine: str = ""     # "narrow" ("only dramas") or "switch" ("make it a comedy"): the last ask
    add_person: bool = False   # "with Jim Carrey" after a list: the last ask, with that person
    clear: list[str] = field(default_factory=list)   # "forget the year": years genres runtime people
    also: bool = False   # "I also loved X", "X too": adds to the last ask instead of replacing it

    @property
    def acts(self) -> list[str]:
        """The dialogue acts found, in the order the agent handles them."""
        acts = []
        if self.liked or self.disliked or self.seen or self.feedback:
            acts.append("feedback")
        if self.question:
            acts.append("question")
        if self.reject:
            acts.append("reject")
        if self.critiques or (self.constraints_given and not self.content) or (
                (self.avoid_people or self.avoid_kinds or self.clear or self.k)
                and not self.content and not self.more):
            acts.append("critique")      # "nothing with Adam Sandler": the last ask, narrowed
        if self.more:
            acts.append("more")
        if self.content or self.asks_for_list:
            acts.append("request")
        if self.chitchat and not acts:
            acts.append("chitchat")
        if self.nonsense and not acts:
            acts.append("nonsense")
        return acts

    def understood(self) -> bool:
        """Did the parser find anything at all?"""
        return bool(self.acts) or bool(self.unresolved or self.refs or self.help)


class InputError(ValueError):
    """The message cannot be used as it is; the text says what to do."""


def clean_message(text: str) -> str:
    """Reject absurd input with one clear sentence; return the text with spaces collapsed."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"the message is {len(text):,} characters long; keep it under "
                         f"{MAX_MESSAGE_CHARS:,} (say what you'd like to watch in a sentence or two)")
    bad = sorted({c for c in text if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:3])
        raise InputError(f"the message holds control characters ({shown}); send plain text")
    text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if not text:
        raise InputError("the message is empty; say what you'd like to watch")
    return text


def chitchat_reply(kind: str, shown: bool = True) -> str:
    if kind == "ack" and not shown:   # "lol" before any list: there is nothing to be "these"
        return "Tell me a film you like, a genre, a person, or what you're in the mood for."
    return _CHITCHAT_REPLIES.get(kind, _CHITCHAT_REPLIES["ack"])


_REFINE = re.compile(r"\W*(?:only|just|make (?:it|them) (?:a |an )?|but (?:a |an )?|preferably|"
                     r"ideally|rather|same but|(?:something|one|ones) (?:that'?s|that is) "
                     r"(?:a |an )?|(?:a|an|the) \w+ one\b|any (?:of them|\w+ ones)|"
                     r"narrow (?:it )?(?:down )?to)\b")


def parse(text: str, finder: MentionFinder, *, max_year: int = 2018) -> Intent:
    """Read ``text`` into an ``Intent``; ``finder`` spots titles and people."""
    text = clean_message(text)
    intent = Intent(text=text)
    # "like both Heat and The Notebook": "both" stands between the cue and the first title
    text = re.sub(r"\bboth\s+(?=[^.!?]*\band\b)", "", text, flags=re.IGNORECASE)
    low = text.lower()
    intent.also = bool(re.search(
        r"\balso (?:really )?(?:loved?|liked?|enjoyed|adored?)\b|\b(?:loved?|liked?|enjoyed|"
        r"adored?)\b[^.!?]*\b(?<!not )(?<!me )(?:too|as well)\W*$", low))
    # "actually, make it a comedy": a lead-in word does not hide the refinement
    lead = re.match(r"\W*(?:(?:actually|ok|okay|hmm+|well|then|so|no|nah|oh)\b\W*)+", low)
    body = low[lead.end():] if lead else low
    cue = _REFINE.match(body)
    if cue:
        intent.refine = "switch" if re.match(r"\W*(?:make|rather|but|same but)", body) else "narrow"
    elif re.search(r"\b(?:only|just)\W*$", body):
        intent.refine = "narrow"          # "from the 90s only"
    # "with Jim Carrey" after a list: that person, in the ask already made
    intent.add_person = bool(re.match(r"\W*(?:(?:and|but|only|just|now)\s+)?(?:with|starring|"
                                      r"featuring|by|directed by)\s", body))
    rest = low  # parts get blanked out as they are understood

    def blank(span: tuple[int, int]) -> None:
        nonlocal rest
        rest = rest[: span[0]] + " " * (span[1] - span[0]) + rest[span[1]:]

    if re.fullmatch(r"\W*(?:help|\?+|what can you do|what do you do|how does (?:this|it) work|"
                    r"how do i use (?:this|you)|commands|options|usage)\W*", low):
        intent.help = True
        return intent

    # --- people, then titles (a person's name is no title) ---------------------------------
    people = finder.people(text)
    spots = finder.titles_in(text, blocked=[(p.start, p.end) for p in people])
    title_spans = [(s.start, s.end) for s in spots]
    intent.foreign = _is_foreign(low) and not spots   # "Nosferatu, eine Symphonie des Grauens"
    intent.unknown_people = _unknown_names(text, [(p.start, p.end) for p in people] + title_spans)

    # --- questions: only the message's last sentence asks one ---------------------------------
    cut = max((m.end() for m in re.finditer(r"[.!\n]\s+|\?\s+(?=\S)", low)
               if not any(a <= m.start() < b for a, b in title_spans)),   # "Vol. 1", "L.A."
              default=0)
    last = " " * cut + low[cut:]
    why_not = re.search(r"\bwhy (?:not|didn'?t you (?:recommend|suggest|show|include)|no)\s+(.+?)"
                        r"(?:\?|$)", last)
    about = re.search(r"\b(?:what(?:'s|s| is| was)|tell me (?:more )?about|what happens in|"
                      r"plot of|what'?s the plot of)\s+(.+?)\s*(?:about)?\s*\??$", last)
    cast = re.search(r"\b(?:who(?:'s| is| was)? (?:in|starring in|stars in|the star of|"
                     r"directed|the director of)|who directed|who made|cast of|who (?:starred|"
                     r"acted|acts|plays|played|appears|appeared|was starring) in|who(?:'s| is)? "
                     r"the cast of)\s+(.+?)\??$", low)
    pronoun = (r"\s*(?:it|that|this|that one|this one|the (?:first|second|third|last) one|"
               r"#\s*\d+|number \d+|no\.? ?\d+|the \d+(?:st|nd|rd|th)(?: one)?)\s*")
    fact, facet = None, ""
    # only as the message itself: after a chat's worth of sentences ("... Is Heat any good?")
    # a seeker asking about a film wants the list that follows (ReDial learn folds: R@10 -0.002)
    for name, pattern in (_FACT_QUESTIONS if len(low.split()) <= 14 else ()):
        fact = re.search(pattern, last)
        if fact:
            facet = name
            break
    if fact and (re.fullmatch(pronoun, fact.group(1)) or _spot_in(spots, fact.span(1))
                 or _resolves(fact.group(1), finder)):
        # "is Heat worth watching?", "how long is #3?": a fact about one film, no list
        intent.question, intent.facet = "about", facet
        if re.fullmatch(pronoun, fact.group(1)):
            intent.that_one = True
            spots = [sp for sp in spots if not fact.start(1) <= sp.start]
        else:
            intent.about = _mention_for(spots, fact.span(1), text, finder)
        blank(fact.span())
    elif about and re.fullmatch(pronoun, about.group(1)) or \
            cast and re.fullmatch(pronoun, cast.group(1)):
        intent.question = "about" if about and re.fullmatch(pronoun, about.group(1)) else "cast"
        intent.that_one = True
        blank((about or cast).span())
        spots = [sp for sp in spots if not ((about or cast).start(1) <= sp.start)]
    elif why_not and (_spot_in(spots, why_not.span(1)) or not _ref_numbers(why_not.group(1))):
        intent.question = "why_not"
        intent.why_not = _mention_for(spots, why_not.span(1), text, finder)
        blank(why_not.span())
    elif cast and (_spot_in(spots, cast.span(1)) or _resolves(cast.group(1), finder)):
        intent.question = "cast"
        intent.about = _mention_for(spots, cast.span(1), text, finder)
        blank(cast.span())
    elif about and (_spot_in(spots, about.span(1)) or _resolves(about.group(1), finder)):
        intent.question = "about"
        intent.about = _mention_for(spots, about.span(1), text, finder)
        blank(about.span())
    elif re.search(r"\bwhy\b|\bhow come\b|\bexplain\b|\bwhat makes\b", last):
        intent.question = "why"
        # "why Rocky?", "why did you pick Raging Bull?": that film, not the first one
        named = re.search(r"\bwhy\s+(?:(?:did|do) you (?:pick|choose|suggest|recommend|show|"
                          r"include|like)\s+|is\s+|was\s+|the film\s+|the movie\s+)?(.+?)"
                          r"(?:\s+(?:in the list|on the list|here))?\s*\??$", last)
        spot = _spot_in(spots, named.span(1)) if named else None
        if named and not _ref_numbers(named.group(1)) and (
                (spot and spot.start <= named.start(1) + 1) or _resolves(named.group(1), finder)):
            # the title is the whole tail: "why is this better than Rocky?" is about #1
            intent.why_of = _mention_for(spots, named.span(1), text, finder)
        blank(re.search(r"\bwhy\b.*|\bhow come\b.*|\bexplain\b.*|\bwhat makes\b.*", last).span())

    # --- references to shown items: only in what no title took ("The Sixth Sense") ---------
    no_titles = low
    for a, b in title_spans:
        no_titles = no_titles[:a] + " " * (b - a) + no_titles[b:]
    intent.refs = _ref_numbers(no_titles)
    bare = re.search(r"\bmore (?:like|of) (\d{1,2})\s*[?!.]*$", no_titles)   # "more like 2"
    if bare and not intent.refs:
        intent.refs = [int(bare.group(1))]
    if intent.refs:   # "number 3", "#3", "the 3rd one" point at a pick: no description
        rest = re.sub(r"#\s*\d{1,2}\b|\b(?:number|no\.?|item|pick)\s*\d{1,2}\b|"
                      r"\b(?:the\s+)?\d{1,2}(?:st|nd|rd|th)(?:\s+(?:one|film|movie|pick))?\b",
                      lambda m: " " * len(m.group()), rest)    # same length: spans stay put
        if bare:
            rest = rest[:bare.start(1)] + " " * len(bare.group(1)) + rest[bare.end(1):]
    if not intent.refs and not spots:
        intent.that_one = bool(re.search(r"\b(?:that one|this one|it|that|those|these|them)\b",
                                         no_titles))
        # "seen them all", "I saw all of those": every film of the list, not the first
        intent.all_shown = bool(re.search(
            r"\b(?:all (?:of )?(?:them|those|these)|(?:them|those|these) all|every (?:single )?one"
            r"(?: of (?:them|those|these))?|(?:seen|watched|saw) (?:them|those|these))\b", no_titles))

    # --- mentions, each with its own sentiment ----------------------------------------------
    question_spans = [m for m in (intent.why_not, intent.about) if m is not None]
    for spot in spots:
        if any(q.text == spot.text for q in question_spans):
            blank((spot.start, spot.end))
            continue
        mention = Mention(spot.text, spot.movie_id, spot.title, spot.year,
                          suggestions=spot.suggestions, options=spot.options,
                          sentiment=_sentiment(text, spot.start, spot.end))
        blank((spot.start, spot.end))
        if spot.options:
            intent.ambiguous.append(mention)
        elif spot.movie_id is None:
            intent.unresolved.append(mention)
        elif mention.sentiment == "like":
            intent.liked.append(mention)
            intent.seeds.append(mention)
        elif mention.sentiment == "dislike":
            intent.disliked.append(mention)
        elif mention.sentiment == "seen":
            intent.seen.append(mention)
        elif mention.sentiment == "unseen":
            intent.unseen.append(mention)     # named, not seen yet: a weak seed
            intent.seeds.append(mention)
        else:
            intent.seeds.append(mention)
    if not intent.seeds and intent.seen and re.search(
            r"\b(?:like|similar to|more of) (?:them|those|these|both|that|it)\b", low):
        intent.seeds.extend(intent.seen)   # "seen Fargo and Raising Arizona, something like them"
    for person in people:
        before = max(0, person.start - 40)
        negator = re.search(
            rf"\b{_NEGATORS}\s+(?:(?:with|by|starring|featuring|from|of|any|more)\s+)*$",
            low[before:person.start])                           # "nothing with Adam Sandler"
        if _sentiment(text, person.start, person.end) == "dislike" or negator:
            intent.avoid_people.append(person)
            if negator:     # "nothing with" is no description either
                blank((before + negator.start(), person.start))
        elif person.explicit:
            intent.people.append(person)
        else:
            intent.fans_of.append(person)
        blank((person.start, person.end))
    # the cue words that introduced titles are no description
    rest = re.sub(r"\b(?:something|anything|films?|movies?|stuff)?\s*(?:similar to|like|"
                  r"in the vein of|reminds? me of)\s*(?=\s|$)", " ", rest)

    # --- "more like that", "10 more" ----------------------------------------------------------
    mm = _MORE.match(low.strip())
    if mm or re.search(r"\bmore (?:like|of) (?:that|this|it|those|these|them|(?:#\s*|number |"
                       r"no\.? ?)?\d+|the \w+ one)\b"
                       r"|\b(?:more|another) (?:one )?like (?:that|this|it)\b", low):
        intent.more = True
        if mm and mm.group(1):
            n = mm.group(1).lower()
            intent.k = int(n) if n.isdigit() else _NUMBER_WORDS.get(n)
        rest = re.sub(r"\bmore (?:like|of) (?:that|this|it|those|these|them)\b", " ", rest)
        if mm:
            rest = ""

    # --- rejection of the last list -------------------------------------------------------------
    rj = _REJECT.match(low.strip())
    if rj and not spots and not intent.more:
        intent.reject = True
        blank((rj.start(), rj.end()))

    # --- feedback on referenced films -------------------------------------------------------------
    short = len(low.split()) <= 8
    if intent.question is None:
        # "not #3" is a dislike of #3 alone, whatever else the message says of other films
        for nm in re.finditer(r"\bnot (?:#\s?|number |no\.?\s?)(\d+)\b", no_titles):
            intent.ref_feedback[int(nm.group(1))] = "dislike"
            no_titles = no_titles[:nm.start()] + " " * (nm.end() - nm.start()) + \
                no_titles[nm.end():]
            blank(nm.span())
        # "#1 loved it, #2 hated it": each clause's verb goes to that clause's picks
        clauses = [c for c in re.split(r"[,;]|\band\b|\bbut\b", no_titles) if c.strip()]
        per = []
        for clause in clauses:
            nums = _ref_numbers(clause)
            kind = next((k for k, pat in FEEDBACK_PATTERNS if re.search(pat, clause)), None)
            if nums and kind:
                per.append((nums, kind))
        if len(per) > 1 and len({k for _, k in per}) > 1:
            for nums, kind in per:
                for n in nums:
                    intent.ref_feedback.setdefault(n, kind)
        for kind, pattern in FEEDBACK_PATTERNS:
            fm = re.search(pattern, no_titles)
            if fm and kind == "seen" and re.search(
                    r"\b(?:haven'?t|havent|have not|never|not|didn'?t|did not)\s+(?:\w+\s+)?$",
                    no_titles[:fm.start()]):
                continue
            if fm and (intent.refs or (intent.that_one and short) or len(low.split()) <= 4):
                intent.feedback = kind
                blank(fm.span())
                break
        if intent.ref_feedback and not intent.feedback and \
                set(intent.refs) <= set(intent.ref_feedback):
            intent.feedback = "dislike"              # "not #2" alone
        if intent.reject and intent.that_one and not intent.feedback and \
                re.search(r"\bnot (?:that|this) one\b", low):
            intent.reject, intent.feedback = False, "dislike"

    # --- how many ---------------------------------------------------------------------------------
    km = re.search(r"\b(?:top |best )?(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?:more\s+)?"
                   r"(?:(?:\w+\s+){0,2})?(?:films?|movies?|picks|recommendations|suggestions|"
                   r"options|ideas|comedies|dramas|thrillers|westerns|ones)\b", no_titles)
    tm = re.search(r"\btop (\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\b", no_titles)
    if km and not re.match(r"(?:19|20)\d\d$", km.group(1)):
        n = km.group(1)
        intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        blank(km.span(1))
        rest = rest[:km.start(1)] + " " * len(km.group(1)) + rest[km.end(1):]
    elif tm:
        n = tm.group(1)
        intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
        blank(tm.span())
    else:   # "just 3 please", "show me fewer, like 3", "just one good thriller"
        nums = "|".join(w for w in _NUMBER_WORDS if " " not in w)
        jm = re.search(rf"\b(?:just|only|give me|show me|fewer,? like|fewer,? say|say)\s+"
                       rf"(\d{{1,2}}|{nums})\b(?!\s*(?:min|hour|hrs?\b|h\b|s\b|'s|st\b|nd\b|"
                       rf"rd\b|th\b|more))", no_titles)
        if jm:
            n = jm.group(1)
            intent.k = int(n) if n.isdigit() else _NUMBER_WORDS[n]
            blank(jm.span())
            if not intent.refine:
                intent.refine = "narrow"     # fewer of the same: the list just shown counts
    # "forget the year", "any genre is fine": a filter set before, dropped
    for word, what in (("years?|decades?|dates?|era", "years"), ("genres?", "genres"),
                       ("length|runtime|time limit|duration", "runtime"),
                       ("person|actor|actress|director|people", "people")):
        cm = re.search(rf"\b(?:forget|drop|remove|ignore|clear|no need for|never ?mind)\s+(?:the\s+|that\s+|my\s+)?"
                       rf"(?:{word})(?:\s+(?:filter|limit|constraint|thing|part))?\b"
                       rf"|\bany\s+(?:{word})\s+(?:is|are|will do|works)\b", rest)
        if cm:
            intent.clear.append(what)
            blank(cm.span())

    # --- runtimes, then years -------------------------------------------------------------------
    rest = _parse_runtime(intent, rest)
    rest = _parse_years(intent, rest, max_year)

    # --- critiques ----------------------------------------------------------------------------
    for name, pattern in CRITIQUES:
        cm = re.search(pattern, rest)
        if cm:
            intent.critiques.append(name)
            blank(cm.span())

    # --- genres (negated ones first) -----------------------------------------------------------
    genre_hits: list[tuple[int, int, tuple[str, ...]]] = []   # (start, end, group), in order
    genre_text = rest
    for word in sorted(GENRE_WORDS, key=len, reverse=True):
        if re.search(rf"\b{_DISLIKE_VERBS}\s+(?:\w+\s+){{0,3}}?{re.escape(word)}\b", low):
            # "i don't like comedies": the cue "like" has left ``rest`` already
            for g in GENRE_WORDS[word]:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            rest = re.sub(rf"\b{re.escape(word)}\b", lambda m: " " * len(m.group()), rest)
            continue
        for gm in re.finditer(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,3}}?{re.escape(word)}\b", rest):
            for g in GENRE_WORDS[word]:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            blank(gm.span())
        for gm in re.finditer(rf"\b{re.escape(word)}\b", rest):
            group = GENRE_WORDS[word]
            if not set(group) & set(intent.exclude_genres):
                genre_hits.append((gm.start(), gm.end(), group))
                if group not in intent.genres:
                    intent.genres.append(group)
            blank(gm.span())

    if not intent.genres:   # "comdey", "thriler": a typo of a genre word
        from rapidfuzz import fuzz, process

        for wm in re.finditer(r"[a-z][a-z-]{4,}", rest):
            word = wm.group()
            if word in _vocabulary():
                continue
            hit = process.extractOne(word, list(GENRE_WORDS), scorer=fuzz.ratio, score_cutoff=80)
            if hit:
                intent.genres.append(GENRE_WORDS[hit[0]])
                blank(wm.span())
    if len(intent.genres) > 1 and genre_hits:
        intent.genres = _combine_genres(genre_text, genre_hits)
    for pattern, want, avoid in _COMPARATIVES:
        cm = re.search(pattern, rest)
        if cm:
            if want and want not in intent.genres:
                intent.genres.append(want)
            for g in avoid:
                if g not in intent.exclude_genres:
                    intent.exclude_genres.append(g)
            blank(cm.span())

    # --- quality and generic asks ----------------------------------------------------------------
    if re.search(r"\b(?:best|greatest|top|top[- ]rated|highest[- ]rated|must[- ]see|essential|"
                 r"acclaimed|well[- ]loved|masterpieces?)\b", rest) and (
            intent.genres or intent.year_min or intent.k or re.search(
                r"\b(?:films?|movies?|flicks?|pictures?|cinema|of all time|ever made)\b", low)):
        intent.quality = True
    if re.search(r"\b(?:what|which|anything|something|any|some|recommend|suggest|suggestions?|"
                 r"recommendations?|ideas?|watch|bored)\b", low) and intent.question is None:
        intent.asks_for_list = bool(re.search(
            r"\b(?:what (?:should|can|could|to|do you)|which|recommend|suggest|suggestions?|"
            r"recommendations?|ideas?|looking for|in the mood|want to (?:watch|see)|"
            r"(?:any|some)thing (?:good|to watch|fun|new)?|something|anything|watch|bored|"
            r"what else|what other|any others?)\b", low))   # "I hated Titanic, what else?"

    # --- chit-chat ---------------------------------------------------------------------------------
    for kind, pattern in _CHITCHAT:
        if re.search(pattern, low):
            intent.chitchat = kind
            if kind in ("thanks", "bye"):
                break
    if intent.chitchat:
        for _, pattern in _CHITCHAT:
            rest = re.sub(pattern, " ", rest)

    film_ask = bool(_FILM_WORD.search(low) or intent.genres)   # "a comedy with a cat"
    intent.describe = _residual(rest, film_ask=film_ask)
    if _AGAIN.search(low) and not (intent.content or intent.refs or intent.more):
        intent.again = True
    negated = set(re.findall(r"\b(?:no|not|without|avoid|never|except|nothing with)\s+"
                             r"(?:any\s+|more\s+|too\s+)?([a-z][a-z'-]+)", low))
    if negated and intent.describe:   # "no zombies please": not a word to search for
        intent.describe = " ".join(w for w in intent.describe.split() if w not in negated)
        if not _residual(intent.describe):
            intent.describe = ""
    kinds, avoid = [], []
    for m in _SUBJECT_KINDS.finditer(low):
        negated = re.search(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,3}}?$", low[:m.start()])
        (avoid if negated else kinds).append(m.group(1))
    # "no superheroes", "sci-fi but not Star Wars": films of that kind or series stay out
    for m in re.finditer(r"\b(?:not|no|nothing like|without|except|anything but)\s+(?:the\s+)?"
                         r"([A-Z][\w'’:-]*(?:\s+(?:of\s+the\s+|of\s+)?[A-Z][\w'’:-]*){0,3})",
                         text):
        phrase = m.group(1).lower()
        if any(sp.start <= m.start(1) < sp.end and sp.movie_id for sp in spots):
            continue    # "not Titanic": a film, disliked (its mention says so)
        if len(phrase) >= 3 and not all(w in COMMON_WORDS or w in _FUNCTION_WORDS or _META.fullmatch(w)
                                        for w in phrase.split()) and not any(
                p.name.lower() == phrase for p in people):
            avoid.append(phrase)
            rest = re.sub(rf"\b{re.escape(phrase)}\b", lambda x: " " * len(x.group()), rest)
            intent.describe = " ".join(w for w in intent.describe.split()
                                       if w not in phrase.split())
    # ... and in lowercase when two or more titles start with it ("not star wars")
    for m in re.finditer(r"\b(?:not|no|nothing like|without|except|anything but)\s+(?:the\s+)?"
                         r"([a-z][\w'-]*(?:\s+[a-z][\w'-]*){1,3})", low):
        words = m.group(1).split()
        for n in (4, 3, 2):
            phrase = " ".join(words[:n])
            if len(words) >= n and phrase not in avoid and finder.is_series(phrase) and not all(
                    w in COMMON_WORDS or w in _FUNCTION_WORDS or w in GENRE_WORDS for w in words[:n]
            ) and words[n - 1] not in _FUNCTION_WORDS:     # not "blood and" of "no blood and gore"
                avoid.append(phrase)
                rest = re.sub(rf"\b{re.escape(phrase)}\b", lambda x: " " * len(x.group()), rest)
                intent.describe = " ".join(w for w in intent.describe.split()
                                           if w not in phrase.split())
                break
    intent.avoid_kinds = list(dict.fromkeys(avoid))
    if kinds and not intent.question and not intent.seeds:
        # "a heist movie": a kind of story the genres only hint at (Crime); it is the topic
        intent.topic = " ".join(dict.fromkeys(kinds))
        have = intent.describe.split()
        intent.describe = " ".join([*have, *(w for w in intent.topic.split() if w not in have)])
    topic = _TOPIC.search(low)   # in the whole message: "a comedy about ..." ("comedy" is a genre)
    if topic and not intent.question:
        words = [w for w in re.findall(r"[a-z][a-z'-]*", topic.group(1))
                 if w not in _FUNCTION_WORDS and len(w) > 2]
        if words:   # the subject counts even in everyday words ("a movie about a dog")
            # the subject as written ("loneliness in space" searches better than its words)
            # titles, people, years gone; genre words stay ("a film about the mafia")
            left = set(re.findall(r"[a-z0-9'][a-z0-9'-]*", rest)) | set(GENRE_WORDS)
            said = [w for w in re.findall(r"[a-z0-9'][a-z0-9'-]*", topic.group(1)) if w in left]
            while said and said[0] in _FUNCTION_WORDS:
                said.pop(0)
            while said and said[-1] in _FUNCTION_WORDS:
                said.pop()
        if words and said:
            intent.topic = " ".join(said)
            other = [w for w in intent.describe.split() if w not in said and w not in _TOPIC_CUES]
            intent.describe = " ".join([*other, intent.topic])
    moods = [w for w in intent.describe.split() if w in MOOD_WORDS and not re.search(
        rf"\b(?:no|not|nothing|without|never|i am|i'm|im|i feel|feeling|had a)\s+(?:\w+\s+)?"
        rf"{re.escape(w)}\b", low)]       # "a comedy, nothing sad", "I had a sad day"
    if "lighter" in intent.critiques:
        moods = []
    if moods and not intent.topic and not intent.question and not intent.seeds and (
            film_ask or intent.asks_for_list or len(intent.describe.split()) == len(moods)):
        # "a sad movie", "a tearjerker": films tagged so come first
        intent.topic = " ".join(dict.fromkeys(moods))
    if not intent.topic and not intent.question and not intent.seeds and film_ask:
        nouns = [w for w in intent.describe.split() if w in CONTENT_NOUNS and w not in _NO_SUBJECT]
        kind = _KIND_OF_FILM.search(text)
        if kind and kind.group(1) and kind.group(1)[0].isupper() and kind.group(2)[0].isupper():
            kind = None     # "Nicholas Sparks movies": a name, not a subject
        if not nouns and kind:   # "a christmas movie", "chess films": the word before says
            said = intent.describe.split()
            nouns = [w for w in [kind.group(2).lower()] if w in said and w not in MOODS
                     and w not in COMMON_WORDS and w not in GENRE_WORDS
                     and not _ADJECTIVAL.search(w) and len(w) >= 4 and w not in _NO_SUBJECT]
        if nouns:   # "a movie with great music", "a film with a dog": the subject
            intent.topic = " ".join(dict.fromkeys(nouns))
    if intent.chitchat and not (intent.content or intent.constraints_given or intent.critiques
                                or intent.more or intent.reject or intent.refs
                                or intent.feedback or intent.liked or intent.disliked
                                or intent.seen or intent.question):
        intent.asks_for_list = bool(re.search(
            r"\b(?:recommend|suggest|what should|looking for|in the mood|want to watch|"
            r"what else|any others?)\b", low))
    if intent.describe and _gibberish(intent.describe):
        intent.describe = ""
        cue = re.search(r"\b(?:like|similar to|loved|liked|seen)\s+(.{3,60}?)\s*[?!.]*$", text,
                        re.I)
        if cue and not intent.understood():   # "movies like zorblax the unbeholden"
            intent.unresolved.append(Mention(cue.group(1)))
        elif not intent.understood():
            if _gibberish(" ".join(re.findall(r"[a-z]{2,}", low))):
                intent.nonsense = True
            else:
                intent.chitchat = intent.chitchat or "ack"
    elif not intent.understood() and not intent.describe and not intent.chitchat:
        words = re.findall(r"[a-z]{2,}", low)
        if words and _gibberish(" ".join(words)):
            intent.nonsense = True
        else:   # "I haven't seen that one before", "not yet": plain talk, no list
            intent.chitchat = "ack"
    if not (intent.genres or re.search(r"\b(?:movies?|films?|flicks?|something|anything|"
                                       r"recommend|suggest|watch|starring|directed by)\b", low)):
        intent.unknown_people = []      # "ok I'll see it with Aisha": chat, not an ask
    return intent


def _resolves(text: str, finder: MentionFinder) -> bool:
    """A short question tail that is a title, typos forgiven ("who directed jaws")."""
    from .mentions import _close

    text = text.strip(" ?!.\"'")
    if not text or len(text.split()) > 8 or all(w in COMMON_WORDS for w in text.lower().split()):
        return False
    res = finder.titles.resolve(text)
    return res.best is not None and res.confidence >= 0.88 and _close(text, res.best.title)


def _spot_in(spots: list[Spot], span: tuple[int, int]) -> Spot | None:
    a, b = span
    return next((s for s in spots if a <= s.start and s.end <= b + 1), None)


def _mention_for(spots: list[Spot], span: tuple[int, int], text: str,
                 finder: MentionFinder) -> Mention:
    spot = _spot_in(spots, span)
    if spot is None:   # "why not forest gumpp?": a typo after a question cue
        raw = text[span[0]:span[1]].strip(" ?!.\"'")
        res = finder.titles.resolve(raw)
        if res.best is not None and res.confidence >= 0.85:
            b = res.best
            return Mention(raw, b.movie_id, b.title, b.year)
        return Mention(raw, suggestions=tuple((m.movie_id, m.label()) for m in res.matches[:3]))
    if spot.options and spot.movie_id is None:
        movie_id, label = spot.options[0]
        return Mention(spot.text, movie_id, label, None, options=spot.options)
    return Mention(spot.text, spot.movie_id, spot.title, spot.year, spot.suggestions)


_CLAUSE_END = re.compile(r"[.;!?\n]|\bbut\b|,\s*(?:and |though |however )?(?=i\b)|\bwhereas\b"
                         r"|\bwhile\b|\balthough\b"
                         # "she likes Heat and hates Up": each verb has its own film
                         r"|\band\s+(?=(?:(?:i|she|he|they|we)\s+)?(?:really\s+)?(?:hate|dislike|"
                         r"love|like|enjoy|adore)[sd]?\b(?!\s+(?:it|that|this|them|both|those)\b))",
                         re.I)
_DISLIKE_CUES = re.compile(
    r"\b(?:hate[sd]?|hating|dislike[sd]?|didn'?t (?:like|enjoy|care for|love)|did not (?:like|"
    r"enjoy|care for)|don'?t (?:like|enjoy|care for)|do not like|can'?t stand|not a (?:big )?fan|"
    r"wasn'?t (?:good|great|a fan|impressed|for me)|awful|terrible|horrible|worst|boring|"
    r"overrated|sucked|sucks|lousiest|bad|not for me|disappointed|disappointing|meh|"
    r"couldn'?t stand|not into|stupid|dumb|annoying)\b", re.I)
_UNSEEN_CUES = re.compile(r"\b(?:haven'?t|havent|have not|never|didn'?t|didnt|did not|not|"
                          r"not yet) (?:yet |even |actually )?(?:seen|watched|saw|see|watch)\b",
                          re.I)
_SEEN_CUES = re.compile(r"\b(?:seen|watched|saw|already)\b", re.I)
_SIMILAR_CUES = re.compile(
    r"(?:\b(?:something|anything|films?|movies?|stuff|more|ones?|others?|similar|kind|sort|"
    r"type|lines|vein|style)\s+(?:\w+\s+)?(?:like|similar to|to|of|as)|\bsimilar to|"
    r"\breminds? me of|\bin the (?:vein|style) of|\balong the lines of|\bsuch as|\blike)\s*$",
    re.I)
_LIKE_CUES = re.compile(
    r"\b(?:lo+ve[sd]?|loving|(?<!something )(?<!anything )(?<!movies )(?<!films )(?<!more )"
    r"(?<!one )(?<!ones )(?<!stuff )(?<!them )like[sd]?|enjoy(?:ed|s)?|adore[sd]?|fan of|favou?rites?|"
    r"great|amazing|awesome|brilliant|fantastic|excellent|good|best|wonderful|funny|hilarious|"
    r"cute|cool|classic|masterpiece|really into|into|recommend|a must)\b", re.I)


def _sentiment(text: str, start: int, end: int) -> str:
    """What the user says of the film at ``text[start:end]``, from its own clause."""
    bounds = [m.start() for m in _CLAUSE_END.finditer(text, 0, start)]
    a = bounds[-1] if bounds else 0
    nxt = _CLAUSE_END.search(text, end)
    b = nxt.start() if nxt else len(text)
    before, after = text[a:start], text[end:b]
    clause = before + " " + after
    if _DISLIKE_CUES.search(clause) or re.search(
            r"\b(?:not|no|nothing like|anything but|without)\s+(?:the\s+)?$", before, re.I):
        return "dislike"
    if _SIMILAR_CUES.search(before[-40:]):
        return "similar"
    if _UNSEEN_CUES.search(clause):
        return "unseen"
    if _LIKE_CUES.search(clause):
        return "like"
    if _SEEN_CUES.search(clause):
        return "seen"
    return "neutral"


def _ref_numbers(low: str) -> list[int]:
    refs: list[int] = []
    for m in re.finditer(r"#\s*(\d{1,2})\b|\b(?:number|no\.?|item|pick)\s*(\d{1,2})\b"
                         r"|\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)(?:\s+(?:one|film|movie|pick))?\b", low):
        refs.append(int(m.group(1) or m.group(2) or m.group(3)))
    for m in re.finditer(r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")(?:\s+(?:one|film|movie|pick))?\b", low):
        word = m.group(1)
        if word == "last" and not re.search(r"\blast (?:one|film|movie|pick)\b", low):
            continue
        refs.append(ORDINALS[word])
    for m in re.finditer(r"\b(?:the )?(" + "|".join(w for w in _NUMBER_WORDS if " " not in w)
                         + r")\b(?= one\b)", low):
        if m.group(1) != "one":
            refs.append(_NUMBER_WORDS[m.group(1)])
    return list(dict.fromkeys(refs))


_GENRE_ADJECTIVES = {"funny", "hilarious", "lighthearted", "animated", "scary", "frightening",
                     "terrifying", "creepy", "suspenseful", "tense", "romantic", "futuristic",
                     "magical", "sci-fi", "scifi", "superhero"}


def _combine_genres(text: str, hits: list[tuple[int, int, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    """Genre words written together describe one film ("a funny animated film", "romantic
    comedy", "scary and funny"): all must hold. Genres named apart ("I like comedies, and
    horror too", "sci-fi but I also like comedy", "horror or thrillers") are alternatives:
    any one will do."""
    hits = sorted(set(hits))
    chains: list[list[tuple[str, ...]]] = [[hits[0][2]]]
    for (s0, e0, _g0), (s1, e1, g1) in zip(hits, hits[1:]):
        gap = text[e0:s1]
        both_adjectives = text[s0:e0] in _GENRE_ADJECTIVES and text[s1:e1] in _GENRE_ADJECTIVES
        if re.fullmatch(r",?\s+(?:and|&)\s+", gap):
            together = both_adjectives           # "scary and funny"; "comedy and horror": either
        else:                                    # "scary from the 90s for kids": one film
            together = not re.search(r"[.!?;,\n]|\b(?:or|but|also|too|either|as well|plus)\b", gap)
        if together:
            chains[-1].append(g1)
        else:
            chains.append([g1])
    chains = [list(dict.fromkeys(c)) for c in chains]
    if len(chains) == 1:
        return chains[0]
    if all(len(c) == 1 for c in chains):
        return [tuple(dict.fromkeys(g for c in chains for g in c[0]))]
    return list(dict.fromkeys(g for c in chains for g in c))   # mixed: every genre, as before


def _parse_runtime(intent: Intent, low: str) -> str:
    """"under 90 minutes", "less than two hours", "at least 2h" -> runtime bounds."""
    def blank(span):
        nonlocal low
        low = low[: span[0]] + " " * (span[1] - span[0]) + low[span[1]:]

    low = re.sub(r"\b(?:an?|one) hour and a half\b|\bone and a half hours?\b|\b1\.5 hours?\b",
                 "90 minutes", low)
    low = re.sub(r"\b(?:an?|one) hour\b", "60 minutes", low)
    low = re.sub(r"\btwo hours\b", "120 minutes", low)
    num = r"(\d{1,3}(?:\.\d)?|an?|one|two|three|four|half an?|one and a half)"
    unit = r"\s*(hours?|hrs?|h|minutes?|mins?|m)\b"
    words = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "half a": 0.5,
             "half an": 0.5, "one and a half": 1.5}
    for m in re.finditer(rf"\b(under|less than|shorter than|at most|max(?:imum)?|no (?:more|longer) "
                         rf"than|not (?:more|longer) than|up to|within|over|more than|longer than|"
                         rf"at least|min(?:imum)?)\s+{num}{unit}", low):
        value = words.get(m.group(2), None)
        value = float(m.group(2)) if value is None else value
        minutes = int(value * 60) if m.group(3).startswith("h") else int(value)
        if m.group(1) in ("over", "more than", "longer than", "at least", "min", "minimum"):
            intent.runtime_min = minutes
        else:
            intent.runtime_max = minutes
        blank(m.span())
    # "between 90 and 100 minutes", "90-120 min", "1.5 to 2 hours"
    for m in re.finditer(r"\b(?:between\s+)?(\d{1,3}(?:\.\d)?)\s*(?:-|–|to|and)\s*(\d{1,3}(?:\.\d)?)"
                         r"\s*(hours?|hrs?|h|minutes?|mins?)\b", low):
        scale = 60 if m.group(3).startswith("h") else 1
        a, b = sorted((float(m.group(1)) * scale, float(m.group(2)) * scale))
        if b >= 30:
            intent.runtime_min, intent.runtime_max = int(a), int(b)
            blank(m.span())
    # "a 2 hour thriller", "a 90 minute comedy": about that long
    m = re.search(r"\b(?:an?|one)\s+(\d{1,3}(?:\.\d)?|two|three)[- ](hours?|minutes?|mins?)"
                  r"(?:[- ]long)?\b", low)
    if m and intent.runtime_min is None and intent.runtime_max is None:
        value = words.get(m.group(1)) or float(m.group(1))
        minutes = value * 60 if m.group(2).startswith("h") else value
        if minutes >= 30:
            intent.runtime_min, intent.runtime_max = int(minutes * 0.85), int(minutes * 1.15)
            blank(m.span())
    m = re.search(r"\b(\d{2,3})\s*(?:minutes?|mins?)\s+(?:or less|max|tops|at most)\b", low)
    if m:
        intent.runtime_max = int(m.group(1))
        blank(m.span())
    return low


def _parse_years(intent: Intent, low: str, max_year: int) -> str:
    """Set the year range from ``low``; returns ``low`` with the understood parts blanked."""
    def blank(span: tuple[int, int]) -> None:
        nonlocal low
        low = low[: span[0]] + " " * (span[1] - span[0]) + low[span[1]:]

    def year(s: str) -> int:
        y = int(s)
        return y + (1900 if y >= 20 else 2000) if y < 100 else y

    pat = r"(?:19|20)\d{2}|'?\d{2}"
    for m in re.finditer(r"\bbetween ((?:19|20)\d{2}) and ((?:19|20)\d{2})\b", low):
        a, b = sorted((int(m.group(1)), int(m.group(2))))
        intent.year_min, intent.year_max = a, b
        blank(m.span())
    for m in re.finditer(r"\b(?:the )?(?:(early|mid|late)[- ])?((?:19|20)?\d0)'?s\b", low):
        start = year(m.group(2))
        lo, hi = {"early": (0, 3), "mid": (3, 6), "late": (6, 9)}.get(m.group(1) or "", (0, 9))
        intent.year_min, intent.year_max = start + lo, start + hi
        blank(m.span())
    for m in re.finditer(r"\b(?:from |in )?(?:the )?(?:last|past|previous) (?:(\d{1,2}|two|three|"
                         r"five|ten|twenty) years|(decade|couple of years|few years|year))\b", low):
        words = {"two": 2, "three": 3, "five": 5, "ten": 10, "twenty": 20, "decade": 10,
                 "couple of years": 2, "few years": 3, "year": 1}
        n = int(m.group(1)) if (m.group(1) or "").isdigit() else words[m.group(1) or m.group(2)]
        intent.year_min = max_year - n + 1     # "the last 10 years" of what the catalog has
        blank(m.span())
    m = re.search(r"\b(?<!more )(?:recent|recently released|latest|modern)\b(?!\s+ones?\b)", low)
    if m and intent.year_min is None:
        intent.year_min = max_year - 5     # "a recent horror movie": the catalog's last 6 years
        blank(m.span())
    for m in re.finditer(rf"\bfrom ((?:19|20)\d{{2}}) (?:to|till|until|through|-) ((?:19|20)\d{{2}})\b",
                         low):
        intent.year_min, intent.year_max = sorted((int(m.group(1)), int(m.group(2))))
        blank(m.span())
    rules = (
        (rf"\b(?:nothing|none|no films?|no movies?) (?:before|older than|earlier than) ({pat})\b", "min", 0),
        (rf"\b(?:nothing|none|no films?|no movies?) (?:after|newer than|later than) ({pat})\b", "max", 0),
        (rf"\b(?:after|newer than|later than|post)[- ]({pat})\b", "min", 1),
        # "from 1995" is a year; "from 1995 on", "since 1995" a start
        (rf"\b(?:from|starting(?: in| from)?) ({pat})(?: onwards?| on| and (?:later|after|up|"
         rf"newer)| or (?:later|newer)| forwards?|\+)\b", "min", 0),
        (rf"\b(?:since|made in or after) ({pat})\b(?! to)", "min", 0),
        (rf"\b(?:before|older than|earlier than|pre)[- ]({pat})\b", "max", -1),
        (rf"\b(?:until|up to|through) ({pat})\b", "max", 0),
        (r"\b(?:from|in|of)(?: the year)? ((?:19|20)\d{2}|'\d{2})\b", "exact", 0),
        (r"\b((?:19|20)\d{2}) (?:films?|movies?)\b", "exact", 0),
    )
    for pattern, kind, shift in rules:
        for m in re.finditer(pattern, low):
            y = year(m.group(1).lstrip("'"))
            if not 1870 <= y <= max_year + 5:
                continue
            if kind == "min":
                intent.year_min = y + shift
            elif kind == "max":
                intent.year_max = y + shift
            elif intent.year_min is None and intent.year_max is None:
                intent.year_min = intent.year_max = y
            blank(m.span())
    return low


# "a movie about a boy and his dog", "films set in space", "something involving time travel"
_TOPIC = re.compile(
    r"\b(?:films?|movies?|flicks?|something|anything|ones?|stor(?:y|ies)|documentar(?:y|ies)|"
    r"comed(?:y|ies)|dramas?|thrillers?)\s+(?:(?:that is|that's|thats|which is|which are|"
    r"that are|mostly|all|just|really)\s+)?(?:about|involving|featuring|set (?:in|on|during)|"
    r"cent(?:er|re)d on|dealing with|on the (?:subject|topic) of)\s+([^.;!?\n]+)")
_FACT_QUESTIONS = (
    ("rating", r"\b(?:is|was)\s+(.+?)\s+(?:any good|good|worth (?:it|watching|seeing|a (?:watch|look))|"
               r"any fun|(?:a )?good (?:movie|film)|overrated|popular)\b"),
    ("rating", r"\bshould i (?:watch|see)\s+(.+?)\s*\??$"),
    ("rating", r"\bhow (?:good|popular|well rated) is\s+(.+?)\s*\??$"),
    ("runtime", r"\bhow long is\s+(.+?)\s*\??$"),
    ("runtime", r"\bhow long does\s+(.+?)\s+(?:run|last|take)\b"),
    ("year", r"\bwhen (?:did|was)\s+(.+?)\s+(?:come out|released|made|out)\b"),
    ("year", r"\bwhat year (?:is|was|did)\s+(.+?)(?:\s+(?:from|made|released|come out))?\s*\??$"),
    ("genre", r"\bwhat (?:genre|kind of (?:film|movie)) (?:is|was)\s+(.+?)\s*\??$"),
)
# Kinds of story a genre only hints at: searched for, and a topic ("a heist movie")
_SUBJECT_KINDS = re.compile(
    r"\b(heists?|gangsters?|mafia|mob|superheroe?s?|zombies?|vampires?|werewol(?:f|ves)|"
    r"slashers?|spy|spies|espionage|pirates?|samurai|ninjas?|dinosaurs?|robots?|boxing|"
    r"time[- ]travel|serial killers?|haunted houses?|ghosts?|witch(?:es)?|dragons?|"
    r"aliens invasion|alien invasion|heist|anime|studio ghibli|ghibli|pixar|black and white|"
    r"black-and-white|b&w|silent(?= (?:films?|movies?)))\b(?!\s*\()")
# Measured and left out: Disney, Marvel, DC as kinds (ReDial learn folds R@10 0.108/0.113 ->
# 0.107/0.111): seekers who say "Marvel" want the recent films chats suggest, which the
# small dataset seldom tags.
# "like Alien but funnier": the comparison names the genre the user wants more of (or less)
_COMPARATIVES = (
    (r"\b(?:funnier|more funny|more comedy|with more (?:laughs|humou?r)|lighter and funnier)\b",
     ("Comedy",), ()),
    (r"\b(?:scarier|creepier|more scary|more frightening|more horror)\b", ("Horror", "Thriller"), ()),
    (r"\b(?:more romantic|with (?:more )?romance)\b", ("Romance",), ()),
    (r"\b(?:more action|with more action|more exciting)\b", ("Action",), ()),
    (r"\b(?:for adults|for grown-?ups|(?:more )?grown-?up|not for kids|adult)\b", (),
     ("Children",)),
)
_TOPIC_CUES = frozenset("about involving featuring set centered centred dealing subject topic"
                        .split())
_FUNCTION_WORDS = frozenset("""
a an the and or but nor so yet for of to in on at by with about from into onto over under
his her their its our your my him them they she he it we you who whom whose which that this
these those there here what when where why how some any all each every both either neither
one ones very really just also too like kind sort lot lots bit maybe please thanks thank
is are was were be been being am do does did has have had can could would should will might
must not no nothing something anything film films movie movies flick flicks
""".split())


_AGAIN = re.compile(
    r"^\W*(?:(?:can|could) you |please )?(?:show|give|repeat|list)(?: me| us)?(?: the| that| your| "
    r"my| those| these)?(?: last| previous)? ?(?:list|picks|films|movies|recommendations|"
    r"suggestions|them|those|these|it)?(?: again| once more)\W*$"
    r"|^\W*(?:what|which) (?:were|was) (?:they|those|the (?:films|movies|picks)) again\W*$")


# How a film feels: everyday words, but a description ("a sad romance, something to cry to")
MOODS = frozenset("""sad cry crying tearjerker tearjerkers tear-jerker emotional heartbreaking
heartwarming depressing gritty dark uplifting inspiring inspirational mindbending mind-bending
twisty slow quirky weird bleak moody atmospheric cozy wholesome cheesy campy epic intense
thought-provoking philosophical cerebral trippy surreal whimsical nostalgic melancholic
melancholy touching moving tragic disturbing gory""".split())

# Everyday nouns that describe a film when the message asks for one ("a movie with great
# music", "a film set in a school"), and are chat otherwise ("I read the book")
CONTENT_NOUNS = frozenset("""music dog dogs cat cats school water money house road summer
city""".split())
def _unknown_names(text: str, taken: list[tuple[int, int]]) -> list[str]:
    """Names after "with", "starring", "by" that are no person, title or word the data
    knows ("anything with Zendaya"): said so, rather than answered with any film."""
    out = []
    for m in re.finditer(r"\b(?:with|starring|featuring|directed by|by)\s+"
                         r"([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})"
                         r"(?=\s*(?:$|[.,;!?)]|\s(?:and|or|in|please|movies?|films?)\b))", text):
        a, b = m.span(1)     # a name ends the phrase: "with New York vibes" names no one
        words = [w.lower() for w in m.group(1).split()]
        if any(a < y and x < b for x, y in taken) or any(w in GENRE_WORDS for w in words) \
                or _SUBJECT_KINDS.search(m.group(1).lower()):
            continue
        if len(words) == 1 and (words[0] in english_words() or words[0] in COMMON_WORDS):
            continue
        out.append(m.group(1))
    return out


# "a christmas movie", "some chess films": the words right before the film word
_KIND_OF_FILM = re.compile(r"(?:\b([A-Za-z][\w'-]*) )?\b([A-Za-z][a-z'-]+) (?:movies?|films?|flicks?|"
                           r"adventures?|comed(?:y|ies)|dramas?|thrillers?|documentar(?:y|ies)|"
                           r"westerns?|romances?|musicals?|myster(?:y|ies))\b", re.IGNORECASE)
# ... unless they describe how it is ("a feel-good movie", "an emotional film")
_ADJECTIVAL = re.compile(r"(?:y|ful|ous|ic|al|ive|ing|ed|ish|less|able|ible|est|ar|ate|ent|ant)$|-|"
                         r"^(?:bett|old|new|long|short|oth|fun|scar|dark|light|sill|whatev|"
                         r"anoth|eith|neith|rath|lat|earl|great)er$")
# ... or when and where it is watched, or who made it: not what it is about (Marvel and
# Disney measured, see _SUBJECT_KINDS)
_NO_SUBJECT = frozenset("""date night weekend summer winter friday saturday sunday netflix
oscar oscars award blockbuster cult indie foreign marvel disney b-movie
hollywood bollywood chick guys girls quick short random budget smart deep popcorn simple
clever cheap easy hard nice cool decent solid real true recent modern famous obscure
perfect cute lame sweet slow fast long light brief whole full main next last first kind
sort type""".split())
_FILM_WORD = re.compile(r"\b(?:movies?|films?|flicks?|something|anything)\b")


# How a film feels, as MovieLens users tag it: a mood asked for ("a sad movie", "something
# mind-bending") finds the films tagged with any word of its family. The search alone
# answered "a tearjerker" with the chats' action favourites.
MOOD_TAGS = {
    "sad": ("sad", "tearjerker", "tear jerker", "tear-jerker", "made me cry", "cry", "crying",
            "depressing", "heartbreaking", "tragic", "tragedy", "melancholy", "melancholic",
            "bittersweet", "emotional", "touching"),
    "mind-bending": ("mind-bending", "mind bending", "mindfuck", "mind-fuck", "twist ending",
                     "plot twist", "surreal", "cerebral", "thought-provoking", "nonlinear",
                     "non-linear", "trippy", "dreamlike"),
}
MOOD_WORDS = {**{w: "sad" for w in ("sad", "tearjerker", "tearjerkers", "tear-jerker", "cry",
                                    "crying", "heartbreaking", "depressing", "tragic",
                                    "melancholy", "melancholic", "bittersweet")},
              **{w: "mind-bending" for w in ("mind-bending", "mindbending", "mindfuck", "trippy",
                                             "twisty", "cerebral", "surreal")}}

def _residual(rest: str, film_ask: bool = False) -> str:
    """The descriptive words left: content only, or "" when nothing but meta words remain."""
    words = re.findall(r"[a-z0-9'][a-z0-9'-]*", rest)
    content = [w for w in words if (not _META.fullmatch(w) and w not in COMMON_WORDS
                                    and not w.isdigit()) or w in MOODS
               or (film_ask and w in CONTENT_NOUNS)]
    if not content or (len("".join(content)) < 4 and not (
            film_ask and (content[0] in CONTENT_NOUNS or content[0] in MOODS))):
        return ""
    return " ".join(w for w in words if not _META.fullmatch(w))


@functools.cache
def _vocabulary() -> frozenset[str]:
    """English words as whole tokens of MiniLM's WordPiece vocabulary (plus our lexicon)."""
    return frozenset(set(COMMON_WORDS) | set(GENRE_WORDS) | MOODS | english_words())


# Everyday words of French, Spanish, German, Italian and Portuguese asks that English lacks
_FOREIGN = frozenset("""je voudrais veux une des du est pour avec quelque chose peux
quiero una pelicula película peliculas películas por favor algo como puedes recomendar
recomiendas ich möchte einen eine ein und mit etwas bitte kannst empfehlen vorrei uno
qualcosa voglio pellicola eu quero filme alguma coisa você""".split())
_ENGLISH_SIGNS = frozenset("""i a the and with something anything movie movies like want
please me my you is are of to for some any""".split())


def _is_foreign(low: str) -> bool:
    """Two or more everyday words of another language and none of English's."""
    words = re.findall(r"[^\W\d_]+", low)
    return sum(w in _FOREIGN for w in words) >= 2 and not any(w in _ENGLISH_SIGNS for w in words)


def _gibberish(text: str) -> bool:
    words = [w for w in re.findall(r"[a-z]+", text) if len(w) > 1]
    vocab = _vocabulary()
    if len(vocab) < 1000 or not words:   # no vocabulary to judge by: trust the words
        return False
    known = sum(w in vocab or w.rstrip("s") in vocab for w in words)
    return known / len(words) < 0.5
