"""Apps above the catalog take part in its work through catalog.hooks: a hook runs inside
the integration service's transaction, so when it fails the change is undone."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.alerts.models import Heartbeat
from tocsin.catalog import hooks
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_setup, integration_update
from tocsin.core.actors import Actor

SETUP = Actor.system("test setup")


class Boom(Exception):
    pass


def _boom(integration: Integration) -> None:
    raise Boom(integration.name)


def test_a_failing_hook_undoes_the_new_integration(service: Service, monkeypatch: Any) -> None:
    monkeypatch.setattr(hooks, "_integration_changed", [*hooks._integration_changed, _boom])
    with pytest.raises(Boom):
        integration_setup(
            service=service,
            kind="heartbeat",
            name="Cron",
            options={"interval_seconds": 300},
            actor=SETUP,
        )
    # alerts' heartbeat hook ran first, in the same transaction: undone with it
    assert not Integration.objects.exists()
    assert not Heartbeat.objects.exists()


def test_a_failing_hook_undoes_the_option_change(service: Service, monkeypatch: Any) -> None:
    integration, _ = integration_setup(
        service=service,
        kind="heartbeat",
        name="Cron",
        options={"interval_seconds": 300},
        actor=SETUP,
    )
    monkeypatch.setattr(hooks, "_integration_changed", [*hooks._integration_changed, _boom])
    with pytest.raises(Boom):
        integration_update(integration=integration, options={"interval_seconds": 600}, actor=SETUP)
    integration.refresh_from_db()
    assert integration.options["interval_seconds"] == 300
    assert Heartbeat.objects.get(integration=integration).interval_seconds == 300


def test_alerts_registers_its_hooks_once(service: Service) -> None:
    from tocsin.alerts.apps import _register_catalog_hooks
    from tocsin.alerts.heartbeats import heartbeat_sync

    before = (list(hooks._integration_changed), list(hooks._service_page_parts))
    _register_catalog_hooks()  # a second ready() adds nothing
    assert (list(hooks._integration_changed), list(hooks._service_page_parts)) == before
    assert hooks._integration_changed.count(heartbeat_sync) == 1
