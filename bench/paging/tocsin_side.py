"""The benchmark's work inside Tocsin's database (run with Tocsin's environment:
TOCSIN_DATA_DIR, DATABASE_URL), one subcommand a step; each prints one JSON document.

    python bench/paging/tocsin_side.py setup --receiver http://127.0.0.1:PORT \\
        --storm-services 50 --accuracy 10000 --accuracy-services 20
    python bench/paging/tocsin_side.py schedule --start EPOCH --window SECONDS
    python bench/paging/tocsin_side.py collect

`setup` builds, through the services a person would use (user_create, contact_method_add,
policy_create, service_create, service_paging_set, integration_create, incident_create):
one person per service, each with ONE contact method pointing at the benchmark's receiver
(kind "webhook" when Tocsin has the webhook channel, else "email" to the benchmark's SMTP
server; `--channel` forces one), a one-level policy on that person per service, and a
PagerDuty integration key per service: service "idle" for (a), `--storm-services` for (b).
For (c) it opens `--accuracy` incidents through `incident_create` on `--accuracy-services`
services whose one-level policies page people of their own; each incident's climb is
parked (its first step due in a year) so nothing fires before `schedule` says when.

`schedule` gives the parked climbs their due times, spread evenly over `--window` seconds
from `--start` (a Unix time), in one transaction, and prints them.

`collect` prints, for each of those climbs, when its step fired: the time of the
"Paged ..." timeline entry the step writes in its own transaction.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from typing import Any

ACC_PREFIX = "bench-c-"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()


def setup(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction

    from tocsin.accounts.models import Role
    from tocsin.accounts.services import contact_method_add, user_create
    from tocsin.catalog.models import Service
    from tocsin.catalog.services import integration_create, service_create
    from tocsin.core.actors import Actor
    from tocsin.escalation.models import ClimbState, Escalation
    from tocsin.escalation.policies import policy_create, service_paging_set
    from tocsin.incidents.services import incident_create
    from tocsin.notify.channels import CHANNELS

    actor = Actor.system("bench/paging setup")
    channel = args.channel
    if channel == "auto":
        channel = "webhook" if "webhook" in CHANNELS else "email"
    if channel not in CHANNELS:
        raise SystemExit(f"this Tocsin has no {channel!r} channel (it has: {sorted(CHANNELS)})")

    def person(name: str) -> Any:
        user = user_create(
            username=name,
            email=f"{name}@bench.example.com",
            name=name.title(),
            role=Role.RESPONDER,
            password="bench-password-unused",
            actor=actor,
        )
        address = (
            f"{args.receiver}/hook/{name}"
            if channel == "webhook"
            else f"{name}@pages.bench.example.com"
        )
        contact_method_add(user=user, kind=channel, address=address, label="bench", actor=actor)
        return user

    def paged_service(name: str, who: str) -> Service:
        person(who)
        policy = policy_create(
            actor=actor,
            name=f"{name} policy",
            levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": who}]}],
        )
        service = service_create(name=name, actor=actor)
        # every alert of the storm its own incident and its own page (the storm grouping
        # would fold a service's alerts beyond 20 a minute into one incident)
        Service.objects.filter(pk=service.pk).update(storm_threshold=100_000)
        service_paging_set(service=service, actor=actor, policy=policy)
        return service

    def key(service: Service) -> str:
        _integration, secret = integration_create(
            service=service, kind="pagerduty", name=f"{service.name} events", actor=actor
        )
        return secret

    idle = paged_service("bench-idle", "idle-oncall")
    storm = [
        paged_service(f"bench-storm-{n:02d}", f"storm-oncall-{n:02d}")
        for n in range(args.storm_services)
    ]
    keys = {"idle": key(idle), "storm": [key(s) for s in storm]}

    started, cpu = time.perf_counter(), time.process_time()
    reporter = user_create(
        username="bench-reporter",
        email="bench-reporter@bench.example.com",
        name="Bench Reporter",
        role=Role.AGENT,
        password="bench-password-unused",
        actor=actor,
    )
    acc_services = [
        paged_service(f"bench-acc-{n:02d}", f"acc-oncall-{n:02d}")
        for n in range(args.accuracy_services)
    ]
    parked = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    for chunk in range(0, args.accuracy, 250):
        # 250 incidents a transaction (each incident_create its own savepoint): the set-up
        # costs CPU, not a commit per incident
        with transaction.atomic():
            for n in range(chunk, min(chunk + 250, args.accuracy)):
                incident = incident_create(
                    actor=Actor.for_user(reporter),
                    reporter=reporter,
                    title=f"{ACC_PREFIX}{n}",
                    description="escalation accuracy",
                    service=acc_services[n % len(acc_services)],
                    impact=1,
                    urgency=1,
                )
                Escalation.objects.filter(incident=incident, state=ClimbState.ACTIVE).update(
                    next_at=parked
                )
    return {
        "channel": channel,
        "keys": keys,
        "accuracy": args.accuracy,
        "accuracy_setup_s": round(time.perf_counter() - started, 1),
        "accuracy_setup_cpu_s": round(time.process_time() - cpu, 1),
    }


def _accuracy_climbs() -> Any:
    from tocsin.escalation.models import Escalation

    return Escalation.objects.filter(incident__title__startswith=ACC_PREFIX)


def schedule(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction

    from tocsin.escalation.models import Escalation

    ids = list(_accuracy_climbs().order_by("pk").values_list("pk", flat=True))
    start = dt.datetime.fromtimestamp(args.start, dt.UTC)
    due: dict[int, float] = {}
    rows = []
    for n, pk in enumerate(ids):
        at = start + dt.timedelta(seconds=args.window * n / max(1, len(ids)))
        due[pk] = at.timestamp()
        rows.append(Escalation(pk=pk, next_at=at))
    with transaction.atomic():
        Escalation.objects.bulk_update(rows, ["next_at"], batch_size=500)
    return {"due": due}


def collect(args: argparse.Namespace) -> dict[str, Any]:
    from tocsin.escalation.models import Escalation, Page
    from tocsin.incidents.models import EntryKind, TimelineEntry

    incident_of = dict(_accuracy_climbs().values_list("pk", "incident_id"))
    climb_of = {v: k for k, v in incident_of.items()}
    fired: dict[int, float] = {}
    for incident_id, created_at, data in TimelineEntry.objects.filter(
        incident_id__in=list(incident_of.values()), kind=EntryKind.PAGE, text__startswith="Paged"
    ).values_list("incident_id", "created_at", "data"):
        climb = (data or {}).get("climb") or climb_of.get(incident_id)
        if climb in incident_of:
            fired[climb] = min(fired.get(climb, created_at.timestamp()), created_at.timestamp())
    pages = Page.objects.filter(escalation_id__in=list(incident_of)).count()
    steps = dict(Escalation.objects.filter(pk__in=list(incident_of)).values_list("pk", "step"))
    return {
        "fired": fired,
        "pages": pages,
        "climbs": len(incident_of),
        "fired_twice": sum(1 for s in steps.values() if s > 1),
    }


def stages(args: argparse.Namespace) -> dict[str, Any]:
    """Where each storm page's time went: for each marker (`bench-b-N`, in the incident's
    title), the epoch seconds at which its inbox row was received and processed, its
    incident created, its page created and its message created and sent."""
    from tocsin.alerts.models import Alert
    from tocsin.escalation.models import Page
    from tocsin.incidents.models import Incident
    from tocsin.notify.models import OutboxMessage

    incidents = {
        pk: (title.split()[0] if title else "", created.timestamp())
        for pk, title, created in Incident.objects.filter(title__contains="bench-b-").values_list(
            "pk", "title", "reported_at"
        )
    }
    seen = dict(
        Alert.objects.filter(incident_id__in=list(incidents)).values_list(
            "incident_id", "first_seen_at"
        )
    )
    paged: dict[int, float] = {}
    for incident_id, created in Page.objects.filter(incident_id__in=list(incidents)).values_list(
        "incident_id", "created_at"
    ):
        paged[incident_id] = min(paged.get(incident_id, created.timestamp()), created.timestamp())
    queued: dict[int, float] = {}
    sent: dict[int, float] = {}
    for incident_id, created, sent_at in OutboxMessage.objects.filter(
        incident_id__in=list(incidents)
    ).values_list("incident_id", "created_at", "sent_at"):
        queued[incident_id] = min(queued.get(incident_id, created.timestamp()), created.timestamp())
        if sent_at is not None:
            sent[incident_id] = min(sent.get(incident_id, sent_at.timestamp()), sent_at.timestamp())
    out: dict[str, dict[str, float | None]] = {}
    for pk, (marker, created) in incidents.items():
        at = seen.get(pk)
        out[marker] = {
            "alert": at.timestamp() if at is not None else None,
            "incident": created,
            "page": paged.get(pk),
            "queued": queued.get(pk),
            "sent": sent.get(pk),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("setup")
    one.add_argument("--receiver", required=True, help="http://127.0.0.1:PORT")
    one.add_argument("--channel", choices=("auto", "webhook", "email"), default="auto")
    one.add_argument("--storm-services", type=int, default=50)
    one.add_argument("--accuracy", type=int, default=10_000)
    one.add_argument("--accuracy-services", type=int, default=20)
    two = commands.add_parser("schedule")
    two.add_argument("--start", type=float, required=True)
    two.add_argument("--window", type=float, required=True)
    commands.add_parser("collect")
    commands.add_parser("stages")
    args = parser.parse_args()
    _setup_django()
    commands_of = {"setup": setup, "schedule": schedule, "collect": collect, "stages": stages}
    result = commands_of[args.command](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
