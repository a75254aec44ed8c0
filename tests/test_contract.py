"""Contracts: every operation has exactly one handler, the public surface is honest."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mockflow
from mockflow.api.bundle import airflow_v1
from tests.conftest import MakeClient

# Operations still answered with 501. This list only shrinks.
NOT_YET_IMPLEMENTED: set[str] = set()


def test_every_operation_has_a_handler_or_is_listed_as_not_yet() -> None:
    bundle = airflow_v1()
    assert bundle.missing_handlers() == NOT_YET_IMPLEMENTED
    assert set(bundle.handlers) <= set(bundle.spec.operations)


def test_an_operation_without_handler_answers_501_naming_itself(make_client: MakeClient) -> None:
    client = make_client()
    del client.app.pipeline.handlers["get_version"]
    response = client.get("/api/v1/version")
    assert response.status_code == 501
    assert response.json()["detail"] == "mockflow does not implement get_version yet"


def test_public_surface_is_exactly_what_all_lists() -> None:
    assert mockflow.__all__ == sorted(mockflow._HOMES)
    for name in mockflow.__all__:
        assert getattr(mockflow, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mockflow.nope  # noqa: B018


def test_importing_mockflow_loads_no_web_framework() -> None:
    # The pytest plugin imports mockflow in every test session of a user's project.
    script = "import sys, mockflow; print(sorted(m for m in ('starlette', 'uvicorn', 'httpx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
