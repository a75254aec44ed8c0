"""50 concurrent clients against a live server: pools, variables and connections with colliding names.

Handlers run one at a time under the store lock, so whatever the interleaving, every answer must
be one the API documents, exactly one create per pool or connection name may win, and the final
state must be what the successful answers imply.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mockflow.server import LiveServer
from tests.conftest import ADMIN, MINIMAL, build_app

CLIENTS = 50
NAMES = [f"race-{i}" for i in range(4)]
KINDS = ("pools", "variables", "connections")
DOCUMENTED = {  # (kind, verb) -> statuses a correct server may answer here
    ("pools", "create"): {200, 409}, ("pools", "patch"): {200, 404}, ("pools", "delete"): {204, 404},
    ("pools", "get"): {200, 404},
    ("variables", "create"): {200}, ("variables", "patch"): {200, 404}, ("variables", "delete"): {204, 404},
    ("variables", "get"): {200, 404},
    ("connections", "create"): {200, 409}, ("connections", "patch"): {200, 404},
    ("connections", "delete"): {204, 404}, ("connections", "get"): {200, 404},
}


@dataclass(frozen=True)
class Outcome:
    kind: str
    verb: str
    name: str
    value: str | None  # what the request tried to store
    status: int
    body: Any


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with LiveServer(build_app(MINIMAL)) as live:
        yield live


def key_of(kind: str) -> str:
    return {"pools": "name", "variables": "key", "connections": "connection_id"}[kind]


def request_for(kind: str, verb: str, name: str, value: str) -> tuple[str, str, Any]:
    """(method, path, body) of one operation; `value` marks what this request stores."""
    item = f"/api/v1/{kind}/{name}"
    bodies: dict[str, dict[str, Any]] = {
        "pools": {"name": name, "slots": int(value)},
        "variables": {"key": name, "value": value},
        "connections": {"connection_id": name, "conn_type": "http", "host": value},
    }
    body = bodies[kind]
    return {
        "create": ("POST", f"/api/v1/{kind}", body),
        "patch": ("PATCH", item, body),
        "delete": ("DELETE", item, None),
        "get": ("GET", item, None),
    }[verb]


def stored_value(kind: str, body: dict[str, Any]) -> str:
    return str(body[{"pools": "slots", "variables": "value", "connections": "host"}[kind]])


def run_clients(server: LiveServer, plan: Callable[[int, random.Random], list[tuple[str, str, str]]]) -> list[Outcome]:
    """Every client runs its own plan of (kind, verb, name); all start together."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        rng = random.Random(index)
        steps = plan(index, rng)
        mine: list[Outcome] = []
        try:
            with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30) as http:
                start.wait(timeout=30)
                for step, (kind, verb, name) in enumerate(steps):
                    value = str(1 + index * 100 + step)  # unique per request
                    method, path, body = request_for(kind, verb, name, value)
                    response = http.request(method, path, json=body)
                    parsed = response.json() if response.content else None
                    mine.append(Outcome(kind, verb, name, value if verb in ("create", "patch") else None,
                                        response.status_code, parsed))
        except BaseException as error:
            errors.append(error)
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return outcomes


def final_state(server: LiveServer, kind: str) -> dict[str, str]:
    with httpx.Client(base_url=server.url, auth=ADMIN) as http:
        items = http.get(f"/api/v1/{kind}", params={"limit": 100}).json()[kind]
        found = {item[key_of(kind)]: item for item in items if item[key_of(kind)] in NAMES}
        # list items may omit fields; read each one whole
        return {name: stored_value(kind, http.get(f"/api/v1/{kind}/{name}").json()) for name in found}


def assert_documented(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        assert outcome.status in DOCUMENTED[(outcome.kind, outcome.verb)], outcome
        if outcome.status >= 400:
            assert set(outcome.body) == {"detail", "status", "title", "type"}, outcome
        elif outcome.verb in ("create", "patch"):
            # each answer shows the state right after its own write
            assert outcome.body[key_of(outcome.kind)] == outcome.name
            assert stored_value(outcome.kind, outcome.body) == outcome.value, outcome


def test_create_race_has_one_winner_per_name(server: LiveServer) -> None:
    def plan(index: int, rng: random.Random) -> list[tuple[str, str, str]]:
        steps = [(kind, "create", name) for kind in KINDS for name in NAMES]
        rng.shuffle(steps)
        return steps

    outcomes = run_clients(server, plan)
    assert len(outcomes) == CLIENTS * len(KINDS) * len(NAMES)
    assert_documented(outcomes)
    for kind in KINDS:
        final = final_state(server, kind)
        assert set(final) == set(NAMES)
        for name in NAMES:
            mine = [o for o in outcomes if o.kind == kind and o.name == name]
            wins = [o for o in mine if o.status == 200]
            if kind == "variables":
                assert len(wins) == CLIENTS  # an upsert: every create succeeds, the last one stays
            else:
                assert len(wins) == 1 and Counter(o.status for o in mine)[409] == CLIENTS - 1
            assert final[name] in {o.value for o in wins}


def test_mixed_churn_ends_in_the_state_the_answers_imply(server: LiveServer) -> None:
    verbs = ("create", "create", "patch", "delete", "get")

    def plan(index: int, rng: random.Random) -> list[tuple[str, str, str]]:
        return [(rng.choice(KINDS), rng.choice(verbs), rng.choice(NAMES)) for _ in range(12)]

    outcomes = run_clients(server, plan)
    assert_documented(outcomes)
    for kind in KINDS:
        final = final_state(server, kind)
        for name in NAMES:
            mine = [o for o in outcomes if o.kind == kind and o.name == name]
            created = sum(o.status == 200 for o in mine if o.verb == "create")
            deleted = sum(o.status == 204 for o in mine if o.verb == "delete")
            written = {o.value for o in mine if o.status == 200 and o.verb in ("create", "patch")}
            if kind == "variables":
                # upserts: present at the end only if written, absent only if deleted (or never created)
                assert (name in final) <= (created > 0)
                assert (name not in final) <= (deleted > 0 or created == 0)
            else:
                # a create wins only on absence and a delete only on presence: they alternate
                assert created - deleted == (1 if name in final else 0), (kind, name, created, deleted)
            if name in final:
                assert final[name] in written, (kind, name)
    assert not server.app.health.invalid_responses and not server.app.health.crashes


# --- the live server itself -------------------------------------------------------------------

def test_live_server_binds_a_free_port_and_stops_cleanly() -> None:
    live = LiveServer(build_app(MINIMAL))
    with pytest.raises(RuntimeError, match="not running"):
        _ = live.url
    with live:
        assert live.ready.is_set() and live.port > 0
        assert httpx.get(live.url + "/api/v1/version").json()["version"] == "2.5.3"
        with pytest.raises(RuntimeError, match="cannot listen"):
            LiveServer(build_app(MINIMAL), port=live.port).start()
    assert not live.ready.is_set()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{live.port}/api/v1/version", timeout=2)
    live.stop()  # idempotent


def test_live_server_shares_the_apps_store(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, auth=ADMIN) as http:
        assert http.post("/api/v1/pools", json={"name": "shared", "slots": 3}).status_code == 200
    assert server.app.store.state.pools["shared"].slots == 3
    server.app.store.reset()
    with httpx.Client(base_url=server.url, auth=ADMIN) as http:
        assert http.get("/api/v1/pools/shared").status_code == 404
