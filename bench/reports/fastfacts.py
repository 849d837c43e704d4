"""The bench's bulk path for the reports' fact table: what `tocsin.reports.facts.rebuild()`
computes, as one `INSERT … SELECT` in SQL (SQLite and PostgreSQL), for data sets made by
bench/reports/generate.py.

`facts.rebuild()` is the product's path: per-incident Python in batches of 2,000 (the
engine's background job, and `tocsin manage reports_rebuild`). Over a million incidents
it takes minutes (docs/benchmarks.md, "Reports"); this does the same in one statement:
every column from the incident row (durations as end − start in seconds, never
negative), the reopen count from the timeline's `reopen` transitions, hierarchical
escalation from the management notices, articles from the article solutions, and the
gap to the previous start on the same service with `LAG()` over (service, started,
incident). Merged duplicates get no row. The alert-noise columns: the alerts and the
pages (not responder requests) per incident, grouped once each, and "no human action" as
an EXISTS over the incident's timeline (facts.human_actions(), in SQL).

`python bench/reports/generate.py --facts-only --facts sql …` runs it on an existing set;
`--compare` there checks it against `facts.rebuild()` row by row (on a copy).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from tocsin.alerts.models import Alert
from tocsin.core.clock import now
from tocsin.escalation.models import ClimbState, Escalation, ManagementNotice, Page
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.learning.models import ArticleSolution
from tocsin.reports.facts import HUMAN
from tocsin.reports.models import FactsWatermark, IncidentFact

COLUMNS = (
    "incident_id",
    "reported_at",
    "reported_day",
    "service_id",
    "team_id",
    "priority",
    "category_id",
    "source",
    "is_open",
    "resolved",
    "detect_s",
    "ack_s",
    "mitigate_s",
    "resolve_s",
    "gap_s",
    "started_at",
    "escalated_functional",
    "escalated_hierarchical",
    "first_contact",
    "solved_by_article",
    "reopen_count",
    "response_sla",
    "resolution_sla",
    "major",
    "alert_count",
    "page_count",
    "no_human_action",
    "refreshed_at",
)


def _seconds(end: str, start: str) -> str:
    """end − start in seconds, never negative; NULL when either is NULL."""
    if connection.vendor == "postgresql":
        diff = f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)"
    else:
        # whole seconds (strftime of the first 19 characters: given the fraction it rounds
        # to milliseconds), then the microseconds Django writes after them ("….ffffff"):
        # exact, where julianday() loses about a millisecond. ("%%s": Django's cursor
        # takes "%s" for a placeholder.)
        whole = "CAST(strftime('%%s', substr({}, 1, 19)) AS INTEGER)"
        part = "CAST(substr({}, 20) AS REAL)"
        diff = (
            f"(({whole.format(end)} - {whole.format(start)})"
            f" + ({part.format(end)} - {part.format(start)}))"
        )
    return f"(CASE WHEN {diff} < 0 THEN 0.0 ELSE {diff} END)"


def insert_sql() -> str:
    pg = connection.vendor == "postgresql"
    incident = Incident._meta.db_table
    timeline = TimelineEntry._meta.db_table
    notices = ManagementNotice._meta.db_table
    solutions = ArticleSolution._meta.db_table
    fact = IncidentFact._meta.db_table
    alerts = Alert._meta.db_table
    pages = Page._meta.db_table
    climbs = Escalation._meta.db_table
    action = "t.data->>'action'" if pg else "json_extract(t.data, '$.action')"
    feedback = "h.data ? 'feedback'" if pg else "json_type(h.data, '$.feedback') IS NOT NULL"
    human = ", ".join(f"'{kind}'" for kind in HUMAN)
    # facts.human_actions(): a person's entry up to the resolution, other than creating
    # the incident or answering about a page
    acted = f"""EXISTS (SELECT 1 FROM {timeline} h
            WHERE h.incident_id = i.id AND h.actor_kind IN ({human})
              AND h.created_at <= i.resolved_at AND h.kind <> '{EntryKind.CREATED.value}'
              AND NOT (h.kind = '{EntryKind.PAGE.value}' AND {feedback}))"""
    day = "CAST(b.reported_at AT TIME ZONE 'UTC' AS date)" if pg else "date(b.reported_at)"
    previous = "LAG(b.started) OVER (PARTITION BY b.service_id ORDER BY b.started, b.id)"
    return f"""
INSERT INTO {fact} ({", ".join(COLUMNS)})
SELECT
  b.id, b.reported_at, {day}, b.service_id, b.team_id, b.priority, b.category_id, b.source,
  NOT b.done, b.done,
  {_seconds("COALESCE(b.detected_at, b.reported_at)", "b.impact_started_at")},
  {_seconds("b.acknowledged_at", "b.reported_at")},
  {_seconds("COALESCE(b.mitigated_at, CASE WHEN b.done THEN b.resolved_at END)", "b.reported_at")},
  CASE WHEN b.done THEN {_seconds("b.resolved_at", "b.reported_at")} END,
  CASE WHEN b.service_id IS NOT NULL THEN {_seconds("b.started", previous)} END,
  b.started,
  b.escalated_at IS NOT NULL,
  b.hierarchical,
  (b.done AND b.escalated_at IS NULL AND NOT b.hierarchical AND b.support_level = 1
   AND r.n IS NULL),
  b.article,
  COALESCE(r.n, 0),
  CASE WHEN b.response_breached_at IS NOT NULL THEN FALSE
       WHEN b.response_met_at IS NOT NULL THEN TRUE END,
  CASE WHEN b.resolution_breached_at IS NOT NULL THEN FALSE
       WHEN b.resolution_met_at IS NOT NULL THEN TRUE END,
  b.major_declared_at IS NOT NULL,
  COALESCE(al.n, 0),
  COALESCE(pg.n, 0),
  (b.done AND NOT b.acted),
  %s
FROM (
  SELECT i.id, i.reported_at, i.service_id, i.team_id, i.priority, i.category_id, i.source,
         i.detected_at, i.impact_started_at, i.acknowledged_at, i.mitigated_at,
         i.resolved_at, i.escalated_at, i.support_level, i.major_declared_at,
         i.response_met_at, i.response_breached_at, i.resolution_met_at,
         i.resolution_breached_at,
         COALESCE(i.impact_started_at, i.reported_at) AS started,
         (i.status IN ('resolved', 'closed')) AS done,
         EXISTS (SELECT 1 FROM {notices} m WHERE m.incident_id = i.id) AS hierarchical,
         EXISTS (SELECT 1 FROM {solutions} a WHERE a.incident_id = i.id) AS article,
         (i.status IN ('resolved', 'closed') AND {acted}) AS acted
  FROM {incident} i
  WHERE i.duplicate_of_id IS NULL
) b
LEFT JOIN (
  SELECT t.incident_id, COUNT(*) AS n FROM {timeline} t
  WHERE t.kind = 'transition' AND {action} = 'reopen'
  GROUP BY t.incident_id
) r ON r.incident_id = b.id
LEFT JOIN (
  SELECT a.incident_id, COUNT(*) AS n FROM {alerts} a
  WHERE a.incident_id IS NOT NULL GROUP BY a.incident_id
) al ON al.incident_id = b.id
LEFT JOIN (
  SELECT p.incident_id, COUNT(*) AS n FROM {pages} p
  JOIN {climbs} e ON e.id = p.escalation_id
  WHERE e.state <> '{ClimbState.RESPONDERS.value}'
  GROUP BY p.incident_id
) pg ON pg.incident_id = b.id
"""


@transaction.atomic
def rebuild() -> int:
    """Every incident's facts, from scratch, in one transaction; returns how many rows."""
    at = now()
    stamp: Any = (
        at if connection.vendor == "postgresql" else (connection.ops.adapt_datetimefield_value(at))
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {IncidentFact._meta.db_table}")
        cursor.execute(insert_sql(), [stamp])
        done = cursor.rowcount
    FactsWatermark.objects.update_or_create(
        key="facts", defaults={"refreshed_to": at, "build_after": None}
    )
    return int(done)


class _Rollback(Exception):
    pass


def compare(sample: int = 2000, seed: int = 1) -> dict[str, Any]:
    """Check this path against the product's: for `sample` random incidents, the rows
    written here against those `facts.build()` writes (in a transaction rolled back, so
    the data set is left as it was). Every column but `refreshed_at` and `gap_s` (which
    build() leaves to the rebuild's ordered pass); durations within a microsecond."""
    import random

    from tocsin.reports import facts

    top = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(seed)
    ids = sorted({rng.randint(1, top) for _ in range(sample)})
    columns = [c for c in COLUMNS if c not in ("refreshed_at", "gap_s")]

    def rows() -> dict[int, tuple[Any, ...]]:
        found = IncidentFact.objects.filter(pk__in=ids).values_list(*columns)
        return {row[0]: row for row in found}

    fast = rows()
    try:
        with transaction.atomic():
            facts.build(ids, gaps=False)
            slow = rows()
            raise _Rollback
    except _Rollback:
        pass
    differ = []
    for pk in sorted(set(fast) | set(slow)):
        a, b = fast.get(pk), slow.get(pk)
        if a is None or b is None:
            differ.append(pk)
            continue
        for name, x, y in zip(columns, a, b, strict=True):
            close = isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-6
            if x != y and not close:
                differ.append(pk)
                print(f"incident {pk}: {name} {x!r} (sql) != {y!r} (build)")
                break
    return {"compared": len(ids), "rows": len(fast), "differ": len(differ)}
