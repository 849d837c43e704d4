"""The schedule editor through the web: create, edit, preview (writes nothing), archive;
each bad field named on the page and nothing changed; who may open which page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.test import Client

from tocsin.accounts.models import Role, Team, User
from tocsin.core.actors import Actor
from tocsin.core.models import AuditEntry
from tocsin.oncall import selectors, services, specs
from tocsin.oncall.models import Layer, LayerMember, Schedule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
# Monday 2 March 2026, 08:00 UTC (09:00 in Berlin)
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    found = {
        "admin": make_user(Role.ADMIN, username="ada", time_zone="UTC"),
        "manager": make_user(Role.MANAGER, username="mia", time_zone="America/New_York"),
        "other_manager": make_user(Role.MANAGER, username="max"),
        "ann": make_user(Role.RESPONDER, username="ann", name="Ann Archer"),
        "bob": make_user(Role.RESPONDER, username="bob", name="Bob <b>Bold</b>"),
        "agent": make_user(Role.AGENT, username="cid"),
        "rep": make_user(Role.REPORTER, username="rex"),
    }
    return found


@pytest.fixture
def team(people: dict[str, User]) -> Team:
    return Team.objects.create(name="Platform", manager=people["manager"])


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def form_data(team: Team | None, **changes: Any) -> dict[str, Any]:
    """A whole editor form: a weekly business-hours layer and a nightly layer."""
    data: dict[str, Any] = {
        "name": "Platform primary",
        "description": "The <i>platform</i> team",
        "time_zone": "Europe/Berlin",
        "team": str(team.pk) if team else "",
        "layers": "2",
        "layer-0-name": "Business hours",
        "layer-0-start": "2026-03-02T09:00",
        "layer-0-end": "",
        "layer-0-every": "1",
        "layer-0-unit": "weeks",
        "layer-0-users": "ann\nbob\n",
        "layer-0-restrictions": "1",
        "layer-0-r-0-kind": "weekly",
        "layer-0-r-0-days": ["0", "1", "2", "3", "4"],
        "layer-0-r-0-start": "09:00",
        "layer-0-r-0-end": "17:00",
        "layer-1-name": "Nights",
        "layer-1-start": "2026-03-02T20:00",
        "layer-1-end": "",
        "layer-1-every": "1",
        "layer-1-unit": "days",
        "layer-1-users": "bob\nann\nbob",
        "layer-1-restrictions": "1",
        "layer-1-r-0-kind": "daily",
        "layer-1-r-0-start": "20:00",
        "layer-1-r-0-end": "08:00",
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def summary(response: Any) -> str:
    html = response.content.decode()
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return re.sub(r"\s+", " ", match.group(0)) if match else ""


def counts() -> tuple[int, int, int, int]:
    return (
        Schedule.objects.count(),
        Layer.objects.count(),
        LayerMember.objects.count(),
        AuditEntry.objects.count(),
    )


def saved_schedule(people: dict[str, User], team: Team) -> Schedule:
    layers = specs.parse_layers(
        [
            {
                "name": "Weekly",
                "start": "2026-03-02T09:00",
                "rotation": "weekly",
                "users": ["ann", "bob"],
            }
        ]
    )
    return services.schedule_create(
        name="Saved",
        time_zone="Europe/Berlin",
        team=team,
        layers=layers,
        actor=Actor.for_user(people["admin"]),
    )


# --- create ------------------------------------------------------------------------------


def test_manager_creates_a_schedule_with_two_layers_and_restrictions(
    people: dict[str, User], team: Team
) -> None:
    client = client_for(people["manager"])
    page = client.get("/schedules/new/")
    assert page.status_code == 200
    assert 'type="datetime-local"' in page.content.decode()
    assert "Europe/Berlin" in page.content.decode()  # the zone datalist

    response = client.post("/schedules/new/", form_data(team))
    schedule = Schedule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/schedules/{schedule.pk}/"
    assert (schedule.name, schedule.time_zone, schedule.team) == (
        "Platform primary",
        "Europe/Berlin",
        team,
    )
    snapshot = services.layers_snapshot(schedule)
    assert [(layer["name"], layer["users"], layer["rotation"]) for layer in snapshot] == [
        ("Business hours", ["ann", "bob"], {"every": 1, "unit": "weeks"}),
        ("Nights", ["bob", "ann", "bob"], {"every": 1, "unit": "days"}),
    ]
    assert snapshot[0]["restrictions"] == [
        {
            "type": "weekly",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "17:00",
        }
    ]
    assert snapshot[1]["restrictions"] == [{"type": "daily", "start": "20:00", "end": "08:00"}]
    assert snapshot[0]["start"] == "2026-03-02T09:00"
    # who is on call follows: Monday 10:00 Berlin = ann; Monday 22:00 Berlin = bob (nights)
    assert selectors.oncall(schedule, dt.datetime(2026, 3, 2, 9, tzinfo=UTC)).shift.user == (
        people["ann"].pk
    )
    assert selectors.oncall(schedule, dt.datetime(2026, 3, 2, 21, tzinfo=UTC)).shift.user == (
        people["bob"].pk
    )


def test_admin_may_create_a_schedule_no_team_owns_but_a_manager_may_not(
    people: dict[str, User], team: Team
) -> None:
    response = client_for(people["admin"]).post("/schedules/new/", form_data(None, name="Org"))
    assert response.status_code == 302
    assert Schedule.objects.get(name="Org").team is None

    before = counts()
    response = client_for(people["manager"]).post("/schedules/new/", form_data(None, name="X"))
    assert response.status_code == 422
    assert "Owning team" in summary(response)
    assert counts() == before


def test_a_manager_cannot_give_the_schedule_to_a_team_they_do_not_manage(
    people: dict[str, User], team: Team
) -> None:
    theirs = Team.objects.create(name="Data", manager=people["other_manager"])
    page = client_for(people["manager"]).get("/schedules/new/")
    assert ">Platform<" in page.content.decode()
    assert ">Data<" not in page.content.decode()
    before = counts()
    response = client_for(people["manager"]).post("/schedules/new/", form_data(theirs))
    assert response.status_code == 422
    assert "Owning team" in summary(response)
    assert counts() == before


# --- preview -----------------------------------------------------------------------------


def test_preview_shows_shifts_and_gaps_and_writes_nothing(
    people: dict[str, User], team: Team
) -> None:
    before = counts()
    response = client_for(people["manager"]).post(
        "/schedules/new/", form_data(team, action="preview")
    )
    assert response.status_code == 200
    assert counts() == before
    page = text(response)
    # the manager reads New York time with Berlin beside it
    assert "in your time zone (America/New_York); under each time, the schedule's (Europe/B" in page
    # Monday 09:00–17:00 Berlin is ann's (03:00–11:00 in New York), then a gap until 20:00
    assert "Ann Archer" in page
    assert "Mon 2 Mar 03:00" in page and "Mon 2 Mar 09:00" in page
    assert re.search(
        r"<strong>Gap</strong> <span[^>]*>nobody on call</span></td> <td[^>]*>"
        r"<time[^>]*>Mon 2 Mar 11:00</time><span[^>]*>Mon 2 Mar 17:00</span>",
        page,
    )
    assert "gaps: nobody is on call for" in page
    # user text is escaped in the preview
    assert "Bob &lt;b&gt;Bold&lt;/b&gt;" in page
    assert "<b>Bold</b>" not in page
    # the form keeps what was typed
    assert 'value="Platform primary"' in page


def test_preview_fragment_for_the_script(people: dict[str, User], team: Team) -> None:
    client = client_for(people["manager"])
    before = counts()
    response = client.post("/schedules/editor/preview/", form_data(team, action="preview"))
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and "Ann Archer" in body and "Gap" in body
    bad = client.post(
        "/schedules/editor/preview/", form_data(team, **{"layer-1-users": "ann\nzed"})
    )
    assert bad.status_code == 422
    assert "Line 2: &#x27;zed&#x27; is not an active responder" in text(bad)
    assert 'href="#id_layer-1-users"' in text(bad)
    assert counts() == before
    assert client.get("/schedules/editor/preview/").status_code == 405
    # the fragment needs the CSRF token like any POST
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["manager"])
    assert strict.post("/schedules/editor/preview/", form_data(team)).status_code == 403


def test_preview_does_not_need_a_name_or_team(people: dict[str, User], team: Team) -> None:
    response = client_for(people["manager"]).post(
        "/schedules/new/", form_data(None, name="", action="preview")
    )
    assert response.status_code == 200
    assert summary(response) == ""
    assert "Ann Archer" in text(response)


def test_edit_page_previews_the_saved_layers(people: dict[str, User], team: Team) -> None:
    schedule = saved_schedule(people, team)
    response = client_for(people["manager"]).get(f"/schedules/{schedule.pk}/edit/")
    assert response.status_code == 200
    page = text(response)
    assert 'value="Saved"' in page and "Ann Archer" in page
    assert f'name="layer-0-id" value="{schedule.layers.get().pk}"' in page


# --- edit --------------------------------------------------------------------------------


def test_edit_keeps_layer_ids_and_rewrites_the_rest(people: dict[str, User], team: Team) -> None:
    schedule = saved_schedule(people, team)
    layer = schedule.layers.get()
    data = form_data(
        team,
        name="Saved again",
        **{"layer-1-id": str(layer.pk), "layer-0-users": "bob"},
    )
    response = client_for(people["manager"]).post(f"/schedules/{schedule.pk}/edit/", data)
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.name == "Saved again"
    layers = list(schedule.layers.order_by("position"))
    assert [x.name for x in layers] == ["Business hours", "Nights"]
    assert layers[1].pk == layer.pk  # the kept layer moved down, same id
    assert AuditEntry.objects.filter(action="schedule.update").count() == 1


def test_structural_buttons_rerender_without_writing(people: dict[str, User], team: Team) -> None:
    client = client_for(people["manager"])
    before = counts()
    added = text(client.post("/schedules/new/", form_data(team, action="add-layer")))
    assert 'name="layers" value="3"' in added and 'value="Layer 3"' in added
    moved = text(client.post("/schedules/new/", form_data(team, action="down:0")))
    assert moved.index('value="Nights"') < moved.index('value="Business hours"')
    removed = text(client.post("/schedules/new/", form_data(team, action="remove-layer:0")))
    assert 'value="Business hours"' not in removed and 'name="layers" value="1"' in removed
    window = text(client.post("/schedules/new/", form_data(team, action="add-window:1")))
    assert 'name="layer-1-restrictions" value="2"' in window
    unwindow = text(client.post("/schedules/new/", form_data(team, action="remove-window:0:0")))
    assert 'name="layer-0-restrictions" value="0"' in unwindow
    person = text(
        client.post(
            "/schedules/new/", form_data(team, action="add-person:0", **{"layer-0-add_user": "bob"})
        )
    )
    assert "ann\nbob\nbob</textarea>" in person.replace(" ", "\n") or re.search(
        r"ann\s+bob\s+bob\s*</textarea>", person
    )
    unknown = client.post("/schedules/new/", form_data(team, action="delete-everything"))
    assert unknown.status_code == 422 and "no button" in text(unknown)
    assert counts() == before


# --- bad input: each field named, nothing changed ---------------------------------------

BAD = [
    ({"name": ""}, "id_name", "Name"),
    ({"time_zone": "Mars/Olympus"}, "id_time_zone", "not a known IANA time zone"),
    ({"layer-0-name": ""}, "id_layer-0-name", "Layer name"),
    ({"layer-1-start": ""}, "id_layer-1-start", "First hand-off"),
    ({"layer-1-start": "yesterday"}, "id_layer-1-start", "give a local date-time"),
    ({"layer-1-end": "2026-03-01T10:00"}, "id_layer-1-end", "must be after the start"),
    ({"layer-0-every": "0"}, "id_layer-0-every", "Hand off every"),
    ({"layer-0-every": "500", "layer-0-unit": "days"}, "id_layer-0-every", "at most 366 days"),
    ({"layer-0-unit": "months"}, "id_layer-0-unit", "Unit"),
    ({"layer-0-users": ""}, "id_layer-0-users", "People, in order"),
    ({"layer-1-users": "bob\nrex"}, "id_layer-1-users", "Line 2: &#x27;rex&#x27; is not an"),
    ({"layer-0-r-0-start": "9am"}, "id_layer-0-r-0-start", "HH:MM"),
    ({"layer-0-r-0-end": "09:00"}, "id_layer-0-r-0-end", "must differ from the start"),
    ({"layer-0-r-0-days": []}, "id_layer-0-r-0-days_0", "Tick the days"),
    ({"layer-0-r-0-kind": "monthly"}, "id_layer-0-r-0-kind", "Days"),
    ({"layer-1-r-0-start": ""}, "id_layer-1-r-0-start", "From"),
    ({"layer-0-id": "999999"}, "editor-form", "is not a layer of this schedule"),
]


@pytest.mark.parametrize(
    ("change", "anchor", "message"), BAD, ids=[b[1] + "|" + str(i) for i, b in enumerate(BAD)]
)
def test_bad_input_names_the_field_and_changes_nothing(
    people: dict[str, User], team: Team, change: dict[str, Any], anchor: str, message: str
) -> None:
    schedule = saved_schedule(people, team)
    client = client_for(people["manager"])
    for url in ("/schedules/new/", f"/schedules/{schedule.pk}/edit/"):
        before = counts()
        snapshot = services.layers_snapshot(schedule)
        response = client.post(url, form_data(team, **change))
        assert response.status_code == 422, url
        found = summary(response)
        assert f'href="#{anchor}"' in found, found
        assert message.lower() in found.lower(), found
        assert counts() == before
        schedule.refresh_from_db()
        assert schedule.name == "Saved"
        assert services.layers_snapshot(schedule) == snapshot


def test_a_name_already_taken_is_named(people: dict[str, User], team: Team) -> None:
    saved_schedule(people, team)
    before = counts()
    response = client_for(people["manager"]).post("/schedules/new/", form_data(team, name="saved"))
    assert response.status_code == 422
    assert 'href="#id_name"' in summary(response) and "already exists" in summary(response)
    assert counts() == before


# --- archive -----------------------------------------------------------------------------


def test_archive_asks_first_then_archives_on_post(people: dict[str, User], team: Team) -> None:
    schedule = saved_schedule(people, team)
    client = client_for(people["manager"])
    page = client.get(f"/schedules/{schedule.pk}/archive/")
    assert page.status_code == 200 and "Archive schedule" in text(page)
    schedule.refresh_from_db()
    assert schedule.archived_at is None  # a GET changes nothing
    response = client.post(f"/schedules/{schedule.pk}/archive/")
    assert response.status_code == 302 and response["Location"] == f"/schedules/{schedule.pk}/"
    schedule.refresh_from_db()
    assert schedule.archived_at == NOW
    # archived: the editor refuses with a reason, the archive page says when
    assert client.get(f"/schedules/{schedule.pk}/edit/").status_code == 409
    assert client.post(f"/schedules/{schedule.pk}/edit/", form_data(team)).status_code == 409
    assert "was archived on" in text(client.get(f"/schedules/{schedule.pk}/archive/"))


# --- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "new", "edit"),
    [
        ("admin", 200, 200),
        ("manager", 200, 200),  # manages the owning team
        ("other_manager", 200, 404),  # may create, may not edit another team's
        ("ann", 404, 404),  # a responder (and participant): sees the schedule, no editor
        ("agent", 404, 404),
        ("rep", 404, 404),
    ],
)
def test_who_may_open_the_editor(
    people: dict[str, User], team: Team, who: str, new: int, edit: int
) -> None:
    schedule = saved_schedule(people, team)
    client = client_for(people[who])
    assert client.get("/schedules/new/").status_code == new
    assert client.get(f"/schedules/{schedule.pk}/edit/").status_code == edit
    assert client.get(f"/schedules/{schedule.pk}/archive/").status_code == edit
    before = counts()
    posted = client.post(f"/schedules/{schedule.pk}/edit/", form_data(team, name="Taken over"))
    archived = client.post(f"/schedules/{schedule.pk}/archive/")
    if edit == 404:
        assert posted.status_code == 404 and archived.status_code == 404
        assert counts() == before
        schedule.refresh_from_db()
        assert schedule.name == "Saved" and schedule.archived_at is None
    if new == 404:
        assert client.post("/schedules/new/", form_data(team)).status_code == 404
        assert client.post("/schedules/editor/preview/", form_data(team)).status_code == 404
        assert Schedule.objects.count() == 1


def test_signed_out_goes_to_sign_in(people: dict[str, User], team: Team) -> None:
    schedule = saved_schedule(people, team)
    for url in ("/schedules/new/", f"/schedules/{schedule.pk}/edit/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_unknown_schedule_is_404(people: dict[str, User]) -> None:
    assert client_for(people["admin"]).get("/schedules/999999/edit/").status_code == 404


def test_user_text_is_escaped_on_the_editor(people: dict[str, User], team: Team) -> None:
    schedule = saved_schedule(people, team)
    services.schedule_update(
        schedule=schedule,
        name='<script>alert("x")</script>',
        actor=Actor.for_user(people["admin"]),
    )
    page = client_for(people["admin"]).get(f"/schedules/{schedule.pk}/edit/").content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


# --- the edit page's own values, sent back, change nothing ------------------------------


class _FormValues(HTMLParser):
    """What a browser would send for the editor form as shown (no button)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.values.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def shown_values(html: str) -> dict[str, Any]:
    parser = _FormValues()
    parser.feed(html)
    out: dict[str, Any] = {}
    for name, value in parser.values:
        if name.endswith("-days"):
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def test_saving_the_editor_as_shown_changes_no_layer(people: dict[str, User], team: Team) -> None:
    layers = specs.parse_layers(
        [
            {
                "name": "Weekends",
                "start": "2026-03-06T18:00",
                "end": "2026-12-31T18:00",
                "rotation": {"every": 12, "unit": "hours"},
                "users": ["bob", "ann", "bob"],
                "restrictions": [
                    {
                        "type": "weekly",
                        "start_day": "fri",
                        "start": "18:00",
                        "end_day": "mon",
                        "end": "08:00",
                    },
                    {"type": "weekly", "days": ["sat", "sun"], "start": "22:00", "end": "06:00"},
                    {"type": "daily", "start": "12:00", "end": "13:00"},
                ],
            },
            {"name": "Always", "start": "2026-03-02T00:00", "rotation": "daily", "users": ["ann"]},
        ]
    )
    schedule = services.schedule_create(
        name="Round trip",
        time_zone="America/Santiago",
        team=team,
        layers=layers,
        actor=Actor.for_user(people["admin"]),
    )
    before = services.layers_snapshot(schedule)
    client = client_for(people["manager"])
    page = client.get(f"/schedules/{schedule.pk}/edit/").content.decode()
    data = shown_values(page)
    assert data["layer-0-r-0-end_day"] == "0"  # Monday
    assert data["time_zone"] == "America/Santiago"
    response = client.post(f"/schedules/{schedule.pk}/edit/", {**data, "action": "save"})
    assert response.status_code == 302, summary(response)
    assert services.layers_snapshot(schedule) == before


def test_a_schedule_may_have_no_layer_as_through_the_api(
    people: dict[str, User], team: Team
) -> None:
    schedule = saved_schedule(people, team)
    client = client_for(people["manager"])
    response = client.post(f"/schedules/{schedule.pk}/edit/", form_data(team, layers="0"))
    assert response.status_code == 302
    assert not schedule.layers.exists()
    page = text(client.get(f"/schedules/{schedule.pk}/edit/"))
    assert 'name="layers" value="0"' in page
    assert "No layers: nobody is on call." in page
