from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, QuerySet

from tocsin.catalog.hooks import service_health_signals
from tocsin.catalog.models import Category, Integration, Service
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import NotFound
from tocsin.core.prepared import Columns


def service_get(service_id: int) -> Service:
    try:
        return Service.objects.get(pk=service_id)
    except Service.DoesNotExist:
        raise NotFound(f"no service with id {service_id}") from None


def service_list() -> QuerySet[Service]:
    return Service.objects.select_related("team").order_by("name")


def category_tree() -> list[tuple[Category, list[Category]]]:
    tops = list(Category.objects.filter(parent__isnull=True, is_active=True).order_by("name"))
    children: dict[int, list[Category]] = {}
    for child in Category.objects.filter(parent__isnull=False, is_active=True).order_by("name"):
        children.setdefault(child.parent_id, []).append(child)  # type: ignore[arg-type]
    return [(top, children.get(top.pk, [])) for top in tops]


def category_get(category_id: int) -> Category:
    """An active category or subcategory by id."""
    category = Category.objects.filter(pk=category_id, is_active=True).first()
    if category is None:
        raise NotFound(f"no category with id {category_id}")
    return category


def integration_by_key(key: str, kinds: tuple[str, ...] | None = None) -> Integration | None:
    """The live integration with this key (optionally of these kinds), or None.

    This is the ingest hot path (one call per accepted request), so it runs one prepared
    statement (key_hash is unique: one indexed row, a join for the service, no ordering)
    instead of building an ORM query every time; the instances it returns are the ones
    `Integration.objects.select_related("service")` would build.
    """
    if not isinstance(key, str) or len(key) != 32:
        return None
    connection = connections[router.db_for_read(Integration)]
    statement = _by_key_statement(connection)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [sha256_hex(key.lower())])
        row = cursor.fetchone()
    if row is None:
        return None
    integration = statement.build(connection, row)
    if kinds and integration.kind not in kinds:
        return None
    return integration


class _ByKeyStatement:
    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        self.vendor = connection.vendor
        self.integration = Columns(Integration, "i", connection)
        self.service = Columns(Service, "s", connection)
        service_fk = Integration._meta.get_field("service")
        self.service_field = service_fk
        # Identifiers come from the models' metadata, quoted; the key hash is a parameter.
        self.sql = (
            f"SELECT {', '.join(self.integration.sql + self.service.sql)} "  # noqa: S608
            f"FROM {quote(Integration._meta.db_table)} i "
            f"INNER JOIN {quote(Service._meta.db_table)} s "
            f"ON s.{quote(Service._meta.pk.column)} = i.{quote(service_fk.column)} "
            f"WHERE i.{quote(Integration._meta.get_field('key_hash').column)} = %s "
            f"AND i.{quote(Integration._meta.get_field('revoked_at').column)} IS NULL"
        )
        self.width = len(self.integration.names)

    def build(self, connection: BaseDatabaseWrapper, row: tuple[Any, ...]) -> Integration:
        values = list(row)
        integration = self.integration.instance(connection, values[: self.width])
        service = self.service.instance(connection, values[self.width :])
        self.service_field.set_cached_value(integration, service)
        return integration  # type: ignore[return-value]


_BY_KEY: dict[str, _ByKeyStatement] = {}


def _by_key_statement(connection: BaseDatabaseWrapper) -> _ByKeyStatement:
    statement = _BY_KEY.get(connection.alias)
    if statement is None or statement.vendor != connection.vendor:
        statement = _ByKeyStatement(connection)
        _BY_KEY[connection.alias] = statement
    return statement


# --- integrations (who may manage them: accounts.permissions, integration.manage) -----


def integrations_for(service: Service, *, include_revoked: bool = True) -> QuerySet[Integration]:
    qs = Integration.objects.filter(service=service).select_related("service", "heartbeat")
    if not include_revoked:
        qs = qs.filter(revoked_at__isnull=True)
    return qs.order_by("revoked_at", "kind", "id")


def live_integration_counts() -> dict[int, int]:
    """Integrations that are not revoked, per service id."""
    rows = (
        Integration.objects.filter(revoked_at__isnull=True)
        .values("service_id")
        .annotate(n=Count("id"))
    )
    return {row["service_id"]: row["n"] for row in rows}


def integration_get(service: Service, integration_id: int) -> Integration:
    """One integration of this service (another service's integration answers 404)."""
    integration = (
        Integration.objects.select_related("service")
        .filter(pk=integration_id, service=service)
        .first()
    )
    if integration is None:
        raise NotFound(f"no integration with id {integration_id} on this service")
    return integration


HEALTH_LEVELS = (
    ("critical", "Critical"),
    ("major", "Degraded"),
    ("minor", "Minor issues"),
)


@dataclass(frozen=True)
class ServiceHealth:
    """A service's health on the list of services: its worst open signal, and why."""

    level: str  # critical, major, minor, ok, inactive
    label: str
    reasons: tuple[str, ...] = ()


def service_health(services: Sequence[Service]) -> dict[int, ServiceHealth]:
    """Health derived from what is open on each service (open incidents by priority, open
    alerts by severity, as the apps above the catalog report them through
    hooks.add_service_health_source): the worst signal sets the level."""
    signals = service_health_signals(services)
    result = {}
    for service in services:
        found = sorted(signals.get(service.pk, []), key=lambda signal: signal[0])
        if not service.is_active:
            result[service.pk] = ServiceHealth("inactive", "Inactive")
        elif not found:
            result[service.pk] = ServiceHealth("ok", "Healthy")
        else:
            level, label = HEALTH_LEVELS[found[0][0]]
            result[service.pk] = ServiceHealth(level, label, tuple(why for _, why in found))
    return result
