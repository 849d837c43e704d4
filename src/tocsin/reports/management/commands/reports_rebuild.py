"""`tocsin manage reports_rebuild`: recompute the metrics' fact table from every incident."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tocsin.reports import facts


class Command(BaseCommand):
    help = (
        "Recompute every incident's row in the metrics' fact table (docs/metrics.md); "
        "the engine keeps it up to date by itself, this repairs or fills it at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = facts.rebuild()
        self.stdout.write(f"{done} incidents' facts recomputed, as of {facts.refreshed_to()}")
