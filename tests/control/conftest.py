"""Clients for the control API tests: the Airflow API and `/_mockflow/` of one in-process app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.app import MockflowApp
from tests.conftest import FIXTURES, MINIMAL, build_app

PVC = FIXTURES / "pvc"
CONTROL = "/_mockflow"


def client_for(app: MockflowApp, auth: tuple[str, str] | None = ("admin", "admin"),
               headers: dict[str, str] | None = None) -> TestClient:
    client = TestClient(app, headers=headers)
    if auth is not None:
        client.auth = auth
    return client


@pytest.fixture
def app() -> MockflowApp:
    return build_app(MINIMAL, PVC)


@pytest.fixture
def client(app: MockflowApp) -> TestClient:
    return client_for(app)


@pytest.fixture
def make_app() -> Callable[..., MockflowApp]:
    def make(*fixtures: Any, **settings: Any) -> MockflowApp:
        return build_app(*(fixtures or (MINIMAL, PVC)), **settings)

    return make
