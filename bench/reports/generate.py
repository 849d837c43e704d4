"""Make bench/reports' data: three years of incidents with everything the metrics and
the reports read, in a database of their own, fast.

    python bench/reports/generate.py --incidents 1000000 --fresh \\
        --data-dir /tmp/tocsin-bench-reports-1m                                 # SQLite
    python bench/reports/generate.py --incidents 1000000 --fresh \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_reports       # PostgreSQL

It starts from an empty database (`--fresh` removes a previous one: the SQLite file in
the data directory, or drops and creates the PostgreSQL database), migrates it, and fills
it with bulk SQL (`executemany` on SQLite, `COPY` on PostgreSQL; rows made with
bench/search/generate.py's `Table`), `--chunk` incidents at a time, so memory stays bounded.
It refuses the test databases (`test*`, `h_*`) and a data directory holding files it did
not make.

The data (seeded, so two runs make the same):
- 10 teams of 6 responders (a manager each), 50 services (a team each, volumes skewed:
  a few busy services, a long tail), 20 categories, 2 alert integrations a service, an
  escalation policy a team, and a staff account `bench` / `bench` (admin) that run.py
  signs in with;
- `--incidents` incidents spread evenly over the last `--years` years up to now:
  priorities P1 2 %, P2 8 %, P3 50 %, P4 40 %; sources monitoring 45 %, portal 25 %,
  email 15 %, phone 8 %, chat 5 %, API 2 %; acknowledged, mitigated (P1/P2), resolved
  and closed times from log-normal durations by priority; impact start known for
  monitoring and 40 % of the others; 12 % escalated to level 2/3 (functional), a share of
  P1/P2 to management (hierarchical); 3 % reopened; response and resolution SLA met or
  breached against per-priority targets; 2 % duplicates merged into an earlier incident;
  a quarter of P1 declared major; the recent ones partly still open;
- about `--timeline` timeline entries an incident (created, transitions, escalations,
  notes);
- alerts for the monitoring incidents (1 to dozens each, names skewed per integration)
  plus alerts that opened no incident (suppressed), and an escalation climb with its
  pages for monitoring and P1/P2 incidents (acknowledged, or cancelled at resolve);
- postmortems for 60 % of resolved P1 and 15 % of resolved P2 with 0–4 action items
  each; a problem per ~400 incidents linked to a few of them, 40 % known errors; a few
  knowledge articles that solved some first-line incidents.

Then `tocsin.reports.facts.rebuild()` (`--facts python`, the default: the product's own
per-incident path, timed) or the bench's SQL equivalent (`--facts sql`, bench/reports/
fastfacts.py), then ANALYZE (PostgreSQL: VACUUM ANALYZE, so index-only scans can skip the
heap). Prints a JSON line: the counts and how long each step took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

# bench/search's row helper (Table: a model's columns, with their defaults prepared once).
_spec = importlib.util.spec_from_file_location(
    "bench_search_generate", ROOT / "bench/search/generate.py"
)
assert _spec is not None and _spec.loader is not None
search_generate = importlib.util.module_from_spec(_spec)
sys.modules["bench_search_generate"] = search_generate
_spec.loader.exec_module(search_generate)
Table = search_generate.Table

TEAMS = 10
MEMBERS = 6
SERVICES = 50
CATEGORIES = 20
ARTICLES = 20
PASSWORD = "bench"
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")

PRIORITIES = (1, 2, 3, 4)
PRIORITY_WEIGHTS = (2, 8, 50, 40)
SOURCES = ("monitoring", "portal", "email", "phone", "chat", "api")
SOURCE_WEIGHTS = (45, 25, 15, 8, 5, 2)
# median seconds by priority (log-normal)
ACK_MEDIAN = {1: 180, 2: 600, 3: 2400, 4: 7200}
RESOLVE_MEDIAN = {1: 2 * 3600, 2: 6 * 3600, 3: 36 * 3600, 4: 72 * 3600}
RESPONSE_TARGET = {1: 15 * 60, 2: 60 * 60, 3: 4 * 3600, 4: 8 * 3600}
RESOLUTION_TARGET = {1: 4 * 3600, 2: 8 * 3600, 3: 3 * 86400, 4: 5 * 86400}
NOTES = (
    "Looking into it.",
    "Restarted the affected pods; watching the error rate.",
    "Customer confirms the issue is intermittent.",
    "Rolled back the last deploy.",
    "Waiting for the vendor's answer.",
    "Workaround sent to the reporter.",
    "Error rate back to normal.",
)
ALERT_NAMES = (
    "HighErrorRate",
    "HighLatency",
    "DiskFull",
    "CPUThrottling",
    "PodCrashLooping",
    "TargetDown",
    "CertificateExpiring",
    "QueueBacklog",
    "ReplicationLag",
    "MemoryPressure",
    "HeartbeatMissed",
    "5xxSpike",
)


def _guard_database(url: str) -> str:
    name = url.rsplit("/", 1)[-1].split("?")[0]
    if not name or name.startswith(("test", "h_")) or name in ("postgres", "tocsin"):
        raise SystemExit(f"refusing database {name!r}: bench/reports needs a database of its own")
    return name


# what generate.py makes, and what Tocsin's processes add to a data directory they run on
OWN_FILES = {
    "tocsin.sqlite3",
    "tocsin.sqlite3-wal",
    "tocsin.sqlite3-shm",
    "secret_key",
    "static",
    "prometheus",
}


def prepare(args: argparse.Namespace) -> None:
    """Point Tocsin at the bench's own database (fresh when asked) and migrate it."""
    data_dir = Path(args.data_dir).resolve()
    os.environ["TOCSIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if args.database_url:
        name = _guard_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
        import psycopg

        admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and args.fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    else:
        os.environ.pop("DATABASE_URL", None)
        if data_dir.exists() and any(p.name not in OWN_FILES for p in data_dir.iterdir()):
            raise SystemExit(f"refusing {data_dir}: it holds files bench/reports did not make")
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{data_dir}/tocsin.sqlite3{suffix}").unlink(missing_ok=True)
        data_dir.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def insert(table: Any, rows: list[list[Any]]) -> int:
    """Bulk-insert `rows` into `table` (one transaction; column names quoted: the
    management notice has a column `to`); the number inserted."""
    from django.db import connection, transaction

    columns = ", ".join(connection.ops.quote_name(c) for c in table.columns)
    with transaction.atomic():
        raw = connection.connection
        if connection.vendor == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in table.columns)
            raw.executemany(f"INSERT INTO {table.table} ({columns}) VALUES ({marks})", rows)
    return len(rows)


# -- the organisation -------------------------------------------------------------------


class Org:
    """The people, teams, services and integrations the incidents refer to."""

    def __init__(self, rng: random.Random, start: dt.datetime) -> None:
        from tocsin.accounts.models import Role, Team, User
        from tocsin.catalog.models import Category, Integration, Service
        from tocsin.escalation.models import EscalationPolicy
        from tocsin.learning.models import Article

        admin = User.objects.create_user(
            username="bench", password=PASSWORD, role=Role.ADMIN, is_staff=True, name="Bench"
        )
        self.admin = admin.pk
        self.teams: list[int] = []
        self.members: dict[int, list[int]] = {}
        self.managers: dict[int, int] = {}
        self.policies: dict[int, int] = {}
        self.team_names: dict[int, str] = {}
        for t in range(TEAMS):
            people = [
                User(
                    username=f"oncall{t}-{m}",
                    name=f"Responder {t}-{m}",
                    role=Role.RESPONDER,
                    is_staff=True,
                    time_zone=ZONES[(t + m) % len(ZONES)],
                    password="!",
                )
                for m in range(MEMBERS)
            ]
            manager = User(
                username=f"manager{t}",
                name=f"Manager {t}",
                role=Role.MANAGER,
                is_staff=True,
                time_zone=ZONES[t % len(ZONES)],
                password="!",
            )
            for person in [*people, manager]:
                person.save()
            team = Team.objects.create(name=f"Team {t:02d}", manager=manager)
            team.members.set([*people, manager])
            self.teams.append(team.pk)
            self.team_names[team.pk] = team.name
            self.members[team.pk] = [p.pk for p in people]
            self.managers[team.pk] = manager.pk
            policy = EscalationPolicy.objects.create(name=f"{team.name} escalation", team=team)
            self.policies[team.pk] = policy.pk
        self.services: list[int] = []
        self.service_team: dict[int, int] = {}
        self.integrations: dict[int, list[int]] = {}
        for s in range(SERVICES):
            team_id = self.teams[s % TEAMS]
            service = Service.objects.create(name=f"Service {s:02d}", team_id=team_id)
            self.services.append(service.pk)
            self.service_team[service.pk] = team_id
            self.integrations[service.pk] = [
                Integration.objects.create(
                    service=service,
                    kind=kind,
                    name=f"{kind} {s:02d}",
                    key_hash=f"{rng.getrandbits(256):064x}",
                    key_prefix=f"{rng.getrandbits(32):08x}",
                    created_at=start,
                ).pk
                for kind in ("alertmanager", "grafana")
            ]
        # a few busy services, a long tail (Zipf-like weights)
        self.service_weights = [1 / (r + 1) ** 0.9 for r in range(SERVICES)]
        self.categories = [
            Category.objects.create(name=f"Category {c:02d}").pk for c in range(CATEGORIES)
        ]
        self.category_weights = [1 / (r + 1) ** 0.7 for r in range(CATEGORIES)]
        self.articles = [
            Article.objects.create(
                title=f"How to fix common problem {a}", body="Steps.", visibility="internal"
            ).pk
            for a in range(ARTICLES)
        ]
        # per integration: its alert names, the first ones much more frequent
        self.alert_names: dict[int, list[str]] = {}
        for ids in self.integrations.values():
            for integration in ids:
                names = list(ALERT_NAMES)
                rng.shuffle(names)
                self.alert_names[integration] = names
        self.name_weights = [1 / (r + 1) ** 1.3 for r in range(len(ALERT_NAMES))]


# -- the incidents ----------------------------------------------------------------------


class Ids:
    """Explicit primary keys for every bulk table (the database is fresh)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def next(self, table: str) -> int:
        value = self.counters.get(table, 0) + 1
        self.counters[table] = value
        return value


class Generator:
    def __init__(self, args: argparse.Namespace, org: Org, end: dt.datetime) -> None:
        from tocsin.alerts.models import Alert
        from tocsin.escalation.models import Escalation, ManagementNotice, Page
        from tocsin.incidents.models import Incident, TimelineEntry
        from tocsin.learning.models import (
            ActionItem,
            ArticleSolution,
            Postmortem,
            Problem,
            ProblemIncident,
        )

        self.args = args
        self.org = org
        self.end = end
        self.start = end - dt.timedelta(days=365 * args.years)
        self.span = (end - self.start).total_seconds()
        self.rng = random.Random(args.seed)
        self.ids = Ids()
        self.t = {
            "incident": Table(Incident),
            "timeline": Table(TimelineEntry),
            "alert": Table(Alert),
            "escalation": Table(Escalation),
            "page": Table(Page),
            "notice": Table(ManagementNotice),
            "postmortem": Table(Postmortem),
            "action": Table(ActionItem),
            "problem": Table(Problem),
            "link": Table(ProblemIncident),
            "solution": Table(ArticleSolution),
        }
        self.counts: dict[str, int] = dict.fromkeys(self.t, 0)
        self.json = self.t["timeline"].sqlite  # SQLite takes JSON as text; COPY does too

    def lognormal(self, median: float, sigma: float = 1.0) -> float:
        return median * math.exp(sigma * self.rng.gauss(0.0, 1.0))

    def chunk(self, first: int, n: int) -> None:
        """Incidents first .. first+n-1 and everything hanging off them, inserted."""
        rows: dict[str, list[list[Any]]] = {name: [] for name in self.t}
        for pk in range(first, first + n):
            self.incident(pk, rows)
        self.problems(first, n, rows)
        for name in (
            "incident",
            "timeline",
            "alert",
            "escalation",
            "page",
            "notice",
            "postmortem",
            "action",
            "problem",
            "link",
            "solution",
        ):
            if rows[name]:
                self.counts[name] += insert(self.t[name], rows[name])

    def entry(
        self,
        rows: dict[str, list[list[Any]]],
        pk: int,
        at: dt.datetime,
        kind: str,
        *,
        text: str = "",
        data: str = "{}",
        user: int | None = None,
        label: str = "",
    ) -> None:
        rows["timeline"].append(
            self.t["timeline"].row(
                id=self.ids.next("timeline"),
                incident_id=pk,
                created_at=at,
                kind=kind,
                visibility="internal",
                text=text,
                data=data,
                actor_kind="user" if user else "system",
                actor_user_id=user,
                actor_label=label,
            )
        )

    def transition(
        self,
        rows: dict[str, list[list[Any]]],
        pk: int,
        at: dt.datetime,
        action: str,
        old: str,
        new: str,
        user: int | None,
    ) -> None:
        data = json.dumps({"action": action, "from": old, "to": new})
        self.entry(rows, pk, at, "transition", data=data, user=user, label="")

    def incident(self, pk: int, rows: dict[str, list[list[Any]]]) -> None:
        rng, org = self.rng, self.org
        sec = dt.timedelta(seconds=1)
        reported = self.start + dt.timedelta(
            seconds=(pk - 1 + rng.random()) * self.span / self.args.incidents
        )
        age = (self.end - reported).total_seconds()
        priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
        monitoring = source == "monitoring"
        service = rng.choices(org.services, org.service_weights)[0]
        team = org.service_team[service]
        category = rng.choices(org.categories, org.category_weights)[0]
        people = org.members[team]
        # who is on call: the team's members take a week each
        oncall = people[int((reported - self.start).total_seconds() // (7 * 86400)) % MEMBERS]
        duplicate = pk > 50 and rng.random() < 0.02
        open_share = 0.4 if age < 86400 else 0.1 if age < 7 * 86400 else 0.005
        is_open = not duplicate and rng.random() < open_share

        impact_started: dt.datetime | None = None
        detected: dt.datetime | None = None
        if monitoring:
            detected = reported
            impact_started = reported - self.lognormal(120) * sec
        elif rng.random() < 0.4:
            impact_started = reported - self.lognormal(1800) * sec

        ack_s = self.lognormal(ACK_MEDIAN[priority], 1.2)
        resolve_s = max(ack_s + 60, self.lognormal(RESOLVE_MEDIAN[priority]))
        if duplicate:
            resolve_s = ack_s = self.lognormal(600)
        auto = monitoring and not duplicate and rng.random() < 0.1  # auto-resolved, no ack
        acked = not auto and reported + ack_s * sec < self.end
        if is_open:
            # still open: acknowledged only if that time has passed
            resolve_at = None
        else:
            resolve_at = reported + resolve_s * sec
            if resolve_at > self.end:
                is_open, resolve_at = True, None
        ack_at = reported + ack_s * sec if acked else None
        if ack_at is not None and resolve_at is not None and ack_at > resolve_at:
            ack_at = resolve_at
        mitigated = None
        if priority <= 2 and resolve_at is not None and rng.random() < 0.7:
            base = ack_at or reported
            mitigated = base + (resolve_at - base) * rng.uniform(0.2, 0.6)
        escalated = not duplicate and rng.random() < (0.3 if priority == 1 else 0.12)
        escalated_at = (ack_at or reported) + self.lognormal(1800) * sec if escalated else None
        if escalated_at is not None and resolve_at is not None and escalated_at > resolve_at:
            escalated_at = resolve_at
        if escalated_at is not None and escalated_at > self.end:
            escalated, escalated_at = False, None
        level = rng.choice((2, 2, 3)) if escalated else 1
        reopened = resolve_at is not None and not duplicate and rng.random() < 0.03
        closed_at = None
        status = "new"
        if resolve_at is not None:
            closed_at = resolve_at + self.lognormal(2 * 86400, 0.5) * sec
            status = "closed" if closed_at < self.end and rng.random() < 0.95 else "resolved"
            if status == "resolved":
                closed_at = None
        elif ack_at is not None:
            status = rng.choice(("acknowledged", "in_progress", "in_progress", "on_hold"))
        # SLA
        due_response = reported + RESPONSE_TARGET[priority] * sec
        due_resolution = reported + RESOLUTION_TARGET[priority] * sec
        response_met = response_breached = resolution_met = resolution_breached = None
        if ack_at is not None and ack_at <= due_response:
            response_met = ack_at
        elif due_response < self.end:
            response_breached = due_response
        if resolve_at is not None and resolve_at <= due_resolution:
            resolution_met = resolve_at
        elif due_resolution < self.end:
            resolution_breached = due_resolution
        major = (
            reported + (ack_s + 300) * sec
            if priority == 1 and not duplicate and rng.random() < 0.25
            else None
        )
        if major is not None and major > self.end:
            major = None
        updated = closed_at or resolve_at or escalated_at or ack_at or reported
        resolution_code = ""
        if duplicate:
            resolution_code = "duplicate"
        elif auto:
            resolution_code = "auto-resolved"
        elif resolve_at is not None:
            resolution_code = rng.choice(("fixed", "fixed", "workaround", "configuration"))
        rows["incident"].append(
            self.t["incident"].row(
                id=pk,
                number=pk,
                title=f"{ALERT_NAMES[pk % len(ALERT_NAMES)]} on service {service}",
                status=status,
                source=source,
                reporter_name="" if monitoring else f"Reporter {pk % 5000}",
                service_id=service,
                category_id=category,
                impact=priority,
                urgency=priority,
                priority=priority,
                assignee_id=oncall if acked else None,
                team_id=team,
                support_level=level,
                resolution_code=resolution_code,
                reported_at=reported,
                detected_at=detected,
                impact_started_at=impact_started,
                acknowledged_at=ack_at,
                acknowledged_by_id=oncall if ack_at is not None else None,
                mitigated_at=mitigated,
                resolved_at=resolve_at,
                closed_at=closed_at,
                updated_at=updated,
                duplicate_of_id=pk - rng.randint(1, 50) if duplicate else None,
                response_due_at=due_response,
                response_met_at=response_met,
                response_breached_at=response_breached,
                resolution_due_at=due_resolution,
                resolution_met_at=resolution_met,
                resolution_breached_at=resolution_breached,
                major_declared_at=major,
                escalated_at=escalated_at,
            )
        )
        # timeline: about `--timeline` entries
        entries = 1
        self.entry(rows, pk, reported, "created", text="", label="" if monitoring else "portal")
        if ack_at is not None:
            self.transition(rows, pk, ack_at, "acknowledge", "new", "acknowledged", oncall)
            entries += 1
        if escalated_at is not None:
            other = org.teams[(org.teams.index(team) + 1) % TEAMS]
            data = json.dumps({"level": level, "team": other})
            self.entry(rows, pk, escalated_at, "escalation", data=data, user=oncall)
            entries += 1
        if major is not None:
            self.entry(rows, pk, major, "major", text="Major incident declared", user=oncall)
            entries += 1
        tail = 2 if status == "closed" else 1 if resolve_at is not None else 0
        tail += 2 if reopened else 0
        target = self.args.timeline + rng.randint(-2, 2)
        last = resolve_at or min(self.end, reported + dt.timedelta(hours=6))
        first = ack_at or reported
        for _ in range(max(0, target - entries - tail)):
            at = first + (last - first) * rng.random()
            self.entry(rows, pk, at, "note", text=rng.choice(NOTES), user=oncall)
        if resolve_at is not None:
            if reopened:
                early = (ack_at or reported) + (resolve_at - (ack_at or reported)) * 0.5
                self.transition(rows, pk, early, "resolve", "in_progress", "resolved", oncall)
                self.transition(
                    rows, pk, early + sec * 600, "reopen", "resolved", "in_progress", None
                )
            self.transition(rows, pk, resolve_at, "resolve", "in_progress", "resolved", oncall)
            if closed_at is not None:
                self.transition(rows, pk, closed_at, "close", "resolved", "closed", None)
        # hierarchical escalation
        if not duplicate and rng.random() < (
            0.4 if priority == 1 else 0.05 if priority == 2 else 0
        ):
            at = reported + self.lognormal(3600) * sec
            if at < self.end:
                rows["notice"].append(
                    self.t["notice"].row(
                        id=self.ids.next("notice"),
                        incident_id=pk,
                        to="team_manager",
                        trigger="manual",
                        reason="Customer-facing outage",
                        recipients=json.dumps([f"manager{org.teams.index(team)}"]),
                        by_id=oncall,
                        by_label="",
                        at=at,
                    )
                )
        if monitoring and not duplicate:
            self.alerts(pk, service, reported, resolve_at, rows)
        if (monitoring or priority <= 2) and not duplicate:
            self.pages(pk, team, oncall, priority, reported, ack_at, resolve_at, rows)
        if resolve_at is not None and not duplicate:
            share = 0.6 if priority == 1 else 0.15 if priority == 2 else 0
            if share and rng.random() < share:
                self.postmortem(pk, team, resolve_at, rows)
            if level == 1 and not monitoring and rng.random() < 0.05:
                rows["solution"].append(
                    self.t["solution"].row(
                        id=self.ids.next("solution"),
                        incident_id=pk,
                        article_id=rng.choice(org.articles),
                        by_id=oncall,
                        at=resolve_at,
                    )
                )
        if rng.random() < 0.01:  # noise that opened no incident
            self.alert_row(service, reported, reported + 300 * sec, None, rows, "silenced")

    def alert_row(
        self,
        service: int,
        at: dt.datetime,
        resolved: dt.datetime | None,
        incident: int | None,
        rows: dict[str, list[list[Any]]],
        suppressed: str = "",
    ) -> None:
        rng, org = self.rng, self.org
        integration = rng.choice(org.integrations[service])
        name = rng.choices(org.alert_names[integration], org.name_weights)[0]
        pk = self.ids.next("alert")
        instance = f"host-{rng.randrange(40)}"
        labels = json.dumps({"alertname": name, "instance": instance, "severity": "critical"})
        rows["alert"].append(
            self.t["alert"].row(
                id=pk,
                integration_id=integration,
                service_id=service,
                dedup_key=f"a{pk}",
                status="resolved" if resolved is not None else "triggered",
                severity="critical",
                summary=f"{name} on {instance}",
                source=instance,
                labels=labels,
                started_at=at,
                first_seen_at=at,
                last_seen_at=resolved or at,
                resolved_at=resolved,
                occurrences=1 + int(self.lognormal(1, 1.0)),
                incident_id=incident,
                suppressed_reason=suppressed,
            )
        )

    def alerts(
        self,
        pk: int,
        service: int,
        reported: dt.datetime,
        resolved: dt.datetime | None,
        rows: dict[str, list[list[Any]]],
    ) -> None:
        n = 1 + min(60, int(self.lognormal(1.2, 1.1)))
        for i in range(n):
            at = reported + dt.timedelta(seconds=i * 30)
            self.alert_row(service, at, resolved, pk, rows)

    def pages(
        self,
        pk: int,
        team: int,
        oncall: int,
        priority: int,
        reported: dt.datetime,
        ack_at: dt.datetime | None,
        resolve_at: dt.datetime | None,
        rows: dict[str, list[list[Any]]],
    ) -> None:
        org = self.org
        urgency = "high" if priority <= 2 else "low"
        climb = self.ids.next("escalation")
        ended = ack_at or resolve_at
        state = "acknowledged" if ack_at else "resolved" if resolve_at else "active"
        step_minutes = 15
        steps = 1
        if ended is not None:
            steps = min(3, 1 + int((ended - reported).total_seconds() // (step_minutes * 60)))
        rows["escalation"].append(
            self.t["escalation"].row(
                id=climb,
                incident_id=pk,
                policy_id=org.policies[team],
                urgency=urgency,
                state=state,
                level=steps - 1,
                step=steps,
                next_at=None if ended else reported + dt.timedelta(minutes=step_minutes),
                started_at=reported,
                ended_at=ended,
            )
        )
        people = org.members[team]
        second = people[(people.index(oncall) + 1) % MEMBERS]
        for step in range(steps):
            person = oncall if step % 2 == 0 else second
            if ack_at is not None and step == steps - 1:
                page_state = "acknowledged"
            elif ended is not None:
                page_state = "cancelled"
            else:
                page_state = "open"
            rows["page"].append(
                self.t["page"].row(
                    id=self.ids.next("page"),
                    escalation_id=climb,
                    incident_id=pk,
                    person_id=person,
                    step=step + 1,
                    level=step,
                    cycle=0,
                    urgency=urgency,
                    via=f"schedule {org.team_names[team]} primary",
                    state=page_state,
                    created_at=reported + dt.timedelta(minutes=step_minutes * step),
                )
            )

    def postmortem(
        self, pk: int, team: int, resolved: dt.datetime, rows: dict[str, list[list[Any]]]
    ) -> None:
        rng, org = self.rng, self.org
        pm = self.ids.next("postmortem")
        due = resolved + dt.timedelta(days=5)
        published = resolved + self.lognormal(4 * 86400, 0.6) * dt.timedelta(seconds=1)
        if published > self.end or rng.random() < 0.1:
            published_at = None
            status = rng.choice(("draft", "in_review"))
        else:
            published_at, status = published, "published"
        items = rng.randint(0, 4)
        all_done = True
        owner = rng.choice(org.members[team])
        for _ in range(items):
            item_due = resolved + dt.timedelta(days=rng.randint(14, 60))
            done = item_due < self.end and rng.random() < 0.75
            state = "done" if done else rng.choice(("open", "open", "in_progress", "accepted_risk"))
            all_done = all_done and state in ("done", "accepted_risk")
            closed = (
                min(self.end, item_due - dt.timedelta(days=rng.randint(0, 10))) if done else None
            )
            rows["action"].append(
                self.t["action"].row(
                    id=self.ids.next("action"),
                    postmortem_id=pm,
                    title="Add an alert on the saturation that preceded this",
                    owner_id=rng.choice(org.members[team]),
                    due_at=item_due,
                    priority=rng.choice((2, 3)),
                    status=state,
                    risk_reason="Cost outweighs the risk" if state == "accepted_risk" else "",
                    created_at=resolved,
                    updated_at=closed or resolved,
                    closed_at=closed,
                )
            )
        rows["postmortem"].append(
            self.t["postmortem"].row(
                id=pm,
                incident_id=pk,
                title=f"Postmortem of INC-{pk}",
                status=status,
                owner_id=owner,
                due_at=due,
                markdown="## Summary\n\nWhat happened.",
                created_at=resolved,
                updated_at=published_at or resolved,
                published_at=published_at,
                completed_at=published_at if (published_at and all_done) else None,
                required=True,
            )
        )

    def problems(self, first: int, n: int, rows: dict[str, list[list[Any]]]) -> None:
        """A problem per ~400 incidents of this chunk, each linked to 2–15 of them."""
        rng, org = self.rng, self.org
        for _ in range(max(1, n // 400)):
            pk = self.ids.next("problem")
            linked = sorted({rng.randrange(first, first + n) for _ in range(rng.randint(2, 15))})
            created = self.start + dt.timedelta(
                seconds=(linked[0] - 1) * self.span / self.args.incidents
            )
            known = created + dt.timedelta(days=rng.randint(1, 30))
            is_known = rng.random() < 0.4 and known < self.end
            rows["problem"].append(
                self.t["problem"].row(
                    id=pk,
                    number=pk,
                    title=f"Recurring failures {pk}",
                    status="known_error" if is_known else "open",
                    service_id=rng.choice(org.services),
                    category_id=rng.choice(org.categories),
                    owner_id=rng.choice(org.members[rng.choice(org.teams)]),
                    workaround="Restart the worker." if is_known else "",
                    created_at=created,
                    updated_at=known if is_known else created,
                    known_error_at=known if is_known else None,
                )
            )
            for i, incident in enumerate(linked):
                linked_at = self.start + dt.timedelta(
                    seconds=(incident - 1) * self.span / self.args.incidents + 3600
                )
                if i == 0:
                    linked_at = max(linked_at, created)
                rows["link"].append(
                    self.t["link"].row(
                        id=self.ids.next("link"),
                        problem_id=pk,
                        incident_id=incident,
                        linked_at=min(linked_at, self.end),
                        linked_by_id=org.admin,
                    )
                )


def reset_sequences() -> None:
    """PostgreSQL: the id sequences past the explicit ids."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    models = [m for m in apps.get_models() if m._meta.managed]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        # VACUUM: the visibility map that index-only scans need; ANALYZE: statistics.
        old = connection.connection.autocommit
        connection.connection.autocommit = True
        with connection.connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.connection.autocommit = old
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(took: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    out = fn()
    took[name] = time.perf_counter() - t
    print(f"{name}: {took[name]:.1f} s", file=sys.stderr, flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--timeline", type=int, default=5, help="entries an incident, about")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--data-dir", default="/tmp/tocsin-bench-reports")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--chunk", type=int, default=20_000, help="incidents inserted at once")
    parser.add_argument(
        "--facts",
        choices=["python", "sql", "none"],
        default="python",
        help="build the fact table with facts.rebuild() (python), bench/reports/fastfacts.py "
        "(sql), or not at all",
    )
    parser.add_argument(
        "--facts-only", action="store_true", help="only (re)build the facts of an existing set"
    )
    parser.add_argument(
        "--compare",
        type=int,
        default=0,
        metavar="N",
        help="then check the facts of N random incidents against facts.build() (rolled back)",
    )
    args = parser.parse_args()
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.facts_only:
        args.fresh = False
    timed(took, "migrate", lambda: prepare(args))

    from django.db import connection

    from tocsin.core.clock import now
    from tocsin.incidents.models import Incident, TimelineEntry
    from tocsin.reports import facts, summaries
    from tocsin.reports.models import IncidentFact

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")  # bench data: speed over durability
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
    result: dict[str, Any] = {"database": connection.vendor}
    if not args.facts_only:
        if Incident.objects.exists():
            raise SystemExit("the database holds incidents already: use --fresh")
        end = now().replace(microsecond=0)
        rng = random.Random(args.seed)
        org = timed(took, "organisation", lambda: Org(rng, end - dt.timedelta(days=365 * 4)))
        gen = Generator(args, org, end)
        t = time.perf_counter()
        first = 1
        while first <= args.incidents:
            n = min(args.chunk, args.incidents - first + 1)
            gen.chunk(first, n)
            first += n
            if (first - 1) % 100_000 < args.chunk:
                print(
                    f"  {first - 1:,} incidents, {gen.counts['timeline']:,} timeline entries, "
                    f"{time.perf_counter() - t:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        took["insert"] = time.perf_counter() - t
        print(f"insert: {took['insert']:.1f} s", file=sys.stderr, flush=True)
        timed(took, "sequences", reset_sequences)
        timed(took, "analyze_data", analyze)
        result["end"] = end.isoformat()
        result["rows"] = gen.counts
    if args.facts == "python":
        IncidentFact.objects.all().delete()
        timed(took, "facts_rebuild_python", facts.rebuild)
    elif args.facts == "sql":
        import fastfacts  # bench/reports/fastfacts.py, next to this file

        timed(took, "facts_rebuild_sql", fastfacts.rebuild)
        timed(took, "summaries", summaries.rebuild_all)
    if args.facts != "none":
        timed(took, "analyze_facts", analyze)
    if args.compare:
        import fastfacts

        result["compare"] = timed(took, "compare", lambda: fastfacts.compare(args.compare))
    took["total"] = time.perf_counter() - t0
    result["incidents"] = Incident.objects.count()
    result["timeline_entries"] = TimelineEntry.objects.count()
    result["facts"] = IncidentFact.objects.count()
    result["seconds"] = {k: round(v, 1) for k, v in took.items()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
