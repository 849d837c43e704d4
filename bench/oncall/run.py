"""bench/oncall: who is on call, in-process, with the database reads (issue 9).

    .venv/bin/python bench/oncall/run.py                     # SQLite
    .venv/bin/python bench/oncall/run.py --db postgres       # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/oncall/run.py --db both --rounds 2

Each database gets a fresh store: SQLite in a temporary data directory, PostgreSQL a
database `--pg-name` (default `tocsin_bench_oncall`) created and dropped here, through
`--pg-admin-url` (default postgresql://postgres@127.0.0.1:5432/postgres); one child
process per database, so Django is set up once for it. The child migrates, then builds,
with a fixed seed (`--seed`), through `services.schedule_create` (layers as people set
them up, audited) and bulk inserts (people, overrides):

- "big": one schedule in Europe/Berlin with 10 layers (business hours, nights crossing
  midnight, a weekend span, 12-hour and 2-day rotations, follow-the-sun halves in the
  schedule's zone, a 24/7 base) and `--overrides` overrides (default 1,000) spread over
  2026, a third of them in place of one person;
- "organisation": `--schedules` more schedules (default 500), 1–3 layers each, zones
  from nine, restrictions on about half, 0–4 overrides each.

Then, each `--rounds` times (default 2):

- `selectors.oncall(big, at)` at `--instants` random instants of 2026 (default 2,000);
- `selectors.organisation_oncall(user=admin, at=T)` at one instant, `--org-runs` times;
- `selectors.shifts(big, 2026-01-01, 2027-01-01)`: a year of the final schedule,
  `--year-runs` times.

Figures: wall time (time.perf_counter) and this thread's CPU time (time.thread_time:
Python and SQLite work; PostgreSQL's server work is not in it), p50 / p99 / max in ms,
and the SQL queries of one call. The load average before and after is recorded: the
machine may be shared. Targets: oncall p99 < 5 ms, organisation p99 < 250 ms, a year of
shifts p99 < 200 ms. Results: bench/results/oncall-<time>.json and .md. Bounded: the
sizes above, no loop without a count; the store is removed at the end, even on error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
TARGETS_MS = {"oncall": 5.0, "organisation": 250.0, "year_of_shifts": 200.0}
ZONES = (
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
    "UTC",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Europe/London",
)
YEAR = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
ORG_AT = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # the night Europe springs forward


# --- the child: one database ---------------------------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(ordered[-1], 3),
        "n": len(ordered),
    }


def _timed(calls: list[Callable[[], object]]) -> dict[str, Any]:
    wall: list[float] = []
    cpu: list[float] = []
    for call in calls:
        c0, w0 = time.thread_time(), time.perf_counter()
        call()
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {"wall": _percentiles(wall), "cpu": _percentiles(cpu)}


def _queries(call: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def _layer(name: str, start: str, rotation: Any, users: list[Any], restrictions: list[Any]) -> Any:
    from tocsin.oncall import specs

    every, unit = specs.parse_rotation(rotation, "rotation")
    return specs.LayerInput(
        name=name,
        start=specs.parse_local(start, "start"),
        every=every,
        unit=unit,
        users=users,
        restrictions=[specs.parse_restriction(r, "r") for r in restrictions],
    )


def build(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from tocsin.accounts.models import Role, User
    from tocsin.core.actors import Actor
    from tocsin.oncall import services
    from tocsin.oncall.models import Override, Schedule

    actor = Actor.system("bench/oncall")
    people = User.objects.bulk_create(
        User(
            username=f"oncall{n:03d}",
            email=f"oncall{n:03d}@example.com",
            name=f"On-call {n}",
            role=Role.RESPONDER,
            password="!",
        )
        for n in range(200)
    )
    people = list(User.objects.filter(username__startswith="oncall").order_by("id"))
    admin = User.objects.create(username="bench-admin", role=Role.ADMIN, password="!")
    weekdays = ["mon", "tue", "wed", "thu", "fri"]

    def some(k: int) -> list[Any]:
        return [rng.choice(people[:40]) for _ in range(k)]

    big_layers = [
        _layer(
            "Business hours",
            "2026-01-05T09:00",
            "weekly",
            some(4),
            [{"type": "weekly", "days": weekdays, "start": "09:00", "end": "17:00"}],
        ),
        _layer(
            "Nights",
            "2026-01-05T20:00",
            "daily",
            some(5),
            [{"type": "daily", "start": "20:00", "end": "08:00"}],
        ),
        _layer(
            "Weekend",
            "2026-01-02T18:00",
            "weekly",
            some(3),
            [
                {
                    "type": "weekly",
                    "start_day": "fri",
                    "start": "18:00",
                    "end_day": "mon",
                    "end": "08:00",
                }
            ],
        ),
        _layer(
            "Twelve hours",
            "2026-01-01T08:00",
            {"every": 12, "unit": "hours"},
            some(6),
            [{"type": "daily", "start": "07:00", "end": "23:00"}],
        ),
        _layer("Two days", "2026-01-01T02:30", {"every": 2, "unit": "days"}, some(4), []),
        _layer(
            "Follow the sun, Europe",
            "2026-01-05T08:00",
            "daily",
            some(3),
            [{"type": "daily", "start": "08:00", "end": "20:00"}],
        ),
        _layer(
            "Follow the sun, Americas",
            "2026-01-05T20:00",
            "daily",
            some(3),
            [{"type": "daily", "start": "20:00", "end": "08:00"}],
        ),
        _layer(
            "Fortnight",
            "2026-01-05T09:00",
            {"every": 2, "unit": "weeks"},
            some(4),
            [{"type": "weekly", "days": ["mon", "wed", "fri"], "start": "00:00", "end": "12:00"}],
        ),
        _layer(
            "Six hours",
            "2026-01-01T00:00",
            {"every": 6, "unit": "hours"},
            some(4),
            [{"type": "weekly", "days": ["sat", "sun"], "start": "02:00", "end": "03:00"}],
        ),
        _layer("Base", "2026-01-05T09:00", "weekly", some(5), []),
    ]
    big = services.schedule_create(
        name="Bench: ten layers", time_zone="Europe/Berlin", layers=big_layers, actor=actor
    )
    overrides = []
    # over two years (the one measured and the one before it), 1 to 12 hours each
    history = YEAR[0] - dt.timedelta(days=365)
    span = int((YEAR[1] - history).total_seconds() // 900)
    for _ in range(args.overrides):
        start = history + dt.timedelta(minutes=15 * rng.randrange(span))
        end = start + dt.timedelta(minutes=15 * rng.randint(4, 4 * 12))
        replaces = rng.choice(people[:40]) if rng.random() < 1 / 3 else None
        overrides.append(
            Override(
                schedule=big,
                user=rng.choice(people),
                replaces=replaces,
                start=start,
                end=end,
                note="bench",
            )
        )
    Override.objects.bulk_create(overrides)

    t0 = time.perf_counter()
    org_overrides = []
    for n in range(args.schedules):
        zone = rng.choice(ZONES)
        layers = []
        for k in range(rng.randint(1, 3)):
            unit = rng.choice(["hours", "days", "weeks"])
            every = {
                "hours": rng.choice([8, 12, 24]),
                "days": rng.randint(1, 3),
                "weeks": rng.randint(1, 2),
            }[unit]
            restrictions = []
            if rng.random() < 0.5:
                restrictions = [
                    rng.choice(
                        [
                            {"type": "weekly", "days": weekdays, "start": "09:00", "end": "17:00"},
                            {"type": "daily", "start": "20:00", "end": "08:00"},
                            {
                                "type": "weekly",
                                "start_day": "fri",
                                "start": "18:00",
                                "end_day": "mon",
                                "end": "08:00",
                            },
                        ]
                    )
                ]
            start = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(60))
            layers.append(
                _layer(
                    f"Layer {k}",
                    f"{start.isoformat()}T{rng.choice(['00:00', '02:30', '09:00'])}",
                    {"every": every, "unit": unit},
                    [rng.choice(people) for _ in range(rng.randint(1, 5))],
                    restrictions,
                )
            )
        schedule = services.schedule_create(
            name=f"Bench {n:03d}", time_zone=zone, layers=layers, actor=actor
        )
        for _ in range(rng.randint(0, 4)):
            start = ORG_AT + dt.timedelta(hours=rng.randint(-72, 72))
            org_overrides.append(
                Override(
                    schedule=schedule,
                    user=rng.choice(people),
                    start=start,
                    end=start + dt.timedelta(hours=rng.randint(1, 48)),
                    note="bench",
                )
            )
    Override.objects.bulk_create(org_overrides)
    return {
        "big": Schedule.objects.get(pk=big.pk),
        "admin": admin,
        "organisation_build_s": round(time.perf_counter() - t0, 1),
        "schedules": Schedule.objects.filter(archived_at__isnull=True).count(),
        "overrides_big": Override.objects.filter(schedule=big).count(),
    }


def child(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tocsin.oncall import selectors

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    data = build(args, rng)
    built_s = round(time.perf_counter() - t0, 1)
    big, admin = data["big"], data["admin"]
    instants = [
        YEAR[0] + dt.timedelta(seconds=rng.randrange(int((YEAR[1] - YEAR[0]).total_seconds())))
        for _ in range(args.instants)
    ]
    # warm up (imports, zoneinfo caches, connection)
    for at in instants[:20]:
        selectors.oncall(big, at)
    selectors.organisation_oncall(user=admin, at=ORG_AT)
    selectors.shifts(big, *YEAR)

    if args.profile:
        import cProfile
        import pstats

        calls = {
            "oncall": lambda: [selectors.oncall(big, at) for at in instants],
            "organisation": lambda: selectors.organisation_oncall(user=admin, at=ORG_AT),
            "year_of_shifts": lambda: selectors.shifts(big, *YEAR),
        }
        profiler = cProfile.Profile()
        profiler.runcall(calls[args.profile])
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        return 0
    rounds = []
    for _ in range(args.rounds):
        load_before = os.getloadavg()
        oncall = _timed([lambda at=at: selectors.oncall(big, at) for at in instants])
        org = _timed([lambda: selectors.organisation_oncall(user=admin, at=ORG_AT)] * args.org_runs)
        year = _timed([lambda: selectors.shifts(big, *YEAR)] * args.year_runs)
        rounds.append(
            {
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "oncall": oncall,
                "organisation": org,
                "year_of_shifts": year,
            }
        )
    answers = selectors.organisation_oncall(user=admin, at=ORG_AT)
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "built_s": built_s,
                "schedules": data["schedules"],
                "overrides_big": data["overrides_big"],
                "year_shifts": len(selectors.shifts(big, *YEAR)),
                "organisation_on_call": sum(1 for a in answers if a.user is not None),
                "queries": {
                    "oncall": _queries(lambda: selectors.oncall(big, instants[0])),
                    "organisation": _queries(
                        lambda: selectors.organisation_oncall(user=admin, at=ORG_AT)
                    ),
                    "year_of_shifts": _queries(lambda: selectors.shifts(big, *YEAR)),
                },
                "rounds": rounds,
            }
        )
    )
    return 0


# --- the parent: one child per database ------------------------------------------------------


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOCSIN_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(extra, PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="tocsin.settings")
    return env


def _pg(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def run_one(db: str, args: argparse.Namespace, passthrough: list[str]) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="tocsin-bench-oncall-"))
    extra = {"TOCSIN_DATA_DIR": str(data_dir), "TOCSIN_SECRET_KEY": "bench-oncall-not-secret"}
    if db == "postgres":
        _pg(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{args.pg_name}" WITH (FORCE)')
        _pg(args.pg_admin_url, f'CREATE DATABASE "{args.pg_name}"')
        extra["DATABASE_URL"] = args.pg_admin_url.rsplit("/", 1)[0] + f"/{args.pg_name}"
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", *passthrough],
            env=_child_env(extra),
            capture_output=True,
            text=True,
            timeout=args.timeout,
            check=False,
        )
        if args.profile:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(0)
        if proc.returncode != 0:
            raise SystemExit(f"bench/oncall ({db}) failed:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if db == "postgres":
            _pg(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{args.pg_name}" WITH (FORCE)')


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# bench/oncall, {results['time']}",
        "",
        f"`{results['command']}`; {results['cpus']} cores; load average before "
        f"{results['load_before']}. Times in ms, wall (CPU of the calling thread).",
        "",
        "| db | round | load (1 min) | oncall p50 | oncall p99 | organisation p50 | "
        "organisation p99 | year of shifts p50 | year of shifts p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for db, r in results["databases"].items():
        for n, rnd in enumerate(r["rounds"], 1):
            cells = []
            for key in ("oncall", "organisation", "year_of_shifts"):
                w, c = rnd[key]["wall"], rnd[key]["cpu"]
                cells += [f"{w['p50_ms']} ({c['p50_ms']})", f"{w['p99_ms']} ({c['p99_ms']})"]
            lines.append(f"| {db} | {n} | {rnd['load_before'][0]} | " + " | ".join(cells) + " |")
    lines.append("")
    for db, r in results["databases"].items():
        lines.append(
            f"- {db}: {r['schedules']} schedules, {r['overrides_big']} overrides on the big one, "
            f"{r['year_shifts']} shifts in its year, {r['organisation_on_call']} schedules with "
            f"someone on call at {ORG_AT.isoformat()}; queries per call {r['queries']}; "
            f"built in {r['built_s']} s"
        )
    lines.append(f"- targets (p99, ms): {TARGETS_MS}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--instants", type=int, default=2000)
    parser.add_argument("--org-runs", type=int, default=50)
    parser.add_argument("--year-runs", type=int, default=20)
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--overrides", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds for one database")
    parser.add_argument("--pg-name", default="tocsin_bench_oncall")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-save", action="store_true", help="print, do not write results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile",
        choices=("oncall", "organisation", "year_of_shifts"),
        help="print a cProfile of one measurement (to stderr) instead of measuring",
    )
    args = parser.parse_args(argv)
    for name in ("instants", "org_runs", "year_runs", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.child:
        return child(args)

    passthrough = [
        f"--instants={args.instants}",
        f"--org-runs={args.org_runs}",
        f"--year-runs={args.year_runs}",
        f"--schedules={args.schedules}",
        f"--overrides={args.overrides}",
        f"--rounds={args.rounds}",
        f"--seed={args.seed}",
    ]
    if args.profile:
        passthrough.append(f"--profile={args.profile}")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "time": stamp,
        "command": "python bench/oncall/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "targets_p99_ms": TARGETS_MS,
        "databases": {},
    }
    for db in dbs:
        print(f"bench/oncall: {db} …", file=sys.stderr)
        results["databases"][db] = run_one(db, args, passthrough)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(results)
    print(text)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"oncall-{stamp}.json").write_text(json.dumps(results, indent=1) + "\n")
        (RESULTS_DIR / f"oncall-{stamp}.md").write_text(text)
    missed = [
        f"{db} {key} p99 {rnd[key]['wall']['p99_ms']} ms"
        for db, r in results["databases"].items()
        for rnd in r["rounds"]
        for key, target in TARGETS_MS.items()
        if rnd[key]["wall"]["p99_ms"] >= target
    ]
    if missed:
        print("over target: " + "; ".join(missed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
