"""Placeholder until the DAG domain lands."""
from typing import Any
from mockflow.store.state import State


def load_datasets(state: State, data: Any, source: str) -> None:
    pass


def load_dataset_events(state: State, data: Any, source: str) -> None:
    pass


def load_dag(state: State, data: Any, source: str) -> None:
    pass
