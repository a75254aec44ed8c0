"""The pytest plugin (entry point `pytest11: mockflow`): fixtures, a marker and command-line options.

Fixtures: `mockflow` (in-process `MockAirflow`), `mockflow_server` (a live server per session and
worker, reset from the seed before each test), `airflow_client` (an `apache-airflow-client`
`ApiClient` on `mockflow_server`, skipped when that package is missing). The marker
`@pytest.mark.mockflow(fixtures=..., faults=[...], auth=..., clock=..., user=..., check_requests=...)`
configures them for one test. A test fails when mockflow answered outside the spec or the client
under test sent a request the spec rejects; a failed test's report shows the journal.

Importing this module imports nothing of mockflow but its lazy package: a session that uses no
mockflow fixture pays nothing.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import mockflow as _mockflow
from mockflow.values import value_class

if TYPE_CHECKING:
    from mockflow.testing import MockAirflow

MARKER = "mockflow"
ADMIN = ("admin", "admin")
_MOCKS = pytest.StashKey[list["MockAirflow"]]()
_POOL = pytest.StashKey["_Pool"]()
_OPTIONS = pytest.StashKey[tuple["Options", bool]]()  # the test's options, and whether it runs on a real Airflow


@value_class(frozen=True)
class Options:
    """What a test's `@pytest.mark.mockflow(...)` asks for (the marker's keywords, checked)."""

    fixtures: tuple[str, ...] | None = None
    auth: str = "basic"
    faults: tuple[Mapping[str, Any], ...] = ()
    clock: datetime | str | None = None
    user: tuple[str, str] | None = ADMIN
    check_requests: bool = True
    check_responses: bool = True


def _options(fixtures: str | Sequence[str] | None = None, *, auth: str = "basic",
             faults: Sequence[Mapping[str, Any]] = (), clock: datetime | str | None = None,
             user: tuple[str, str] | None = ADMIN, check_requests: bool = True,
             check_responses: bool = True) -> Options:
    sets = (fixtures,) if isinstance(fixtures, str | os.PathLike) else tuple(fixtures) if fixtures else None
    return Options(sets, auth, tuple(faults), clock, tuple(user) if user else None,  # type: ignore[arg-type]
                   check_requests, check_responses)


# --- configuration -------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockflow", "mockflow, a mock Airflow 2.5.3 REST API")
    group.addoption("--mockflow-fixtures", action="append", default=[], metavar="DIR",
                    help="fixture set for the mockflow fixtures (repeatable, layered; 'default' is the embedded one)")
    group.addoption("--mockflow-url", default=None, metavar="URL",
                    help="run the mockflow fixtures against this server (an external mockflow or a real Airflow)")
    parser.addini("mockflow_fixtures", type="linelist", default=[],
                  help="fixture sets for the mockflow fixtures, relative to the ini file")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mockflow(fixtures=None, faults=(), auth='basic', clock=None, "
                                       "user=('admin', 'admin'), check_requests=True, check_responses=True): "
                                       "configure the mockflow fixtures for this test")
    config.stash[_POOL] = _Pool(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is not None:
        pool.close()


@value_class
class _Pool:
    """The mocks of this session (of this xdist worker), one per distinct setup, reused across tests."""

    config: pytest.Config
    mocks: dict[tuple[Any, ...], MockAirflow] = field(default_factory=dict)

    def get(self, options: Options, base: Path, live: bool) -> MockAirflow:
        url = self.config.getoption("--mockflow-url")
        fixtures = options.fixtures if options.fixtures is not None else self._default_fixtures()
        base = base if options.fixtures is not None else self._base()
        sets = _mockflow.MockAirflow.resolve_fixtures(fixtures, base) if url is None else ()
        key = (url, live or url is not None, sets, options.auth)  # remotely, both fixtures share one handle
        mock = self.mocks.get(key)
        if mock is None:
            worker = os.environ.get("PYTEST_XDIST_WORKER")
            # Workers sharing one external server each get a namespace of their own.
            namespace = f"pytest-{worker}" if url and worker else None
            mock = _mockflow.MockAirflow(sets or None, live=live, url=url, auth=options.auth,  # type: ignore[arg-type]
                                        namespace=namespace, base=base)
            self.mocks[key] = mock.start()
        return mock

    def _default_fixtures(self) -> tuple[str, ...] | None:
        given: list[str] = self.config.getoption("--mockflow-fixtures")
        return tuple(given) or tuple(self.config.getini("mockflow_fixtures")) or None

    def _base(self) -> Path:
        if self.config.getoption("--mockflow-fixtures"):
            return self.config.invocation_params.dir
        return self.config.inipath.parent if self.config.inipath else self.config.rootpath

    def close(self) -> None:
        for mock in self.mocks.values():
            mock.close()
        self.mocks.clear()


# --- fixtures ------------------------------------------------------------------------------

def _prepared(request: pytest.FixtureRequest, live: bool) -> MockAirflow:
    marker = request.node.get_closest_marker(MARKER)
    options = _options(*marker.args, **marker.kwargs) if marker else Options()
    mock = request.config.stash[_POOL].get(options, request.path.parent, live)
    remote_airflow = not mock.controlled
    if remote_airflow and (options.faults or options.clock):
        pytest.skip("faults and clocks need a mockflow; --mockflow-url points at a real Airflow")
    if not remote_airflow:
        mock.reset()
        for rule in options.faults:
            mock.control.post_fault(rule)
        if options.clock is not None:
            mock.freeze_clock(options.clock)
    mock.use(options.user)
    request.node.stash.setdefault(_MOCKS, []).append(mock)
    request.node.stash[_OPTIONS] = (options, remote_airflow)
    return mock




@pytest.fixture
def mockflow(request: pytest.FixtureRequest) -> MockAirflow:
    """An in-process mock Airflow (no socket), reset to its seed for this test."""
    return _prepared(request, live=False)


@pytest.fixture
def mockflow_server(request: pytest.FixtureRequest) -> MockAirflow:
    """A live mock Airflow on a free port (one per session and worker), reset to its seed for this test."""
    return _prepared(request, live=True)


@pytest.fixture
def airflow_client(mockflow_server: MockAirflow) -> Iterator[Any]:
    """An `airflow_client.client.ApiClient` on `mockflow_server`, with the test's user."""
    client_module = pytest.importorskip("airflow_client.client", reason="apache-airflow-client is not installed")
    user, password = mockflow_server.user or (None, None)
    configuration = client_module.Configuration(host=mockflow_server.api_url, username=user, password=password)
    with client_module.ApiClient(configuration) as api_client:
        yield api_client
        # ApiClient.close() leaves urllib3's sockets open: a ResourceWarning under `-W error`.
        api_client.rest_client.pool_manager.clear()


# --- verdicts and reports ------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    mocks = item.stash.get(_MOCKS, None)
    if not mocks or report.when != "call" or item.stash[_OPTIONS][1]:
        return report
    options = item.stash[_OPTIONS][0]
    if report.passed:
        problems = [problem for mock in mocks for problem in _problems(mock, options)]
        if problems:
            report.outcome = "failed"
            report.longrepr = "mockflow found problems in this test's requests:\n" + "\n".join(problems)
    if report.failed:
        for mock in mocks:
            report.sections.append((f"mockflow journal ({mock.mode})", mock.journal_text()))
    return report


def _problems(mock: MockAirflow, options: Options) -> list[str]:
    found = [f"mockflow crashed: {crash}" for crash in mock.crashes()]
    for problem in mock.invalid_calls():
        answered = problem.startswith("mockflow answered")
        if (answered and options.check_responses) or (not answered and options.check_requests):
            found.append(problem)
    if found and options.check_requests:
        found.append("(a test that sends invalid requests on purpose: @pytest.mark.mockflow(check_requests=False))")
    return found


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_POOL].close()


__all__ = ["Options", "airflow_client", "mockflow", "mockflow_server"]
