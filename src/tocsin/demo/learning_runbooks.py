"""The demo organisation's runbooks (docs/runbooks.md): one for each main service, one for
a category, and a run half done on the newest open incident of a service that has one.

Every step is manual: an automated step's URL would point nowhere real in the demo (an
administrator adds the URLs of their own diagnostics endpoints). The VPN runbook runs
on open, so a new VPN incident filed in the demo shows a run at once.
"""

from __future__ import annotations

import datetime as dt

from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.incidents.models import OPEN_STATUSES, Incident
from tocsin.learning import runbooks
from tocsin.learning.runbooks import StepSpec

ACTOR = Actor.system("demo")

# name, service (or None), category (or None), run on open, description, steps
RUNBOOKS: list[tuple[str, str | None, str | None, bool, str, list[StepSpec]]] = [
    (
        "Mail not delivered",
        "Email",
        None,
        False,
        "When mail to or from outside the company stops or is **delayed**.",
        [
            StepSpec("Check the relay queue", "`postqueue -p | tail -1` on the relay: how many?"),
            StepSpec(
                "Look for a blocklisting", "Search the relay's address on a blocklist checker."
            ),
            StepSpec("Test delivery", "Send a message to an outside mailbox and time it."),
            StepSpec("Post a status update", "Say which mail is affected and what to expect."),
        ],
    ),
    (
        "VPN: people cannot connect",
        "VPN",
        None,
        True,
        "Started by itself on every VPN incident.",
        [
            StepSpec("Check the gateway dashboard", "Tunnels up, CPU and licence count."),
            StepSpec("Check the certificate", "Has the gateway's certificate expired?"),
            StepSpec("Reproduce from outside", "Connect from a phone hotspot with a test account."),
            StepSpec("Fail over to the second gateway", "Only with the network lead's go-ahead."),
        ],
    ),
    (
        "Customer portal down or slow",
        "Customer portal",
        None,
        False,
        "For errors or slowness on portal.example.com.",
        [
            StepSpec("Open the error-rate panel", "Which pages fail, since when?"),
            StepSpec(
                "Check the last deployment", "Roll back if it matches the start of the errors."
            ),
            StepSpec("Check the database connections", "Pool exhausted? Long-running queries?"),
            StepSpec("Update the status page", "Customers see it: keep it short and factual."),
            StepSpec("Confirm recovery", "Error rate back to normal for 15 minutes."),
        ],
    ),
    (
        "Sign-in failures",
        "Single sign-on",
        None,
        False,
        "When people cannot sign in or MFA prompts do not arrive.",
        [
            StepSpec("Check the identity provider's status", "And its certificate expiry dates."),
            StepSpec("Check the MFA push provider", "Are prompts delivered? Try a test account."),
            StepSpec("Tell the service desk", "So they can answer callers with one message."),
        ],
    ),
    (
        "Password reset requests",
        None,
        "Access",
        False,
        "The service desk's checklist for a password reset.",
        [
            StepSpec("Verify the caller", "Call back on the number in the directory."),
            StepSpec("Reset and set must-change", "Never read a password out over the phone."),
            StepSpec("Note it on the incident", "Who was verified and how."),
        ],
    ),
]


def write_runbooks(end: dt.datetime) -> None:
    made: dict[str, int] = {}
    with travel(end - dt.timedelta(days=30)):
        for name, service_name, category_name, on_open, description, steps in RUNBOOKS:
            service = Service.objects.filter(name=service_name).first() if service_name else None
            category = (
                Category.objects.filter(name=category_name, parent__isnull=True).first()
                if category_name
                else None
            )
            if (service_name and service is None) or (category_name and category is None):
                continue
            runbook = runbooks.runbook_create(
                actor=ACTOR,
                name=name,
                description=description,
                service=service,
                category=category,
                run_on_open=on_open,
                steps=steps,
            )
            made[name] = runbook.pk
    # a run half done on the newest open incident of a service with a runbook
    with_runbook = [s for _, s, _, _, _, _ in RUNBOOKS if s]
    incident = (
        Incident.objects.filter(
            status__in=OPEN_STATUSES,
            service__name__in=with_runbook,
            assignee__isnull=False,
        )
        .select_related("service", "assignee")
        .order_by("-number")
        .first()
    )
    if incident is None or incident.assignee is None or incident.service is None:
        return
    runbook_id = next(
        (made[n] for n, s, _, _, _, _ in RUNBOOKS if s == incident.service.name and n in made),
        None,
    )
    if runbook_id is None:
        return
    actor = Actor.for_user(incident.assignee)
    from tocsin.learning.models import Runbook

    runbook = Runbook.objects.get(pk=runbook_id)
    if runbook.runs.filter(incident=incident).exists():
        run = runbook.runs.get(incident=incident)
    else:
        with travel(end - dt.timedelta(minutes=25)):
            run = runbooks.run_start(incident=incident, runbook=runbook, actor=actor)
    for minutes, position in ((18, 1), (9, 2)):
        with travel(end - dt.timedelta(minutes=minutes)):
            runbooks.run_step_set(run=run, position=position, done=True, actor=actor)
