"""Sign-in throttling: per (username, address) and per address, with back-off; the victim's
own address keeps working; every failure and refusal is in the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import IP_FREE, USER_IP_FREE
from tocsin.core.models import AuditEntry, SignInThrottle

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def victim(make_user: Callable[..., User]) -> User:
    return make_user(Role.AGENT, username="vera", password=PASSWORD)


def sign_in(username: str, password: str, address: str, **headers: str) -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/login/", {"username": username, "password": password}, headers=headers
    )


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and response["Location"] in ("/", "/portal/")


def test_thirty_wrong_then_right_from_the_attackers_address_is_refused(
    clock: time_machine.Coordinates, victim: User
) -> None:
    for _ in range(30):
        assert sign_in("vera", "guess", ATTACKER).status_code in (200, 429)
    refused = sign_in("vera", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert "Too many failed sign-ins for this username. Try again in" in refused.content.decode()
    # The victim, from their own address, signs in at once.
    assert signed_in(sign_in("vera", PASSWORD, VICTIM))
    # Every failure and every refused attempt is in the audit log, with the address.
    failed = AuditEntry.objects.filter(action="signin.failed", ip=ATTACKER)
    throttled = AuditEntry.objects.filter(action="signin.throttled", ip=ATTACKER)
    assert failed.count() == USER_IP_FREE
    assert throttled.count() == 30 - USER_IP_FREE + 1
    assert {e.actor_label for e in failed} == {"vera"}
    assert {e.actor_kind for e in failed} == {"anonymous"}
    [success] = AuditEntry.objects.filter(action="signin")
    assert (success.actor_user, success.ip) == (victim, VICTIM)


def test_the_lock_ends_after_the_back_off_and_the_back_off_grows(
    clock: time_machine.Coordinates, victim: User
) -> None:
    for _ in range(USER_IP_FREE):
        sign_in("vera", "guess", ATTACKER)
    assert sign_in("vera", PASSWORD, ATTACKER).status_code == 429
    clock.shift(dt.timedelta(seconds=59))
    assert sign_in("vera", PASSWORD, ATTACKER).status_code == 429
    clock.shift(dt.timedelta(seconds=2))  # one minute after the fifth failure
    # One more failure now locks for two minutes, the next for four.
    assert sign_in("vera", "guess", ATTACKER).status_code == 429
    clock.shift(dt.timedelta(seconds=119))
    assert sign_in("vera", PASSWORD, ATTACKER).status_code == 429
    clock.shift(dt.timedelta(seconds=2))
    assert sign_in("vera", "guess", ATTACKER).status_code == 429
    clock.shift(dt.timedelta(minutes=3))
    assert sign_in("vera", PASSWORD, ATTACKER).status_code == 429
    clock.shift(dt.timedelta(minutes=1, seconds=1))
    assert signed_in(sign_in("vera", PASSWORD, ATTACKER))
    # A successful sign-in starts the count again.
    assert sign_in("vera", "guess", ATTACKER).status_code == 200
    assert not SignInThrottle.objects.get(scope="user_ip").locked_until


def test_failures_are_forgotten_after_a_quiet_window(
    clock: time_machine.Coordinates, victim: User
) -> None:
    for _ in range(USER_IP_FREE - 1):
        sign_in("vera", "guess", ATTACKER)
    clock.shift(dt.timedelta(minutes=16))
    for _ in range(USER_IP_FREE - 1):
        assert sign_in("vera", "guess", ATTACKER).status_code == 200
    assert signed_in(sign_in("vera", PASSWORD, ATTACKER))


def test_one_address_trying_many_usernames_is_locked_out(
    clock: time_machine.Coordinates, victim: User, make_user: Callable[..., User]
) -> None:
    make_user(Role.REPORTER, username="sam", password=PASSWORD)
    for n in range(IP_FREE):
        response = sign_in(f"user{n}", "guess", ATTACKER)
        assert response.status_code in (200, 429)
    refused = sign_in("sam", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your address" in refused.content.decode()
    assert signed_in(sign_in("vera", PASSWORD, VICTIM))
    clock.shift(dt.timedelta(minutes=1, seconds=1))
    assert signed_in(sign_in("sam", PASSWORD, ATTACKER))


def test_usernames_differing_in_case_share_a_counter(
    clock: time_machine.Coordinates, victim: User
) -> None:
    for name in ("vera", "VERA", "Vera", "vErA", "veRA"):
        sign_in(name, "guess", ATTACKER)
    assert sign_in("vera", PASSWORD, ATTACKER).status_code == 429


def test_behind_the_local_proxy_the_forwarded_address_counts(
    clock: time_machine.Coordinates, victim: User
) -> None:
    for _ in range(USER_IP_FREE):
        sign_in("vera", "guess", "127.0.0.1", X_Forwarded_For=f"10.9.9.9, {ATTACKER}")
    proxied = sign_in("vera", PASSWORD, "127.0.0.1", X_Forwarded_For=VICTIM)
    assert signed_in(proxied)
    refused = sign_in("vera", PASSWORD, "127.0.0.1", X_Forwarded_For=ATTACKER)
    assert refused.status_code == 429
    # A client that is not the proxy cannot choose its address with the header.
    assert sign_in("vera", PASSWORD, ATTACKER, X_Forwarded_For=VICTIM).status_code == 429


def test_the_admin_sign_in_is_the_same_throttled_page(
    clock: time_machine.Coordinates, make_user: Callable[..., User]
) -> None:
    make_user(Role.ADMIN, username="root", password=PASSWORD)
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(USER_IP_FREE):
        client.post("/admin/login/", {"username": "root", "password": "guess"})
    refused = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert refused.status_code == 429
    assert AuditEntry.objects.filter(action="signin.failed").count() == USER_IP_FREE
    clock.shift(dt.timedelta(minutes=2))
    ok = client.post("/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/"


def test_typos_behind_one_address_do_not_add_up_all_day(
    clock: time_machine.Coordinates, victim: User
) -> None:
    """Many people behind one address (a NAT): the address counts failures per 15 minutes."""
    for hour in range(4):
        for n in range(IP_FREE - 10):
            assert sign_in(f"typo{hour}-{n}", "guess", ATTACKER).status_code == 200
            clock.shift(dt.timedelta(seconds=10))
        clock.shift(dt.timedelta(minutes=10))
    assert signed_in(sign_in("vera", PASSWORD, ATTACKER))
