"""`tocsin manage reports_rebuild`: recompute the metrics' fact table from every incident.

The engine keeps the facts up to date by itself (the `report_facts` module); this is for
after a restore, an import, or a change to a metric's definition.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from tocsin.reports import facts


class Command(BaseCommand):
    help = "Recompute the metrics' fact table from every incident."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        done = facts.rebuild()
        self.stdout.write(f"{done} incidents counted in {time.monotonic() - started:.1f} s")
