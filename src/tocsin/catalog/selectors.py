from __future__ import annotations

from django.db.models import Count, QuerySet

from tocsin.accounts.models import STAFF_ROLES, Role, User
from tocsin.catalog.models import Category, Integration, Service
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import Forbidden, NotFound


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
    """The live integration with this key (optionally of these kinds), or None."""
    if not isinstance(key, str) or len(key) != 32:
        return None
    # key_hash is unique: one indexed row, no ordering (this is the ingest hot path).
    integration = (
        Integration.objects.select_related("service")
        .filter(key_hash=sha256_hex(key.lower()), revoked_at__isnull=True)
        .order_by()
        .first()
    )
    if integration is None or (kinds and integration.kind not in kinds):
        return None
    return integration


# --- integrations and who may manage them -----------------------------------------------


def can_manage_integrations(user: User | None) -> bool:
    """Administrators and managers set up integrations and a service's alert settings."""
    return bool(user and user.is_active and user.role in (Role.ADMIN, Role.MANAGER))


def require_manage_integrations(user: User | None) -> None:
    if not can_manage_integrations(user):
        raise Forbidden("your role may not manage integrations (administrators and managers may)")


def require_staff(user: User | None) -> None:
    if not (user and user.is_active and user.role in STAFF_ROLES):
        raise Forbidden("your role may not see alerts and integrations")


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
