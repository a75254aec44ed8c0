"""schemathesis over the whole spec against the in-process app.

schemathesis reads the corrected spec (the same in-memory corrections mockflow validates with)
and is told about exactly the two documented ways the real server departs from its spec, and no
more (docs/differences.md): errors come as `application/problem+json`, and error statuses the
spec omits (400 for parameters, 401/403 for auth, 406, 415) are answered. Everything else it
checks stays on, server errors above all, except `positive_data_acceptance`: Airflow itself
refuses many schema-valid requests on purpose (an `order_by` outside the allow-list, deleting
`default_pool`, a role without actions), and mockflow does the same.
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from mockflow import Settings, create_app
from mockflow.spec import load_spec
from tests.conftest import MINIMAL, _apps
from tests.test_contract import NOT_YET_IMPLEMENTED

ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Error statuses the real server answers although the spec does not list them (docs/differences.md).
UNDOCUMENTED_ERRORS = ("400", "401", "403", "404", "405", "406", "409", "415")


def spec_as_the_real_server_behaves() -> dict[str, Any]:
    document = copy.deepcopy(load_spec().raw)
    for item in document["paths"].values():
        for method, op in item.items():
            if method == "parameters":
                continue
            responses = op["responses"]
            for status in UNDOCUMENTED_ERRORS:
                documented = {"description": "error", "content": {"application/json": {"schema": ERROR_REF}}}
                responses.setdefault(status, documented)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response = document["components"]["responses"][response["$ref"].split("/")[-1]] \
                        if "$ref" in response else response
                    content = response.setdefault("content", {})
                    if "application/json" in content:
                        content["application/problem+json"] = content["application/json"]
    return document


APP = create_app(Settings(fixtures=(str(MINIMAL),)))
schema = schemathesis.openapi.from_dict(spec_as_the_real_server_behaves())
schema.app = APP
if NOT_YET_IMPLEMENTED:
    schema = schema.exclude(operation_id=sorted(NOT_YET_IMPLEMENTED))
ADMIN = {"Authorization": "Basic YWRtaW46YWRtaW4="}  # admin:admin


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms(case: Any) -> None:
    _apps.append(APP)  # the autouse guard then fails the test on any invalid response
    APP.store.reset()
    APP.health.invalid_responses.clear()  # each case answers for its own bugs only
    APP.health.crashes.clear()
    case.call_and_validate(headers=ADMIN, excluded_checks=[positive_data_acceptance])
