"""Choosing between text/plain and application/json by the Accept header, as Werkzeug does."""

from __future__ import annotations


def best_match(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """The offered type the client prefers most (ties: the first offered), or None.

    An absent Accept header accepts nothing here: that is how Airflow's config and DAG source
    endpoints behave (406 without Accept).
    """
    if not accept:
        return None
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        for index, candidate in enumerate(offered):
            if _matches(media, candidate):
                rank = (quality, -index, candidate)
                if best is None or rank[:2] > best[:2]:
                    best = rank
    return None if best is None else best[2]


def _matches(media: str, candidate: str) -> bool:
    if media in ("*/*", candidate):
        return True
    kind, _, sub = media.partition("/")
    return sub == "*" and candidate.startswith(kind + "/")
