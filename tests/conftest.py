"""Shared fixtures: in-process apps and clients, and a guard that fails any test during which
mockflow answered with a response its spec forbids (or crashed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow import MockflowApp, Settings, Store, create_app

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
CONFORMANCE_STATE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "state"

ADMIN = ("admin", "admin")
VIEWER = ("viewer", "viewer")

_apps: list[MockflowApp] = []
# Every undo-reset of every store the suite builds is checked against a fresh copy of its seed.
Store.verify_all = True


class Client(TestClient):
    """A test client whose `app` the type checker knows to be a `MockflowApp`."""

    app: MockflowApp


MakeClient = Callable[..., Client]


@pytest.fixture(autouse=True)
def _no_mockflow_bugs() -> Iterator[None]:
    _apps.clear()
    yield
    for app in _apps:
        assert not app.health.invalid_responses, f"invalid responses: {app.health.invalid_responses}"
        assert not app.health.crashes, f"handler crashes: {app.health.crashes}"


def build_app(*fixture_dirs: Path | str, **settings: Any) -> MockflowApp:
    app = create_app(Settings(fixtures=tuple(str(d) for d in fixture_dirs), **settings))
    _apps.append(app)
    return app


@pytest.fixture
def make_client() -> Callable[..., Client]:
    """`make_client(*fixture_dirs, auth=ADMIN, auth_mode=None, **settings)`: a client on a fresh app.

    `auth` is the client's credentials (None: send none); `auth_mode` is the server's
    `Settings.auth` ("basic", "none", "deny")."""

    def make(*fixture_dirs: Path | str, auth: tuple[str, str] | None = ADMIN, auth_mode: str | None = None,
             **settings: Any) -> Client:
        if auth_mode is not None:
            settings["auth"] = auth_mode
        client = Client(build_app(*(fixture_dirs or (MINIMAL,)), **settings))
        if auth is not None:
            client.auth = auth
        return client

    return make


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    """Admin client on the minimal fixture set."""
    return make_client()
