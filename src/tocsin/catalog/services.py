"""Writes for services and the category taxonomy."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Team
from tocsin.catalog.models import Category, Integration, IntegrationKind, Service
from tocsin.core.clock import now
from tocsin.core.crypto import encrypt, sha256_hex
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


# --- integrations -------------------------------------------------------------------

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
KEY_LENGTH = 32


def new_integration_key() -> str:
    """32 lowercase letters and digits (PagerDuty's routing keys have 32 characters)."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


@transaction.atomic
def integration_create(
    *,
    service: Service,
    kind: str,
    name: str = "",
    options: dict[str, Any] | None = None,
    secret: str = "",
) -> tuple[Integration, str]:
    """Create an integration; returns it with its key, which is shown once."""
    if kind not in IntegrationKind.values:
        raise Invalid("kind", f"must be one of {', '.join(IntegrationKind.values)}")
    key = new_integration_key()
    integration = Integration.objects.create(
        service=service,
        kind=kind,
        name=name.strip() or IntegrationKind(kind).label,
        key_hash=sha256_hex(key),
        key_prefix=key[:6],
        options=options or {},
        secret_encrypted=encrypt(secret),
        created_at=now(),
    )
    return integration, key


@transaction.atomic
def integration_rotate(*, integration: Integration) -> tuple[Integration, str]:
    """A new key replaces the old one at once."""
    if integration.revoked_at is not None:
        raise Conflict("a revoked integration cannot be rotated")
    key = new_integration_key()
    integration.key_hash = sha256_hex(key)
    integration.key_prefix = key[:6]
    integration.rotated_at = now()
    integration.save(update_fields=["key_hash", "key_prefix", "rotated_at"])
    return integration, key


@transaction.atomic
def integration_revoke(*, integration: Integration) -> Integration:
    if integration.revoked_at is None:
        integration.revoked_at = now()
        integration.save(update_fields=["revoked_at"])
    return integration
