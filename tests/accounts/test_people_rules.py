"""Rules for people: the last administrator, addressable usernames."""

from __future__ import annotations

import pytest

from tocsin.accounts.models import Role
from tocsin.accounts.services import user_create, user_update
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db


def test_the_last_administrator_cannot_be_demoted_or_deactivated(admin) -> None:
    with pytest.raises(Conflict):
        user_update(user=admin, role=Role.REPORTER, actor=Actor.system("test setup"))
    with pytest.raises(Conflict):
        user_update(user=admin, is_active=False, actor=Actor.system("test setup"))
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active
    user_create(
        username="second", email="s@example.com", role=Role.ADMIN, actor=Actor.system("test setup")
    )
    user_update(
        user=admin, role=Role.MANAGER, actor=Actor.system("test setup")
    )  # now someone else holds the keys


@pytest.mark.parametrize("username", ["bad name!", "a\x01b", ""])
def test_usernames_must_be_addressable(username) -> None:
    with pytest.raises(Invalid) as caught:
        user_create(username=username, email="x@example.com", actor=Actor.system("test setup"))
    assert caught.value.field == "username"
