"""The store's domain errors: what a rule refused, with the ids involved, and no HTTP words.

A store function raises one of these with a `code` naming the rule (`"pool_not_found"`) and the
facts an API bundle needs to word it (`name="etl"`). Each bundle turns them into its own status
and text (`mockflow/api/errors.py` for Airflow 2.5.3), so the same store can speak other shapes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the store refused a request. `code` names the rule; `facts` carry the ids."""

    def __init__(self, code: str, **facts: Any) -> None:
        self.code = code
        self.facts = facts
        super().__init__(f"{code} {facts!r}" if facts else code)


class NotFoundError(DomainError):
    """Something named by the request does not exist."""


class AlreadyExistsError(DomainError):
    """A create or rename would collide with something that exists."""


class InvalidInputError(DomainError):
    """The input is well-formed but a rule of the domain refuses it."""


class ConflictError(DomainError):
    """The current state forbids the change (for example deleting a DAG with running tasks)."""
