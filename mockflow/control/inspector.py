"""The inspector: one self-contained HTML page at `GET /_mockflow/` (inline CSS and script, no
external assets) that reads `get_overview` and the journal, and drives the controls and the
Airflow API from the browser."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from mockflow.api.context import Reply
from mockflow.control.facade import Control
from mockflow.validation import ValidRequest

PAGE = "inspector.html"
HTML = "text/html; charset=utf-8"


@functools.cache
def page() -> str:
    return resources.files("mockflow.control").joinpath(PAGE).read_text(encoding="utf-8")


def get_inspector(control: Control, request: ValidRequest) -> Reply:
    # The page holds no data of its own, so it is served without the control token; every call it
    # makes for data is guarded as usual (the page asks for the token).
    return Reply(body=page(), content_type=HTML, headers={"Cache-Control": "no-cache"}, validate=False)


def get_overview(control: Control, request: ValidRequest) -> dict[str, Any]:
    return control.get_overview(request.query)
