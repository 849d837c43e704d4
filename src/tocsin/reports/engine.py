"""The reports app's engine module (listed in tocsin.engine.engine.default_modules)."""

from __future__ import annotations

import datetime as dt

from tocsin.reports.facts import first_build_step, refresh, refreshed_to
from tocsin.reports.models import IncidentFact


class ReportFactsModule:
    """report_facts: brings the metrics' fact table up to date with the incidents touched
    since its last turn (reports/facts.py). Runs under `Every(...)`: reports may be a few
    seconds behind; the pages say as of when. Before the first refresh (a new
    installation, or one upgraded with its incidents) it builds the facts a batch a turn
    (`first_build_step`), so paging never waits for a whole rebuild."""

    name = "report_facts"

    def __init__(self) -> None:
        self.after: int | None = None  # the first build's last incident id, in this process

    def tick(self, now: dt.datetime) -> int:
        if refreshed_to() is not None:
            refresh(now)
            return 0
        if self.after is None:  # resumed after a restart: from the facts built so far
            last = IncidentFact.objects.order_by("-incident_id").values_list(
                "incident_id", flat=True
            )
            self.after = last.first() or 0
        step = first_build_step(self.after, now)
        if step is None:
            self.after = None
            return 0
        self.after = step
        return 1  # more to do: the worker comes back after the others had their turn
