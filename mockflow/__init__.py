"""mockflow: an in-memory, stateful mock of the Apache Airflow 2.5.3 stable REST API."""

from mockflow.app import MockflowApp, create_app
from mockflow.clock import Clock
from mockflow.server import LiveServer
from mockflow.settings import Settings
from mockflow.store import Store

__all__ = ["Clock", "LiveServer", "MockflowApp", "Settings", "Store", "create_app"]
__version__ = "0.1.0"
