"""Stakeholder updates name the service as the public knows it (issue 11, point 6): the
built-in templates use {public_service} (the status page's component for the service,
else the service's name), since their text also goes to outside addresses; the internal
service name stays available as {service}. Migration comms 0008 moves an existing
installation's templates over only where their text is still the seeded one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.comms.updates_helpers import SETUP, incident_with_secrets, person, seeded, signed_in
from tocsin.accounts.models import Role
from tocsin.catalog.models import Service
from tocsin.comms import statuspage, updates
from tocsin.comms.models import UpdateTemplate
from tocsin.notify.models import OutboxMessage

INTERNAL = "pay-gw-prod-eu1"


@pytest.fixture
def world(db: None, api: Any) -> dict[str, Any]:
    seeded()
    ines = person("ines")
    rita = person("rita", role=Role.REPORTER)
    service = Service.objects.create(name=INTERNAL)
    return {"ines": ines, "rita": rita, "service": service, "ines_api": api(ines)}


def _component(name: str, service: Service, **kwargs: Any) -> Any:
    return statuspage.component_create(actor=SETUP, name=name, services=[service], **kwargs)


@pytest.mark.django_db
def test_the_built_in_templates_reach_outside_addresses_with_the_public_name(world) -> None:
    _component("Zz legacy payments", world["service"], showcase=False)
    _component("Card payments", world["service"])
    incident = incident_with_secrets(world["rita"], world["service"])
    staff = world["ines_api"]
    url = f"/api/v1/incidents/{incident.ref}"
    assert staff.post(url + "/subscribers", {"email": "cfo@customer.example"}).status_code == 201
    # the incident page offers the Investigating template, filled in with the public name
    page = signed_in(world["ines"]).get(f"/incidents/{incident.ref}/").content.decode()
    assert "We are investigating a problem affecting Card payments" in page
    # every built-in template uses the public name; the API lists the variable
    templates = staff.get("/api/v1/update-templates").json()
    assert "public_service" in templates["variables"] and "service" in templates["variables"]
    for template in templates["items"]:
        assert "{public_service}" in template["body"] and "{service}" not in template["body"]
    investigating = templates["items"][0]
    reply = staff.post(
        url + "/updates",
        {"status": "investigating", "body": investigating["body"], "template": investigating["id"]},
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["body"].startswith("We are investigating a problem affecting Card payments")
    [outside] = OutboxMessage.objects.filter(
        purpose=updates.PURPOSE, recipient="cfo@customer.example"
    )
    assert "Card payments" in outside.body and INTERNAL not in outside.body + outside.subject
    # the internal name is still there for a team's own text
    reply = staff.post(
        url + "/updates", {"status": "identified", "body": "{service}: {public_service}"}
    )
    assert reply.json()["body"] == f"{INTERNAL}: Card payments"


@pytest.mark.django_db
def test_without_a_component_the_service_name_and_without_a_service_our_services(world) -> None:
    mapped = incident_with_secrets(world["rita"], world["service"])
    assert updates.variables_for(mapped, None)["public_service"] == INTERNAL
    archived = _component("Payments", world["service"])
    statuspage.component_archive(actor=SETUP, component=archived)
    assert updates.variables_for(mapped, None)["public_service"] == INTERNAL
    unmapped = incident_with_secrets(world["rita"], None)
    assert updates.variables_for(unmapped, None)["public_service"] == "our services"


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_only_the_unchanged_seeded_templates() -> None:
    seeded()
    before = [("comms", "0007_status_subscriber_secret")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        # as an installation that had the first seeded texts, one of them since edited
        assert all(
            "{service}" in body and "{public_service}" not in body
            for body in UpdateTemplate.objects.values_list("body", flat=True)
        )
        edited = "Resolved: {service} works again (edited by us)."
        UpdateTemplate.objects.filter(name="Resolved").update(body=edited)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    bodies = dict(UpdateTemplate.objects.values_list("name", "body"))
    assert bodies["Resolved"] == edited
    for name in ("Investigating", "Identified", "Monitoring"):
        assert "{public_service}" in bodies[name] and "{service}" not in bodies[name], name
