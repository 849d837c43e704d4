"""`tocsin manage reports_rebuild`: recompute the metrics' fact table from every incident."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tocsin.reports import facts, summaries


class Command(BaseCommand):
    help = (
        "Recompute every incident's row in the metrics' fact table (docs/metrics.md); "
        "the engine keeps it up to date by itself, this repairs or fills it at once."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--summaries",
            action="store_true",
            help="only the day summaries, from the facts as they are (reports/summaries.py)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["summaries"]:
            rows = summaries.rebuild_all()
            self.stdout.write(f"{rows} day summaries rebuilt from the facts")
            return
        done = facts.rebuild()
        self.stdout.write(f"{done} incidents' facts recomputed, as of {facts.refreshed_to()}")
