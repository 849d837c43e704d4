"""Helpers for the web UI tests: signed-in clients, a small catalogue, page text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor


@pytest.fixture(autouse=True)
def _fast_passwords_and_files(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def browse() -> Callable[[User | None], Client]:
    """A test client signed in as `user` (or anonymous for None)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    network = category_create(name="Network", actor=Actor.system("test setup"))
    application = category_create(name="Application", actor=Actor.system("test setup"))
    return {
        "vpn_service": service_create(name="VPN", actor=Actor.system("test setup")),
        "mail_service": service_create(name="Email", actor=Actor.system("test setup")),
        "network": network,
        "vpn": category_create(name="VPN", parent=network, actor=Actor.system("test setup")),
        "wifi": category_create(name="Wi-Fi", parent=network, actor=Actor.system("test setup")),
        "application": application,
        "login": category_create(
            name="Login", parent=application, actor=Actor.system("test setup")
        ),
        "team": team_create(name="Network team", actor=Actor.system("test setup")),
        "desk": team_create(name="Service Desk", actor=Actor.system("test setup")),
    }
