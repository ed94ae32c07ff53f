"""The closed vocabularies the agent's parts share, as enums: a typo in a fact kind or a
critique name fails where it is written (``FactKind("thme")`` raises ValueError) instead
of silently matching nothing. They are ``StrEnum``s: equal to, hashed like and stored as
their plain strings, so sessions stored before keep working.
"""

from __future__ import annotations

from enum import StrEnum


class FactKind(StrEnum):
    """What a piece of evidence (``evidence.Fact``) says about a candidate."""

    PERSON = "person"                      # the person the user asked for: directed, starring
    SHARED_DIRECTOR = "shared_director"    # the director of a film the user named
    SHARED_CAST = "shared_cast"
    SHARED_TAGS = "shared_tags"
    SHARED_GENRES = "shared_genres"
    THEME = "theme"                        # a tag or plot word of the ask
    TRANSCRIPT = "transcript"              # a passage of its dialogue
    SOUND_PICTURE = "sound_picture"        # how your video sounds and looks (its descriptors)
    BECAUSE_YOU_LIKED = "because_you_liked"    # the MF ranker: your likes pushed it up
    CO_RATING = "co_rating"                # fans of X rate it 4+ n x as often
    THIN = "thin"                          # too few raters to say more
    CHAT = "chat"                          # suggested in real recommendation chats
    CHAT_TALK = "chat_talk"                # suggested to a seeker who said what you said
    MATCH = "match"                        # the semantic search's similarity
    POPULAR = "popular"                    # rated by many, its average
    DIRECTOR = "director"
    CAST = "cast"
    OVERVIEW = "overview"
    TAGS = "tags"
    GENRES = "genres"


class CritiqueKind(StrEnum):
    """How a critique moves the next list ("less violent", "older"); the rows of
    ``rules/critiques.toml`` must be named by one of these."""

    LESS_VIOLENT = "less_violent"
    LIGHTER = "lighter"
    DARKER = "darker"
    MORE_RECENT = "more_recent"
    OLDER = "older"
    SHORTER = "shorter"
    LONGER = "longer"
    MORE_POPULAR = "more_popular"
    LESS_POPULAR = "less_popular"
