"""The simulation's control handlers, one per operationId of `control/openapi.yaml`."""

from __future__ import annotations

from typing import Any

from mockflow.api.context import NO_CONTENT, Reply
from mockflow.control.facade import Control
from mockflow.validation import ValidRequest

JSON = dict[str, Any]


def get_simulation(control: Control, request: ValidRequest) -> JSON:
    return control.get_simulation()


def put_simulation(control: Control, request: ValidRequest) -> JSON:
    return control.put_simulation(request.body)


def post_simulation_script(control: Control, request: ValidRequest) -> Reply:
    return Reply(status=201, body=control.post_simulation_script(request.body))


def delete_simulation_scripts(control: Control, request: ValidRequest) -> Reply:
    control.delete_simulation_scripts()
    return NO_CONTENT


def run_until_idle(control: Control, request: ValidRequest) -> JSON:
    return control.run_until_idle(request.body or {})
