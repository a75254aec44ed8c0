"""All of mockflow's settings in one frozen dataclass, from defaults, `MOCKFLOW_*` variables or flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, Literal

from mockflow.limits import DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_CEILING
from mockflow.values import value_class

AuthMode = Literal["basic", "none", "deny"]
ValidationEngine = Literal["compiled", "openapi-core", "off"]
AUTH_MODES: tuple[AuthMode, ...] = ("basic", "none", "deny")
VALIDATION_ENGINES: tuple[ValidationEngine, ...] = ("compiled", "openapi-core", "off")
SIMULATION_MODES = ("real", "virtual", "off")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")


@value_class(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Fixture sets, layered in order; empty means the embedded default set.
    fixtures: tuple[str, ...] = ()
    auth: AuthMode = "basic"
    # The real server's default is `expose_config = False` (403 on /config).
    expose_config: bool = False
    validation: ValidationEngine = "compiled"
    # The seed of the one random source (ids, generated values, fault probabilities).
    seed: int = 0
    # The control API under /_mockflow/ (reset, state, faults, journal, clock); off: not served.
    control: bool = True
    # When set, every control call must carry it (`Authorization: Bearer <token>`).
    control_token: str | None = None
    # Journal entries kept per namespace; older ones are dropped (and counted).
    journal_limit: int = 10_000
    # Namespaces one server may hold (header X-Mockflow-Namespace), the default one included.
    max_namespaces: int = 64
    # Honour `Prefer: code=<status>` on Airflow API requests (a one-off fault), as Prism does.
    fault_header: bool = False
    # The simulated scheduler: virtual (moves with a frozen clock), real (with the clock, `speed`
    # times faster) or off. `mockflow serve` defaults to real.
    simulation: str = "virtual"
    simulation_speed: float = 60.0
    # --- limits of a shared service (mockflow/limits.py): each refusal is a problem body naming it ---
    max_body_bytes: int = 16 * 1024 * 1024  # 413
    max_header_bytes: int = 8 * 1024  # 431; below h11's 16 KiB so mockflow, not uvicorn, answers
    max_url_length: int = 4094  # 414; gunicorn's limit_request_line, the real server's front door
    max_query_params: int = 256  # 414
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH  # 400; a request body nested deeper is refused

    # How `mockflow serve` logs: uvicorn's level, and text lines or one JSON object per line (CI).
    log_level: str = "info"
    log_format: str = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, flags: Mapping[str, str] | None = None,
                 **overrides: Any) -> Settings:
        """Defaults, then `MOCKFLOW_<NAME>` variables, then explicit overrides (CLI flags).

        `flags` names the flag each override came from: a refused value is reported under the
        name the user typed (`--port`, `MOCKFLOW_PORT`), not under the field's."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is not None:
                values[f.name] = _parse(f.name, raw)
                origin[f.name] = env_name(f.name)
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                origin[name] = (flags or {}).get(name, name)
        settings = replace(cls(), **values)
        try:
            settings.check()
        except SettingError as error:
            raise SettingError(error.name, error.complaint, origin.get(error.name, error.name)) from None
        return settings

    def check(self) -> None:
        if self.auth not in AUTH_MODES:
            raise SettingError("auth", f"must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.validation not in VALIDATION_ENGINES:
            raise SettingError("validation", f"must be one of {', '.join(VALIDATION_ENGINES)}, "
                                             f"not {self.validation!r}")
        if not 0 <= self.port <= 65535:
            raise SettingError("port", f"must be between 0 and 65535, not {self.port}")
        if self.journal_limit < 0:
            raise SettingError("journal_limit", f"must be 0 or more, not {self.journal_limit}")
        if self.simulation not in SIMULATION_MODES:
            raise SettingError("simulation", f"must be one of {', '.join(SIMULATION_MODES)}, not {self.simulation!r}")
        if not self.simulation_speed > 0:
            raise SettingError("simulation_speed", f"must be above 0, not {self.simulation_speed}")
        if self.max_namespaces < 1:
            raise SettingError("max_namespaces", f"must be 1 or more, not {self.max_namespaces}")
        if self.log_level not in LOG_LEVELS:
            raise SettingError("log_level", f"must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise SettingError("log_format", f"must be one of {', '.join(LOG_FORMATS)}, not {self.log_format!r}")
        self._check_limits()

    def _check_limits(self) -> None:
        for name in LIMITS:
            if getattr(self, name) < 1:
                raise SettingError(name, f"must be 1 or more, not {getattr(self, name)}")
        if self.max_json_depth > MAX_JSON_DEPTH_CEILING:
            raise SettingError("max_json_depth", f"must be at most {MAX_JSON_DEPTH_CEILING} (orjson writes at most "
                                                 f"254 levels, and answers wrap values), not {self.max_json_depth}")


class SettingError(ValueError):
    """A refused setting, worded with the name the user gave it: field, variable or flag."""

    def __init__(self, name: str, complaint: str, label: str | None = None) -> None:
        self.name = name
        self.complaint = complaint
        super().__init__(f"{label or name} {complaint}")


def env_name(field_name: str) -> str:
    return f"MOCKFLOW_{field_name.upper()}"


LIMITS = ("max_body_bytes", "max_header_bytes", "max_url_length", "max_query_params", "max_json_depth")
_INTEGERS = ("port", "seed", "journal_limit", "max_namespaces", *LIMITS)
_BOOLEANS = ("expose_config", "control", "fault_header")


def _parse(name: str, raw: str) -> Any:
    if name in _INTEGERS:
        try:
            return int(raw)
        except ValueError:
            raise SettingError(name, f"must be an integer, not {raw!r}", env_name(name)) from None
    if name in _BOOLEANS:
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise SettingError(name, f"must be true or false, not {raw!r}", env_name(name))
        return raw.lower() in ("true", "1", "yes", "on")
    if name == "simulation_speed":
        try:
            return float(raw)
        except ValueError:
            raise SettingError(name, f"must be a number, not {raw!r}", env_name(name)) from None
    if name in ("log_level", "log_format"):
        return raw.lower()
    if name == "control_token":
        return raw or None
    if name == "fixtures":
        return tuple(part for part in raw.split(os.pathsep) if part)
    return raw
