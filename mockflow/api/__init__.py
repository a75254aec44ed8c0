"""One module per spec tag; each handler is a function named after its operationId.

`HANDLERS` maps operationIds to handlers. The routing refuses to build an app if an operation of
the spec has no entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from mockflow.api.context import Call

Handler = Callable[[Call], Any]

MODULES = (
    "monitoring",
    "config",
    "plugins",
    "providers",
    "import_errors",
    "dag_warnings",
    "event_logs",
    "permissions",
    "pools",
    "variables",
    "connections",
    "users",
    "roles",
    "dags",
    "dag_runs",
    "task_instances",
    "xcom",
    "datasets",
)


def collect_handlers(operation_ids: set[str]) -> dict[str, Handler]:
    """Every public function of the api modules whose name is an operationId of the spec."""
    handlers: dict[str, Handler] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"mockflow.api.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"mockflow.api.{name}":
                raise
            continue
        for attr in dir(module):
            if attr in operation_ids:
                if attr in handlers:
                    raise RuntimeError(f"operation {attr} has two handlers")
                handlers[attr] = getattr(module, attr)
    return handlers
