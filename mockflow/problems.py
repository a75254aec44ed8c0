"""Every error mockflow answers, and the one place that renders them.

Handlers raise these; `ApiError.body()` is Airflow's RFC 7807 body, and `pipeline.problem_reply` the
one place that answers it, as `application/problem+json` like the real server (the spec documents
`application/json`).
"""

from __future__ import annotations

from typing import Any, ClassVar

DOCS_URL = "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

ROUTE_NOT_FOUND_DETAIL = (
    "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again."
)


class _UseDefault:
    """Marks a title left to the error class (None is a real title: Airflow sends `"title": null`)."""


USE_DEFAULT = _UseDefault()


class ApiError(Exception):
    """An error answered as a problem document. Subclasses fix status, default title and type name."""

    status: ClassVar[int] = 500
    default_title: ClassVar[str | None] = "Internal Server Error"
    type_name: ClassVar[str | None] = "Unknown"  # None -> "about:blank"

    def __init__(self, detail: str | None = None, *, title: str | _UseDefault | None = USE_DEFAULT) -> None:
        self.title: str | None = self.default_title if isinstance(title, _UseDefault) else title
        self.detail = detail
        super().__init__(detail if detail is not None else self.title)

    def body(self) -> dict[str, Any]:
        problem_type = "about:blank" if self.type_name is None else DOCS_URL + self.type_name
        return {"detail": self.detail, "status": self.status, "title": self.title, "type": problem_type}


class BadRequest(ApiError):
    status = 400
    default_title = "Bad Request"
    type_name = "BadRequest"


class Unauthenticated(ApiError):
    status = 401
    default_title = "Unauthorized"
    type_name = "Unauthenticated"


class PermissionDenied(ApiError):
    status = 403
    default_title = "Forbidden"
    type_name = "PermissionDenied"


class NotFound(ApiError):
    status = 404
    default_title = "Not Found"
    type_name = "NotFound"


class AlreadyExists(ApiError):
    status = 409
    default_title = "Conflict"
    type_name = "AlreadyExists"


class RouteNotFound(ApiError):
    """No route matches the URL (Flask's generic 404)."""

    status = 404
    default_title = "Not Found"
    type_name = None

    def __init__(self) -> None:
        super().__init__(ROUTE_NOT_FOUND_DETAIL)


class MethodNotAllowed(ApiError):
    status = 405
    default_title = "Method Not Allowed"
    type_name = None

    def __init__(self) -> None:
        super().__init__("The method is not allowed for the requested URL.")


class UnsupportedMediaType(ApiError):
    status = 415
    default_title = "Unsupported Media Type"
    type_name = None

    def __init__(self, content_type: str) -> None:
        super().__init__(f"Invalid Content-type ({content_type}), expected JSON data")


# The limits of a shared mockflow (`mockflow/limits.py`), answered like Werkzeug's generic HTTP
# errors on the real server (`about:blank`): the detail names the limit and its setting.

class PayloadTooLarge(ApiError):
    status = 413
    default_title = "Request Entity Too Large"
    type_name = None


class UriTooLong(ApiError):
    status = 414
    default_title = "Request URI Too Large"
    type_name = None


class HeadersTooLarge(ApiError):
    status = 431
    default_title = "Request Header Fields Too Large"
    type_name = None


class ResponseInvalid(ApiError):
    """mockflow built a response its spec forbids: a bug in mockflow, never hidden."""

    status = 500
    default_title = "Response body does not conform to specification"
    type_name = "Unknown"


