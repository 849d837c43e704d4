"""Writes of the comms app that every part shares. Each feature keeps its own module
(statuspage, updates, automation, ...); this one holds what they all call."""

from __future__ import annotations

from django.db.models import F

from tocsin.comms.models import StatusPage
from tocsin.core.clock import now


def status_page() -> StatusPage:
    page, _ = StatusPage.objects.get_or_create(pk=1)
    return page


def status_changed() -> None:
    """Something the public sees changed: bump the revision (inside the caller's
    transaction) so the public page and JSON are rendered again once."""
    status_page()
    StatusPage.objects.filter(pk=1).update(revision=F("revision") + 1, changed_at=now())
