"""Ids typed with digits Python knows but int() and the database do not ("²", "٣"), or
far too long, are treated as no id: the page answers, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tocsin.accounts.models import Role, User
from tocsin.incidents.models import Incident

pytestmark = pytest.mark.django_db

ODD = ["²", "٣", "9" * 40]


@pytest.mark.parametrize("odd", ODD)
def test_odd_ids_in_queries_and_forms_are_no_ids(
    odd: str, make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    manager = make_user(Role.MANAGER)
    incident = make_incident(make_user(Role.REPORTER))
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    for path in (
        f"/action-items/?team={odd}",
        f"/action-items/new/?postmortem={odd}",
        f"/problems/?service={odd}",
        f"/problems/?category={odd}",
        f"/problems/trends/?days={odd}",
        f"/postmortems/?owner={odd}",
    ):
        assert client.get(path).status_code < 500, path
    reply = client.post(f"/incidents/{incident.ref}/runbooks/start/", {"runbook": odd})
    assert reply.status_code < 500
    reply = client.post("/settings/postmortems/", {"service": odd})
    assert reply.status_code < 500
