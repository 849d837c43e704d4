"""Notification rules and paging preferences by API (issue 10): GET answers the rules that
page the person now (the defaults while none is stored), PUT replaces one urgency's rules,
`/paging` holds the preferences; 404 for everyone but the person (staff) and admins."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.accounts.models import NotificationRule
from tocsin.accounts.services import contact_method_add, contact_method_remove
from tocsin.core.actors import Actor

pytestmark = pytest.mark.django_db

RULES = "/api/v1/users/{}/notification-rules"
PAGING = "/api/v1/users/{}/paging"


def put(client: Any, path: str, body: Any) -> Any:
    return client.client.put(
        path, body, content_type="application/json", headers=client._headers(None)
    )


def fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.content
    return [".".join(str(p) for p in error["loc"][1:]) for error in response.json()["detail"]]


@pytest.fixture
def methods(responder) -> dict[str, Any]:
    actor = Actor.system("test setup")
    return {
        kind: contact_method_add(user=responder, kind=kind, address=address, actor=actor)
        for kind, address in [
            ("email", "rob@example.com"),
            ("sms", "+441632960000"),
            ("voice", "+441632960001"),
        ]
    }


def cycle(body: dict[str, Any], urgency: str) -> list[tuple[str, int]]:
    return [(r["kind"], r["delay_minutes"]) for r in body[urgency]]


def test_a_person_without_rules_gets_the_defaults(api, responder, methods) -> None:
    response = api(responder).get(RULES.format("rob"))
    assert response.status_code == 200
    body = response.json()
    assert body["defaults"] == {"high": True, "low": True}
    assert cycle(body, "high") == [("email", 0), ("sms", 2), ("voice", 5)]
    assert cycle(body, "low") == [("email", 0), ("sms", 2)]  # low urgency never calls
    first = body["high"][0]
    assert first == {
        "contact_method": methods["email"].pk,
        "kind": "email",
        "label": "",
        "delay_minutes": 0,
    }


def test_put_replaces_one_urgency_and_leaves_the_other(api, responder, methods) -> None:
    client = api(responder)
    body = {
        "high": [
            {"contact_method": methods["voice"].pk, "delay_minutes": 1},
            {"contact_method": methods["sms"].pk, "delay_minutes": 0},
        ]
    }
    response = put(client, RULES.format("rob"), body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert cycle(answer, "high") == [("sms", 0), ("voice", 1)]
    assert answer["defaults"] == {"high": False, "low": True}
    assert cycle(answer, "low") == [("email", 0), ("sms", 2)]
    assert client.get(RULES.format("rob")).json() == answer
    assert NotificationRule.objects.filter(user=responder).count() == 2


def test_an_empty_list_returns_to_the_defaults(api, responder, methods) -> None:
    client = api(responder)
    one = [{"contact_method": methods["sms"].pk, "delay_minutes": 0}]
    put(client, RULES.format("rob"), {"high": one, "low": one})
    answer = put(client, RULES.format("rob"), {"high": []}).json()
    assert answer["defaults"] == {"high": True, "low": False}
    assert cycle(answer, "high") == [("email", 0), ("sms", 2), ("voice", 5)]
    assert cycle(answer, "low") == [("sms", 0)]


def test_a_removed_method_drops_out_of_the_rules(api, responder, methods) -> None:
    client = api(responder)
    rules = [
        {"contact_method": methods["sms"].pk, "delay_minutes": 0},
        {"contact_method": methods["voice"].pk, "delay_minutes": 3},
    ]
    put(client, RULES.format("rob"), {"high": rules})
    contact_method_remove(method=methods["sms"], actor=Actor.system("test"))
    assert cycle(client.get(RULES.format("rob")).json(), "high") == [("voice", 3)]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"contact_method": 10**6, "delay_minutes": 0}, "high[0].contact_method"),
        ({"contact_method": "1", "delay_minutes": 0}, "payload.high.0.contact_method"),
        ({"contact_method": True, "delay_minutes": 0}, "payload.high.0.contact_method"),
        ({"contact_method": 1, "delay_minutes": 1441}, "payload.high.0.delay_minutes"),
        ({"contact_method": 1, "delay_minutes": -1}, "payload.high.0.delay_minutes"),
        ({"contact_method": 1, "delay_minutes": 1.5}, "payload.high.0.delay_minutes"),
        ({"contact_method": 1, "when": 3}, "payload.high.0.when"),
    ],
)
def test_bad_rules_are_a_422_naming_the_field_and_change_nothing(
    api, responder, methods, rule: dict[str, Any], field: str
) -> None:
    response = put(api(responder), RULES.format("rob"), {"high": [rule]})
    assert field in fields(response)
    assert not NotificationRule.objects.exists()


def test_someone_elses_method_is_refused(api, responder, agent, methods) -> None:
    theirs = contact_method_add(
        user=agent, kind="email", address="alice@example.com", actor=Actor.system("t")
    )
    body = {"high": [{"contact_method": theirs.pk, "delay_minutes": 0}]}
    assert fields(put(api(responder), RULES.format("rob"), body)) == ["high[0].contact_method"]
    assert not NotificationRule.objects.exists()


def test_the_same_method_and_delay_twice_is_refused(api, responder, methods) -> None:
    rule = {"contact_method": methods["sms"].pk, "delay_minutes": 2}
    response = put(api(responder), RULES.format("rob"), {"high": [rule, rule]})
    assert fields(response) == ["high[1]"]
    assert not NotificationRule.objects.exists()


def test_an_unknown_urgency_is_refused(api, responder, methods) -> None:
    response = put(api(responder), RULES.format("rob"), {"medium": []})
    assert "payload.medium" in fields(response)


def test_other_staff_and_reporters_get_404(api, responder, agent, reporter, methods) -> None:
    body = {"high": [{"contact_method": methods["sms"].pk, "delay_minutes": 0}]}
    for caller, username in [(agent, "rob"), (reporter, "rob"), (reporter, "rita")]:
        client = api(caller)
        assert client.get(RULES.format(username)).status_code == 404
        assert put(client, RULES.format(username), body).status_code == 404
        assert client.get(PAGING.format(username)).status_code == 404
        assert client.patch(PAGING.format(username), {"handoff_notice_minutes": 5}).status_code == (
            404
        )
    assert not NotificationRule.objects.exists()
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 60


def test_administrators_set_anyones_rules(api, admin, responder, methods) -> None:
    body = {"low": [{"contact_method": methods["email"].pk, "delay_minutes": 10}]}
    response = put(api(admin), RULES.format("rob"), body)
    assert response.status_code == 200
    assert cycle(response.json(), "low") == [("email", 10)]


def test_paging_preferences_read_and_change(api, responder) -> None:
    client = api(responder)
    assert client.get(PAGING.format("rob")).json() == {
        "handoff_notice_minutes": 60,
        "low_urgency_working_hours": False,
        "time_zone": responder.time_zone,
    }
    changed = client.patch(PAGING.format("rob"), {"low_urgency_working_hours": True})
    assert changed.status_code == 200
    assert changed.json()["low_urgency_working_hours"] is True
    assert changed.json()["handoff_notice_minutes"] == 60  # not sent: unchanged
    changed = client.patch(PAGING.format("rob"), {"handoff_notice_minutes": 0})
    assert changed.json()["handoff_notice_minutes"] == 0
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 0 and responder.low_urgency_working_hours


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"handoff_notice_minutes": -1}, "payload.handoff_notice_minutes"),
        ({"handoff_notice_minutes": 10081}, "payload.handoff_notice_minutes"),
        ({"handoff_notice_minutes": "30"}, "payload.handoff_notice_minutes"),
        ({"low_urgency_working_hours": "yes"}, "payload.low_urgency_working_hours"),
        ({"time_zone": "Europe/Berlin"}, "payload.time_zone"),
    ],
)
def test_bad_preferences_are_a_422_naming_the_field(
    api, responder, body: dict[str, Any], field: str
) -> None:
    assert field in fields(api(responder).patch(PAGING.format("rob"), body))
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 60
    assert responder.low_urgency_working_hours is False


def test_an_administrator_changes_anyones_preferences(api, admin, responder) -> None:
    response = api(admin).patch(PAGING.format("rob"), {"handoff_notice_minutes": 15})
    assert response.status_code == 200
    responder.refresh_from_db()
    assert responder.handoff_notice_minutes == 15


# --- random bodies never make a 500 ------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["email", "sms", "+441632960000", "\x00", "https://x.example/a", "high"])
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
KEYS = st.sampled_from(
    [
        "kind",
        "address",
        "label",
        "high",
        "low",
        "contact_method",
        "delay_minutes",
        "handoff_notice_minutes",
        "low_urgency_working_hours",
    ]
)
OBJECTS = st.recursive(
    st.dictionaries(KEYS | st.text(max_size=6), VALUES, max_size=4),
    lambda inner: st.dictionaries(KEYS, inner | st.lists(inner, max_size=3), max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(
        [
            ("post", "/api/v1/users/rob/contact-methods"),
            ("put", RULES.format("rob")),
            ("patch", PAGING.format("rob")),
        ]
    ),
    body=OBJECTS | VALUES,
)
def test_random_bodies_never_make_a_500(api, responder, route: tuple[str, str], body: Any) -> None:
    client = api(responder)
    method, path = route
    send = getattr(client.client, method)
    response = send(path, body, content_type="application/json", headers=client._headers(None))
    assert response.status_code in (200, 201, 400, 422), (response.status_code, body)
