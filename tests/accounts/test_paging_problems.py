"""Who cannot be paged, or has a method that failed: flagged on the person, their
schedules and the policy editor (all read accounts.selectors.paging_problems)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tocsin.accounts.models import ContactMethod, Role, User
from tocsin.accounts.selectors import paging_problems
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor

SETUP = Actor.system("test setup")
pytestmark = pytest.mark.django_db


def test_no_method_some_failed_and_all_failed(make_user: Callable[..., User]) -> None:
    none, some, all_, fine = (make_user(Role.RESPONDER) for _ in range(4))
    for person in (some, all_, fine):
        contact_method_add(user=person, kind="email", address=person.email, actor=SETUP)
        contact_method_add(
            user=person, kind="sms", address="+441632960001", label="Work phone", actor=SETUP
        )
    ContactMethod.objects.filter(user=some, kind="sms").update(last_delivery_ok=False)
    ContactMethod.objects.filter(user=all_).update(last_delivery_ok=False)
    ContactMethod.objects.filter(user=fine).update(last_delivery_ok=True)
    assert paging_problems([none, some, all_, fine]) == {
        none.pk: "no working high-urgency contact method",
        some.pk: "SMS (Work phone) failed its last delivery",
        all_.pk: "every high-urgency contact method failed its last delivery",
    }
