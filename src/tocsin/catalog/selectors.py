from __future__ import annotations

from django.db.models import QuerySet

from tocsin.catalog.models import Category, Integration, Service
from tocsin.core.crypto import sha256_hex
from tocsin.core.errors import NotFound


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
    qs = Integration.objects.select_related("service").filter(
        key_hash=sha256_hex(key.lower()), revoked_at__isnull=True
    )
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.first()
