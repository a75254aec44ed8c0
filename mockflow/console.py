"""What `mockflow` shows a person or a CI log: the start-up banner, progress lines, log formats.

Nothing here decides behaviour; it words what the app and the settings already say. Progress
lines draw only on a terminal (a CI log gets the summary line, not hundreds of redraws), and
only once the work has taken a moment, so a small set loads without flicker.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from uvicorn.config import LOGGING_CONFIG

from mockflow.settings import Settings
from mockflow.store.state import State
from mockflow.values import value_class

BANNER_LOGGER = "mockflow.serve"
_USERS_SHOWN = 6


class ProgressLine:
    """`label: 120/1,000 DAGs (12%)`, redrawn in place on stderr; silent when it is not a TTY."""

    def __init__(self, label: str, unit: str, stream: TextIO | None = None, delay: float = 0.3) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.unit = unit
        self.active = _is_terminal(self.stream)
        self._started = time.monotonic()
        self._delay = delay
        self._drawn_at = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.active:
            return
        now = time.monotonic()
        if now - self._started < self._delay or (now - self._drawn_at < 0.1 and done < total):
            return
        self._drawn_at = now
        self._drawn = True
        share = f" ({100 * done // total}%)" if total else ""
        self.stream.write(f"\r{self.label}: {done:,}/{total:,} {self.unit}{share}\x1b[K")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A free-form step (capture's `connected to ...`), shown in place like a count."""
        if self.active:
            self._drawn = True
            self.stream.write(f"\r{self.label}: {text[:200]}\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        """Clears the line, so the summary that follows starts on a clean one."""
        if self.active and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


# --- the start-up banner ---------------------------------------------------------------------

@value_class(frozen=True, slots=True)
class Banner:
    """What one started server serves, as lines for people and as fields for a JSON log."""

    version: str
    fixtures: tuple[str, ...]  # as the user named them; "default" is the embedded set
    counts: dict[str, int]
    auth: str
    users: tuple[tuple[str, str | None, tuple[str, ...]], ...]  # (username, password, roles)
    api_url: str
    inspector_url: str | None
    control: str
    simulation: str

    def lines(self) -> list[str]:
        counts = ", ".join(f"{count:,} {name}" for name, count in self.counts.items())
        rows = [
            ("fixtures", f"{' + '.join(self.fixtures)}: {counts}"),
            ("auth", self._auth_text()),
            ("API", self.api_url),
            ("inspector", self.inspector_url or "off (served with the control API)"),
            ("control API", self.control),
            ("simulation", self.simulation),
        ]
        return [f"mockflow {self.version}: the Airflow 2.5.3 REST API, in memory"] + [
            f"  {name + ':':<13}{text}" for name, text in rows]

    def fields(self) -> dict[str, Any]:
        return {"version": self.version, "fixtures": list(self.fixtures), **{
            name.replace(" ", "_"): count for name, count in self.counts.items()}, "auth": self.auth,
            "users": [name for name, _, _ in self.users], "api_url": self.api_url,
            "inspector_url": self.inspector_url, "control": self.control, "simulation": self.simulation}

    def _auth_text(self) -> str:
        if self.auth == "none":
            return "none (every request is let through)"
        if self.auth == "deny":
            return "deny (401 to everything but health and version)"
        shown = [f"{name}/{password}" if password else name for name, password, _ in self.users[:_USERS_SHOWN]]
        more = len(self.users) - _USERS_SHOWN
        listed = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")
        return f"basic; users {listed}" if self.users else "basic; no users in the set"


def make_banner(settings: Settings, state: State, fixture_names: Iterable[str], base_url: str,
                version: str) -> Banner:
    users = tuple((user.username, user.password, tuple(user.roles)) for user in state.users.values())
    if not settings.control:
        control = "off"
    elif settings.control_token:
        control = f"on, token required, at {base_url}/_mockflow/"
    else:
        control = f"on, no token, at {base_url}/_mockflow/"
    simulation = (f"real, {settings.simulation_speed:g}x" if settings.simulation == "real" else settings.simulation)
    return Banner(
        version=version,
        fixtures=tuple(fixture_names) or ("default",),
        counts={"DAGs": len(state.dags), "runs": len(state.dag_runs), "task instances": len(state.task_instances)},
        auth=settings.auth, users=users, api_url=f"{base_url}/api/v1",
        inspector_url=f"{base_url}/_mockflow/" if settings.control else None,
        control=control, simulation=simulation)


def log_banner(banner: Banner, json_format: bool) -> None:
    logger = logging.getLogger(BANNER_LOGGER)
    if json_format:  # one object, every value a field of its own
        logger.info("mockflow started", extra={"mockflow": banner.fields()})
    else:
        logger.info("\n".join(banner.lines()))


# --- log formats -----------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message; a request line also gets its
    parts (client, method, path, status) as fields, so CI can filter on them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, http_version, status = record.args
            entry.update(client=client, method=method, path=path, http_version=http_version, status=status)
        entry.update(getattr(record, "mockflow", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str, log_format: str) -> dict[str, Any]:
    """uvicorn's logging dict, extended to mockflow's own loggers, in text or JSON."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["mockflow"] = {"format": "%(levelname)s %(name)s: %(message)s"}
    config["handlers"]["mockflow"] = {"formatter": "mockflow", "class": "logging.StreamHandler",
                                      "stream": "ext://sys.stderr"}
    config["handlers"]["banner"] = {"formatter": "banner", "class": "logging.StreamHandler",
                                    "stream": "ext://sys.stderr"}
    config["formatters"]["banner"] = {"format": "%(message)s"}
    config["loggers"]["mockflow"] = {"handlers": ["mockflow"], "level": level.upper(), "propagate": False}
    # The banner shows at warning too (the conformance command runs so); error and critical mean quiet.
    banner_level = level.upper() if level in ("error", "critical") else "INFO"
    config["loggers"][BANNER_LOGGER] = {"handlers": ["banner"], "level": banner_level, "propagate": False}
    if log_format == "json":
        for formatter in config["formatters"]:
            config["formatters"][formatter] = {"()": f"{__name__}.JsonFormatter"}
    return config
