"""Every page renders for the people who may see it, and refuses the others."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.helpers import text_of
from tocsin.accounts.models import Role

STAFF = [Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN]


@pytest.mark.parametrize("path", ["/", "/portal/", "/incidents/new/", "/incidents/INC-1/"])
def test_anonymous_visitors_are_sent_to_sign_in(browse: Any, path: str, db: None) -> None:
    response = browse(None).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_the_sign_in_page_renders_and_signs_staff_into_the_queue(
    browse: Any, make_user: Any
) -> None:
    make_user(Role.AGENT, username="sam", password="pass-for-sam-1")
    client = browse(None)
    page = client.get("/login/")
    assert page.status_code == 200
    assert "Sign in" in text_of(page)
    response = client.post("/login/", {"username": "sam", "password": "pass-for-sam-1"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_reporters_land_on_their_portal_after_signing_in(browse: Any, make_user: Any) -> None:
    make_user(Role.REPORTER, username="rita", password="pass-for-rita-1")
    client = browse(None)
    response = client.post("/login/", {"username": "rita", "password": "pass-for-rita-1"})
    assert response["Location"] == "/portal/"
    assert client.get("/").status_code == 302
    assert client.get("/")["Location"] == "/portal/"


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(browse: Any, make_user: Any) -> None:
    make_user(Role.AGENT, username="sam", password="pass-for-sam-1")
    client = browse(None)
    response = client.post("/login/", {"username": "sam", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in text_of(response)
    assert client.get("/").status_code == 302


def test_sign_out_is_a_post_and_ends_the_session(browse: Any, agent: Any) -> None:
    client = browse(agent)
    assert client.get("/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_queue_new_form_portal_and_any_incident(
    role: str, browse: Any, make_user: Any, reporter: Any, make_incident: Any
) -> None:
    incident = make_incident(reporter)
    client = browse(make_user(role))
    for path in (
        "/",
        "/incidents/new/",
        "/portal/",
        f"/incidents/{incident.ref}/",
        f"/incidents/{incident.ref}/live/",
        "/queue/rows/",
    ):
        assert client.get(path).status_code == 200, path


def test_the_top_bar_shows_the_person_the_zone_and_the_right_links(
    browse: Any, make_user: Any
) -> None:
    agent = make_user(Role.AGENT, name="Alice Agent", time_zone="Europe/Berlin")
    page = text_of(browse(agent).get("/"))
    assert "Alice Agent" in page
    assert "Europe/Berlin" in page
    assert "Queue" in page and "New incident" in page and "Sign out" in page
    assert "Admin" not in page.split("Alice Agent")[0]

    # an administrator's Settings (where Admin and the audit log are) and Learning
    admin_page = browse(make_user(Role.ADMIN)).get("/").content.decode()
    assert 'href="/settings/"' in admin_page and 'href="/learning/"' in admin_page
    assert 'href="/settings/"' not in browse(agent).get("/").content.decode()

    reporter = make_user(Role.REPORTER)
    page = text_of(browse(reporter).get("/portal/"))
    assert "My incidents" in page and "Report a problem" in page and "Help articles" in page
    assert "New incident" not in page


def test_a_reporter_may_not_open_the_staff_pages(browse: Any, reporter: Any) -> None:
    client = browse(reporter)
    assert client.get("/")["Location"] == "/portal/"
    response = client.get("/incidents/new/")
    assert response.status_code == 403
    assert "Not allowed" in text_of(response)
    assert client.get("/queue/rows/").status_code == 403
    assert client.post("/incidents/new/", {"title": "x"}).status_code == 403


def test_a_reporter_sees_their_own_incident_and_gets_404_for_others(
    browse: Any, reporter: Any, make_user: Any, make_incident: Any
) -> None:
    mine = make_incident(reporter, title="My printer")
    other = make_incident(make_user(Role.REPORTER), title="Someone else's laptop")
    client = browse(reporter)
    assert client.get(f"/incidents/{mine.ref}/").status_code == 200
    response = client.get(f"/incidents/{other.ref}/")
    assert response.status_code == 404
    assert "Someone else" not in text_of(response)
    assert client.get(f"/incidents/{other.ref}/live/").status_code == 404


def test_missing_incidents_and_bad_refs_get_the_404_page(browse: Any, agent: Any) -> None:
    client = browse(agent)
    for path in ("/incidents/INC-999/", "/incidents/banana/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Not found" in text_of(response)
        assert "Sign out" in text_of(response)  # the same look, with the top bar


def test_a_bare_number_redirects_to_the_canonical_ref(
    browse: Any, agent: Any, make_incident: Any, reporter: Any
) -> None:
    incident = make_incident(reporter)
    response = browse(agent).get(f"/incidents/{incident.number}/")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/"


def test_pages_load_their_css_and_js_from_static_files_only(browse: Any, agent: Any) -> None:
    html = browse(agent).get("/").content.decode()
    assert "/static/tocsin/css/app.css" in html
    assert "/static/tocsin/js/app.js" in html
    assert "<script>" not in html and "style=" not in html


def test_times_are_shown_in_the_viewers_zone(
    browse: Any, make_user: Any, reporter: Any, make_incident: Any
) -> None:
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), tick=False):
        incident = make_incident(reporter)
        tokyo = make_user(Role.AGENT, time_zone="Asia/Tokyo")
        page = text_of(browse(tokyo).get(f"/incidents/{incident.ref}/"))
    assert "02 Mar 2026, 18:30 JST" in page
