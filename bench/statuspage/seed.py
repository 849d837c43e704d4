"""Fill Tocsin's status page for bench/statuspage: components in groups with 90 days of
status history, open public incidents with updates. Run with Tocsin's environment
(TOCSIN_DATA_DIR, DATABASE_URL) after `tocsin migrate`:

    python bench/statuspage/seed.py --components 200 --incidents 50

Bulk inserts through the ORM (the staff services are not the subject here), then
`status_changed()` as every public change does. Prints a JSON line with the counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--per-group", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from tocsin.comms.models import (
        Component,
        ComponentGroup,
        ComponentStatus,
        ComponentStatusChange,
        PublicIncident,
        PublicUpdate,
    )
    from tocsin.comms.services import status_changed
    from tocsin.core.clock import now

    rng = random.Random(args.seed)
    at = now()
    start = at - dt.timedelta(days=100)
    groups = ComponentGroup.objects.bulk_create(
        ComponentGroup(name=f"Region {n:02d}", position=n)
        for n in range((args.components + args.per_group - 1) // args.per_group)
    )
    bad = [ComponentStatus.DEGRADED, ComponentStatus.PARTIAL, ComponentStatus.MAJOR]
    components = Component.objects.bulk_create(
        Component(
            name=f"Component {n:03d}",
            description=f"Service number {n}",
            group=groups[n // args.per_group],
            position=n % args.per_group,
            status=rng.choice(bad) if n < args.incidents else ComponentStatus.OPERATIONAL,
            created_at=start,
        )
        for n in range(args.components)
    )
    history = []
    for c in components:
        history.append(ComponentStatusChange(component=c, status="operational", at=start))
        for _ in range(rng.randint(0, 4)):  # a few outages in 90 days
            begin = at - dt.timedelta(minutes=rng.randint(60, 89 * 24 * 60))
            history.append(ComponentStatusChange(component=c, status=rng.choice(bad), at=begin))
            history.append(
                ComponentStatusChange(
                    component=c,
                    status="operational",
                    at=begin + dt.timedelta(minutes=rng.randint(5, 600)),
                )
            )
        if c.status != "operational":
            history.append(
                ComponentStatusChange(
                    component=c, status=c.status, at=at - dt.timedelta(minutes=30)
                )
            )
    ComponentStatusChange.objects.bulk_create(history)
    for n in range(args.incidents):
        incident = PublicIncident.objects.create(
            title=f"Elevated errors on Component {n:03d}",
            status=rng.choice(["investigating", "identified", "monitoring"]),
            impact=rng.choice(["minor", "major", "critical"]),
            published_at=at - dt.timedelta(minutes=30),
            created_at=at - dt.timedelta(minutes=30),
        )
        incident.components.set([components[n]])
        PublicUpdate.objects.bulk_create(
            PublicUpdate(
                public_incident=incident,
                status=status,
                body=f"Update {i} on component {n}: we are working on it.",
                created_at=at - dt.timedelta(minutes=30 - 10 * i),
            )
            for i, status in enumerate(["investigating", "identified", "monitoring"])
        )
    status_changed()
    print(json.dumps({"components": len(components), "incidents": args.incidents}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
