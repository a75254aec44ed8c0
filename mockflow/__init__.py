"""mockflow: an in-memory, stateful mock of the Apache Airflow 2.5.3 stable REST API.

Names are imported on first use, so `import mockflow` (as the pytest plugin does) costs nothing
until something is actually built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockflow.app import MockflowApp, create_app
    from mockflow.clock import Clock
    from mockflow.server import LiveServer
    from mockflow.settings import Settings
    from mockflow.store import Store
    from mockflow.testing import MockAirflow

__all__ = ["Clock", "LiveServer", "MockAirflow", "MockflowApp", "Settings", "Store", "create_app"]
__version__ = "0.1.0"

_HOMES = {
    "Clock": "mockflow.clock",
    "LiveServer": "mockflow.server",
    "MockAirflow": "mockflow.testing",
    "MockflowApp": "mockflow.app",
    "Settings": "mockflow.settings",
    "Store": "mockflow.store",
    "create_app": "mockflow.app",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mockflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
