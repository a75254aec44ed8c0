"""The control API in Python: `app.control` does what `/_mockflow/` does, under the same names.

    app.control.post_fault({"match": {"operation_id": "get_pools"}, "effect": {"status": 503}, "times": 1})
    app.control.reset()
    app.control.count_requests(operation_id="post_dag_run")

Every method takes and returns what the HTTP endpoint of the same operationId takes and returns
(wire dicts), checked against the control API's own spec, so a test reads the same in-process
and over HTTP. `namespace(name)` gives the facade of another namespace.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mockflow.control import state_io
from mockflow.control.checks import CONTROL_SPEC
from mockflow.control.faults import Effect, Match, Rule
from mockflow.control.journal import Entry, Filter
from mockflow.control.namespaces import Namespace
from mockflow.control.overview import overview
from mockflow.control.simulation_facade import SimulationControls
from mockflow.problems import AlreadyExists, BadRequest, NotFound, ResponseInvalid
from mockflow.spec import load_spec
from mockflow.wire import iso, parse_datetime

if TYPE_CHECKING:
    from mockflow.app import MockflowApp

JSON = dict[str, Any]
RESETTABLE = ("store", "journal", "faults", "clock", "simulation")
DEFAULT_GRID_RUNS = 10  # the spec's default for `runs`


class Control(SimulationControls):
    def __init__(self, app: MockflowApp, namespace: Namespace) -> None:
        self._app = app
        self._space = namespace

    def namespace(self, name: str) -> Control:
        """The controls of another namespace (created from the seed on first use)."""
        return Control(self._app, self._app.namespaces.get(name))

    @property
    def name(self) -> str:
        return self._space.name

    # --- info -----------------------------------------------------------------------------

    def openapi(self) -> JSON:
        """The control API's own OpenAPI document."""
        document: JSON = load_spec(CONTROL_SPEC).raw
        return document

    def get_info(self) -> JSON:
        store = self._space.store
        with store.lock:
            counts = state_io.counts(store.state)
        settings = self._app.settings
        return {"namespace": self._space.name, "namespaces": self._app.namespaces.names(), "counts": counts,
                "auth": settings.auth, "journal_limit": settings.journal_limit,
                "control_token": settings.control_token is not None}

    # --- reset ----------------------------------------------------------------------------

    def reset(self, options: Mapping[str, Any] | None = None) -> JSON:
        """Store, journal, faults and clock back to the seeded state (each can be left out);
        `fixtures` makes those sets the new seed first."""
        options = self._checked("reset", options or {})
        started = time.perf_counter()
        chosen = [part for part in RESETTABLE if options.get(part, True)]
        undone: int | None = 0
        if "store" in chosen:
            fixtures = options.get("fixtures")
            undone = self._space.store.reset(state_io.load_sets(fixtures)) if fixtures else self._space.store.reset()
        elif options.get("fixtures"):
            raise BadRequest("'fixtures' replaces the store: it needs 'store' left true")
        if "journal" in chosen:
            self._space.journal.clear()
        if "faults" in chosen:
            self._space.faults.clear()
        if "clock" in chosen:
            self._space.store.clock.reset()
        if "simulation" in chosen:
            self._reset_simulation()
        return {"reset": chosen, "changes_undone": undone,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3)}

    # --- state ----------------------------------------------------------------------------

    def get_state(self) -> JSON:
        """The whole store as a fixture set: files by relative path, each as JSON."""
        store = self._space.store
        with store.lock:
            return state_io.export_files(store.state)

    def get_state_tar(self) -> bytes:
        store = self._space.store
        with store.lock:
            return state_io.export_tar(store.state)

    def put_state(self, files: Mapping[str, Any]) -> JSON:
        """Replaces the store with `files` (checked as fixture files are; nothing half-applied)."""
        files = self._checked("put_state", files)
        state = state_io.load_files([("state", files)])
        return self._swap(state)

    def patch_state(self, files: Mapping[str, Any]) -> JSON:
        """Layers `files` over the store as it is, as a later fixture set would be."""
        files = self._checked("patch_state", files)
        store = self._space.store
        with store.lock:
            current = state_io.export_files(store.state)
        return self._swap(state_io.load_files([("current", current), ("patch", files)]))

    def _swap(self, state: Any) -> JSON:
        store = self._space.store
        with store.lock:
            store.replace(state)
            return {"counts": state_io.counts(store.state)}

    # --- faults ---------------------------------------------------------------------------

    def get_faults(self) -> JSON:
        return {"faults": [rule.to_wire() for rule in self._space.faults.rules]}

    def post_fault(self, rule: Mapping[str, Any]) -> JSON:
        body = self._checked("post_fault", rule)
        faults = self._space.faults
        rule_id = body.get("id") or faults.next_id()
        if faults.find(rule_id) is not None:
            raise AlreadyExists(f"A fault rule with id {rule_id!r} exists", title="Fault rule exists")
        match = Match(**{**body["match"], **({"method": body["match"]["method"].upper()}
                                             if "method" in body["match"] else {})})
        effect = _effect(body.get("effect") or {})
        self._check_declared(match, effect, bool(body.get("force", False)))
        added = faults.add(Rule(id=rule_id, match=match, effect=effect, times=body.get("times"),
                                after=body.get("after", 0), probability=body.get("probability", 1.0),
                                force=bool(body.get("force", False))))
        return added.to_wire()

    def get_fault(self, fault_id: str) -> JSON:
        rule = self._space.faults.find(fault_id)
        if rule is None:
            raise NotFound(f"No fault rule with id {fault_id!r}", title="Fault rule not found")
        return rule.to_wire()

    def delete_fault(self, fault_id: str) -> None:
        if not self._space.faults.remove(fault_id):
            raise NotFound(f"No fault rule with id {fault_id!r}", title="Fault rule not found")

    def delete_faults(self) -> None:
        self._space.faults.clear()

    def _check_declared(self, match: Match, effect: Effect, force: bool) -> None:
        """A rule for one operation may only answer what that operation declares (unless forced)."""
        if match.operation_id is None:
            return
        found = self._app.operation(match.operation_id)
        if found is None:
            raise BadRequest(f"Unknown operation_id {match.operation_id!r}", title="Invalid fault rule")
        served, op = found
        if force or effect.status is None:
            return
        declared = sorted(op.responses, key=str)
        if str(effect.status) not in op.responses and "default" not in op.responses:
            raise BadRequest(f"{op.operation_id} does not declare status {effect.status}; it declares "
                             f"{', '.join(declared)}. Send \"force\": true to inject it anyway.",
                             title="Invalid fault rule")
        if effect.has_body:
            try:
                served.validator.check_response(op, effect.status, effect.body)
            except ResponseInvalid as invalid:
                raise BadRequest(f"The canned body is not what {op.operation_id} may answer with {effect.status}: "
                                 f"{invalid.detail}. Send \"force\": true to answer it anyway.",
                                 title="Invalid fault rule") from None

    # --- journal --------------------------------------------------------------------------

    def get_requests(self, filters: Mapping[str, Any] | None = None) -> JSON:
        query = self._checked_query("get_requests", filters or {})
        found = self._space.journal.select(Filter.of(query))
        offset, limit = query.get("offset", 0), query.get("limit", 100)
        return {"requests": [entry.to_wire() for entry in found[offset:offset + limit]],
                "total_entries": len(found), "dropped": self._space.journal.dropped}

    def entries(self, **filters: Any) -> list[Entry]:
        """The journal entries themselves (for assertions in Python)."""
        return self._space.journal.select(Filter.of(self._checked_query("count_requests", filters)))

    def count_requests(self, filters: Mapping[str, Any] | None = None) -> JSON:
        query = self._checked_query("count_requests", filters or {})
        return {"count": len(self._space.journal.select(Filter.of(query))), "dropped": self._space.journal.dropped}

    def delete_requests(self) -> None:
        self._space.journal.clear()

    # --- clock ----------------------------------------------------------------------------

    def get_clock(self) -> JSON:
        clock = self._space.store.clock
        return {"now": iso(clock.now()), "frozen": clock.frozen}

    def put_clock(self, change: Mapping[str, Any]) -> JSON:
        change = self._checked("put_clock", change)
        clock = self._space.store.clock
        moment = parse_datetime(change.get("now"))
        if change.get("frozen") is False:
            clock.unfreeze()
        if change.get("frozen") is True:
            clock.freeze(moment)
        elif moment is not None:
            clock.set(moment)
        self._catch_up()
        return self.get_clock()

    def advance_clock(self, move: Mapping[str, Any]) -> JSON:
        move = self._checked("advance_clock", move)
        self._space.store.clock.advance(timedelta(seconds=move["seconds"]))
        self._catch_up()
        return self.get_clock()

    # --- the inspector --------------------------------------------------------------------

    def get_overview(self, query: Mapping[str, Any] | None = None) -> JSON:
        """The store at a glance for the inspector page: what the Airflow API would answer at this
        instant (the simulation catches up first, as before an Airflow request)."""
        query = self._checked_query("get_overview", query or {})
        store, simulation = self._space.store, self._simulation()
        with store.lock:
            self._catch_up()
            seen = overview(store.state, query.get("runs", DEFAULT_GRID_RUNS))
            scripts = len(simulation.book.to_wire())
        journal = self._space.journal
        return {"namespace": self._space.name, "clock": self.get_clock(),
                "simulation": {"mode": simulation.mode, "speed": simulation.speed, "scripts": scripts},
                "journal": {"entries": len(journal.entries), "dropped": journal.dropped},
                "faults": len(self._space.faults.rules), **seen}

    # --- checks shared with HTTP ------------------------------------------------------------

    def _checked_query(self, operation_id: str, query: Mapping[str, Any]) -> JSON:
        return dict(self._app.control_checks.check_query(operation_id, query))


def _effect(wire: Mapping[str, Any]) -> Effect:
    effect = Effect(status=wire.get("status"), title=wire.get("title"), detail=wire.get("detail"),
                    body=wire.get("body"), has_body="body" in wire, headers=dict(wire.get("headers") or {}),
                    delay_ms=wire.get("delay_ms", 0), disconnect=wire.get("disconnect"))
    if not effect.answers and not effect.delay_ms:
        # A rule that says nothing about its effect answers the plainest fault: a 500 problem.
        return Effect(status=500)
    if effect.has_body and effect.status is None:
        return dataclasses.replace(effect, status=200)
    return effect
