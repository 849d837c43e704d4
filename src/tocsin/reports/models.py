"""The reports' fact table: one row per counted incident, with the durations the
metrics need already in seconds and the dimensions they filter on (docs/metrics.md).

Kept by `reports/facts.py` from the incident record (the engine's `report_facts` module
every few seconds; `tocsin manage reports_rebuild` for all). Each duration has a covering
index that leads with it, so a median or a 90th percentile over a million incidents is a
walk along one index to the k-th entry (`ORDER BY … LIMIT 1 OFFSET k`), not a sort; the
period index (`fact_reported`) holds every column the metrics read, so a period's counts
and means are read from it alone. Merged duplicates have no row: they are the incident
they were merged into.
"""

from __future__ import annotations

from django.db import models

# The filter columns every covering index carries after its leading column.
DIMENSIONS = ("reported_at", "service_id", "team_id", "priority", "category_id", "source")

# Durations, in seconds (None: not known or not reached yet).
DURATIONS = ("detect_s", "ack_s", "mitigate_s", "resolve_s", "gap_s")

# The flags the rates count (metrics._fact_counts, sla_by_priority).
FLAGS = (
    "is_open",
    "resolved",
    "escalated_functional",
    "escalated_hierarchical",
    "first_contact",
    "solved_by_article",
    "reopen_count",
    "response_sla",
    "resolution_sla",
    "major",
)

# The alert-noise inputs (reports/noise.py, docs/alert-noise.md).
NOISE = ("alert_count", "page_count", "no_human_action")


def _covering(column: str) -> models.Index:
    return models.Index(
        fields=[column, "reported_at", "service", "team", "priority", "category", "source"],
        name=f"fact_{column}",
    )


class IncidentFact(models.Model):
    # (`fact`: so that a query from an incident's alerts, pages or answers can group by
    # the fact's day and dimensions, reports/summaries.py)
    incident = models.OneToOneField(
        "incidents.Incident", primary_key=True, on_delete=models.CASCADE, related_name="fact"
    )
    # dimensions
    reported_at = models.DateTimeField()
    reported_day = models.DateField()  # UTC, for series grouped in SQL
    service = models.ForeignKey(
        "catalog.Service",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    priority = models.PositiveSmallIntegerField()
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    source = models.CharField(max_length=20)
    # state
    is_open = models.BooleanField()
    resolved = models.BooleanField()  # resolved or closed
    # durations (seconds)
    detect_s = models.FloatField(null=True)  # detected − impact started
    ack_s = models.FloatField(null=True)  # acknowledged − reported
    mitigate_s = models.FloatField(null=True)  # mitigated (else resolved) − reported
    resolve_s = models.FloatField(null=True)  # resolved − reported
    # uptime before this failure: started − the previous incident on the service recovered
    gap_s = models.FloatField(null=True)
    started_at = models.DateTimeField()  # impact started, else reported
    # counts and flags
    escalated_functional = models.BooleanField(default=False)
    escalated_hierarchical = models.BooleanField(default=False)
    first_contact = models.BooleanField(default=False)  # resolved at L1, never escalated
    solved_by_article = models.BooleanField(default=False)
    reopen_count = models.PositiveIntegerField(default=0)
    response_sla = models.BooleanField(null=True)  # True met, False breached, None open
    resolution_sla = models.BooleanField(null=True)
    major = models.BooleanField(default=False)
    # alert noise (docs/alert-noise.md): the alerts that joined it, its pages (not
    # responder requests), and whether it ended with no human action on its timeline
    # (db_default too: code from before these columns can still write facts here)
    alert_count = models.PositiveIntegerField(default=0, db_default=0)
    page_count = models.PositiveIntegerField(default=0, db_default=0)
    no_human_action = models.BooleanField(default=False, db_default=False)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # A period's rows, with every column the metrics read: counts, means and the
            # ranks of a small period come from this index alone, never the table (on
            # SQLite, metrics.py names it; docs/benchmarks.md "Reports" measures why).
            # The day too (the series group by it), and the key: Count("pk") reads it, and
            # on SQLite a bigint primary key is a column of the table, not the rowid every
            # index carries.
            models.Index(
                fields=[
                    "reported_at",
                    "service",
                    "team",
                    "priority",
                    "category",
                    "source",
                    *DURATIONS,
                    *FLAGS,
                    *NOISE,
                    "reported_day",
                    "incident",
                ],
                name="fact_reported",
            ),
            models.Index(fields=["service", "started_at"], name="fact_service_started"),
            # A row of another table tested against the period (postmortems, action items,
            # known errors: metrics._in_period) probes this, never the table.
            models.Index(
                fields=[
                    "incident",
                    "reported_at",
                    "service",
                    "team",
                    "priority",
                    "category",
                    "source",
                ],
                name="fact_key",
            ),
            # The incidents that ended with no human action: noise.is_quiet() probes it
            # once for every alert of the period (small: only those incidents, index-only).
            models.Index(
                fields=["incident"], condition=models.Q(no_human_action=True), name="fact_quiet"
            ),
            *(_covering(column) for column in DURATIONS),
        ]

    def __str__(self) -> str:
        return f"facts of incident {self.incident_id}"


class FactsWatermark(models.Model):
    """One row: up to when the facts have been brought up to date."""

    key = models.CharField(max_length=20, primary_key=True, default="facts")
    refreshed_to = models.DateTimeField(null=True)
    # While the facts are first built (refreshed_to empty), the last incident id done:
    # the worker resumes there (after a restart, or an upgrade that asks for a rebuild).
    build_after = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"facts refreshed to {self.refreshed_to}"


# The counts a day summary keeps (metrics.COUNTS defines each: a filter over the facts).
SUMMARY_COUNTS = (
    "total",
    "open",
    "resolved",
    "escalated_functional",
    "escalated_hierarchical",
    "people_resolved",
    "first_contact",
    "solved_by_article",
    "monitoring",
    "response_decided",
    "response_met",
    "resolution_decided",
    "resolution_met",
    "ever_resolved",
    "reopened",
    "major",
)


# The alert-noise figures a day summary keeps (reports/noise.py; summaries.NOISE_SUMS
# defines each). `alerts_hist` beside them: {alerts: incidents}, exact.
NOISE_SUMS = (
    "pages",
    "pages_ended",
    "pages_quiet",
    "pages_answered",
    "answers_page_yes",
    "answers_page_no",
    "answers_incident_yes",
    "answers_incident_no",
)


class DaySummary(models.Model):
    """The facts of one UTC day, summed (reports/summaries.py keeps them from the facts;
    docs/metrics.md, "Day summaries"): for every incident of the day (`dim` "all"), and
    for each value of one filter (`dim` "service", "team", "category" or "source",
    `value` its id or name); for each priority, and for every priority at once
    (`priority` 0). Each count of `SUMMARY_COUNTS`; for each duration, how many facts
    have it (`<duration>_n`), their sum (`<duration>_sum`, seconds) and a histogram of
    its values in fixed log-scale bins (`<duration>_hist`: {bin: count}, summaries.BINS),
    so a month's or a year's counts, means and bucket medians are read from ~30 or ~365
    rows instead of every fact. And the alert-noise figures of `NOISE_SUMS`, with the
    histogram of the alerts per incident (`alerts_hist`: {alerts: incidents}, exact)."""

    day = models.DateField()
    dim = models.CharField(max_length=10)
    value = models.CharField(max_length=40, blank=True, default="")
    priority = models.PositiveSmallIntegerField()  # 0: every priority
    first_id = models.BigIntegerField()  # the day's first and last incident ids
    last_id = models.BigIntegerField()
    total = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    escalated_functional = models.PositiveIntegerField(default=0)
    escalated_hierarchical = models.PositiveIntegerField(default=0)
    people_resolved = models.PositiveIntegerField(default=0)
    first_contact = models.PositiveIntegerField(default=0)
    solved_by_article = models.PositiveIntegerField(default=0)
    monitoring = models.PositiveIntegerField(default=0)
    response_decided = models.PositiveIntegerField(default=0)
    response_met = models.PositiveIntegerField(default=0)
    resolution_decided = models.PositiveIntegerField(default=0)
    resolution_met = models.PositiveIntegerField(default=0)
    ever_resolved = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    major = models.PositiveIntegerField(default=0)
    detect_s_n = models.PositiveIntegerField(default=0)
    detect_s_sum = models.FloatField(default=0.0)
    detect_s_hist = models.JSONField(default=dict)
    ack_s_n = models.PositiveIntegerField(default=0)
    ack_s_sum = models.FloatField(default=0.0)
    ack_s_hist = models.JSONField(default=dict)
    mitigate_s_n = models.PositiveIntegerField(default=0)
    mitigate_s_sum = models.FloatField(default=0.0)
    mitigate_s_hist = models.JSONField(default=dict)
    resolve_s_n = models.PositiveIntegerField(default=0)
    resolve_s_sum = models.FloatField(default=0.0)
    resolve_s_hist = models.JSONField(default=dict)
    gap_s_n = models.PositiveIntegerField(default=0)
    gap_s_sum = models.FloatField(default=0.0)
    gap_s_hist = models.JSONField(default=dict)
    # alert noise (summaries.NOISE_SUMS says what each counts)
    alerts_hist = models.JSONField(default=dict)
    pages = models.PositiveIntegerField(default=0)
    pages_ended = models.PositiveIntegerField(default=0)
    pages_quiet = models.PositiveIntegerField(default=0)
    pages_answered = models.PositiveIntegerField(default=0)
    answers_page_yes = models.PositiveIntegerField(default=0)
    answers_page_no = models.PositiveIntegerField(default=0)
    answers_incident_yes = models.PositiveIntegerField(default=0)
    answers_incident_no = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # also the index every read takes: one filter's value, a range of days
            models.UniqueConstraint(
                fields=["dim", "value", "priority", "day"], name="day_summary_key"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="day_summary_day")]

    def __str__(self) -> str:
        return f"summary of {self.day} ({self.dim} {self.value} P{self.priority})"


class AlertDaySummary(models.Model):
    """The alert-noise tables' figures of one UTC day (reports/summaries.py keeps them with
    the day summaries; docs/metrics.md, "Alert-noise day summaries"): for the alerts of
    the incidents reported that day, one row per incident service × incident team ×
    integration (`kind` "integration") and per incident service × incident team × alert
    service × alert name (`kind` "name"): the alerts, the incidents they opened or joined,
    those of them that ended with no human action, the alerts that resolved by
    themselves, and the "actionable" / "not actionable" answers on those incidents. Each
    incident is on one day with one service and team, so a period's (or a service's,
    a team's) figures are the sums of its rows."""

    day = models.DateField()
    kind = models.CharField(max_length=12)  # integration | name
    # the incidents' service and team (what the filters select), as on their facts
    service = models.ForeignKey(
        "catalog.Service",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (the indexes below lead with them)
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (the indexes below lead with them)
    )
    integration = models.ForeignKey(
        "catalog.Integration",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (never looked up alone)
    )
    alert_service = models.ForeignKey(
        "catalog.Service",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (never looked up alone)
    )
    name = models.CharField(max_length=200, blank=True, default="")  # noise.NAME_MAX
    alerts = models.PositiveIntegerField(default=0)
    incidents = models.PositiveIntegerField(default=0)
    quiet_incidents = models.PositiveIntegerField(default=0)
    short = models.PositiveIntegerField(default=0)  # resolved by itself
    answered_yes = models.PositiveIntegerField(default=0)
    answered_no = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # a period's rows of one kind, with everything a table sums (index-only)
            models.Index(
                fields=[
                    "kind",
                    "day",
                    "service",
                    "team",
                    "integration",
                    "alert_service",
                    "name",
                    "alerts",
                    "incidents",
                    "quiet_incidents",
                    "short",
                    "answered_yes",
                    "answered_no",
                ],
                name="alert_day_kind",
            ),
            # one service's (a team's) rows of a period
            models.Index(fields=["service", "kind", "day"], name="alert_day_service"),
            models.Index(fields=["team", "kind", "day"], name="alert_day_team"),
        ]

    def __str__(self) -> str:
        return f"alert noise of {self.day} ({self.kind})"
