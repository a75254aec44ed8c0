"""The control API's handlers, one per operationId of `control/openapi.yaml`: each passes the
validated request to the facade method of the same name."""

from __future__ import annotations

from typing import Any

from mockflow.api.context import NO_CONTENT, Reply
from mockflow.control.facade import Control
from mockflow.validation import ValidRequest

JSON = dict[str, Any]


def get_control_openapi(control: Control, request: ValidRequest) -> JSON:
    return control.openapi()


def get_info(control: Control, request: ValidRequest) -> JSON:
    return control.get_info()


def reset(control: Control, request: ValidRequest) -> JSON:
    return control.reset(request.body or {})


def get_state(control: Control, request: ValidRequest) -> Any:
    if request.query.get("format") == "tar":
        return Reply(body=control.get_state_tar(), content_type="application/x-tar", validate=False)
    return control.get_state()


def put_state(control: Control, request: ValidRequest) -> JSON:
    return control.put_state(request.body)


def patch_state(control: Control, request: ValidRequest) -> JSON:
    return control.patch_state(request.body)


def get_faults(control: Control, request: ValidRequest) -> JSON:
    return control.get_faults()


def post_fault(control: Control, request: ValidRequest) -> Reply:
    return Reply(status=201, body=control.post_fault(request.body))


def delete_faults(control: Control, request: ValidRequest) -> Reply:
    control.delete_faults()
    return NO_CONTENT


def get_fault(control: Control, request: ValidRequest) -> JSON:
    return control.get_fault(request.path["fault_id"])


def delete_fault(control: Control, request: ValidRequest) -> Reply:
    control.delete_fault(request.path["fault_id"])
    return NO_CONTENT


def get_requests(control: Control, request: ValidRequest) -> JSON:
    return control.get_requests(request.query)


def delete_requests(control: Control, request: ValidRequest) -> Reply:
    control.delete_requests()
    return NO_CONTENT


def count_requests(control: Control, request: ValidRequest) -> JSON:
    return control.count_requests(request.query)


def get_clock(control: Control, request: ValidRequest) -> JSON:
    return control.get_clock()


def put_clock(control: Control, request: ValidRequest) -> JSON:
    return control.put_clock(request.body)


def advance_clock(control: Control, request: ValidRequest) -> JSON:
    return control.advance_clock(request.body)
