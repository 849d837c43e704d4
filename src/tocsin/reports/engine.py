"""The reports app's engine module (listed in tocsin.engine.engine.default_modules)."""

from __future__ import annotations

import datetime as dt

from tocsin.reports.facts import refresh


class ReportFactsModule:
    """report_facts: brings the metrics' fact table up to date with the incidents touched
    since its last turn (reports/facts.py). Runs under `Every(...)`: reports may be a few
    seconds behind; the pages say as of when."""

    name = "report_facts"

    def tick(self, now: dt.datetime) -> int:
        refresh(now)
        return 0
