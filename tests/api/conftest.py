"""Clients on the security fixture set, shared by the users and roles tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from tests.conftest import FIXTURES

SECURITY = FIXTURES / "security"


@pytest.fixture
def sec(make_client: Callable[..., TestClient]) -> TestClient:
    """Admin client on the security set."""
    return make_client(SECURITY)


@pytest.fixture
def open_sec(make_client: Callable[..., TestClient]) -> TestClient:
    """No authentication: no login is counted, so a refused call must leave the store identical."""
    return make_client(SECURITY, auth=None, auth_mode="none")
