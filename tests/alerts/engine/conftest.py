from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine

from tocsin.catalog.models import Integration, Service

from .helpers import make_integration, make_service

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The clock stands still at START until the test moves it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def service(db: None) -> Service:
    return make_service("Checkout")


@pytest.fixture
def pd(service: Service) -> Integration:
    return make_integration(service, "pagerduty", "PD one")


@pytest.fixture
def pd2(service: Service) -> Integration:
    return make_integration(service, "pagerduty", "PD two")


@pytest.fixture
def am(service: Service) -> Integration:
    return make_integration(service, "alertmanager", "Prometheus")
