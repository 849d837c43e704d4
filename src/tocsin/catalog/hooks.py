"""What apps above the catalog add to it, registered at start-up.

The catalog sits below the apps that use services and integrations (DESIGN.md,
"Layout"), so it imports none of them. Where they must take part in the catalog's work,
they register here in their `AppConfig.ready()` and the catalog calls what is registered:

- `on_integration_changed`: called inside the transaction that creates an integration or
  changes its options (alerts keeps a heartbeat integration's expected pings in step).
- `add_service_page_part`: a template the service page includes in one of its slots, with
  the context it needs (alerts adds the open alerts, recent changes, maintenance windows
  and silences).
- `add_service_list_part`: the same for the list of services (alerts adds the open-alerts
  column).

Registering the same thing twice has no effect, so a second `ready()` (tests) is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from django import forms
    from django.http import HttpRequest

    from tocsin.catalog.models import Integration, Service

IntegrationHook = Callable[["Integration"], None]

ServicePageSlot = Literal["actions", "main_top", "main_bottom", "side_bottom"]
"""Where on the service page: the buttons by the title, the main column above and below
the integrations, the side column below the alert settings."""

ServicePageContext = Callable[
    ["HttpRequest", "Service", "Mapping[str, forms.Form]"], dict[str, Any]
]
"""(request, service, bound forms) -> what the part's template needs. `bound` holds a
form a POST failed to validate, by name ("window", "silence", ...), to show again."""

ServiceListSlot = Literal["actions", "head", "cells"]
"""Where on the list of services: the buttons by the title, extra column headings, and
the matching cells (included once per row, with the row's service as `s`)."""

ServiceListContext = Callable[["HttpRequest", "Sequence[Service]"], dict[str, Any]]
"""(request, the services listed) -> context; may also annotate the rows for the cells."""


@dataclass(frozen=True)
class ServicePagePart:
    slot: ServicePageSlot
    template: str
    context: ServicePageContext | None = None


@dataclass(frozen=True)
class ServiceListPart:
    slot: ServiceListSlot
    template: str
    context: ServiceListContext | None = None


_integration_changed: list[IntegrationHook] = []
_service_page_parts: list[ServicePagePart] = []
_service_list_parts: list[ServiceListPart] = []


def on_integration_changed(hook: IntegrationHook) -> None:
    """`hook(integration)` runs after an integration is created or its options change,
    inside the same transaction (an error in it undoes the change)."""
    if hook not in _integration_changed:
        _integration_changed.append(hook)


def integration_changed(integration: Integration) -> None:
    """Called by the catalog's integration services, inside their transaction."""
    for hook in _integration_changed:
        hook(integration)


def add_service_page_part(part: ServicePagePart) -> None:
    if part not in _service_page_parts:
        _service_page_parts.append(part)


def add_service_list_part(part: ServiceListPart) -> None:
    if part not in _service_list_parts:
        _service_list_parts.append(part)


def service_page_parts(
    request: HttpRequest, service: Service, bound: Mapping[str, forms.Form]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The templates of each slot of the service page (in registration order) and the
    context they need."""
    slots: dict[str, list[str]] = {}
    context: dict[str, Any] = {}
    for part in _service_page_parts:
        slots.setdefault(part.slot, []).append(part.template)
        if part.context is not None:
            context.update(part.context(request, service, bound))
    return slots, context


def service_list_parts(
    request: HttpRequest, services: Sequence[Service]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The templates of each slot of the list of services, and the context they need."""
    slots: dict[str, list[str]] = {}
    context: dict[str, Any] = {}
    for part in _service_list_parts:
        slots.setdefault(part.slot, []).append(part.template)
        if part.context is not None:
            context.update(part.context(request, services))
    return slots, context


# --- service health (helper "queue") ---------------------------------------------------

HealthSignal = tuple[int, str]
"""(severity, what): 0 critical, 1 major, 2 minor; e.g. (0, "1 open P1 incident")."""

HealthSource = Callable[["Sequence[Service]"], "dict[int, list[HealthSignal]]"]
"""(the services listed) -> their signals by service id. Incidents add their open
incidents by priority, alerts their open alerts by severity."""

_health_sources: list[HealthSource] = []


def add_service_health_source(source: HealthSource) -> None:
    if source not in _health_sources:
        _health_sources.append(source)


def service_health_signals(services: Sequence[Service]) -> dict[int, list[HealthSignal]]:
    """Every registered source's signals, by service id."""
    signals: dict[int, list[HealthSignal]] = {}
    for source in _health_sources:
        for service_id, found in source(services).items():
            signals.setdefault(service_id, []).extend(found)
    return signals


# --- extra service fields in the API (helper "policies") -----------------------------------

ServiceFieldRead = Callable[[Any, "Sequence[Service]"], "dict[int, Any]"]
"""(the person asking, the services) -> the field's value by service id (absent: null)."""

ServiceFieldApply = Callable[["Service", Any, Any], None]
"""(service, the value sent, the actor) -> None; runs inside the PATCH's transaction and
raises the catalog's usual errors (Invalid naming the field, Forbidden)."""


@dataclass(frozen=True)
class ServiceField:
    name: str
    apply: ServiceFieldApply
    read: ServiceFieldRead
    schema_in: Any  # the type the PATCH body takes (pydantic annotation)
    schema_out: Any  # the type the service's JSON shows


_service_fields: dict[str, ServiceField] = {}


def add_service_field(
    name: str,
    apply: ServiceFieldApply,
    read: ServiceFieldRead,
    *,
    schema_in: Any = Any,
    schema_out: Any = Any,
) -> None:
    """A field an app above the catalog adds to `GET|PATCH /api/v1/services/{id}` (the
    escalation app: `escalation_policy`). Register before the API is imported (in
    `ready()`); the catalog's API builds its schemas with the fields registered."""
    _service_fields.setdefault(name, ServiceField(name, apply, read, schema_in, schema_out))


def service_fields() -> list[ServiceField]:
    return list(_service_fields.values())


# --- stored secrets of apps above the catalog (`tocsin manage rotate_secrets`) --------------

SecretRotator = Callable[[], "tuple[int, int]"]
"""() -> (rewritten, unreadable): re-encrypt an app's stored secrets under the current key
(the comms app's automation webhook secrets)."""

_secret_rotators: list[SecretRotator] = []


def add_secret_rotator(rotator: SecretRotator) -> None:
    if rotator not in _secret_rotators:
        _secret_rotators.append(rotator)


def secret_rotators() -> list[SecretRotator]:
    return list(_secret_rotators)
