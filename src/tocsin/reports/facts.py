"""Keeping the fact table (reports/models.py) in step with the incident record.

`refresh()` recomputes the facts of every incident touched since the last refresh (its row
changed, or a timeline entry, a management notice or an article solution was written for it;
an open alert storm's incident every time, since the alerts that join a storm write nothing
on its timeline), reading a little further back than the last refresh each time (`OVERLAP`):
a transaction stamps its rows before it commits, so a refresh can miss a row that commits
just after it. The engine refreshes in steps (`Refresher`), reading back a few seconds on
most turns and the whole OVERLAP once a minute. Every change to an incident writes a
timeline entry in the same transaction (the house rule), so the timeline alone finds every
touched incident; the others are there for writes that only touch their own tables. (An
alert that joins an incident outside a storm writes a note on it; a page, the "Paged …"
entry of its step; a person's action, its own entry.)

The engine's `report_facts` module refreshes every few seconds; reports read the table
as it is ("figures as of" the watermark). `rebuild()` recomputes every incident (the
`tocsin manage reports_rebuild` command, the benchmark's generator).

Definitions of each column: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet

from tocsin.alerts.models import Alert, AlertStorm
from tocsin.core.actors import ActorKind
from tocsin.core.budget import budget_spent
from tocsin.core.clock import now
from tocsin.escalation.models import ClimbState, ManagementNotice, Page
from tocsin.incidents.models import (
    OPEN_STATUSES,
    EntryKind,
    Incident,
    ResolutionCode,
    Status,
    TimelineEntry,
)
from tocsin.learning.models import ArticleSolution
from tocsin.reports import summaries
from tocsin.reports.models import FactsWatermark, IncidentFact

OVERLAP = dt.timedelta(minutes=3)
BATCH = 2000
# The engine's refresh (Refresher): every few seconds it reads SHORT_OVERLAP back, and once
# every SWEEP_EVERY the whole OVERLAP; a round does at most STEP incidents a turn. Rows of a
# transaction that commits up to OVERLAP - SWEEP_EVERY - a round (about 2 minutes) after
# stamping them are found; those of an ordinary one (under SHORT_OVERLAP) within seconds.
SHORT_OVERLAP = dt.timedelta(seconds=15)
SWEEP_EVERY = dt.timedelta(seconds=60)
STEP = 250
STEP_CHUNK = 50  # incidents a transaction within a step, the budget checked between

_FIELDS = (
    "pk",
    "status",
    "source",
    "service_id",
    "team_id",
    "priority",
    "category_id",
    "support_level",
    "reported_at",
    "detected_at",
    "impact_started_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "duplicate_of_id",
    "escalated_at",
    "response_met_at",
    "response_breached_at",
    "resolution_met_at",
    "resolution_breached_at",
    "major_declared_at",
    "resolution_code",
)
_RESOLVED = (Status.RESOLVED, Status.CLOSED)
# Who counts as a person acting on an incident (docs/alert-noise.md, "No human action").
HUMAN = (ActorKind.USER, ActorKind.TOKEN)


def human_actions(entries: QuerySet[TimelineEntry]) -> QuerySet[TimelineEntry]:
    """Of these timeline entries, those that are a person's action on their incident up
    to its resolution: by a person (signed in or through a token), other than creating it
    and answering "was this page actionable?" (docs/alert-noise.md). Compared with the
    entry's own incident's `resolved_at` (a join), so it is the same test for one
    incident (noise.human_entries) and for a batch of them (build)."""
    return (
        entries.filter(actor_kind__in=HUMAN, created_at__lte=F("incident__resolved_at"))
        .exclude(kind=EntryKind.CREATED)
        .exclude(kind=EntryKind.PAGE, data__has_key="feedback")
    )


def _seconds(end: dt.datetime | None, start: dt.datetime | None) -> float | None:
    """end − start in seconds, never negative (a clock that ran backwards is 0)."""
    if end is None or start is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _sla(met: dt.datetime | None, breached: dt.datetime | None) -> bool | None:
    if breached is not None:
        return False
    return True if met is not None else None


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for pk in ids:
        chunk.append(pk)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fact_for(
    row: dict[str, Any],
    *,
    reopens: int,
    hierarchical: bool,
    article: bool,
    at: dt.datetime,
    alerts: int = 0,
    pages: int = 0,
    acted: bool = False,
) -> IncidentFact:
    """The fact row of one incident (its `values(*_FIELDS)`), without its gap; `acted`:
    a person acted on it up to its resolution (`human_actions`)."""
    resolved = row["status"] in _RESOLVED
    reported = row["reported_at"]
    escalated = row["escalated_at"] is not None
    mitigated = row["mitigated_at"] or (row["resolved_at"] if resolved else None)
    acknowledged = row["acknowledged_at"]
    if (
        row["resolution_code"] == ResolutionCode.AUTO_RESOLVED
        and acknowledged is not None
        and acknowledged == row["resolved_at"]
    ):
        # monitoring resolved it before anyone acknowledged it: the resolve filled in
        # acknowledged_at, but no person responded, so there is no time to acknowledge
        acknowledged = None
    return IncidentFact(
        incident_id=row["pk"],
        reported_at=reported,
        reported_day=reported.astimezone(dt.UTC).date(),
        service_id=row["service_id"],
        team_id=row["team_id"],
        priority=row["priority"],
        category_id=row["category_id"],
        source=row["source"],
        is_open=not resolved,
        resolved=resolved,
        detect_s=_seconds(row["detected_at"] or reported, row["impact_started_at"]),
        ack_s=_seconds(acknowledged, reported),
        mitigate_s=_seconds(mitigated, reported),
        resolve_s=_seconds(row["resolved_at"], reported) if resolved else None,
        gap_s=None,
        started_at=row["impact_started_at"] or reported,
        escalated_functional=escalated,
        escalated_hierarchical=hierarchical,
        # resolved at the first level, never escalated, and it stayed resolved
        first_contact=(
            resolved
            and not escalated
            and not hierarchical
            and row["support_level"] == 1
            and reopens == 0
        ),
        solved_by_article=article,
        reopen_count=reopens,
        response_sla=_sla(row["response_met_at"], row["response_breached_at"]),
        resolution_sla=_sla(row["resolution_met_at"], row["resolution_breached_at"]),
        major=row["major_declared_at"] is not None,
        alert_count=alerts,
        page_count=pages,
        no_human_action=resolved and not acted,
        refreshed_at=at,
    )


_UPDATED = [
    f.name
    for f in IncidentFact._meta.concrete_fields
    if not f.primary_key and f.name not in ("gap_s",)
]


@transaction.atomic
def build(
    ids: list[int], at: dt.datetime | None = None, *, gaps: bool = True, summarise: bool = True
) -> int:
    """Recompute the facts of these incidents (one transaction); returns how many rows.
    With `summarise`, also the day summaries of every summarised day (up to yesterday,
    reports/summaries.py) whose facts changed: the days these facts were on and are on
    now, and those of the facts whose gap changed."""
    at = at or now()
    rows = list(Incident.objects.filter(pk__in=ids).values(*_FIELDS))
    counted = [row for row in rows if row["duplicate_of_id"] is None]
    gone = [row["pk"] for row in rows if row["duplicate_of_id"] is not None]
    before = {
        pk: (service, started, reported, mitigate_s)
        for pk, service, started, reported, mitigate_s in IncidentFact.objects.filter(
            pk__in=ids
        ).values_list("pk", "service_id", "started_at", "reported_at", "mitigate_s")
    }
    if gone:
        IncidentFact.objects.filter(pk__in=gone).delete()
    reopens = dict(
        TimelineEntry.objects.filter(
            incident_id__in=ids, kind=EntryKind.TRANSITION, data__action="reopen"
        )
        .values("incident_id")
        .annotate(n=Count("id"))
        .values_list("incident_id", "n")
    )
    hierarchical = set(
        ManagementNotice.objects.filter(incident_id__in=ids).values_list("incident_id", flat=True)
    )
    articles = set(
        ArticleSolution.objects.filter(incident_id__in=ids).values_list("incident_id", flat=True)
    )
    alerts = _per_incident(Alert.objects.filter(incident_id__in=ids))
    pages = _per_incident(
        Page.objects.filter(incident_id__in=ids).exclude(escalation__state=ClimbState.RESPONDERS)
    )
    acted = set(
        human_actions(TimelineEntry.objects.filter(incident_id__in=ids))
        .values_list("incident_id", flat=True)
        .distinct()
    )
    facts = [
        fact_for(
            row,
            reopens=reopens.get(row["pk"], 0),
            hierarchical=row["pk"] in hierarchical,
            article=row["pk"] in articles,
            at=at,
            alerts=alerts.get(row["pk"], 0),
            pages=pages.get(row["pk"], 0),
            acted=row["pk"] in acted,
        )
        for row in counted
    ]
    IncidentFact.objects.bulk_create(
        facts,
        update_conflicts=True,
        unique_fields=["incident"],
        update_fields=_UPDATED,
        batch_size=500,
    )
    # a fact without a service has no gap (its old service's gap stays behind otherwise:
    # the upsert leaves gap_s alone)
    days = {f.reported_day for f in facts} | {
        reported.astimezone(dt.UTC).date() for _service, _started, reported, _m in before.values()
    }
    unserviced = [f.incident_id for f in facts if f.service_id is None]
    if unserviced:
        IncidentFact.objects.filter(pk__in=unserviced, gap_s__isnull=False).update(gap_s=None)
    if gaps:
        # A gap changes only where a fact is new, moved (service or start) or recovered
        # at another time: its own gap and those after it on the service. Per service,
        # from the earliest such start on (a storm's new incidents are the service's
        # last ones): two reads and one bulk update, not a few statements a fact.
        earliest: dict[int, dt.datetime] = {}

        def mark(service: int | None, started: dt.datetime | None) -> None:
            if service is not None and started is not None:
                earliest[service] = min(earliest.get(service, started), started)

        for f in facts:
            old = before.get(f.incident_id)
            if old == (f.service_id, f.started_at, f.reported_at, f.mitigate_s):
                continue
            mark(f.service_id, f.started_at)
            if old is not None:
                mark(old[0], old[1])
        for pk in gone:  # a merged duplicate's old place
            old = before.get(pk)
            if old is not None:
                mark(old[0], old[1])
        for service, started in earliest.items():
            days |= _fix_gaps_from(service, started)
    if summarise:
        summaries.rebuild_days(summaries.summarised(days))
    return len(facts)


def _per_incident(rows: QuerySet[Any]) -> dict[int, int]:
    """{incident id: how many of these rows} (one grouped query)."""
    return dict(
        rows.order_by()
        .values("incident_id")
        .annotate(n=Count("pk"))
        .values_list("incident_id", "n")
    )


def _recovered(reported: dt.datetime, mitigate_s: float | None) -> dt.datetime | None:
    """When an incident's impact stopped (mitigated, else resolved), from its fact row."""
    if mitigate_s is None:
        return None
    return reported + dt.timedelta(seconds=mitigate_s)


def _gap(started: dt.datetime, previous: tuple[dt.datetime, float | None] | None) -> float | None:
    """The uptime before a failure (ITIL's MTBF sample): this incident's impact start −
    when the previous incident on the service stopped its impact. None for the first
    incident on a service; 0 when they overlap, or the previous one has not stopped yet
    (the service had not recovered when this failure began)."""
    if previous is None:
        return None
    recovered = _recovered(*previous)
    if recovered is None:
        return 0.0
    return _seconds(started, recovered)


def _previous(
    service: int, started: dt.datetime, pk: int
) -> tuple[dt.datetime, float | None] | None:
    """(reported_at, mitigate_s) of the incident just before this one on the service,
    ordered by impact start, then id."""
    return (
        IncidentFact.objects.filter(service_id=service)
        .filter(Q(started_at__lt=started) | Q(started_at=started, incident_id__lt=pk))
        .order_by("-started_at", "-incident_id")
        .values_list("reported_at", "mitigate_s")
        .first()
    )


def _fix_gaps_from(service: int, started: dt.datetime) -> set[dt.date]:
    """Recompute gap_s for the service's facts that start at or after `started`; returns
    the days (reported, UTC) of the facts whose gap changed."""
    previous: tuple[dt.datetime, float | None] | None = (
        IncidentFact.objects.filter(service_id=service, started_at__lt=started)
        .order_by("-started_at", "-incident_id")
        .values_list("reported_at", "mitigate_s")
        .first()
    )
    changes: list[IncidentFact] = []
    days: set[dt.date] = set()
    for pk, start, reported, mitigate_s, gap in (
        IncidentFact.objects.filter(service_id=service, started_at__gte=started)
        .order_by("started_at", "incident_id")
        .values_list("pk", "started_at", "reported_at", "mitigate_s", "gap_s")
        .iterator(chunk_size=2000)
    ):
        wanted = _gap(start, previous)
        if wanted != gap:
            changes.append(IncidentFact(incident_id=pk, gap_s=wanted))
            days.add(reported.astimezone(dt.UTC).date())
        previous = (reported, mitigate_s)
    if changes:
        IncidentFact.objects.bulk_update(changes, ["gap_s"], batch_size=500)
    return days


def rebuild_gaps() -> None:
    """Every fact's gap, one ordered pass per service (after a rebuild)."""
    services = (
        IncidentFact.objects.exclude(service_id__isnull=True)
        .values_list("service_id", flat=True)
        .distinct()
    )
    for service in list(services):
        previous: tuple[dt.datetime, float | None] | None = None
        changes: list[IncidentFact] = []
        for pk, started, reported, mitigate_s in (
            IncidentFact.objects.filter(service_id=service)
            .order_by("started_at", "incident_id")
            .values_list("pk", "started_at", "reported_at", "mitigate_s")
            .iterator(chunk_size=5000)
        ):
            changes.append(IncidentFact(incident_id=pk, gap_s=_gap(started, previous)))
            previous = (reported, mitigate_s)
            if len(changes) >= 5000:
                IncidentFact.objects.bulk_update(changes, ["gap_s"], batch_size=500)
                changes = []
        if changes:
            IncidentFact.objects.bulk_update(changes, ["gap_s"], batch_size=500)
    IncidentFact.objects.filter(service_id__isnull=True).update(gap_s=None)


def touched_since(since: dt.datetime) -> set[int]:
    ids = set(Incident.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    ids |= set(
        TimelineEntry.objects.filter(created_at__gte=since).values_list("incident_id", flat=True)
    )
    ids |= set(ManagementNotice.objects.filter(at__gte=since).values_list("incident_id", flat=True))
    ids |= set(ArticleSolution.objects.filter(at__gte=since).values_list("incident_id", flat=True))
    # alerts join an open storm without a word on its timeline: its count, every time
    ids |= set(
        AlertStorm.objects.filter(incident__status__in=OPEN_STATUSES).values_list(
            "incident_id", flat=True
        )
    )
    return ids


def refresh(at: dt.datetime | None = None) -> int:
    """Bring the facts up to date; returns how many incidents were recomputed."""
    at = at or now()
    mark, _ = FactsWatermark.objects.get_or_create(key="facts")
    if mark.refreshed_to is None:
        done = rebuild(at)
    else:
        done = 0
        for chunk in _chunks(sorted(touched_since(mark.refreshed_to - OVERLAP)), BATCH):
            done += build(chunk, at)
    FactsWatermark.objects.filter(key="facts").update(refreshed_to=at)
    return done


class Refresher:
    """`refresh()` for the engine, in steps: the worker never stops for the seconds that
    recomputing a busy few minutes takes (a storm's thousand incidents; the bench's ten
    thousand), so an alert that arrives meanwhile waits for one step, not the whole.

    A round lists the incidents touched since the watermark less SHORT_OVERLAP (or the
    whole OVERLAP, once every SWEEP_EVERY: the sweep that finds late commits), recomputes
    at most `STEP` a turn (listing again each turn, leaving out those done in the round),
    and when none is left moves the watermark to when the round began. An incident
    touched again after its step has a stamp after that, so the next round finds it.
    What it keeps in memory only saves work: a new worker's first round is a sweep."""

    def __init__(self) -> None:
        self.round_at: dt.datetime | None = None
        self.since: dt.datetime | None = None
        self.done: set[int] = set()
        self.swept_at: dt.datetime | None = None

    def step(self, at: dt.datetime, limit: int = STEP) -> bool:
        """One turn's share of the round; True while the round has more to do."""
        if self.round_at is None or self.since is None:
            mark = refreshed_to()
            if mark is None:
                raise ValueError("the facts are not built yet: first_build_step() first")
            last = self.swept_at
            sweep = last is None or not last <= at < last + SWEEP_EVERY
            self.round_at, self.done = at, set()
            self.since = mark - (OVERLAP if sweep else SHORT_OVERLAP)
            if sweep:
                self.swept_at = at
        todo = sorted(touched_since(self.since) - self.done)
        built = 0
        # STEP_CHUNK at a time, each its own transaction, until the module's turn is
        # spent (core.budget): after a storm a step of 250 held the worker for 3 s under
        # load, and the escalation steps due meanwhile fired late (docs/benchmarks.md,
        # session 18)
        for chunk in _chunks(todo[:limit], STEP_CHUNK):
            build(chunk, at)
            self.done.update(chunk)
            built += len(chunk)
            if built < len(todo) and budget_spent():
                return True
        if len(todo) > built:
            return True
        FactsWatermark.objects.filter(key="facts").update(refreshed_to=self.round_at)
        self.round_at, self.since, self.done = None, None, set()
        return False


def first_build_step(after: int, at: dt.datetime | None = None) -> int | None:
    """One bounded step of the first build, for the engine: the facts of the next BATCH
    incidents after id `after`, STEP_CHUNK a transaction, fewer if the module's turn is
    spent before; returns the last id done, or None when none is left, after
    the gaps are filled and the watermark set to when the first step was taken (each
    fact keeps `refreshed_at`), so the incremental refresh then picks up every change
    made meanwhile. An installation upgraded with a million incidents does not hold the
    worker's turn for the ~12 minutes a whole `rebuild()` takes. The facts already there
    stay readable meanwhile; each step overwrites its batch's (a migration that adds a
    column asks for this build by emptying the watermark: reports/0003)."""
    at = at or now()
    ids = list(
        Incident.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:BATCH]
    )
    if ids:
        # STEP_CHUNK a transaction, until the module's turn is spent (core.budget): a
        # whole BATCH held the worker for about 3 s (docs/benchmarks.md, session 18)
        last = ids[0]
        for chunk in _chunks(ids, STEP_CHUNK):
            with transaction.atomic():
                build(chunk, at, gaps=False, summarise=False)
                FactsWatermark.objects.update_or_create(
                    key="facts", defaults={"refreshed_to": None, "build_after": chunk[-1]}
                )
            last = chunk[-1]
            if budget_spent():
                break
        return last
    rebuild_gaps()
    summaries.start_over()  # the engine builds them next, a month of days a turn
    first = IncidentFact.objects.order_by("refreshed_at").values_list("refreshed_at", flat=True)
    FactsWatermark.objects.update_or_create(
        key="facts", defaults={"refreshed_to": first.first() or at, "build_after": None}
    )
    return None


def build_resumes_after() -> int:
    """Where the first build goes on: after the last incident id it did (kept with the
    watermark), else after the last fact there is (a build begun before that was kept)."""
    after = FactsWatermark.objects.filter(key="facts").values_list("build_after", flat=True)
    done = after.first()
    if done is not None:
        return int(done)
    last = IncidentFact.objects.order_by("-incident_id").values_list("incident_id", flat=True)
    return int(last.first() or 0)


def rebuild(at: dt.datetime | None = None) -> int:
    """Recompute every incident's facts (in batches; gaps in one pass at the end)."""
    at = at or now()
    done = 0
    ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True))
    for chunk in _chunks(ids, BATCH):
        done += build(chunk, at, gaps=False, summarise=False)
    counted = Incident.objects.filter(duplicate_of=None).values_list("pk", flat=True)
    IncidentFact.objects.exclude(pk__in=counted).delete()
    rebuild_gaps()
    summaries.rebuild_all(at)
    FactsWatermark.objects.update_or_create(
        key="facts", defaults={"refreshed_to": at, "build_after": None}
    )
    return done


def refreshed_to() -> dt.datetime | None:
    """When the facts were last brought up to date (None: never)."""
    return FactsWatermark.objects.filter(key="facts").values_list("refreshed_to", flat=True).first()
