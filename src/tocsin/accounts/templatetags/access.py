"""`{% load access %}` then `{% if user|can:"config.manage" %}`: templates ask
accounts.permissions.can, never a role."""

from __future__ import annotations

from typing import Any

from django import template

from tocsin.accounts.permissions import can as _can

register = template.Library()


@register.filter
def can(user: Any, action: str) -> bool:
    return _can(user, action)
