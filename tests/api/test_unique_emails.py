"""Issue 7 (20): two people could share one email address (and email intake then picked
one of them arbitrarily). Now an address belongs to one person, whatever its case."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps as django_apps
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.operations import AddConstraint, RunPython

from tests.conftest import ApiClient
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import user_create, user_update
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid

Clients = Callable[[str], ApiClient]


def test_the_api_refuses_a_second_person_with_the_same_address(client_for: Clients) -> None:
    admin = client_for(Role.ADMIN)
    first = admin.post("/api/v1/users", {"username": "kenji", "email": "kenji@example.com"})
    assert first.status_code == 201, first.content
    for address in ("kenji@example.com", "Kenji@Example.COM"):
        again = admin.post("/api/v1/users", {"username": "kenji2", "email": address})
        assert again.status_code == 422, address
        [error] = again.json()["detail"]
        assert error["loc"] == ["body", "email"]
        assert "already has this email address" in error["msg"]
    other = admin.post("/api/v1/users", {"username": "mei", "email": "mei@example.com"})
    assert other.status_code == 201
    taken = admin.patch("/api/v1/users/mei", {"email": "KENJI@example.com"})
    assert taken.status_code == 422
    assert taken.json()["detail"][0]["loc"] == ["body", "email"]
    assert User.objects.get(username="mei").email == "mei@example.com"
    # Changing only the case of one's own address is no conflict.
    assert admin.patch("/api/v1/users/kenji", {"email": "KENJI@example.com"}).status_code == 200


@pytest.mark.django_db
def test_the_services_refuse_it_too() -> None:
    user_create(username="ana", email="ana@example.com", actor=Actor.system("test setup"))
    with pytest.raises(Invalid) as caught:
        user_create(username="ana2", email="ANA@example.com", actor=Actor.system("test setup"))
    assert caught.value.field == "email"
    bob = user_create(username="bob", email="bob@example.com", actor=Actor.system("test setup"))
    with pytest.raises(Invalid):
        user_update(user=bob, email="Ana@Example.com", actor=Actor.system("test setup"))


@pytest.mark.django_db
def test_the_database_refuses_it_when_the_services_are_bypassed() -> None:
    from django.db import IntegrityError, transaction

    User.objects.create(username="one", email="same@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="two", email="SAME@example.com")
    # Accounts without an address (made outside the services) may be several.
    User.objects.create(username="three", email="")
    User.objects.create(username="four", email="")


@pytest.mark.django_db
def test_the_migration_stops_clearly_when_people_share_an_address() -> None:
    """A database where two people share an address (made before the constraint existed)
    cannot be migrated: the migration's first step refuses, naming address and people,
    before the constraint is added. (Migrating the real database back to accounts 0001
    and forward again did this through `migrate`, but that unapplies every app's
    migrations: 24 s of CPU a pass; here the constraint is dropped inside the test's
    transaction, which rolls it back.)"""
    migration = importlib.import_module("tocsin.accounts.migrations.0002_user_email_unique_ci")
    first, second = migration.Migration.operations
    assert isinstance(first, RunPython) and first.code is migration.refuse_duplicates
    assert isinstance(second, AddConstraint)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {second.constraint.name}")
    User.objects.create(username="dana", email="dana@example.org", password="!")
    User.objects.create(username="dana2", email="DANA@example.org", password="!")
    User.objects.create(username="erin", email="erin@example.org", password="!")
    with pytest.raises(CommandError) as caught:
        migration.refuse_duplicates(django_apps, None)
    assert "dana@example.org (dana, dana2)" in str(caught.value)
    assert "erin" not in str(caught.value)
    User.objects.filter(username="dana2").update(email="dana2@example.org")
    migration.refuse_duplicates(django_apps, None)  # one address each: it goes on
