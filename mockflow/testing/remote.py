"""The control facade over HTTP, for a mockflow that runs elsewhere (`--mockflow-url`, a service container).

Same method names and wire dicts as `app.control`, so `MockAirflow` reads the same either way.
Every call carries the namespace header, so parallel workers sharing one server stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from mockflow.control.namespaces import HEADER

JSON = dict[str, Any]
PAGE = 1000


class ControlError(RuntimeError):
    """The control API refused a call, or the server has none (a real Airflow, a mockflow with it off)."""


class RemoteControl:
    def __init__(self, url: str, namespace: str | None = None, token: str | None = None,
                 timeout: float = 10.0) -> None:
        headers = {HEADER: namespace} if namespace else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.name = namespace or "default"
        self._http = httpx.Client(base_url=url.rstrip("/") + "/_mockflow", headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def available(self) -> bool:
        """True when the server answers the control API (a mockflow), False for a real Airflow."""
        try:
            return self._http.get("/info").status_code == 200
        except httpx.TransportError:
            return False

    def get_info(self) -> JSON:
        return self._call("GET", "/info")

    def reset(self, options: Mapping[str, Any] | None = None) -> JSON:
        return self._call("POST", "/reset", json=dict(options or {}))

    def get_state(self) -> JSON:
        return self._call("GET", "/state")

    def put_state(self, files: Mapping[str, Any]) -> JSON:
        return self._call("PUT", "/state", json=dict(files))

    def patch_state(self, files: Mapping[str, Any]) -> JSON:
        return self._call("PATCH", "/state", json=dict(files))

    def get_faults(self) -> JSON:
        return self._call("GET", "/faults")

    def post_fault(self, rule: Mapping[str, Any]) -> JSON:
        return self._call("POST", "/faults", json=dict(rule))

    def delete_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def delete_faults(self) -> None:
        self._call("DELETE", "/faults")

    def get_requests(self, filters: Mapping[str, Any] | None = None) -> JSON:
        return self._call("GET", "/requests", params=dict(filters or {}))

    def all_requests(self, filters: Mapping[str, Any] | None = None) -> list[JSON]:
        """Every matching journal entry, page by page."""
        found: list[JSON] = []
        while True:
            page = self.get_requests({**(filters or {}), "limit": PAGE, "offset": len(found)})
            found.extend(page["requests"])
            if not page["requests"] or len(found) >= page["total_entries"]:
                return found

    def count_requests(self, filters: Mapping[str, Any] | None = None) -> JSON:
        return self._call("GET", "/requests/count", params=dict(filters or {}))

    def delete_requests(self) -> None:
        self._call("DELETE", "/requests")

    def get_clock(self) -> JSON:
        return self._call("GET", "/clock")

    def put_clock(self, change: Mapping[str, Any]) -> JSON:
        return self._call("PUT", "/clock", json=dict(change))

    def advance_clock(self, move: Mapping[str, Any]) -> JSON:
        return self._call("POST", "/clock/advance", json=dict(move))

    def get_overview(self, query: Mapping[str, Any] | None = None) -> JSON:
        return self._call("GET", "/overview", params=dict(query or {}))

    def _call(self, method: str, path: str, **options: Any) -> JSON:
        response = self._http.request(method, path, **options)
        if response.status_code == 404 and path == "/info":
            raise ControlError(f"{self._http.base_url} is not a mockflow control API")
        if response.status_code >= 400:
            raise ControlError(f"{method} {self._http.base_url}{path} answered {response.status_code}: "
                                     f"{response.text[:500]}")
        answer: JSON = response.json() if response.content else {}
        return answer
