"""get_config: content negotiation first, then the `expose_config` switch (both as on Airflow)."""

from __future__ import annotations

from mockflow.api.context import Call, Reply
from mockflow.api.negotiation import best_match
from mockflow.problems import PermissionDenied
from mockflow.store.state import JSON

NOT_EXPOSED = "Your Airflow administrator chose not to expose the configuration, most likely for security reasons."
TEXT, JSON_TYPE = "text/plain", "application/json"

DEFAULT_CONFIG: JSON = {
    "sections": [
        {"name": "core", "options": [
            {"key": "dags_folder", "value": "/opt/airflow/dags"},
            {"key": "executor", "value": "LocalExecutor"},
            {"key": "parallelism", "value": "32"},
            {"key": "max_active_tasks_per_dag", "value": "16"},
            {"key": "load_examples", "value": "False"},
            {"key": "default_timezone", "value": "utc"},
        ]},
        {"name": "api", "options": [
            {"key": "auth_backends", "value": "airflow.api.auth.backend.basic_auth"},
            {"key": "maximum_page_limit", "value": "100"},
            {"key": "fallback_page_limit", "value": "100"},
        ]},
        {"name": "webserver", "options": [
            {"key": "base_url", "value": "http://localhost:8080"},
            {"key": "expose_config", "value": "True"},
        ]},
        {"name": "scheduler", "options": [
            {"key": "scheduler_heartbeat_sec", "value": "5"},
            {"key": "scheduler_health_check_threshold", "value": "30"},
        ]},
    ]
}


def get_config(call: Call) -> Reply:
    chosen = best_match(call.accepts(), (TEXT, JSON_TYPE))
    if chosen is None:
        return Reply(status=406, body=b"", content_type="text/html", validate=False)
    if not call.settings.expose_config:
        raise PermissionDenied(NOT_EXPOSED)
    config = call.state.config or DEFAULT_CONFIG
    if chosen == JSON_TYPE:
        return Reply(body=config)
    return Reply(body=config_as_text(config), content_type=TEXT, validate=False)


def config_as_text(config: JSON) -> str:
    sections = []
    for section in config.get("sections", []):
        lines = [f"[{section['name']}]"] + [f"{o['key']} = {o['value']}" for o in section.get("options", [])]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)
