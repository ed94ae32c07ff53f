"""The text that stands for a movie in the semantic index."""

from __future__ import annotations

from .catalog import Movie


def catalog_document(movie: Movie, said: tuple[str, ...] = ()) -> str:
    """One line describing ``movie`` for embedding; parts the catalog lacks are left out.
    ``said``: what real seekers had asked for before it was suggested to them in chats
    (``retrieval.prior.seeker_words``).

    ``"A film from 1995. Genres: Animation, Comedy. Tags: pixar. A cowboy doll ...
    Directed by John Lasseter. Starring Tom Hanks, Tim Allen."``

    The title stays out: search answers descriptions by what a film is about, and titles
    have their own index ("a film about loneliness" is not *In a Lonely Place*).
    """
    parts = [f"A film from {movie.year}." if movie.year else "A film."]
    if movie.genres:
        parts.append(f"Genres: {', '.join(movie.genres)}.")
    if movie.tags:
        parts.append(f"Tags: {', '.join(movie.tags)}.")
    if movie.overview:
        overview = movie.overview.strip()
        parts.append(overview if overview.endswith((".", "!", "?")) else f"{overview}.")
    if said:
        parts.append(f"Seekers asked for: {', '.join(said)}.")
    if movie.director:
        parts.append(f"Directed by {directed_by(movie)}.")
    if movie.stars:
        parts.append(f"Starring {', '.join(movie.stars)}.")
    return " ".join(parts)


def directed_by(movie) -> str:
    """The director and any co-directors, for objects with or without ``directed_by``."""
    named = getattr(movie, "directed_by", None)
    return (named() if callable(named) else None) or movie.director
