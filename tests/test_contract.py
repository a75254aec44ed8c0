"""Contracts: every operation has exactly one handler, the public surface is honest."""

from __future__ import annotations

import mockflow
from mockflow.api import collect_handlers
from mockflow.spec import load_spec

# Operations still answered with 501. This list only shrinks.
NOT_YET_IMPLEMENTED: set[str] = set()


def test_every_operation_has_a_handler_or_is_listed_as_not_yet() -> None:
    operations = set(load_spec().operations)
    handled = set(collect_handlers(operations))
    assert operations - handled == NOT_YET_IMPLEMENTED
    assert handled <= operations


def test_an_operation_without_handler_answers_501_naming_itself(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    del client.app.pipeline.handlers["get_version"]
    response = client.get("/api/v1/version")
    assert response.status_code == 501
    assert response.json()["detail"] == "mockflow does not implement get_version yet"


def test_public_surface_is_exactly_what_all_lists() -> None:
    public = {name for name in vars(mockflow) if not name.startswith("_")}
    modules = {"api", "app", "auth", "audit", "clock", "pagination", "problems", "routing", "schemas", "settings",
               "spec", "store", "validation", "wire", "cli", "server", "generate", "capture", "fuzzing"}
    assert public - modules == set(mockflow.__all__)
