"""Contact methods (paging, issue 10): addresses checked per kind, secrets encrypted."""

from __future__ import annotations

import pytest
from django.db import connection

from tocsin.accounts.models import ContactMethod
from tocsin.accounts.services import (
    contact_address,
    contact_address_masked,
    contact_method_add,
    contact_method_remove,
)
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid
from tocsin.core.models import AuditEntry
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import contact_method_test

pytestmark = pytest.mark.django_db

GOOD = [
    ("email", "pat@example.com"),
    ("sms", "+44 1632 960000"),
    ("voice", "+14155550100"),
    ("slack", "https://hooks.slack.com/services/T0/B0/xyz"),
    ("teams", "https://example.webhook.office.com/webhookb2/abc"),
    ("ntfy", "https://ntfy.sh/tocsin-pat"),
    ("webhook", "https://hooks.example.com/page?token=s3cret"),
    ("apprise", "pover://user@token"),
]
BAD = [
    ("email", "not-an-address"),
    ("sms", "01632 960000"),
    ("voice", "+0123"),
    ("slack", "ftp://hooks.slack.com/x"),
    ("teams", "not a url"),
    ("ntfy", "https://ntfy.sh/"),
    ("webhook", "javascript:alert(1)"),
    ("apprise", "no scheme here"),
    ("apprise", "pover://" + "x" * 2001),
    ("email", ""),
]


@pytest.mark.parametrize(("kind", "address"), GOOD)
def test_a_good_address_is_kept_for_each_kind(responder, kind: str, address: str) -> None:
    method = contact_method_add(
        user=responder, kind=kind, address=address, label="mine", actor=Actor.for_user(responder)
    )
    assert method.kind == kind
    assert contact_address(method) == address.replace(" ", "")


@pytest.mark.parametrize(("kind", "address"), BAD)
def test_a_bad_address_names_the_field_and_adds_nothing(responder, kind: str, address: str) -> None:
    with pytest.raises(Invalid) as caught:
        contact_method_add(
            user=responder, kind=kind, address=address, actor=Actor.for_user(responder)
        )
    assert caught.value.field == "address"
    assert not ContactMethod.objects.exists()


def test_an_unknown_kind_or_a_long_label_is_refused(responder) -> None:
    actor = Actor.for_user(responder)
    with pytest.raises(Invalid) as caught:
        contact_method_add(user=responder, kind="pigeon", address="x", actor=actor)
    assert caught.value.field == "kind"
    with pytest.raises(Invalid) as caught:
        contact_method_add(
            user=responder, kind="email", address="a@example.com", label="x" * 101, actor=actor
        )
    assert caught.value.field == "label"
    assert not ContactMethod.objects.exists()


@pytest.mark.parametrize("kind", ["webhook", "apprise"])
def test_secret_addresses_are_encrypted_at_rest_and_masked(responder, kind: str) -> None:
    address = dict(GOOD)[kind]
    method = contact_method_add(
        user=responder, kind=kind, address=address, actor=Actor.for_user(responder)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM accounts_contactmethod WHERE id = %s", [method.pk])
        (stored,) = cursor.fetchone()
    assert address not in stored and "s3cret" not in stored and "token" not in stored
    assert contact_address(method) == address
    masked = contact_address_masked(method)
    assert masked.endswith("…") and "s3cret" not in masked and "token" not in masked


def test_remove_disables_keeps_the_row_and_is_audited(responder) -> None:
    actor = Actor.for_user(responder)
    method = contact_method_add(user=responder, kind="email", address="p@example.com", actor=actor)
    contact_method_remove(method=method, actor=actor)
    contact_method_remove(method=method, actor=actor)  # again: nothing more
    method.refresh_from_db()
    assert method.disabled_at is not None
    actions = list(
        AuditEntry.objects.filter(
            object_id=str(method.pk), action__startswith="contact_method"
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == ["contact_method.add", "contact_method.remove"]
    with pytest.raises(Conflict):
        contact_method_test(method=method, actor=actor)


def test_a_test_message_queues_exactly_one_outbox_row(responder) -> None:
    actor = Actor.for_user(responder)
    method = contact_method_add(
        user=responder, kind="webhook", address=dict(GOOD)["webhook"], actor=actor
    )
    contact_method_test(method=method, actor=actor)
    (row,) = OutboxMessage.objects.all()
    assert row.person_id == responder.pk and row.contact_method_id == method.pk
    # the secret URL is read from the method at send time, never copied into the outbox
    assert row.channel == "webhook" and row.recipient == ""
    assert AuditEntry.objects.filter(
        action="contact_method.test", object_id=str(method.pk)
    ).exists()
