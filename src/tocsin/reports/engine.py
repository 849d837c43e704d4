"""The reports app's engine module (listed in tocsin.engine.engine.default_modules)."""

from __future__ import annotations

import datetime as dt

from tocsin.reports import summaries
from tocsin.reports.facts import Refresher, build_resumes_after, first_build_step, refreshed_to


class ReportFactsModule:
    """report_facts: brings the metrics' fact table up to date with the incidents touched since its
    last turn (reports/facts.py), a few hundred a turn (`facts.Refresher`). Runs under
    `Every(...)`: reports may be a few seconds behind; the pages say as of when. Before the
    first refresh (a new installation, or one upgraded with its incidents) it builds the
    facts a batch a turn (`first_build_step`), so paging never waits for a whole rebuild;
    then the day summaries likewise (`summaries.build_step`); after that it summarises each
    UTC day once it is over (`summaries.keep_up`)."""

    name = "report_facts"

    def __init__(self) -> None:
        self.refresher = Refresher()

    def tick(self, now: dt.datetime) -> int:
        if refreshed_to() is not None:
            if self.refresher.step(now):  # a few hundred incidents a turn (facts.Refresher)
                return 1
            # the day summaries' first build (reports/summaries.py), a month of days a turn;
            # then each day once it is over
            more = summaries.build_step(now) or summaries.keep_up(now)
            return 1 if more else 0
        # where the first build stands is kept with the watermark: a restart, or an
        # upgrade that asked for a rebuild over the facts already there, resumes there
        step = first_build_step(build_resumes_after(), now)
        return 0 if step is None else 1  # 1: more to do, after the others had their turn
