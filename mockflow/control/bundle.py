"""The control API as a bundle, validated by the same machinery as the Airflow API."""

from __future__ import annotations

import functools
from typing import Any

from mockflow.api.context import Reply
from mockflow.bundle import Bundle, handlers_of
from mockflow.control import api, inspector, simulation_api
from mockflow.control.checks import CONTROL_SPEC
from mockflow.control.facade import Control
from mockflow.control.steps import guard_control
from mockflow.pipeline import Exchange, Next, validate_request
from mockflow.spec import load_spec


def call_control(ex: Exchange, call_next: Next) -> Reply:
    """Runs the handler with the facade of the caller's namespace."""
    handler = ex.handlers[ex.op.operation_id]
    assert ex.valid is not None
    result: Any = handler(Control(ex.app, ex.namespace), ex.valid)
    return result if isinstance(result, Reply) else Reply(body=result)


@functools.cache
def control_bundle() -> Bundle:
    spec = load_spec(CONTROL_SPEC)
    return Bundle(name="mockflow-control", spec=spec,
                  handlers=handlers_of((api, simulation_api, inspector), set(spec.operations)),
                  steps=(guard_control, validate_request, call_control), observed=False,
                  public_operations=frozenset({"get_inspector"}), optional_body_defaults=True)
