"""The request pipeline: routing, the order of checks, error bodies, content types."""

from __future__ import annotations

import pytest
from httpx import Response

from mockflow.problems import DOCS_URL, ROUTE_NOT_FOUND_DETAIL
from tests.conftest import Client, MakeClient


def _problem(response: Response, status: int, title: str | None, detail: str | None, kind: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    expected_type = "about:blank" if kind == "about:blank" else DOCS_URL + kind
    assert response.json() == {"detail": detail, "status": status, "title": title, "type": expected_type}


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/pools/", "/api/v1/eventLogs/abc", "/api/v1/eventLogs/-1",
                                  "/api/v1/importErrors/1/extra", "/api/v1/"])
def test_unknown_routes_get_flasks_404(client: Client, path: str) -> None:
    _problem(client.get(path), 404, "Not Found", ROUTE_NOT_FOUND_DETAIL, "about:blank")


def test_paths_outside_the_api_get_an_html_404(client: Client) -> None:
    response = client.get("/api/v2/pools")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("method", "path"), [("PUT", "/api/v1/pools"), ("POST", "/api/v1/pools/default_pool"),
                                              ("DELETE", "/api/v1/version"), ("POST", "/api/v1/dags/d/dagRuns/list")])
def test_known_path_with_wrong_method_is_405(client: Client, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    _problem(response, 405, "Method Not Allowed", "The method is not allowed for the requested URL.", "about:blank")
    assert "GET" in response.headers["allow"] or "POST" in response.headers["allow"]


def test_options_answers_allow_without_credentials(make_client: MakeClient) -> None:
    response = make_client(auth=None).options("/api/v1/pools")
    assert response.status_code == 200
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_head_works_like_get(client: Client) -> None:
    response = client.head("/api/v1/version")
    assert response.status_code == 200
    assert response.content == b""


def test_unknown_query_parameter_is_400_with_null_title(client: Client) -> None:
    response = client.get("/api/v1/eventLogs", params={"dag_id": "x", "zzz": "1"})
    _problem(response, 400, None, "Extra query parameter(s) dag_id, zzz not in spec", "BadRequest")


def test_operations_without_parameters_ignore_unknown_ones(client: Client) -> None:
    assert client.get("/api/v1/providers", params={"limit": 1}).json()["total_entries"] == 2


@pytest.mark.parametrize(("query", "detail"), [
    ({"limit": "abc"}, "Wrong type, expected 'integer' for query parameter 'limit'"),
    ({"offset": "-1"}, "-1 is less than the minimum of 0\n\nFailed validating 'minimum' in schema:\n"
                       "    {'minimum': 0, 'type': 'integer'}\n\nOn instance:\n    -1"),
])
def test_parameter_errors_use_connexions_texts(client: Client, query: dict[str, str], detail: str) -> None:
    _problem(client.get("/api/v1/eventLogs", params=query), 400, "Bad Request", detail, "BadRequest")


def test_negative_limit_has_its_message_in_the_title(client: Client) -> None:
    _problem(client.get("/api/v1/eventLogs", params={"limit": -1}), 400,
             "Page limit must be a positive integer", None, "BadRequest")


def test_parameter_errors_win_over_missing_credentials(make_client: MakeClient) -> None:
    response = make_client(auth=None).get("/api/v1/eventLogs", params={"limit": "abc"})
    assert response.status_code == 400


def test_missing_credentials_are_401_without_www_authenticate(make_client: MakeClient) -> None:
    response = make_client(auth=None).get("/api/v1/eventLogs")
    _problem(response, 401, "Unauthorized", None, "Unauthenticated")
    assert "www-authenticate" not in response.headers


def test_wrong_password_is_401(make_client: MakeClient) -> None:
    _problem(make_client(auth=("admin", "nope")).get("/api/v1/eventLogs"), 401, "Unauthorized", None, "Unauthenticated")


def test_health_and_version_need_no_credentials_and_ignore_bad_ones(make_client: MakeClient) -> None:
    for auth in (None, ("admin", "wrong")):
        client = make_client(auth=auth)
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/api/v1/version").status_code == 200


@pytest.mark.parametrize(("body", "content_type", "status", "detail"), [
    (b'{"name": "p", ', "application/json", 400, "Request body is not valid JSON"),
    (b"null", "application/json", 400, "Request body is not valid JSON"),
    (b"", "application/json", 400, "None is not of type 'object'"),
    (b"[]", "application/json", 400, "[] is not of type 'object'"),
    (b'{"name": "p", "slots": 1}', "text/plain", 415, "Invalid Content-type (text/plain), expected JSON data"),
])
def test_body_errors(client: Client, body: bytes, content_type: str, status: int, detail: str) -> None:
    response = client.post("/api/v1/pools", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["detail"] == detail


def test_body_without_content_type_is_415(client: Client) -> None:
    response = client.post("/api/v1/pools", content=b'{"name": "p", "slots": 1}', headers={"content-type": ""})
    assert response.status_code == 415
    assert response.json()["detail"] == "Invalid Content-type (), expected JSON data"


def test_read_only_properties_are_refused(client: Client) -> None:
    response = client.post("/api/v1/pools", json={"name": "p", "slots": 1, "occupied_slots": 3})
    _problem(response, 400, "Bad Request", "Property is read-only - 'occupied_slots'", "BadRequest")


def test_body_errors_win_over_missing_credentials(make_client: MakeClient) -> None:
    response = make_client(auth=None).post("/api/v1/pools", json={"name": "p", "slots": "many"})
    _problem(response, 400, "Bad Request", "'many' is not of type 'integer' - 'slots'", "BadRequest")



# --- Werkzeug's merge_slashes (observed on a real 2.5.3 behind gunicorn) ---------------------------------

REDIRECT_PAGE = ('<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n'
                 '<p>You should be redirected automatically to the target URL: <a href="{0}">{0}</a>. If not, '
                 'click the link.\n')


@pytest.mark.parametrize(("path", "location"), [
    ("/api/v1//pools?limit=1&x=%2F", "http://testserver/api/v1/pools?limit=1&x=%2F"),
    ("/api/v1//pools//default_pool", "http://testserver/api/v1/pools/default_pool"),
    ("/api//v1/eventLogs/1", "http://testserver/api/v1/eventLogs/1"),
    ("/api/v1//dags/nope", "http://testserver/api/v1/dags/nope"),  # the route matches; the DAG is not checked
])
def test_a_doubled_slash_inside_the_path_is_a_308_to_the_merged_path(make_client: MakeClient, path: str,
                                                                     location: str) -> None:
    anonymous = make_client(auth=None)
    response = anonymous.get(path, follow_redirects=False)  # before authentication
    assert response.status_code == 308
    assert response.headers["location"] == location
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == REDIRECT_PAGE.format(location.replace("&", "&amp;"))


def test_a_redirected_write_changes_nothing(client: Client) -> None:
    before = client.get("/api/v1/pools").json()
    response = client.post("/api/v1//pools", json={"name": "p", "slots": 1}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (308, "http://testserver/api/v1/pools")
    assert client.get("/api/v1/pools").json() == before


@pytest.mark.parametrize("path", ["/api/v1///pools/default_pool", "/api/v1//pools/", "/api/v1/pools/default_pool//",
                                  "/api/v1//nope//x", "/api/v1/eventLogs//x"])
def test_slashes_werkzeug_cannot_merge_onto_a_route_are_a_404(client: Client, path: str) -> None:
    _problem(client.get(path, follow_redirects=False), 404, "Not Found", ROUTE_NOT_FOUND_DETAIL, "about:blank")


def test_repeated_leading_slashes_are_served_as_one(client: Client) -> None:
    assert client.get("///api/v1/pools").json() == client.get("/api/v1/pools").json()


def test_slashes_inside_a_path_parameter_are_its_own(client: Client) -> None:
    made = client.post("/api/v1/variables", json={"key": "a//b", "value": "1"})
    assert made.status_code == 200
    assert client.get("/api/v1/variables/a//b", follow_redirects=False).json()["key"] == "a//b"
    missing = client.get("/api/v1/variables/a///b", follow_redirects=False)
    assert (missing.status_code, missing.json()["title"]) == (404, "Variable not found")
    # a doubled slash before the value is merged, and then every slash of the value too
    moved = client.get("/api/v1//variables/a//b", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "http://testserver/api/v1/variables/a/b")
    leading = client.get("/api/v1/variables//ab", follow_redirects=False)
    assert (leading.status_code, leading.headers["location"]) == (308, "http://testserver/api/v1/variables/ab")


def test_a_redirect_location_is_ascii_with_the_escapes_as_sent(client: Client) -> None:
    response = client.get("/api/v1//dags/caf%C3%A9/dagRuns", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (
        308, "http://testserver/api/v1/dags/caf%C3%A9/dagRuns")
    # %2F is a slash once decoded: no route takes the merged path (real 2.5.3: 404 too)
    assert client.get("/api/v1//dags/caf%C3%A9%2Fx/dagRuns", follow_redirects=False).status_code == 404


def test_a_slash_sent_as_2f_that_doubles_one_redirects_to_the_merged_decoded_path(client: Client) -> None:
    """`roles/%2F0` is `roles//0` once decoded: the redirect goes to the merged path, not to the
    path as sent, which would send a client round the same redirect until it gives up (found by
    the stateful fuzz, with a role named "/0")."""
    response = client.delete("/api/v1/roles/%2F0", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (308, "http://testserver/api/v1/roles/0")
    followed = client.get("/api/v1/pools/%2F%25x", follow_redirects=False)
    assert (followed.status_code, followed.headers["location"]) == (308, "http://testserver/api/v1/pools/%25x")
