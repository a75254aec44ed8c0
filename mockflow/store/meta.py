"""Read-only resources: version, config, plugins, providers, import errors, DAG warnings, event logs."""

from __future__ import annotations

from mockflow.store.state import JSON

DEFAULT_VERSION: JSON = {
    "version": "2.5.3",
    "git_version": ".release:2.5.3+cb842dd8aa8749b4d0a474c6e2fda11505d9ba99",
}


