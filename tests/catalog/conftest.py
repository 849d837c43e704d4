"""Helpers for the catalog tests: API clients of every role and a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor


@pytest.fixture
def client_for(make_user: Callable[..., User]) -> Callable[[str], ApiClient]:
    def make(role: str) -> ApiClient:
        return ApiClient(make_user(role))

    return make


@pytest.fixture
def service(db: Any) -> Service:
    return service_create(name="Checkout", actor=Actor.system("test setup"))
