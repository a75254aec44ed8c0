"""What tests import: `MockAirflow` (in-process, live or remote), journal assertions, typed store access.

The pytest plugin (`mockflow.pytest_plugin`) builds its fixtures from these.
"""

from __future__ import annotations

from mockflow.testing.journal import Call, JournalAssertions
from mockflow.testing.mock import MockAirflow, resolve_fixtures
from mockflow.testing.remote import ControlError, RemoteControl
from mockflow.testing.store_view import StoreView
from mockflow.testing.transport import SyncASGITransport

__all__ = ["Call", "ControlError", "JournalAssertions", "MockAirflow", "RemoteControl", "StoreView",
           "SyncASGITransport", "resolve_fixtures"]
