"""Contact methods by API (`/api/v1/users/{username}/contact-methods`, issue 10): one's own
as staff, anyone's as an administrator, 404 for everyone else; addresses checked per kind
(422 naming the field); removal disables; a test message goes to the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import ContactMethod
from tocsin.accounts.services import contact_address, contact_method_add, contact_method_remove
from tocsin.core.actors import Actor
from tocsin.core.models import AuditEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/{}/contact-methods"


def fields(response: Any) -> list[str]:
    """The field each 422 error names (the last element of its loc)."""
    assert response.status_code == 422, response.content
    return [str(error["loc"][-1]) for error in response.json()["detail"]]


def delete(client: Any, path: str) -> Any:
    return client.client.delete(path, headers=client._headers(None))


def a_method(user: Any, kind: str = "email", address: str = "", **kwargs: Any) -> ContactMethod:
    return contact_method_add(
        user=user,
        kind=kind,
        address=address or f"{user.username}@example.com",
        actor=Actor.system("test setup"),
        **kwargs,
    )


def test_staff_add_list_and_read_their_own_methods(api, responder) -> None:
    client = api(responder)
    made = client.post(
        URL.format("rob"), {"kind": "sms", "address": "+44 1632 960000", "label": "Work phone"}
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["kind"] == "sms"
    assert body["address"] == "+441632960000"
    assert body["label"] == "Work phone"
    assert body["disabled"] is False
    assert body["last_delivery_ok"] is None and body["last_delivery_at"] is None
    assert body["last_error"] == ""
    assert set(body) == {
        "id",
        "kind",
        "address",
        "label",
        "created_at",
        "last_delivery_at",
        "last_delivery_ok",
        "last_error",
        "disabled",
    }
    listed = client.get(URL.format("rob")).json()
    assert listed["count"] == 1 and [m["id"] for m in listed["items"]] == [body["id"]]
    one = client.get(f"{URL.format('rob')}/{body['id']}")
    assert one.status_code == 200 and one.json() == body
    assert AuditEntry.objects.filter(action="contact_method.add").count() == 1


def test_secret_addresses_are_masked_in_every_reply(api, responder) -> None:
    client = api(responder)
    secret = "https://hooks.example.com/page?token=s3cret"
    made = client.post(URL.format("rob"), {"kind": "webhook", "address": secret})
    assert made.status_code == 201
    assert made.json()["address"] == "https://hooks.example.com/…"
    assert "s3cret" not in client.get(URL.format("rob")).content.decode()
    stored = ContactMethod.objects.get()
    assert "s3cret" not in stored.address and contact_address(stored) == secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "sms", "address": "01632 960000"}, "address"),
        ({"kind": "email", "address": "not-an-address"}, "address"),
        ({"kind": "webhook", "address": "javascript:alert(1)"}, "address"),
        ({"kind": "pigeon", "address": "coop 4"}, "kind"),
        ({"kind": "email", "address": ""}, "address"),
        ({"kind": "email", "address": "a@example.com", "label": "x" * 101}, "label"),
        ({"kind": "email"}, "address"),
        ({"kind": "email", "address": "a@example.com", "colour": "red"}, "colour"),
        ({"kind": "email", "address": "a\x00@example.com"}, "address"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_adds_nothing(
    api, responder, body: dict[str, Any], field: str
) -> None:
    assert field in fields(api(responder).post(URL.format("rob"), body))
    assert not ContactMethod.objects.exists()


def test_malformed_json_is_a_400(api, responder) -> None:
    client = api(responder)
    response = client.client.post(
        URL.format("rob"), "{nope", content_type="application/json", headers=client._headers(None)
    )
    assert response.status_code == 400
    assert not ContactMethod.objects.exists()


def test_delete_disables_and_is_idempotent(api, responder) -> None:
    method = a_method(responder)
    client = api(responder)
    path = f"{URL.format('rob')}/{method.pk}"
    assert delete(client, path).status_code == 204
    method.refresh_from_db()
    assert method.disabled_at is not None
    assert delete(client, path).status_code == 204  # again: nothing changes
    assert AuditEntry.objects.filter(action="contact_method.remove").count() == 1
    assert client.get(URL.format("rob")).json()["count"] == 0
    listed = client.get(URL.format("rob"), {"include_disabled": "true"}).json()
    assert [(m["id"], m["disabled"]) for m in listed["items"]] == [(method.pk, True)]


def test_test_queues_one_outbox_message_to_the_method(api, responder) -> None:
    method = a_method(responder)
    client = api(responder)
    response = client.post(f"{URL.format('rob')}/{method.pk}/test")
    assert response.status_code == 202, response.content
    body = response.json()
    message = OutboxMessage.objects.get()
    assert body == {"id": message.pk, "state": "queued", "contact_method": method.pk}
    assert message.contact_method_id == method.pk
    assert message.purpose == "test"
    assert message.recipient == "rob@example.com"


def test_testing_a_removed_method_is_a_409_and_queues_nothing(api, responder) -> None:
    method = a_method(responder)
    contact_method_remove(method=method, actor=Actor.system("test"))
    response = api(responder).post(f"{URL.format('rob')}/{method.pk}/test")
    assert response.status_code == 409
    assert not OutboxMessage.objects.exists()


def test_an_idempotency_key_adds_once_and_replays(api, responder) -> None:
    client = api(responder)
    body = {"kind": "email", "address": "rob@example.com"}
    key = {"Idempotency-Key": "cm-1"}
    one = client.post(URL.format("rob"), body, headers=key)
    two = client.post(URL.format("rob"), body, headers=key)
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()
    assert two["Idempotent-Replayed"] == "true"
    assert ContactMethod.objects.count() == 1
    other = client.post(URL.format("rob"), {**body, "label": "else"}, headers=key)
    assert fields(other) == ["Idempotency-Key"]
    assert ContactMethod.objects.count() == 1


def test_an_idempotency_key_on_test_queues_once(api, responder) -> None:
    method = a_method(responder)
    client = api(responder)
    path = f"{URL.format('rob')}/{method.pk}/test"
    one = client.post(path, headers={"Idempotency-Key": "t-1"})
    two = client.post(path, headers={"Idempotency-Key": "t-1"})
    assert one.status_code == two.status_code == 202
    assert one.json()["id"] == two.json()["id"]
    assert OutboxMessage.objects.count() == 1


def test_other_staff_get_404_for_everything_and_change_nothing(api, responder, agent) -> None:
    method = a_method(responder)
    client = api(agent)
    base = URL.format("rob")
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/{method.pk}").status_code == 404
    assert client.post(base, {"kind": "email", "address": "x@example.com"}).status_code == 404
    assert delete(client, f"{base}/{method.pk}").status_code == 404
    assert client.post(f"{base}/{method.pk}/test").status_code == 404
    # the same answer as for nobody at all
    nobody = client.get(URL.format("nobody")).json()["detail"]
    assert nobody.replace("nobody", "rob") == client.get(base).json()["detail"]
    method.refresh_from_db()
    assert method.disabled_at is None
    assert ContactMethod.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_a_method_is_found_only_under_its_owner(api, responder, agent) -> None:
    theirs = a_method(agent)
    client = api(responder)
    assert client.get(f"{URL.format('rob')}/{theirs.pk}").status_code == 404
    assert delete(client, f"{URL.format('rob')}/{theirs.pk}").status_code == 404
    assert client.post(f"{URL.format('rob')}/{theirs.pk}/test").status_code == 404
    theirs.refresh_from_db()
    assert theirs.disabled_at is None


def test_reporters_get_404_even_for_themselves(api, reporter) -> None:
    client = api(reporter)
    assert client.get(URL.format("rita")).status_code == 404
    made = client.post(URL.format("rita"), {"kind": "email", "address": "rita@example.com"})
    assert made.status_code == 404
    assert not ContactMethod.objects.exists()


def test_administrators_manage_anyones(api, admin, responder) -> None:
    client = api(admin)
    made = client.post(URL.format("rob"), {"kind": "email", "address": "rob@example.com"})
    assert made.status_code == 201
    assert ContactMethod.objects.get().user == responder
    assert client.get(URL.format("rob")).json()["count"] == 1
    assert delete(client, f"{URL.format('rob')}/{made.json()['id']}").status_code == 204
    entry = AuditEntry.objects.filter(action="contact_method.add").get()
    assert entry.actor_user == admin  # the token acts as its owner
    assert entry.actor_token_id is not None
    assert entry.after["user"] == "rob"


def test_without_a_token_it_is_a_401(db, responder) -> None:
    response = Client().get(URL.format("rob"))
    assert response.status_code == 401
    made = Client().post(
        URL.format("rob"),
        {"kind": "email", "address": "x@example.com"},
        content_type="application/json",
    )
    assert made.status_code == 401
    assert not ContactMethod.objects.exists()


def test_a_session_needs_the_csrf_token(db, responder) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(responder)
    assert browser.get(URL.format("rob")).status_code == 200
    refused = browser.post(
        URL.format("rob"),
        {"kind": "email", "address": "x@example.com"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert not ContactMethod.objects.exists()
