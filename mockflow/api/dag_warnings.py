"""get_dag_warnings: exact filters on dag_id and warning_type."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.api.shapes.meta import dag_warning_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("dag_id", "warning_type", "message", "timestamp")


def get_dag_warnings(call: Call) -> JSON:
    rows = call.state.dag_warnings
    for name in ("dag_id", "warning_type"):
        wanted = call.query.get(name)
        if wanted is not None:
            rows = [row for row in rows if getattr(row, name) == wanted]
    rows = ordered(rows, call.query.get("order_by"), ORDER_COLUMNS, "timestamp")
    return {"dag_warnings": [dag_warning_to_wire(r) for r in page(rows, call.query)], "total_entries": len(rows)}
