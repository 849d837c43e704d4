"""Stored secrets: HKDF-derived key, rotation through SECRET_KEY_FALLBACKS."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tocsin.catalog.models import Integration, IntegrationKind
from tocsin.catalog.services import integration_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.crypto import decrypt, encrypt

OLD = "old-secret-key-" + "x" * 40
NEW = "new-secret-key-" + "y" * 40


def _legacy_encrypt(secret_key: str, plain: str) -> str:
    """What versions before HKDF stored: Fernet keyed by a plain HMAC of the secret key."""
    digest = hmac.new(secret_key.encode(), b"tocsin:stored-secrets:v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest)).encrypt(plain.encode()).decode()


def _plain_hmac_key(secret_key: str) -> Fernet:
    digest = hmac.new(secret_key.encode(), b"tocsin:stored-secrets:v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def test_new_secrets_are_not_encrypted_with_the_plain_hmac_key() -> None:
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        token = encrypt("hunter2")
        assert decrypt(token) == "hunter2"
    with pytest.raises(Exception):  # noqa: B017 - the old derivation must not open it
        _plain_hmac_key(NEW).decrypt(token.encode())


def test_secrets_stored_before_hkdf_still_decrypt() -> None:
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert decrypt(_legacy_encrypt(NEW, "from-v1")) == "from-v1"


def test_a_rotated_key_keeps_old_secrets_readable_through_the_fallbacks() -> None:
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        token = encrypt("grafana-hmac")
    with (
        override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(ValueError, match="TOCSIN_SECRET_KEY_FALLBACKS"),
    ):
        decrypt(token)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert decrypt(token) == "grafana-hmac"


@pytest.mark.django_db
def test_rotate_secrets_rewrites_stored_secrets_under_the_new_key() -> None:
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        service = service_create(name="Payments", actor=Actor.system("test setup"))
        integration, _key = integration_create(
            service=service,
            kind=IntegrationKind.GRAFANA,
            name="grafana",
            secret="s3cret",
            actor=Actor.system("test setup"),
        )
        legacy, _ = integration_create(
            service=service,
            kind=IntegrationKind.GRAFANA,
            name="grafana-old",
            secret="x",
            actor=Actor.system("test setup"),
        )
    Integration.objects.filter(pk=legacy.pk).update(
        secret_encrypted=_legacy_encrypt(OLD, "very-old")
    )
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        call_command("rotate_secrets")
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        integration.refresh_from_db()
        legacy.refresh_from_db()
        assert decrypt(integration.secret_encrypted) == "s3cret"
        assert decrypt(legacy.secret_encrypted) == "very-old"


@pytest.mark.django_db
def test_rotate_secrets_fails_naming_the_secrets_no_key_opens() -> None:
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        service = service_create(name="Search", actor=Actor.system("test setup"))
        integration_create(
            service=service,
            kind=IntegrationKind.GRAFANA,
            name="g",
            secret="s",
            actor=Actor.system("test setup"),
        )
    with (
        override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(CommandError, match="1 stored secrets open with none"),
    ):
        call_command("rotate_secrets")
