"""bench/oncall_load: the on-call load report over 200,000 pages (issue 13).

    .venv/bin/python bench/oncall_load/run.py                       # SQLite, 200k pages
    .venv/bin/python bench/oncall_load/run.py --database-url postgresql://.../EMPTY_DB
    .venv/bin/python bench/oncall_load/run.py --pages 20000         # a quick look

A fresh database (SQLite in a temporary directory, or an EMPTY PostgreSQL database given
with --database-url): `--people` responders (default 60) in twelve time zones, in teams
of ten, each team with a schedule rotating daily among its people; `--incidents`
incidents (default 2,000) made through `incident_create`; then `--pages` pages (default
200,000) written in bulk, to random people at random instants over the 30 days of the
report. Then, each `--repeat` times (best kept): the report for everyone
(`oncall_load(viewer=admin)`), for one team, the page-instants read alone (the part the
database cannot bucket by local clock), and the metric `pages_out_of_hours` over the
same incidents. Prints the best wall time and this process's CPU time (on SQLite the
database works in this process too; on a busy machine the CPU time is the steadier).
A PostgreSQL database that already holds the pages is reused; so is `--keep DIR`.
Bounded: fixed counts, a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Lisbon",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Pacific/Auckland",
]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """The best wall time, the best CPU time of this process, and the result."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(times), min(cpu), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200_000)
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--incidents", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="", help="an EMPTY database to use")
    parser.add_argument(
        "--keep", default="", help="a SQLite data directory kept (and reused when it has pages)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the report")
    args = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    own_dir = args.keep or tempfile.mkdtemp(prefix="tocsin-oncall-load-")
    os.environ["TOCSIN_DATA_DIR"] = own_dir
    try:
        return run(args)
    finally:
        if not args.keep:
            shutil.rmtree(own_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tocsin.accounts.models import Team, User
    from tocsin.escalation.models import Page
    from tocsin.reports import oncall_load
    from tocsin.reports.metrics import Filters

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}", flush=True)
    until = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    since = until - dt.timedelta(days=30)
    if not Page.objects.exists():
        build(args, since, until)
    admin = User.objects.get(username="admin")
    teams = list(Team.objects.order_by("name"))
    connection.close()

    def everyone() -> Any:
        return oncall_load.oncall_load(viewer=admin, since=since, until=until)

    def one_team() -> Any:
        return oncall_load.oncall_load(viewer=admin, since=since, until=until, team=teams[0])

    def datetimes() -> int:
        rows = Page.objects.filter(created_at__gte=since, created_at__lt=until).values_list(
            "person_id", "created_at"
        )
        return sum(1 for _ in rows.order_by("person_id", "created_at").iterator(5000))

    def epochs() -> int:
        pages = Page.objects.filter(created_at__gte=since, created_at__lt=until)
        return sum(1 for _ in oncall_load.page_instants(pages, "person_id"))

    def metric() -> Any:
        return oncall_load.pages_out_of_hours(
            Filters(
                since=since - dt.timedelta(days=1), until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
            )
        )

    from tocsin.reports import facts

    facts.rebuild()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(everyone)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    for label, fn in (
        ("report, everyone", everyone),
        ("report, one team (10 people)", one_team),
        ("page instants read alone, as datetimes", datetimes),
        ("page instants read alone, as epoch seconds (what the report reads)", epochs),
        ("metric pages_out_of_hours", metric),
    ):
        seconds, cpu, result = best(fn, args.repeat)
        extra = ""
        if isinstance(result, oncall_load.LoadReport):
            extra = f" ({len(result.rows)} rows, {sum(r.pages for r in result.rows)} pages)"
        elif isinstance(result, int):
            extra = f" ({result} rows)"
        else:
            extra = f" ({result})"
        print(f"{label}: {seconds * 1000:.0f} ms (CPU here {cpu * 1000:.0f} ms){extra}", flush=True)
    return 0


def build(args: argparse.Namespace, since: dt.datetime, until: dt.datetime) -> None:
    """The people, teams, schedules, incidents and pages."""
    from tocsin.accounts.models import Role, Team, User
    from tocsin.accounts.services import user_create
    from tocsin.core.actors import Actor
    from tocsin.escalation.models import ClimbState, Escalation, Page
    from tocsin.incidents.services import incident_create
    from tocsin.oncall import services, specs

    system = Actor.system("bench")
    rng = random.Random(13)
    user_create(
        username="admin",
        email="admin@example.com",
        name="Admin",
        role=Role.ADMIN,
        password="x" * 12,
        actor=system,
    )
    people: list[User] = []
    for i in range(args.people):
        people.append(
            user_create(
                username=f"r{i:03d}",
                email=f"r{i:03d}@example.com",
                name=f"Responder {i}",
                role=Role.RESPONDER,
                password="x" * 12,
                time_zone=ZONES[i % len(ZONES)],
                actor=system,
            )
        )
    teams = []
    for t in range(0, len(people), 10):
        members = people[t : t + 10]
        team = Team.objects.create(name=f"Team {t // 10}")
        team.members.add(*members)
        teams.append(team)
        services.schedule_create(
            name=f"Team {t // 10} on call",
            time_zone=ZONES[(t // 10) % len(ZONES)],
            team=team,
            layers=specs.parse_layers(
                [
                    {
                        "name": "Daily",
                        "start": "2026-01-05T09:00",
                        "rotation": "daily",
                        "users": [m.username for m in members],
                    }
                ]
            ),
            actor=system,
        )
    started = time.perf_counter()
    incidents = [
        incident_create(actor=system, title=f"Bench incident {i}", description="bench")
        for i in range(args.incidents)
    ]
    print(f"{len(incidents)} incidents in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    climbs = Escalation.objects.bulk_create(
        [Escalation(incident=inc, state=ClimbState.RESOLVED, started_at=since) for inc in incidents]
    )
    span = (until - since).total_seconds()
    batch: list[Page] = []
    for n in range(args.pages):
        k = n % len(climbs)
        batch.append(
            Page(
                escalation=climbs[k],
                incident_id=climbs[k].incident_id,
                person=people[rng.randrange(len(people))],
                step=n,
                level=0,
                cycle=0,
                created_at=since + dt.timedelta(seconds=rng.uniform(0, span)),
            )
        )
        if len(batch) == 5000:
            Page.objects.bulk_create(batch)
            batch = []
    Page.objects.bulk_create(batch)
    print(f"{Page.objects.count()} pages in {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
