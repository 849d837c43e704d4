"""Writes for services and the category taxonomy."""

from __future__ import annotations

from django.db import transaction

from tocsin.accounts.models import Team
from tocsin.catalog.models import Category, Service
from tocsin.core.errors import Conflict, Invalid


@transaction.atomic
def service_create(*, name: str, description: str = "", team: Team | None = None) -> Service:
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if Service.objects.filter(name__iexact=name).exists():
        raise Conflict(f"a service named {name!r} already exists")
    return Service.objects.create(name=name, description=description, team=team)


@transaction.atomic
def service_update(
    *,
    service: Service,
    name: str | None = None,
    description: str | None = None,
    team: Team | None = None,
    clear_team: bool = False,
    is_active: bool | None = None,
) -> Service:
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("name", "must not be empty")
        if Service.objects.filter(name__iexact=name).exclude(pk=service.pk).exists():
            raise Conflict(f"a service named {name!r} already exists")
        service.name = name
    if description is not None:
        service.description = description
    if team is not None or clear_team:
        service.team = team
    if is_active is not None:
        service.is_active = is_active
    service.save()
    return service


@transaction.atomic
def category_create(*, name: str, parent: Category | None = None) -> Category:
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if parent is not None and parent.parent_id is not None:
        raise Invalid("parent", "subcategories cannot have children (two levels only)")
    if Category.objects.filter(name__iexact=name, parent=parent).exists():
        raise Conflict(f"category {name!r} already exists there")
    return Category.objects.create(name=name, parent=parent)
