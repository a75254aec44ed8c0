"""Authentication: HTTP Basic against the store's users, login counters, auth modes, 401 bodies."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from mockflow.auth import parse_basic
from tests.conftest import FIXTURES, Client

SECURITY = FIXTURES / "security"
UNAUTHORIZED = {
    "detail": None, "status": 401, "title": "Unauthorized",
    "type": "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/Unauthenticated",
}


@pytest.fixture
def anon(make_client: Callable[..., Client]) -> Client:
    return make_client(SECURITY, auth=None)


def basic(raw: bytes) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


def counters(client: Client, username: str) -> tuple[int | None, int | None, object]:
    user = client.app.store.state.users[username.lower()]
    return user.login_count, user.fail_login_count, user.last_login


@pytest.mark.parametrize("headers", [
    {},
    {"authorization": "Bearer abc"},
    {"authorization": "Basic !!!notbase64"},
    {"authorization": "Basic"},
    basic(b"admin"),  # no colon
    basic(b"admin:wrong"),
    basic(b"nobody:admin"),
    basic(b":admin"),
    basic(b"admin:"),
    basic(b"\xff\xfe:admin"),  # not UTF-8
    basic(b"retired:old"),  # inactive user
    basic(b"nopass:"),  # user created without a password
])
def test_bad_credentials_get_401_without_challenge(anon: Client, headers: dict[str, str]) -> None:
    response = anon.get("/api/v1/pools", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["content-type"] == "application/problem+json"
    assert "www-authenticate" not in response.headers


def test_scheme_is_case_insensitive(anon: Client) -> None:
    header = "bAsIc " + base64.b64encode(b"admin:admin").decode()
    assert anon.get("/api/v1/pools", headers={"authorization": header}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/version"])
@pytest.mark.parametrize("headers", [{}, basic(b"admin:wrong"), {"authorization": "Basic %%%"}])
def test_health_and_version_need_no_auth(anon: Client, path: str, headers: dict[str, str]) -> None:
    before = counters(anon, "admin")
    assert anon.get(path, headers=headers).status_code == 200
    assert counters(anon, "admin") == before  # credentials are not even looked at


def test_success_counts_a_login_and_clears_failures(anon: Client) -> None:
    assert counters(anon, "admin")[:2] == (41, 0)
    for _ in range(3):
        assert anon.get("/api/v1/pools", auth=("admin", "nope")).status_code == 401
    assert counters(anon, "admin")[:2] == (41, 3)
    login_time = datetime(2025, 5, 5, 12, 0, tzinfo=UTC)
    anon.app.store.clock.freeze(login_time)
    anon.get("/api/v1/pools", auth=("admin", "admin"))
    count, failures, last = counters(anon, "admin")
    assert (count, failures) == (42, 0)
    assert last == login_time
    user = anon.get("/api/v1/users/admin", auth=("admin", "admin")).json()
    assert (user["login_count"], user["fail_login_count"]) == (43, 0)
    assert "+" not in user["last_login"] and user["last_login"] != "2024-06-01T08:30:00.250000"


def test_first_failure_turns_null_counters_into_numbers(anon: Client) -> None:
    assert counters(anon, "Grace.Hopper")[:2] == (None, None)
    anon.get("/api/v1/pools", auth=("grace.hopper", "basic"))
    assert counters(anon, "Grace.Hopper") == (0, 1, None)


def test_a_denied_request_still_counts_the_login(anon: Client) -> None:
    assert anon.get("/api/v1/pools", auth=("josé", "ñandú")).status_code == 403
    assert counters(anon, "josé")[:2] == (1, 0)


@pytest.mark.parametrize(("login", "password"), [
    ("ADMIN", "admin"), ("Admin", "admin"), ("admin@example.com", "admin"), ("JOSÉ", "ñandú"),
])
def test_login_by_any_case_of_username_or_by_email(anon: Client, login: str, password: str) -> None:
    assert anon.get("/api/v1/importErrors", auth=(login, password)).status_code == 200


@pytest.mark.parametrize(("login", "password"), [("admin", "ADMIN"), ("ADMIN@example.com", "admin")])
def test_passwords_and_emails_are_case_sensitive(anon: Client, login: str, password: str) -> None:
    assert anon.get("/api/v1/importErrors", auth=(login, password)).status_code == 401


def test_inactive_and_unknown_users_count_nothing(anon: Client) -> None:
    before = counters(anon, "retired")
    anon.get("/api/v1/pools", auth=("retired", "old"))
    anon.get("/api/v1/pools", auth=("retired", "wrong"))
    assert counters(anon, "retired") == before


def test_password_with_colon(make_client: Callable[..., Client]) -> None:
    client = make_client(SECURITY)
    client.post("/api/v1/users", json={"username": "c", "email": "c@x.io", "first_name": "C", "last_name": "D",
                                       "password": "a:b:c"})
    # authenticated (a user without roles is Public, so then forbidden)
    assert client.get("/api/v1/importErrors", auth=("c", "a:b:c")).status_code == 403
    assert client.get("/api/v1/importErrors", auth=("c", "a:b")).status_code == 401


def test_parse_basic() -> None:
    assert parse_basic("Basic " + base64.b64encode(b"u:p:q").decode()) == ("u", "p:q")
    assert parse_basic(None) is None
    assert parse_basic("Digest abc") is None


# --- auth modes -------------------------------------------------------------------------------

def test_mode_none_lets_everyone_through(make_client: Callable[..., Client]) -> None:
    client = make_client(SECURITY, auth=None, auth_mode="none")
    assert client.get("/api/v1/users").status_code == 200
    assert client.get("/api/v1/roles", auth=("nobody", "x")).status_code == 200
    assert client.delete("/api/v1/roles/PoolKeeper").status_code == 204


def test_mode_none_counts_no_logins(make_client: Callable[..., Client]) -> None:
    client = make_client(SECURITY, auth_mode="none")
    client.get("/api/v1/pools")
    assert counters(client, "admin")[:2] == (41, 0)


def test_mode_deny_refuses_everything_but_health_and_version(make_client: Callable[..., Client]) -> None:
    client = make_client(SECURITY, auth_mode="deny")
    assert client.get("/api/v1/users").json() == UNAUTHORIZED
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/version").status_code == 200
    assert counters(client, "admin")[:2] == (41, 0)


def test_validation_errors_win_over_401(anon: Client) -> None:
    assert anon.get("/api/v1/users", params={"limit": "abc"}).status_code == 400
    assert anon.post("/api/v1/users", content=b"{", headers={"content-type": "application/json"}).status_code == 400
