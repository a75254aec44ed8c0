"""Clients on the security fixture set (users and roles tests), and the store comparison the DAG-run
and task-instance tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mockflow.store.state import State
from tests.conftest import FIXTURES, Client

SECURITY = FIXTURES / "security"


@pytest.fixture
def sec(make_client: Callable[..., Client]) -> Client:
    """Admin client on the security set."""
    return make_client(SECURITY)


@pytest.fixture
def open_sec(make_client: Callable[..., Client]) -> Client:
    """No authentication: no login is counted, so a refused call must leave the store identical."""
    return make_client(SECURITY, auth=None, auth_mode="none")


def business_state(client: Client) -> State:
    """A snapshot without what every request may touch: audit rows, id counters, login counters."""
    snapshot: State = client.app.store.snapshot()
    snapshot.event_logs, snapshot.last_ids, snapshot.users = {}, {}, {}
    return snapshot
