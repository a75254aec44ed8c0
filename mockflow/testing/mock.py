"""`MockAirflow`: the one entry point for tests, in-process, live on a socket, or remote.

    with MockAirflow() as mock:                         # in-process: no socket, no thread
        mock.client.post("/pools", json={"name": "etl", "slots": 4})
        mock.assert_called("post_pool", times=1)

    with MockAirflow("fixtures/airflow", live=True) as mock:   # uvicorn on a free port
        requests.get(mock.api_url + "/dags", auth=("admin", "admin"))

Relative fixture paths resolve against the file that builds the mock, not the current directory;
`"default"` names the embedded set, so `["default", "overrides"]` layers a set over it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from mockflow.app import MockflowApp, create_app
from mockflow.control.facade import Control
from mockflow.control.namespaces import HEADER
from mockflow.fixtureset.files import default_fixture_dir
from mockflow.server import LiveServer
from mockflow.settings import AuthMode, Settings, ValidationEngine
from mockflow.testing.journal import Call, JournalAssertions
from mockflow.testing.remote import RemoteControl
from mockflow.testing.store_view import StoreView
from mockflow.testing.transport import SyncASGITransport
from mockflow.wire import iso

Fixtures = str | PathLike[str] | Sequence[str | PathLike[str]] | None
Credentials = tuple[str, str]
Mode = Literal["in-process", "live", "remote"]
IN_PROCESS_URL = "http://mockflow.invalid"  # never resolved: the transport calls the app directly
API = "/api/v1"
ADMIN: Credentials = ("admin", "admin")


def resolve_fixtures(fixtures: Fixtures, base: Path) -> tuple[str, ...]:
    """Fixture-set directories as `Settings` wants them: absolute, "default" for the embedded set."""
    if fixtures is None:
        return ()
    items = [fixtures] if isinstance(fixtures, str | PathLike) else list(fixtures)
    resolved = []
    for item in items:
        if item == "default":
            resolved.append(str(default_fixture_dir()))
            continue
        path = Path(item) if Path(item).is_absolute() else base / item
        if not path.is_dir():
            raise FileNotFoundError(f"mockflow fixture set {str(item)!r} is not a directory (looked for {path})")
        resolved.append(str(path.resolve()))
    return () if resolved == [str(default_fixture_dir())] else tuple(resolved)


def _caller_dir() -> Path:
    """The directory of the first file outside this package on the stack (the test that builds the mock)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("mockflow.testing"):
        frame = frame.f_back  # type: ignore[assignment]
    source = frame.f_globals.get("__file__") if frame is not None else None
    return Path(source).resolve().parent if source else Path.cwd()


class MockAirflow(JournalAssertions):
    """A mock Airflow 2.5.3 and an httpx client for it, with its controls, store and journal at hand."""

    resolve_fixtures = staticmethod(resolve_fixtures)  # for the plugin, which imports nothing eagerly

    def __init__(self, fixtures: Fixtures = None, *, live: bool = False, url: str | None = None,
                 user: Credentials | None = ADMIN, auth: AuthMode = "basic", namespace: str | None = None,
                 seed: int = 0, expose_config: bool = False, validation: ValidationEngine = "compiled",
                 base: str | PathLike[str] | None = None, app: MockflowApp | None = None) -> None:
        self.mode: Mode = "remote" if url else "live" if live else "in-process"
        self.user = user
        self.namespace = namespace
        self._app: MockflowApp | None = None
        self._server: LiveServer | None = None
        self._remote: RemoteControl | None = None
        self._url = url.rstrip("/") if url else IN_PROCESS_URL
        if url is None:
            settings = Settings(fixtures=resolve_fixtures(fixtures, Path(base) if base else _caller_dir()),
                                auth=auth, seed=seed, expose_config=expose_config, validation=validation, port=0)
            self._app = app or create_app(settings)
        else:
            self._remote = RemoteControl(self._url, namespace)
        self._crashes_seen = 0
        self._controlled: bool | None = None
        self._client: httpx.Client | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MockAirflow:
        if self.mode == "live" and self._server is None:
            self._server = LiveServer(self.app, port=0).start()
            self._url = self._server.url
        return self

    def close(self) -> None:
        """Closes the client and stops the live server (idempotent)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
        if self._remote is not None:
            self._remote.close()

    def __enter__(self) -> MockAirflow:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # --- where it is -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root (`LiveServer.url` when live; a placeholder host in-process)."""
        if self.mode == "live" and self._server is None:
            raise RuntimeError("start the live mock first (`with MockAirflow(live=True) as mock:`)")
        return self._url

    @property
    def api_url(self) -> str:
        """`url + "/api/v1"`: what an Airflow client's `host` setting wants."""
        return self.url + API

    @property
    def controlled(self) -> bool:
        """True when the control API is at hand: always in this process, and for a remote mockflow
        (False for a real Airflow behind `url`)."""
        if self._remote is None:
            return True
        if self._controlled is None:
            self._controlled = self._remote.available()
        return self._controlled

    @property
    def app(self) -> MockflowApp:
        if self._app is None:
            raise RuntimeError(f"a remote mock ({self._url}) has no app in this process")
        return self._app

    @property
    def control(self) -> Control | RemoteControl:
        """reset, faults, journal, clock and state, as `app.control` or `/_mockflow/` offer them."""
        if self._remote is not None:
            return self._remote
        return self.app.control.namespace(self.namespace) if self.namespace else self.app.control

    @property
    def store(self) -> StoreView:
        """Typed reads and rule-abiding changes of this namespace's store (not for a remote mock)."""
        app = self.app
        return StoreView(lambda: app.namespaces.get(self.namespace).store)

    # --- clients -----------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        """An httpx client on `/api/v1` with `user`'s credentials: `mock.client.get("/dags")`."""
        if self._client is None:
            self._client = self.http_client(self.user)
        return self._client

    def use(self, user: Credentials | None) -> None:
        """`client` sends `user`'s credentials from now on (None: none)."""
        if user != self.user and self._client is not None:
            self._client.close()
            self._client = None
        self.user = user

    def http_client(self, user: Credentials | None = ADMIN, **options: Any) -> httpx.Client:
        """Another client, as `user` (None: no credentials); the caller closes it."""
        transport = SyncASGITransport(self.app) if self.mode == "in-process" else None
        return httpx.Client(base_url=self.api_url, auth=user, headers=self._headers(), transport=transport, **options)

    def async_client(self, user: Credentials | None = ADMIN, **options: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` on `/api/v1` (use it as `async with mock.async_client() as client:`)."""
        transport = httpx.ASGITransport(app=self.app) if self.mode == "in-process" else None
        return httpx.AsyncClient(base_url=self.api_url, auth=user, headers=self._headers(), transport=transport,
                                 **options)

    def _headers(self) -> dict[str, str]:
        return {HEADER: self.namespace} if self.namespace else {}

    # --- controls ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Store, journal, faults and clock back to the seed (and swapped handlers back to the bundle's)."""
        self.control.reset()
        if self._app is not None:
            self._crashes_seen = len(self._app.health.crashes)
            for served in self._app.served.values():  # handlers a test swapped come back too
                served.handlers.clear()
                served.handlers.update(served.bundle.handlers)

    def fault(self, operation_id: str, status: int | None = None, *, times: int | None = None,
              **rule: Any) -> dict[str, Any]:
        """Makes `operation_id` fail: `mock.fault("get_dags", 503, times=1)`. `rule` takes the other
        fields of a fault rule (`after`, `probability`, `force`) and of its effect (`delay_ms`, ...)."""
        rule_fields: dict[str, Any] = {key: rule.pop(key) for key in ("after", "probability", "force", "id")
                                       if key in rule}
        effect: dict[str, Any] = {**({"status": status} if status is not None else {}), **rule}
        body: dict[str, Any] = {"match": {"operation_id": operation_id}, "effect": effect, **rule_fields}
        if times is not None:
            body["times"] = times
        return self.control.post_fault(body)

    def freeze_clock(self, at: datetime | str | None = None) -> datetime:
        """Stops the clock (at `at`, or now); returns where it stands."""
        moment = at if isinstance(at, str) or at is None else iso(at)
        change: dict[str, Any] = {"frozen": True, **({"now": moment} if moment else {})}
        return datetime.fromisoformat(self.control.put_clock(change)["now"])

    def advance_clock(self, seconds: float) -> datetime:
        return datetime.fromisoformat(self.control.advance_clock({"seconds": seconds})["now"])

    def crashes(self) -> list[str]:
        """Handler crashes since the last reset (in this process only)."""
        return self._app.health.crashes[self._crashes_seen:] if self._app is not None else []

    def _journal(self, filters: Mapping[str, Any]) -> list[Call]:
        control = self.control
        if isinstance(control, RemoteControl):
            return [Call.of(wire) for wire in control.all_requests(filters)]
        return [Call.of(entry.to_wire()) for entry in control.entries(**filters)]
