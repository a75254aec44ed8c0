"""The DAG-run objects of the v1 API (the full one and the short one dataset events list)."""

from __future__ import annotations

from datetime import datetime

from mockflow.store.records import DagRun
from mockflow.store.state import JSON
from mockflow.wire import iso


def dag_run_to_wire(run: DagRun, logical_echo: datetime | None = None) -> JSON:
    """`logical_echo`: the POST answer repeats the logical date with the offset the client sent."""
    logical = logical_echo.isoformat() if logical_echo is not None else iso(run.logical_date)
    return {
        "dag_run_id": run.dag_run_id,
        "dag_id": run.dag_id,
        "logical_date": logical,
        "execution_date": logical,
        "start_date": iso(run.start_date),
        "end_date": iso(run.end_date),
        "data_interval_start": iso(run.data_interval_start),
        "data_interval_end": iso(run.data_interval_end),
        "last_scheduling_decision": iso(run.last_scheduling_decision),
        "run_type": run.run_type,
        "state": run.state,
        "external_trigger": run.external_trigger,
        "conf": run.conf,
        "note": run.note,
    }


def basic_dag_run_to_wire(run: DagRun) -> JSON:
    """The short run object that dataset events list (`BasicDAGRun`)."""
    return {
        "dag_id": run.dag_id,
        "dag_run_id": run.dag_run_id,
        "logical_date": iso(run.logical_date),
        "start_date": iso(run.start_date),
        "end_date": iso(run.end_date),
        "state": run.state,
        "data_interval_start": iso(run.data_interval_start),
        "data_interval_end": iso(run.data_interval_end),
    }
