"""Alerts made directly in the database (the engine is tested elsewhere), API clients."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import User
from tocsin.alerts.models import Alert
from tocsin.catalog.models import Integration, Service
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now

_keys = itertools.count(1)


@pytest.fixture
def client_for(make_user: Callable[..., User]) -> Callable[[str], ApiClient]:
    def make(role: str) -> ApiClient:
        return ApiClient(make_user(role))

    return make


@pytest.fixture
def service(db: Any) -> Service:
    return service_create(name="Checkout", actor=Actor.system("test setup"))


@pytest.fixture
def integration(service: Service) -> Integration:
    return integration_create(
        service=service, kind="alertmanager", name="Prometheus", actor=Actor.system("test setup")
    )[0]


@pytest.fixture
def make_alert(integration: Integration) -> Callable[..., Alert]:
    def make(**fields: Any) -> Alert:
        source = fields.pop("integration", integration)
        at = fields.pop("at", now())
        values: dict[str, Any] = {
            "integration": source,
            "service": source.service,
            "dedup_key": f"key-{next(_keys)}",
            "summary": "Disk full on db1",
            "severity": "critical",
            "started_at": at,
            "first_seen_at": at,
            "last_seen_at": at,
        }
        values.update(fields)
        return Alert.objects.create(**values)

    return make
