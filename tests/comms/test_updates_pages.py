"""The incident page's "Stakeholder updates" section and its forms, the update templates'
settings page: who sees what (staff, the reporter, another reporter, anonymous), the
template prefill without JavaScript, errors naming the field, CSRF."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from tests.comms.updates_helpers import (
    SECRET_NOTE,
    incident_with_secrets,
    person,
    seeded,
    signed_in,
)
from tocsin.accounts.models import Role, Team
from tocsin.comms.models import StakeholderUpdate, Subscription, UpdateTemplate
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    seeded()
    people = {
        "ines": person("ines", name="Inês Duarte"),
        "ada": person("ada", role=Role.ADMIN),
        "rita": person("rita", role=Role.REPORTER),
        "ron": person("ron", role=Role.REPORTER),
    }
    incident = incident_with_secrets(people["rita"])
    return {
        **people,
        "incident": incident,
        "page": f"/incidents/{incident.ref}/",
        "compose": f"/incidents/{incident.ref}/updates/",
    }


def text(reply: Any) -> str:
    return html.unescape(reply.content.decode())


def flashes(reply: Any) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'class="flash[^"]*">(.*?)</p>', text(reply))
    ]


def test_staff_see_the_section_with_the_investigating_template_prefilled(world) -> None:
    page = text(signed_in(world["ines"]).get(world["page"]))
    assert 'id="updates"' in page
    assert "Stakeholder updates" in page
    assert "No update posted yet" in page
    assert "We are investigating a problem affecting our services" in page
    assert "{service}" not in page  # filled in
    assert "Subscribe me" in page


def test_a_posted_update_shows_in_the_section_and_to_the_reporter_on_the_timeline(world) -> None:
    staff = signed_in(world["ines"])
    reply = staff.post(
        world["compose"],
        {
            "status": "identified",
            "body": "A bad deploy; rolling back.",
            "next_update_minutes": "20",
        },
    )
    assert reply.status_code == 302
    assert reply["Location"].endswith("#updates")
    followed = staff.get(reply["Location"])
    assert any("Update posted" in f for f in flashes(followed))
    page = text(followed)
    assert "A bad deploy; rolling back." in page
    assert "Next update promised for" in page
    # the next suggestion follows the latest status
    assert "We have identified the cause" in page

    reporter_page = text(signed_in(world["rita"]).get(world["page"]))
    assert "A bad deploy; rolling back." in reporter_page  # on the public timeline
    assert 'id="updates"' not in reporter_page  # no section, no form
    assert SECRET_NOTE not in reporter_page


def test_a_reporter_cannot_post_and_other_reporters_and_anonymous_are_kept_out(world) -> None:
    body = {"status": "identified", "body": "x"}
    assert signed_in(world["rita"]).post(world["compose"], body).status_code == 404
    assert signed_in(world["ron"]).post(world["compose"], body).status_code == 404
    assert signed_in(world["ron"]).get(world["compose"]).status_code == 404
    anonymous = Client()
    for url in (world["compose"], world["compose"] + "subscribe-me/"):
        reply = anonymous.post(url, body)
        assert reply.status_code == 302 and "/login/" in reply["Location"]
    assert anonymous.get(world["compose"]).status_code == 302
    assert StakeholderUpdate.objects.count() == 0
    assert Subscription.objects.count() == 0


def test_choosing_a_template_prefills_the_text_without_javascript(world) -> None:
    monitoring = UpdateTemplate.objects.get(name="Monitoring")
    reply = signed_in(world["ines"]).get(world["compose"], {"template": monitoring.pk})
    assert reply.status_code == 200
    page = text(reply)
    assert "A fix for the problem affecting our services is in place" in page
    assert re.search(r'<option value="monitoring" selected', page)
    # nonsense is ignored, not an error
    assert signed_in(world["ines"]).get(world["compose"], {"template": "x"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "label"),
    [
        ({"status": "identified", "body": ""}, "Update"),
        ({"status": "nope", "body": "x"}, "Status"),
        ({"status": "identified", "body": "x", "next_update_minutes": "0"}, "Next update in"),
        ({"status": "identified", "body": "x", "next_update_minutes": "soon"}, "Next update in"),
    ],
)
def test_bad_input_re_renders_the_form_naming_the_field(world, body, label) -> None:
    reply = signed_in(world["ines"]).post(world["compose"], body)
    assert reply.status_code == 422
    page = text(reply)
    assert "Correct the field marked below" in page
    assert re.search(rf'class="field has-error[^"]*">\s*<label[^>]*>{label}', page)
    assert StakeholderUpdate.objects.count() == 0
    assert not OutboxMessage.objects.filter(purpose="update").exists()


def test_forms_need_the_csrf_token(world) -> None:
    client = signed_in(world["ines"], csrf=True)
    assert client.post(world["compose"], {"status": "identified", "body": "x"}).status_code == 403
    assert client.post(world["compose"] + "subscribe-me/", {}).status_code == 403
    assert StakeholderUpdate.objects.count() == 0


def test_subscribe_me_toggles(world) -> None:
    client = signed_in(world["ines"])
    url = world["compose"] + "subscribe-me/"
    reply = client.post(url, {"subscribe": "1", "channel": "contact"}, follow=True)
    assert "You receive the updates" in " ".join(flashes(reply))
    mine = Subscription.objects.get(user=world["ines"])
    assert mine.channel == "contact"
    assert "You are subscribed (my contact methods (low urgency))" in text(reply)
    reply = client.post(url, {"subscribe": "0"}, follow=True)
    assert "no longer receive" in " ".join(flashes(reply))
    assert not Subscription.objects.exists()
    bad = client.post(url, {"subscribe": "1", "channel": "pigeon"}, follow=True)
    assert any(f.startswith("Send by:") for f in flashes(bad))
    assert not Subscription.objects.exists()


def test_staff_add_and_remove_subscribers(world) -> None:
    client = signed_in(world["ines"])
    url = world["compose"] + "subscribers/"
    team = Team.objects.create(name="Payments")
    reply = client.post(url, {"email": "cfo@customer.example", "channel": "email"}, follow=True)
    assert "cfo@customer.example receives the updates" in " ".join(flashes(reply))
    client.post(url, {"team": team.pk, "channel": "email"})
    reply = client.post(
        url, {"email": "x@example.com", "team": team.pk, "channel": "email"}, follow=True
    )
    assert "Choose exactly one" in " ".join(flashes(reply))
    reply = client.post(url, {"email": "nope", "channel": "email"}, follow=True)
    assert "Outside email address" in " ".join(flashes(reply))
    assert Subscription.objects.count() == 2
    page = text(client.get(world["page"]))
    assert "cfo@customer.example" in page and "Team Payments" in page
    assert "each member, by email" in page
    # the team's members may be reached by their contact methods instead
    client.post(url, {"team": team.pk, "channel": "contact"})
    assert Subscription.objects.get(team=team).channel == "contact"
    assert "each member, by their contact methods (low urgency)" in text(client.get(world["page"]))
    sub = Subscription.objects.get(email="cfo@customer.example")
    assert client.post(f"{url}{sub.pk}/remove/").status_code == 302
    assert Subscription.objects.count() == 1
    assert client.post(f"{url}99999/remove/").status_code == 404
    # a reporter cannot remove or add
    rita = signed_in(world["rita"])
    assert rita.post(url, {"email": "a@example.com", "channel": "email"}).status_code == 404


def test_the_templates_settings_page_is_for_administrators(world) -> None:
    url = "/settings/update-templates/"
    assert signed_in(world["ines"]).get(url).status_code == 403
    assert signed_in(world["rita"]).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    admin = signed_in(world["ada"])
    page = text(admin.get(url))
    for name in ("Investigating", "Identified", "Monitoring", "Resolved"):
        assert f"Save {name}" in page
    bad = admin.post(
        url,
        {"template": "new", "tnew-name": "X", "tnew-status": "identified", "tnew-body": "{foo}"},
    )
    assert bad.status_code == 422
    assert "Unknown variable {foo}" in text(bad)
    assert not UpdateTemplate.objects.filter(name="X").exists()
    good = admin.post(
        url,
        {
            "template": "new",
            "tnew-name": "Short",
            "tnew-status": "identified",
            "tnew-body": "{ref}: found.",
        },
    )
    assert good.status_code == 302
    created = UpdateTemplate.objects.get(name="Short")
    edit = admin.post(
        url,
        {
            "template": str(created.pk),
            f"t{created.pk}-name": "Short",
            f"t{created.pk}-status": "monitoring",
            f"t{created.pk}-body": "{ref}: watching.",
            f"t{created.pk}-archived": "on",
        },
    )
    assert edit.status_code == 302
    created.refresh_from_db()
    assert created.status == "monitoring" and created.archived_at is not None
