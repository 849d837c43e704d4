"""Add N historical incidents to a database that has the demo organisation; print JSON.

Run with Tocsin's environment (TOCSIN_DATA_DIR, DATABASE_URL) after `tocsin demo`:

    python bench/ui/bulk.py --incidents 100000

Fast on purpose: `bulk_create` in batches inside one transaction, no services, no SLA
recomputation. The shape follows a desk that has run for years: almost all incidents
are closed (a few resolved, a few hundred still open), spread over the demo's services,
categories, teams, agents and reporters, each with its "created" and (when done) its
"resolved" timeline entry. Numbers continue after the demo's and the incident counter
is moved past them, so incidents filed afterwards get the next number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time

BATCH = 5000
OPEN_SHARE = 0.004  # ~400 open of 100,000
RESOLVED_SHARE = 0.01
TITLES = [
    "VPN drops every few minutes",
    "Cannot log in to the customer portal",
    "Printer prints blank pages",
    "Payslip shows the wrong tax code",
    "Invoice page is slow",
    "Mailbox full warning",
    "Laptop will not dock",
    "Shared drive not mapped",
    "Wi-Fi keeps asking for the password",
    "Teams calls drop after 30 seconds",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000, help="0: only print picks")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count, Max
    from django.utils import timezone

    from tocsin.accounts.models import Role, Team, User
    from tocsin.catalog.models import Category, Service
    from tocsin.core.models import Counter
    from tocsin.incidents.models import (
        OPEN_STATUSES,
        EntryKind,
        Incident,
        ResolutionCode,
        Source,
        Status,
        TimelineEntry,
    )

    rng = random.Random(args.seed)
    started = time.monotonic()
    services = list(Service.objects.all())
    categories = list(Category.objects.filter(parent__isnull=False).select_related("parent"))
    teams = list(Team.objects.all())
    staff = list(User.objects.exclude(role=Role.REPORTER))
    reporters = list(User.objects.filter(role=Role.REPORTER))
    if not services or not reporters or not staff:
        print("load the demo organisation first (tocsin demo)", file=sys.stderr)
        return 2
    now = timezone.now()
    first = (Incident.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    span = dt.timedelta(days=3 * 365)
    done = 0
    with transaction.atomic():
        while done < args.incidents:
            n = min(BATCH, args.incidents - done)
            batch = []
            for i in range(n):
                number = first + done + i
                # older numbers are older incidents
                reported = now - span * (1 - (done + i) / args.incidents) - dt.timedelta(hours=2)
                roll = rng.random()
                status = (
                    rng.choice(OPEN_STATUSES)
                    if roll < OPEN_SHARE
                    else Status.RESOLVED
                    if roll < OPEN_SHARE + RESOLVED_SHARE
                    else Status.CLOSED
                )
                category = rng.choice(categories) if categories else None
                finished = status in (Status.RESOLVED, Status.CLOSED)
                resolved_at = reported + dt.timedelta(hours=rng.uniform(0.5, 72))
                reporter = rng.choice(reporters)
                batch.append(
                    Incident(
                        number=number,
                        title=f"{rng.choice(TITLES)} ({number})",
                        description="Bulk-loaded history for bench/ui.",
                        status=status,
                        source=rng.choice([Source.PORTAL, Source.EMAIL]),
                        reporter=reporter,
                        service=rng.choice(services),
                        category=category.parent if category else None,
                        subcategory=category,
                        impact=rng.randint(1, 4),
                        urgency=rng.randint(1, 4),
                        priority=rng.randint(1, 4),
                        assignee=rng.choice(staff) if finished or rng.random() < 0.5 else None,
                        team=rng.choice(teams) if teams else None,
                        resolution_code=ResolutionCode.FIXED if finished else "",
                        resolution_notes="Done." if finished else "",
                        reported_at=reported,
                        acknowledged_at=reported + dt.timedelta(minutes=10),
                        resolved_at=resolved_at if finished else None,
                        closed_at=resolved_at + dt.timedelta(days=3)
                        if status == Status.CLOSED
                        else None,
                        updated_at=resolved_at if finished else reported,
                        resolution_due_at=None if finished else now + dt.timedelta(days=2),
                    )
                )
            created = Incident.objects.bulk_create(batch)
            if created[0].pk is None:  # SQLite before RETURNING: look the ids up
                ids = dict(
                    Incident.objects.filter(number__gte=batch[0].number).values_list("number", "pk")
                )
                for incident in created:
                    incident.pk = ids[incident.number]
            entries = []
            for incident in created:
                entries.append(
                    TimelineEntry(
                        incident=incident,
                        created_at=incident.reported_at,
                        kind=EntryKind.CREATED,
                        text="Reported via portal",
                        actor_kind="user",
                        actor_user=incident.reporter,
                    )
                )
                if incident.resolved_at:
                    entries.append(
                        TimelineEntry(
                            incident=incident,
                            created_at=incident.resolved_at,
                            kind=EntryKind.TRANSITION,
                            text="",
                            actor_kind="user",
                            actor_user=incident.assignee,
                        )
                    )
            TimelineEntry.objects.bulk_create(entries, batch_size=BATCH)
            done += n
        if args.incidents:
            last = first + args.incidents - 1
            Counter.objects.get_or_create(name="incident")
            Counter.objects.filter(name="incident", value__lt=last).update(value=last)
    # PostgreSQL's autovacuum would analyse the new rows soon; do it now. SQLite is left
    # as Tocsin leaves it (Django never runs ANALYZE there).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # What the bench opens: the demo's incident with the longest timeline, the reporter
    # with the most incidents, a service-desk agent.
    heaviest = (
        Incident.objects.filter(number__lt=first)
        .annotate(entries=Count("timeline"))
        .order_by("-entries", "number")
        .first()
    )
    reporter = (
        User.objects.filter(role=Role.REPORTER)
        .annotate(n=Count("reported_incidents"))
        .order_by("-n", "pk")
        .first()
    )
    agent = User.objects.filter(role=Role.AGENT).order_by("pk").first()
    print(
        json.dumps(
            {
                "incident": heaviest.ref if heaviest else None,
                "reporter": reporter.username if reporter else None,
                "agent": agent.username if agent else None,
                "incidents_added": args.incidents,
                "incidents_total": Incident.objects.count(),
                "open": Incident.objects.filter(status__in=OPEN_STATUSES).count(),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
