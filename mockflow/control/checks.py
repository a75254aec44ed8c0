"""The control spec's checks for calls made in Python, so `app.control` refuses what HTTP refuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from mockflow.limits import CONTROL_MAX_JSON_DEPTH, FIXTURE_DEPTH_NAME
from mockflow.spec import Spec, SpecSource
from mockflow.validation import RawRequest, Validator
from mockflow.wire import iso

CONTROL_SPEC = SpecSource("mockflow.control", "openapi.yaml")


class ControlChecks:
    def __init__(self, spec: Spec) -> None:
        self._spec = spec
        # Always checked, whatever the Airflow API's engine: controls are few and cheap.
        self._validator = Validator("compiled", spec, optional_body_defaults=True,
                                    max_json_depth=CONTROL_MAX_JSON_DEPTH, depth_setting=FIXTURE_DEPTH_NAME)

    def check_body(self, operation_id: str, body: Mapping[str, Any]) -> Any:
        op = self._spec.operations[operation_id]
        raw = RawRequest(path_params={}, query=[], content_type="application/json", body=orjson.dumps(body))
        return self._validator.check_request(op, raw).body

    def check_query(self, operation_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        op = self._spec.operations[operation_id]
        pairs = [(name, _text(value)) for name, value in values.items() if value is not None]
        raw = RawRequest(path_params={}, query=pairs, content_type=None, body=b"")
        return self._validator.check_request(op, raw).query


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value) or ""
    return str(value)
