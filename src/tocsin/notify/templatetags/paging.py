"""`{% load paging %}` then `{% if user|pages_self %}`: may this person set up how they
are paged (their own contact methods and rules)? Asks accounts.permissions.can."""

from __future__ import annotations

from typing import Any

from django import template

from tocsin.accounts.permissions import Action, can

register = template.Library()


@register.filter
def pages_self(user: Any) -> bool:
    return can(user, Action.CONTACT_MANAGE, user)
