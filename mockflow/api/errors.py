"""Airflow 2.5.3's words for the store's domain errors: status, title and detail per rule.

`TEXTS` maps a domain error's `code` to the real server's detail and title, as `str.format`
templates over the error's facts. An operation whose real handler words the same rule its own
way has an entry `"<code>@<operationId>"`, which wins over the plain one.
"""

from __future__ import annotations

from collections.abc import Mapping

from mockflow.bundle import Text
from mockflow.problems import USE_DEFAULT, AlreadyExists, ApiError, BadRequest, NotFound
from mockflow.store.errors import AlreadyExistsError, ConflictError, DomainError, InvalidInputError, NotFoundError

TEXTS: dict[str, Text] = {}

_CLASSES: Mapping[type[DomainError], type[ApiError]] = {
    NotFoundError: NotFound,
    AlreadyExistsError: AlreadyExists,
    ConflictError: AlreadyExists,  # Airflow answers 409 AlreadyExists for state conflicts too
    InvalidInputError: BadRequest,
}


def problem_for(error: DomainError, operation_id: str, texts: Mapping[str, Text]) -> ApiError:
    """The problem a bundle with `texts` answers for `error` raised while serving `operation_id`."""
    text = texts.get(f"{error.code}@{operation_id}") or texts.get(error.code)
    problem_class = next((cls for kind, cls in _CLASSES.items() if isinstance(error, kind)), BadRequest)
    if text is None:
        # A rule without words is a mockflow bug, but the client still deserves the right status.
        return problem_class(f"{error.code}: {error.facts!r}")
    detail = None if text.detail is None else text.detail.format(**error.facts)
    title = USE_DEFAULT if text.title is None else text.title.format(**error.facts)
    return problem_class(detail, title=title)
