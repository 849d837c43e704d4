"""Helpers for the web UI tests: signed-in clients, a small catalogue, page text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import category_create, service_create


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
    network = category_create(name="Network")
    application = category_create(name="Application")
    return {
        "vpn_service": service_create(name="VPN"),
        "mail_service": service_create(name="Email"),
        "network": network,
        "vpn": category_create(name="VPN", parent=network),
        "wifi": category_create(name="Wi-Fi", parent=network),
        "application": application,
        "login": category_create(name="Login", parent=application),
        "team": team_create(name="Network team"),
        "desk": team_create(name="Service Desk"),
    }
