"""get_import_errors and get_import_error."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.api.shapes.meta import import_error_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import NotFound
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("import_error_id", "timestamp", "filename")


def get_import_errors(call: Call) -> JSON:
    rows = ordered(list(call.state.import_errors.values()), call.query.get("order_by"), ORDER_COLUMNS,
                   "import_error_id")
    return {"import_errors": [import_error_to_wire(r) for r in page(rows, call.query)], "total_entries": len(rows)}


def get_import_error(call: Call) -> JSON:
    error_id = call.path["import_error_id"]
    row = call.state.import_errors.get(error_id)
    if row is None:
        raise NotFound(f"The ImportError with import_error_id: `{error_id}` was not found",
                       title="Import error not found")
    return import_error_to_wire(row)
