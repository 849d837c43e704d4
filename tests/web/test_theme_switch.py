"""The top bar's theme switch: light, dark or the system's, remembered in a cookie, working
as a plain form (no JavaScript needed)."""

from __future__ import annotations

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.core.theme import THEME_COOKIE

pytestmark = pytest.mark.django_db


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html_tag(client: Client, path: str = "/") -> str:
    html = client.get(path).content.decode()
    start = html.index("<html")
    return html[start : html.index(">", start) + 1]


def test_without_a_choice_the_page_follows_the_system(agent: User) -> None:
    client = _signed_in(agent)
    assert _html_tag(client) == '<html lang="en">'
    html = client.get("/").content.decode()
    assert '<meta name="color-scheme" content="light dark">' in html
    assert (
        'value="system" class="theme-option" title="Follow the system setting" aria-pressed="true"'
        in html
    )


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_choice_is_remembered_and_put_on_every_page(agent: User, theme: str) -> None:
    client = _signed_in(agent)
    response = client.post("/theme/", {"theme": theme, "next": "/alerts/?status=open"})
    assert response.status_code == 302
    assert response["Location"] == "/alerts/?status=open"
    cookie = response.cookies[THEME_COOKIE]
    assert cookie.value == theme
    assert int(cookie["max-age"]) > 300 * 24 * 3600
    assert cookie["samesite"] == "Lax"
    assert _html_tag(client) == f'<html lang="en" data-theme="{theme}">'
    assert _html_tag(client, "/alerts/") == f'<html lang="en" data-theme="{theme}">'
    assert (
        f'value="{theme}" class="theme-option" title="{theme.title()} theme" aria-pressed="true"'
        in (client.get("/").content.decode())
    )


def test_choosing_system_forgets_the_choice(agent: User) -> None:
    client = _signed_in(agent)
    client.post("/theme/", {"theme": "dark", "next": "/"})
    response = client.post("/theme/", {"theme": "system", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[THEME_COOKIE].value == ""  # deleted
    assert _html_tag(client) == '<html lang="en">'


def test_the_script_gets_a_quiet_answer(agent: User) -> None:
    response = _signed_in(agent).post(
        "/theme/", {"theme": "dark"}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 204
    assert response.cookies[THEME_COOKIE].value == "dark"


def test_the_sign_in_page_honours_the_choice_too() -> None:
    client = Client()
    client.cookies[THEME_COOKIE] = "dark"
    assert _html_tag(client, "/login/") == '<html lang="en" data-theme="dark">'
    client.cookies[THEME_COOKIE] = "<script>"
    assert _html_tag(client, "/login/") == '<html lang="en">'


@pytest.mark.parametrize("theme", ["", "sepia", "DARK"])
def test_an_unknown_theme_is_refused(agent: User, theme: str) -> None:
    response = _signed_in(agent).post("/theme/", {"theme": theme})
    assert response.status_code == 400
    assert response.content.decode() == "Choose a theme: light, dark or system."
    assert THEME_COOKIE not in response.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", ""])
def test_it_never_sends_people_off_site(agent: User, target: str) -> None:
    response = _signed_in(agent).post("/theme/", {"theme": "dark", "next": target})
    assert response["Location"] == "/"


def test_a_get_changes_nothing(agent: User) -> None:
    response = _signed_in(agent).get("/theme/?theme=dark")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert THEME_COOKIE not in response.cookies


def test_the_form_needs_the_csrf_token(agent: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post("/theme/", {"theme": "dark"}).status_code == 403
