from __future__ import annotations

from django.db.models import QuerySet

from tocsin.catalog.models import Category, Service
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
