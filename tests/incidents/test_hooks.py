"""Incidents import no other app: alerts react to a resolve or a merge, and add the
incident page's alerts table, through `tocsin.incidents.hooks`, registered at start-up
(alerts/apps.py) and run inside the incident's own transaction."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.engine.helpers import make_integration, make_service
from tests.incidents.helpers import bring_to, snapshot
from tocsin.accounts.models import User
from tocsin.alerts.models import Alert
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents import hooks
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_merge, incident_resolve
from tocsin.notify.models import OutboxMessage

INCIDENTS = Path(__file__).resolve().parents[2] / "src" / "tocsin" / "incidents"


class Boom(Exception):
    pass


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_incidents_app_imports_nothing_from_alerts() -> None:
    offenders = {
        str(path.relative_to(INCIDENTS)): sorted(
            name for name in imported_modules(path) if name.split(".")[:2] == ["tocsin", "alerts"]
        )
        for path in INCIDENTS.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_alerts_app_registers_its_hooks_once() -> None:
    from django.apps import apps

    from tocsin.alerts.apps import incident_alerts_section
    from tocsin.alerts.services import alerts_follow_merge, alerts_resolve_for_incident

    apps.get_app_config("alerts").ready()  # a second ready() adds nothing
    assert hooks.on_resolved.count(alerts_resolve_for_incident) == 1
    assert hooks.on_merged.count(alerts_follow_merge) == 1
    assert hooks.incident_page_sections.count(incident_alerts_section) == 1


@pytest.fixture
def alert_on(db: None) -> Callable[[Incident], Alert]:
    service = make_service("Checkout")
    integration = make_integration(service, "pagerduty", "PD")

    def make(incident: Incident) -> Alert:
        at = now()
        return Alert.objects.create(
            integration=integration,
            service=service,
            dedup_key=f"key-{incident.pk}-{Alert.objects.count()}",
            summary="Disk full on db1",
            started_at=at,
            first_seen_at=at,
            last_seen_at=at,
            incident=incident,
        )

    return make


@pytest.fixture
def raising(request: pytest.FixtureRequest) -> Iterator[Callable[[list[Any]], list[Any]]]:
    """Append a hook that raises to a hook list, for this test only."""
    added: list[tuple[list[Any], Any]] = []

    def add(to: list[Any]) -> list[Any]:
        calls: list[Any] = []

        def hook(**kwargs: Any) -> None:
            calls.append(kwargs)
            raise Boom("a hook failed")

        to.append(hook)
        added.append((to, hook))
        return calls

    yield add
    for to, hook in added:
        to.remove(hook)


def resolve(incident: Incident, user: User) -> Incident:
    return incident_resolve(
        incident=incident,
        actor=Actor.for_user(user),
        resolution_code="fixed",
        resolution_notes="freed disk space",
    )


def test_resolving_an_incident_resolves_its_open_alerts(
    agent: User, reporter: User, make_incident: Callable[..., Incident], alert_on: Any
) -> None:
    incident = bring_to(make_incident(reporter), "in_progress", agent)
    alerts = [alert_on(incident), alert_on(incident)]
    resolve(incident, agent)
    assert [Alert.objects.get(pk=a.pk).status for a in alerts] == ["resolved", "resolved"]
    assert incident.timeline.filter(
        kind=EntryKind.NOTE, text="2 open alerts resolved with the incident"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_resolve_hook_rolls_the_resolve_back(
    agent: User,
    reporter: User,
    make_incident: Callable[..., Incident],
    alert_on: Any,
    raising: Any,
) -> None:
    incident = bring_to(make_incident(reporter), "in_progress", agent)
    alert = alert_on(incident)
    before = snapshot(incident)
    entries, messages = TimelineEntry.objects.count(), OutboxMessage.objects.count()
    calls = raising(hooks.on_resolved)
    with pytest.raises(Boom):
        resolve(incident, agent)
    # The hook ran after the alerts' own hook, inside the resolve's transaction...
    assert [c["incident"].status for c in calls] == ["resolved"]
    # ...and nothing of the resolve survived: status, timeline, mail, the alert.
    assert snapshot(incident) == before
    assert Incident.objects.get(pk=incident.pk).status == "in_progress"
    assert TimelineEntry.objects.count() == entries
    assert OutboxMessage.objects.count() == messages
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


@pytest.mark.django_db(transaction=True)
def test_a_failing_merge_hook_rolls_the_merge_back(
    agent: User,
    reporter: User,
    make_incident: Callable[..., Incident],
    alert_on: Any,
    raising: Any,
) -> None:
    duplicate, original = make_incident(reporter), make_incident(reporter)
    alert = alert_on(duplicate)
    before = (snapshot(duplicate), snapshot(original))
    calls = raising(hooks.on_merged)
    with pytest.raises(Boom):
        incident_merge(incident=duplicate, into=original, actor=Actor.for_user(agent))
    assert [(c["incident"].pk, c["into"].pk) for c in calls] == [(duplicate.pk, original.pk)]
    assert (snapshot(duplicate), snapshot(original)) == before
    assert Alert.objects.get(pk=alert.pk).incident_id == duplicate.pk


def test_merging_moves_the_duplicates_open_alerts_to_the_original(
    agent: User, reporter: User, make_incident: Callable[..., Incident], alert_on: Any
) -> None:
    duplicate, original = make_incident(reporter), make_incident(reporter)
    alert = alert_on(duplicate)
    incident_merge(incident=duplicate, into=original, actor=Actor.for_user(agent))
    assert Alert.objects.get(pk=alert.pk).incident_id == original.pk
