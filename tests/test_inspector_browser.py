"""The inspector in a real browser: Debian's headless chromium, driven through its chromedriver,
against a live server whose simulation runs in real time, sped up.

The page must load with no console error, show a triggered run move to success in its grid,
pause and unpause a DAG, move the clock, reset, highlight faults and invalid requests in the
journal, and ask for the control token when one is set. A screenshot is saved (its path and size
are printed; `MOCKFLOW_INSPECTOR_SCREENSHOT=path` keeps it somewhere chosen).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver  # Chrome's own: it reads the console log
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from mockflow.app import MockflowApp
from mockflow.server import LiveServer
from mockflow.wire import parse_datetime
from tests.conftest import build_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)"),
]

# Flags that work in this sandbox: no GPU, no network beyond the loopback the page talks to.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1700"]
WAIT = 45.0  # seconds; two cores shared with other work
DAG = "customer_export"  # unpaused, two quick tasks in the default data
T = TypeVar("T")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="mockflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[MockflowApp, str]]:
    app = build_app(simulation="real", simulation_speed=1200.0)
    with LiveServer(app) as server:
        yield app, server.url


class Console:
    """The browser's console since the page loaded (chromedriver hands each entry out once)."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.entries: list[dict[str, Any]] = []

    def errors(self) -> list[str]:
        self.entries += self.driver.get_log("browser")  # type: ignore[no-untyped-call]  # untyped in selenium
        return [entry["message"] for entry in self.entries if entry["level"] == "SEVERE"]


def wait_for(driver: WebDriver, what: str, found: Callable[[], T | None]) -> T:
    result = WebDriverWait(driver, WAIT, poll_frequency=0.2).until(lambda _: found(), message=what)
    assert result is not None  # `until` raises TimeoutException rather than give up with nothing
    return result


def css(driver: WebDriver, selector: str) -> list[Any]:
    """Elements that stay put (the controls bar, the header); the tables are rebuilt every second."""
    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def read(driver: WebDriver, selector: str, attribute: str | None = None) -> list[str]:
    """The text (or one attribute) of every match, read in one go: the page re-renders its tables
    every second, so element handles would go stale between two reads."""
    found: list[str] = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => arguments[1] ? e.getAttribute(arguments[1])"
        " : e.textContent)", selector, attribute)
    return found


def click(driver: WebDriver, selector: str) -> None:
    """A real click; if a refresh replaced the element between finding and clicking it, again."""
    for _ in range(10):
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{selector} kept going stale")


def open_page(driver: WebDriver, url: str) -> Console:
    driver.get(f"{url}/_mockflow/")
    console = Console(driver)
    wait_for(driver, "the DAG table", lambda: len(read(driver, "#dags tbody tr")) > 0 or None)
    return console


def runs_of(app: MockflowApp, dag_id: str) -> dict[str, str]:
    (dag,) = [dag for dag in app.control.get_overview({"runs": 100})["dags"] if dag["dag_id"] == dag_id]
    return {run["dag_run_id"]: run["state"] for run in dag["runs"]}


def test_the_inspector_drives_the_mock_with_no_console_error(browser: WebDriver, served: tuple[MockflowApp, str],
                                                             tmp_path: Path) -> None:
    app, url = served
    app.control.reset()
    console = open_page(browser, url)
    assert browser.title == "mockflow inspector"
    assert read(browser, "#simulation") == ["real \u00d7 1200"]  # "real times 1200"
    assert len(read(browser, "#dags tbody tr")) == len(app.control.get_overview()["dags"])

    # what did not change is not redrawn: a click cannot land between two versions of a button
    steady = browser.find_element(By.CSS_SELECTOR, 'button.trigger[data-dag-id="db_maintenance"]')  # paused
    shown = read(browser, "#status")[0]
    wait_for(browser, "two refreshes", lambda: read(browser, "#status")[0] != shown or None)
    time.sleep(1.2)
    assert steady.is_enabled()  # a rebuilt row would raise StaleElementReferenceException here

    # trigger: a new run appears in the grid and reaches success there
    before = set(runs_of(app, DAG))
    click(browser, f'button.trigger[data-dag-id="{DAG}"]')
    # (the simulation may add dataset-triggered runs of its own meanwhile: the manual one is ours)
    new_run = wait_for(browser, "the triggered run in the grid", lambda: next(
        (run for run in read(browser, "#grid th.run", "data-run-id") if run not in before
         and run.startswith("manual__")), None))
    wait_for(browser, "the run's success in the grid", lambda: read(
        browser, f'#grid th.run[data-run-id="{new_run}"][data-run-state="success"]') or None)
    cells = read(browser, f'#grid td.cell[data-run-id="{new_run}"]', "data-state")
    assert cells and set(cells) == {"success"}
    assert runs_of(app, DAG)[new_run] == "success"
    wait_for(browser, "the trigger in the journal", lambda: [
        row for row in read(browser, "#journal tbody tr") if "post_dag_run" in row] or None)

    # pause, then unpause, with the DAG's toggle
    toggle = f'#dags tr[data-dag-id="{DAG}"] .switch span'
    click(browser, toggle)
    wait_for(browser, "the DAG paused", lambda: _paused(app, DAG) is True or None)
    wait_for(browser, "the toggle off", lambda: browser.execute_script(
        f"return !document.querySelector('input.pause-toggle[data-dag-id=\"{DAG}\"]').checked") or None)
    click(browser, toggle)
    wait_for(browser, "the DAG unpaused", lambda: _paused(app, DAG) is False or None)

    # advance the clock by an hour
    clock_before = _now(app)
    field = css(browser, "#advance-seconds")[0]
    field.clear()
    field.send_keys("3600")
    click(browser, "#advance")
    wait_for(browser, "the clock an hour on", lambda: (_now(app) - clock_before).total_seconds() >= 3600 or None)
    wait_for(browser, "the page's clock", lambda: read(browser, "#clock-now")[0][:13]
             == _now(app).strftime("%Y-%m-%d %H") or None)

    # faults and invalid requests are highlighted in the journal
    app.control.post_fault({"id": "flaky-pools", "match": {"operation_id": "get_pools"},
                            "effect": {"status": 403}, "times": 1})
    with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=10) as client:
        assert client.get("/api/v1/pools").status_code == 403
        assert client.post("/api/v1/pools", json={"name": "x", "slots": "many"}).status_code == 400
    faulted = wait_for(browser, "the faulted entry", lambda: read(browser, "#journal tr.fault") or None)
    assert "flaky-pools" in faulted[0] and "403" in faulted[0]
    invalid = wait_for(browser, "the invalid entry", lambda: read(browser, "#journal tr.invalid") or None)
    assert "post_pool" in invalid[0] and "invalid" in invalid[0]

    _screenshot(browser, tmp_path)

    # reset: the triggered run, the journal and the fault rule are gone
    click(browser, "#reset")
    wait_for(browser, "the reset store", lambda: new_run not in runs_of(app, DAG) or None)
    wait_for(browser, "the emptied journal", lambda: not read(browser, "#journal tbody tr") or None)
    wait_for(browser, "the grid without the run", lambda: not read(
        browser, f'#grid th.run[data-run-id="{new_run}"]') or None)
    assert app.control.get_faults() == {"faults": []}
    assert "0 entries, 0 fault rules set" in read(browser, "#journal-count")[0]
    assert console.errors() == []


def test_the_inspector_follows_the_namespace_field(browser: WebDriver, served: tuple[MockflowApp, str]) -> None:
    app, url = served
    app.control.namespace("gw7").post_fault({"match": {"operation_id": "get_pools"}, "effect": {"status": 403}})
    console = open_page(browser, url)
    field = css(browser, "#namespace")[0]
    field.clear()
    field.send_keys("gw7\n")
    wait_for(browser, "the other namespace", lambda: "namespace gw7" in read(browser, "#status")[0] or None)
    wait_for(browser, "its fault rule", lambda: "1 fault rule set" in read(browser, "#journal-count")[0] or None)
    assert console.errors() == []


def test_the_inspector_asks_for_the_control_token(browser: WebDriver) -> None:
    with LiveServer(build_app(control_token="s3cret", simulation="off")) as server:
        console = Console(browser)
        browser.get(f"{server.url}/_mockflow/")
        wait_for(browser, "the token prompt", lambda: css(browser, "#token-box.needed") or None)
        assert not read(browser, "#dags tbody tr")
        refused = console.errors()
        assert refused and all("401" in message for message in refused)  # only the refused calls
        css(browser, "#token")[0].send_keys("s3cret")
        click(browser, "#token-save")
        wait_for(browser, "the data", lambda: len(read(browser, "#dags tbody tr")) > 0 or None)
        assert not css(browser, "#token-box.needed")
        console.entries.clear()
        assert console.errors() == []
        browser.execute_script("sessionStorage.clear()")


def _paused(app: MockflowApp, dag_id: str) -> bool | None:
    paused: bool | None = next(dag for dag in app.control.get_overview({"runs": 1})["dags"]
                               if dag["dag_id"] == dag_id)["is_paused"]
    return paused


def _now(app: MockflowApp) -> Any:
    return parse_datetime(app.control.get_clock()["now"])


def _screenshot(driver: WebDriver, tmp_path: Path) -> None:
    target = Path(os.environ.get("MOCKFLOW_INSPECTOR_SCREENSHOT") or tmp_path / "inspector.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 140, 4000))  # the whole page, journal and all
    assert driver.save_screenshot(str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000  # a rendered page, not a blank one
    print(f"inspector screenshot: {target} ({len(data)} bytes)")
