"""The paging page (`/me/paging/`, `/people/<username>/paging/`, issue 10): contact methods
with delivery status, test and remove; adding and removing ask for the password again;
notification rules per urgency as plain rows; paging preferences. Per role: the person
(staff), an administrator for anyone; everyone else 404; signed out: to the sign-in page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.web.helpers import text_of
from tocsin.accounts.models import ContactMethod, NotificationRule
from tocsin.accounts.services import contact_method_add, contact_method_remove
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.models import AuditEntry
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
MINE = "/me/paging/"


def person(username: str) -> str:
    return f"/people/{username}/paging/"


def a_method(user: Any, kind: str = "email", address: str = "", **kwargs: Any) -> ContactMethod:
    return contact_method_add(
        user=user,
        kind=kind,
        address=address or f"{user.username}@example.com",
        actor=Actor.system("test setup"),
        **kwargs,
    )


def add(client: Client, username: str, password: str = PASSWORD, **fields: str) -> Any:
    data = {"add-kind": "email", "add-address": "pager@example.com", "add-label": ""}
    data.update({f"add-{k}": v for k, v in fields.items()})
    data["add-password"] = password
    return client.post(f"{person(username)}contact-methods/", data)


# --- who may see it ----------------------------------------------------------------------


def test_staff_see_their_own_page(browse, responder) -> None:
    response = browse(responder).get(MINE)
    assert response.status_code == 200
    text = text_of(response)
    assert "My paging" in text
    assert "No contact methods yet" in text
    assert response["Cache-Control"] == "no-store"
    assert browse(responder).get(person("rob")).status_code == 200


def test_the_user_menu_links_staff_to_their_paging_page(browse, responder, reporter) -> None:
    assert f'href="{MINE}"' in browse(responder).get("/").content.decode()
    assert f'href="{MINE}"' not in browse(reporter).get("/portal/").content.decode()


def test_signed_out_people_are_sent_to_sign_in(browse, responder) -> None:
    for url in (MINE, person("rob")):
        response = browse(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    response = add(browse(None), "rob")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not ContactMethod.objects.exists()


def test_other_staff_get_404_and_change_nothing(browse, responder, agent) -> None:
    method = a_method(responder)
    client = browse(agent)
    assert client.get(person("rob")).status_code == 404
    assert add(client, "rob", password=PASSWORD).status_code == 404
    base = f"{person('rob')}contact-methods/{method.pk}/"
    assert client.post(f"{base}remove/", {"password": PASSWORD}).status_code == 404
    assert client.post(f"{base}test/").status_code == 404
    rules = {"urgency": "high", "method": [str(method.pk)], "delay": ["0"]}
    assert client.post(f"{person('rob')}rules/", rules).status_code == 404
    prefs = {"handoff_notice_minutes": "5"}
    assert client.post(f"{person('rob')}preferences/", prefs).status_code == 404
    # nobody at all looks the same
    assert client.get(person("nobody")).status_code == 404
    method.refresh_from_db()
    assert method.disabled_at is None
    assert ContactMethod.objects.count() == 1
    assert not OutboxMessage.objects.exists() and not NotificationRule.objects.exists()
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 60


def test_reporters_get_404_even_for_themselves(browse, reporter) -> None:
    client = browse(reporter)
    assert client.get(MINE).status_code == 404
    assert client.get(person("rita")).status_code == 404
    assert add(client, "rita").status_code == 404
    assert not ContactMethod.objects.exists()


def test_an_administrator_manages_anyone_with_their_own_password(browse, admin, responder) -> None:
    client = browse(admin)
    page = client.get(person("rob"))
    assert page.status_code == 200
    assert "Paging: Rob" in text_of(page)
    response = add(client, "rob", address="rob@example.com")
    assert response.status_code == 302
    assert response["Location"] == person("rob")
    assert ContactMethod.objects.get().user == responder
    assert AuditEntry.objects.get(action="contact_method.add").actor_user == admin


# --- contact methods ---------------------------------------------------------------------


def test_adding_with_the_password_adds_and_redirects(browse, responder) -> None:
    client = browse(responder)
    response = add(client, "rob", kind="sms", address="+44 1632 960000", label="Work phone")
    assert response.status_code == 302 and response["Location"] == MINE
    method = ContactMethod.objects.get()
    assert (method.kind, method.address, method.label) == ("sms", "+441632960000", "Work phone")
    text = text_of(client.get(MINE))
    assert "Work phone" in text and "+441632960000" in text
    assert "SMS (Work phone) added" in text


def test_a_wrong_password_changes_nothing(browse, responder) -> None:
    response = add(browse(responder), "rob", password="wrong")
    assert response.status_code == 422
    assert "That is not your password" in text_of(response)
    assert not ContactMethod.objects.exists()
    assert AuditEntry.objects.filter(action="signin.failed").count() == 1


def test_a_missing_password_changes_nothing(browse, responder) -> None:
    response = add(browse(responder), "rob", password="")
    assert response.status_code == 422
    assert not ContactMethod.objects.exists()


def test_guessing_the_password_here_is_throttled_like_signing_in(browse, responder) -> None:
    client = browse(responder)
    for _ in range(5):
        add(client, "rob", password="wrong")
    refused = add(client, "rob", password=PASSWORD)  # even the right one, while locked
    assert refused.status_code == 422
    assert "Too many failed sign-ins" in text_of(refused)
    assert not ContactMethod.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "sms", "address": "01632 960000"}, "international form"),
        ({"kind": "email", "address": "nope"}, "valid email address"),
        ({"kind": "pigeon"}, "Select a valid choice"),
        ({"address": ""}, "This field is required"),
        ({"label": "x" * 101}, "at most 100 characters"),
    ],
)
def test_a_bad_address_is_shown_on_the_form_and_adds_nothing(
    browse, responder, fields: dict[str, str], message: str
) -> None:
    response = add(browse(responder), "rob", **fields)
    assert response.status_code == 422
    assert message in text_of(response)
    assert not ContactMethod.objects.exists()


def test_removing_asks_for_the_password(browse, responder) -> None:
    method = a_method(responder)
    client = browse(responder)
    url = f"{person('rob')}contact-methods/{method.pk}/remove/"
    wrong = client.post(url, {"password": "wrong"})
    assert wrong.status_code == 422
    assert "That is not your password" in text_of(wrong)
    method.refresh_from_db()
    assert method.disabled_at is None
    done = client.post(url, {"password": PASSWORD})
    assert done.status_code == 302
    method.refresh_from_db()
    assert method.disabled_at is not None
    assert "No contact methods yet" in text_of(client.get(MINE))


def test_send_test_queues_a_message(browse, responder) -> None:
    method = a_method(responder)
    client = browse(responder)
    response = client.post(f"{person('rob')}contact-methods/{method.pk}/test/")
    assert response.status_code == 302
    message = OutboxMessage.objects.get()
    assert (message.contact_method_id, message.purpose) == (method.pk, "test")
    assert "Test message queued" in text_of(client.get(MINE))


def test_testing_a_removed_method_is_refused(browse, responder) -> None:
    method = a_method(responder)
    contact_method_remove(method=method, actor=Actor.system("t"))
    response = browse(responder).post(f"{person('rob')}contact-methods/{method.pk}/test/")
    assert response.status_code == 409
    assert not OutboxMessage.objects.exists()


def test_a_failed_method_is_flagged_with_its_error(browse, responder) -> None:
    ok = a_method(responder)
    failed = a_method(responder, kind="sms", address="+441632960000", label="Phone")
    at = now()
    ContactMethod.objects.filter(pk=ok.pk).update(last_delivery_ok=True, last_delivery_at=at)
    ContactMethod.objects.filter(pk=failed.pk).update(
        last_delivery_ok=False, last_delivery_at=at, last_error="provider said 21211"
    )
    html = browse(responder).get(MINE).content.decode()
    assert f'class="pg-method pg-failed" id="method-{failed.pk}"' in html
    assert f'class="pg-method" id="method-{ok.pk}"' in html
    text = text_of(browse(responder).get(MINE))
    assert "Last delivery failed" in text and "provider said 21211" in text
    assert "Last delivery worked" in text


def test_nobody_to_page_is_a_warning(browse, responder) -> None:
    text = text_of(browse(responder).get(MINE))
    assert "You cannot be paged at high urgency" in text
    a_method(responder)
    assert "cannot be paged" not in text_of(browse(responder).get(MINE))


def test_every_failing_method_is_a_warning(browse, admin, responder) -> None:
    method = a_method(responder)
    ContactMethod.objects.filter(pk=method.pk).update(last_delivery_ok=False, last_error="bounced")
    text = text_of(browse(admin).get(person("rob")))
    assert "Rob cannot be paged at high urgency" in text
    assert "every high-urgency contact method failed its last delivery" in text


def test_secret_addresses_are_masked(browse, responder) -> None:
    a_method(responder, kind="webhook", address="https://hooks.example.com/p?token=s3cret")
    html = browse(responder).get(MINE).content.decode()
    assert "s3cret" not in html
    assert "https://hooks.example.com/…" in html


def test_a_label_is_escaped(browse, responder) -> None:
    add(browse(responder), "rob", label='<script>alert("x")</script>')
    html = browse(responder).get(MINE).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_forms_need_the_csrf_token(responder) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)
    assert client.get(MINE).status_code == 200
    assert add(client, "rob").status_code == 403
    assert not ContactMethod.objects.exists()
    prefs = client.post(f"{person('rob')}preferences/", {"handoff_notice_minutes": "5"})
    assert prefs.status_code == 403


def test_no_get_changes_anything(browse, responder) -> None:
    method = a_method(responder)
    client = browse(responder)
    base = f"{person('rob')}contact-methods/"
    for url in (
        base,
        f"{base}{method.pk}/remove/",
        f"{base}{method.pk}/test/",
        f"{person('rob')}rules/",
        f"{person('rob')}preferences/",
    ):
        assert client.get(url).status_code == 405, url
    method.refresh_from_db()
    assert method.disabled_at is None
    assert not OutboxMessage.objects.exists()
    assert ContactMethod.objects.count() == 1


# --- rules -------------------------------------------------------------------------------


def test_the_defaults_are_shown_while_no_rule_is_stored(browse, responder) -> None:
    a_method(responder)
    a_method(responder, kind="sms", address="+441632960000", label="Phone")
    text = text_of(browse(responder).get(MINE))
    assert "You get the defaults: Email at once, SMS (Phone) after 2 minutes." in text


def test_rules_are_saved_from_plain_rows(browse, responder) -> None:
    email = a_method(responder)
    sms = a_method(responder, kind="sms", address="+441632960000")
    client = browse(responder)
    response = client.post(
        f"{person('rob')}rules/",
        {
            "urgency": "high",
            "method": [str(sms.pk), "", str(email.pk)],
            "delay": ["0", "7", "3"],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == MINE
    stored = NotificationRule.objects.filter(user=responder, urgency="high")
    assert sorted((r.contact_method_id, r.delay_minutes) for r in stored) == [
        (email.pk, 3),
        (sms.pk, 0),
    ]
    assert not NotificationRule.objects.filter(urgency="low").exists()
    text = text_of(client.get(MINE))
    assert "Now: SMS at once, Email after 3 minutes." in text


def test_bad_rows_are_shown_and_nothing_changes(browse, responder) -> None:
    email = a_method(responder)
    client = browse(responder)
    for rows in (
        {"method": [str(email.pk)], "delay": ["soon"]},
        {"method": [str(email.pk)], "delay": ["5000"]},
        {"method": ["999999"], "delay": ["0"]},
    ):
        response = client.post(f"{person('rob')}rules/", {"urgency": "high", **rows})
        assert response.status_code == 422
        assert "Row 1:" in text_of(response)
    twice = {"method": [str(email.pk), str(email.pk)], "delay": ["1", "1"]}
    response = client.post(f"{person('rob')}rules/", {"urgency": "low", **twice})
    assert response.status_code == 422
    assert "Row 2: The same method and delay twice." in text_of(response)
    assert not NotificationRule.objects.exists()


def test_someone_elses_method_is_not_a_choice(browse, responder, agent) -> None:
    theirs = a_method(agent)
    response = browse(responder).post(
        f"{person('rob')}rules/", {"urgency": "high", "method": [str(theirs.pk)], "delay": ["0"]}
    )
    assert response.status_code == 422
    assert not NotificationRule.objects.exists()


def test_use_the_defaults_clears_the_stored_rules(browse, responder) -> None:
    email = a_method(responder)
    client = browse(responder)
    client.post(
        f"{person('rob')}rules/", {"urgency": "low", "method": [str(email.pk)], "delay": ["9"]}
    )
    assert NotificationRule.objects.filter(urgency="low").count() == 1
    response = client.post(f"{person('rob')}rules/", {"urgency": "low", "use_defaults": "1"})
    assert response.status_code == 302
    assert not NotificationRule.objects.exists()


def test_an_unknown_urgency_is_refused(browse, responder) -> None:
    response = browse(responder).post(f"{person('rob')}rules/", {"urgency": "medium"})
    assert response.status_code == 422


# --- preferences ---------------------------------------------------------------------------


def test_preferences_are_saved(browse, responder) -> None:
    client = browse(responder)
    response = client.post(
        f"{person('rob')}preferences/",
        {"handoff_notice_minutes": "15", "low_urgency_working_hours": "on"},
    )
    assert response.status_code == 302
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 15 and responder.low_urgency_working_hours
    client.post(f"{person('rob')}preferences/", {"handoff_notice_minutes": "0"})
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 0 and not responder.low_urgency_working_hours


@pytest.mark.parametrize("value", ["-1", "10081", "soon", ""])
def test_bad_preferences_are_refused(browse, responder, value: str) -> None:
    response = browse(responder).post(
        f"{person('rob')}preferences/",
        {"handoff_notice_minutes": value, "low_urgency_working_hours": "on"},
    )
    assert response.status_code == 422
    assert "Hand-off notice" in text_of(response)
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 60 and not responder.low_urgency_working_hours


# --- the people list ---------------------------------------------------------------------


def test_the_people_list_flags_who_cannot_be_paged(browse, responder, agent, admin) -> None:
    a_method(responder)
    broken = a_method(admin)
    ContactMethod.objects.filter(pk=broken.pk).update(last_delivery_ok=False)
    client = browse(agent)
    response = client.get("/people/")
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(response)
    assert "2 people cannot be paged at high urgency" in text
    assert "no working high-urgency contact method" in text  # alice: nothing
    assert "every high-urgency contact method failed its last delivery" in text  # ada
    assert html.count('class="pg-person-problem"') == 2
    # an agent links only to their own paging page
    assert f'href="{MINE}"' in html
    assert 'href="/people/rob/paging/"' not in html
    admin_html = browse(admin).get("/people/").content.decode()
    assert 'href="/people/rob/paging/"' in admin_html


def test_reporters_do_not_see_the_people_list(browse, reporter) -> None:
    assert browse(reporter).get("/people/").status_code == 404
    assert browse(None).get("/people/").status_code == 302
