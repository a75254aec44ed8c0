"""An API as a value: a spec, its handlers, who may call what, what is audited and its error words.

The Airflow 2.5.3 v1 API is one bundle (`mockflow.api.bundle.airflow_v1`); the control API and
later Airflow versions are more bundles served by the same router, validator and pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any

from mockflow.spec import Spec
from mockflow.values import value_class

if TYPE_CHECKING:
    from mockflow.pipeline import Step

Permission = tuple[str, str]  # (action, resource)
Handler = Callable[..., Any]  # takes what the bundle's last step passes; returns wire data or a Reply


@value_class(frozen=True, slots=True)
class Text:
    """How a bundle words a domain error: `str.format` templates over the error's facts."""

    detail: str | None  # None sends `"detail": null`, as Airflow does for some errors
    title: str | None = None  # None keeps the problem class's default title


# Compared by identity: a bundle is built once per process and keys the router cache.
@value_class(frozen=True, slots=True, eq=False)
class Bundle:
    name: str
    spec: Spec
    handlers: Mapping[str, Handler]  # operationId -> handler
    # The request path after routing, in order (see `mockflow.pipeline`).
    steps: tuple[Step, ...]
    permissions: Mapping[str, tuple[Permission, ...]] = field(default_factory=dict)
    public_operations: frozenset[str] = frozenset()  # answered without authentication
    audited_events: Mapping[str, str] = field(default_factory=dict)  # operationId -> event-log name
    texts: Mapping[str, Text] = field(default_factory=dict)  # domain error code -> words
    # Path parameters routed as paths (they may contain `/`), as Airflow's routes declare them.
    path_parameters: frozenset[str] = frozenset()
    # Observed bundles are journaled and can be faulted; the control API itself is not.
    observed: bool = True
    # Whether a left-out optional JSON body counts as `{}` (Airflow's own server refuses it).
    optional_body_defaults: bool = False

    @property
    def prefix(self) -> str:
        return self.spec.prefix

    def owns(self, path: str) -> bool:
        """Whether a URL path lies under this bundle's prefix (its 404s are this bundle's)."""
        return path == self.prefix or path.startswith(self.prefix + "/")

    def missing_handlers(self) -> set[str]:
        return set(self.spec.operations) - set(self.handlers)


def handlers_of(modules: tuple[Any, ...], operation_ids: set[str]) -> dict[str, Handler]:
    """Every function of `modules` whose name is an operationId; two for one operation is a bug."""
    handlers: dict[str, Handler] = {}
    for module in modules:
        for name in dir(module):
            if name in operation_ids:
                if name in handlers:
                    raise RuntimeError(f"operation {name} has two handlers")
                handlers[name] = getattr(module, name)
    return handlers
