"""`POST /integrations/sms/reply`: signed as Twilio signs, acting only for the paged
person's own number; SMS replies by code and key presses during a page call."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.notify.test_channels_sms import FakeTwilio, configure, twilio_api  # noqa: F401
from tocsin.accounts.models import ContactMethod, Role, User
from tocsin.accounts.services import contact_method_add, contact_method_remove
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.escalation.engine import EscalationModule
from tocsin.escalation.models import Escalation, Page
from tocsin.escalation.services import page_now
from tocsin.incidents.models import Incident, Status, TimelineEntry
from tocsin.notify.channels import _twilio
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db

SETUP = Actor.system("test setup")
BASE = "https://tocsin.example.org"
PATH = "/integrations/sms/reply"
NUMBER = "+441632960001"
STRANGER = "+441632960999"
TOKENS = ("token-1", "token-2")


@pytest.fixture
def providers(settings: Any) -> None:
    settings.BASE_URL = BASE
    settings.TOCSIN_SMS_PROVIDERS = [
        {"name": "TOCSIN_SMS", "url": "https://sms-one.example", "account": "AC1",
         "token": TOKENS[0], "from": "+15005550001"},
        {"name": "TOCSIN_SMS2", "url": "https://sms-two.example", "account": "AC2",
         "token": TOKENS[1], "from": "+15005550002"},
    ]  # fmt: skip


@pytest.fixture
def paged(
    providers: None,
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> Page:
    """Rob, with an SMS contact method, paged for a new incident."""
    rob = make_user(Role.RESPONDER, username="rob")
    contact_method_add(user=rob, kind="sms", address="+44 1632 960001", actor=SETUP)
    incident = make_incident(rob, title="Card payments failing", impact=1, urgency=1)
    climb = page_now(incident=incident, actor=SETUP, user=rob)
    assert climb.next_at is not None
    assert EscalationModule().tick(climb.next_at) == 1
    return Page.objects.get(escalation=climb)


def sign(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's documented scheme, written out here on its own."""
    text = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def post(
    params: list[tuple[str, str]],
    *,
    token: str | None = TOKENS[0],
    query: str = "",
    signed: list[tuple[str, str]] | None = None,
    signed_url: str | None = None,
) -> Any:
    path = PATH + (f"?{query}" if query else "")
    headers = {}
    if token is not None:
        url = signed_url if signed_url is not None else BASE + path
        headers["HTTP_X_TWILIO_SIGNATURE"] = sign(token, url, signed or params)
    return Client().post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
    )


def sms(body: str, sender: str = NUMBER) -> list[tuple[str, str]]:
    return [
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC1"),
        ("From", sender),
        ("To", "+15005550001"),
        ("Body", body),
        ("NumMedia", "0"),
    ]


def said(response: Any, tag: str = "Message") -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    match = re.fullmatch(
        rf'<\?xml version="1.0" encoding="UTF-8"\?><Response><{tag}>(.*)</{tag}></Response>',
        response.content.decode(),
    )
    assert match, response.content
    return match[1]


def status_of(page: Page) -> str:
    return Incident.objects.values_list("status", flat=True).get(pk=page.incident_id)


# --- the signature --------------------------------------------------------------------------


def test_the_signature_matches_twilios_published_examples() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    assert _twilio.signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert _twilio.signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_valid_reply_acknowledges(paged: Page) -> None:
    response = post(sms(str(paged.pk)))
    assert said(response) == f"{paged.incident.ref} acknowledged"
    assert status_of(paged) == Status.ACKNOWLEDGED
    entry = TimelineEntry.objects.filter(incident_id=paged.incident_id).order_by("-pk").first()
    assert entry is not None and entry.actor_user_id == paged.person_id


def test_the_failover_providers_token_signs_too(paged: Page) -> None:
    assert said(post(sms(f"ack {paged.pk}"), token=TOKENS[1])).endswith("acknowledged")
    assert status_of(paged) == Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    "how",
    ["missing", "wrong token", "garbage", "other URL", "altered body", "added field", "non-ascii"],
)
def test_a_bad_signature_is_refused_and_changes_nothing(paged: Page, how: str) -> None:
    good = sms(str(paged.pk))
    if how == "missing":
        response = post(good, token=None)
    elif how == "wrong token":
        response = post(good, token="not-the-token")
    elif how == "garbage":
        response = Client().post(
            PATH,
            urlencode(good),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE="AAAA",
        )
    elif how == "other URL":
        response = post(good, signed_url="https://evil.example/integrations/sms/reply")
    elif how == "altered body":  # a replay of a signed "4821" as "resolve 4821"
        response = post(sms(f"resolve {paged.pk}"), signed=good)
    elif how == "added field":
        response = post([*good, ("Extra", "1")], signed=good)
    else:
        response = Client().post(
            PATH,
            urlencode(good),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE="é" * 28,
        )
    assert response.status_code == 403
    assert b"X-Twilio-Signature" in response.content
    assert status_of(paged) == Status.NEW


def test_with_no_provider_configured_nothing_is_trusted(paged: Page, settings: Any) -> None:
    settings.TOCSIN_SMS_PROVIDERS = []
    assert post(sms(str(paged.pk))).status_code == 403
    assert status_of(paged) == Status.NEW


def test_the_url_is_rebuilt_from_the_base_url_with_or_without_its_default_port(
    paged: Page,
) -> None:
    response = post(sms(str(paged.pk)), signed_url="https://tocsin.example.org:443" + PATH)
    assert said(response).endswith("acknowledged")


# --- what a reply does --------------------------------------------------------------------------


def test_resolve_by_reply(paged: Page) -> None:
    assert said(post(sms(f"Resolve {paged.pk}"))) == f"{paged.incident.ref} resolved"
    assert status_of(paged) == Status.RESOLVED
    # acknowledging afterwards changes nothing and says so
    assert said(post(sms(str(paged.pk)))) == f"{paged.incident.ref} is already resolved."
    assert status_of(paged) == Status.RESOLVED


@pytest.mark.parametrize(
    "body", ["  ACK   {code} ", "a{code}", "{code} ack", "#{code}", "ok {code}."]
)
def test_forms_of_acknowledge(paged: Page, body: str) -> None:
    assert said(post(sms(body.format(code=paged.pk)))).endswith("acknowledged")
    assert status_of(paged) == Status.ACKNOWLEDGED


def test_a_strangers_number_is_ignored_politely(paged: Page) -> None:
    text = said(post(sms(str(paged.pk), sender=STRANGER)))
    assert "could not match" in text
    assert status_of(paged) == Status.NEW


def test_a_disabled_contact_methods_number_is_ignored(paged: Page) -> None:
    method = ContactMethod.objects.get(user_id=paged.person_id, kind="sms")
    contact_method_remove(method=method, actor=SETUP)
    assert "could not match" in said(post(sms(str(paged.pk))))
    assert status_of(paged) == Status.NEW


def test_another_persons_number_cannot_act_on_rob_s_page(
    paged: Page, make_user: Callable[..., User]
) -> None:
    eve = make_user(Role.RESPONDER, username="eve")
    contact_method_add(user=eve, kind="sms", address=STRANGER, actor=SETUP)
    assert "could not match" in said(post(sms(str(paged.pk), sender=STRANGER)))
    assert status_of(paged) == Status.NEW


def test_an_unknown_code_answers_like_a_strangers(paged: Page) -> None:
    unknown = said(post(sms(str(paged.pk + 1000))))
    stranger = said(post(sms(str(paged.pk), sender=STRANGER)))
    assert unknown == stranger
    assert status_of(paged) == Status.NEW


def test_a_page_older_than_a_day_no_longer_answers(paged: Page) -> None:
    Page.objects.filter(pk=paged.pk).update(created_at=paged.created_at - dt.timedelta(hours=25))
    assert "could not match" in said(post(sms(str(paged.pk))))
    assert status_of(paged) == Status.NEW


@pytest.mark.parametrize(
    "body",
    [
        "",
        "hello",
        "ack",
        "delete 1",
        "ack resolve 5",
        "9" * 25,
        "99999999999999999999",
        "-1",
        "0",
        "\x00\x01",
        "<Response/>",
        "ack 12 34",
        "\u0664\u0668",  # Arabic-Indic digits
        "\u00b2",
    ],
)
def test_junk_gets_help_never_a_500(paged: Page, body: str) -> None:
    text = said(post(sms(body)))
    assert "Reply with the code" in text or "could not match" in text
    assert status_of(paged) == Status.NEW


def test_a_huge_code_that_fits_no_row_is_harmless(paged: Page) -> None:
    assert "could not match" in said(post(sms(str(2**63 - 1))))


def test_only_post_and_no_oversized_or_broken_bodies(paged: Page) -> None:
    assert Client().get(PATH).status_code == 405
    big = [*sms(str(paged.pk)), ("Padding", "x" * 20_000)]
    assert post(big).status_code == 413
    broken = Client().post(
        PATH,
        b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=x",
        HTTP_X_TWILIO_SIGNATURE="AAAA",
    )
    assert broken.status_code in (400, 403)
    assert status_of(paged) == Status.NEW


def test_replies_need_no_session_or_csrf_token(paged: Page) -> None:
    client = Client(enforce_csrf_checks=True)
    params = sms(str(paged.pk))
    response = client.post(
        PATH,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=sign(TOKENS[0], BASE + PATH, params),
    )
    assert said(response).endswith("acknowledged")
    assert "sessionid" not in response.cookies


# --- a key pressed during a page call ------------------------------------------------------------


def call(digits: str, to: str = NUMBER) -> list[tuple[str, str]]:
    return [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC1"),
        ("From", "+15005550001"),
        ("To", to),
        ("Direction", "outbound-api"),
        ("Digits", digits),
    ]


def test_key_4_acknowledges_and_6_resolves(paged: Page) -> None:
    query = f"page={paged.pk}"
    assert said(post(call("4"), query=query), "Say") == (
        f"{paged.incident.ref} acknowledged. Goodbye."
    )
    assert status_of(paged) == Status.ACKNOWLEDGED
    assert said(post(call("6"), query=query), "Say") == f"{paged.incident.ref} resolved. Goodbye."
    assert status_of(paged) == Status.RESOLVED


def test_a_key_press_is_checked_like_a_text(paged: Page) -> None:
    query = f"page={paged.pk}"
    assert said(post(call("9"), query=query), "Say") == "That key does nothing. Goodbye."
    assert "could not match" in said(post(call("4", to=STRANGER), query=query), "Say")
    for junk in ("junk", "%C2%B2", "", "0", "9" * 30, "-1"):
        assert "could not match" in said(post(call("4"), query=f"page={junk}"), "Say")
    # the page code is in the signed URL: moving it to another page breaks the signature
    forged = post(call("4"), query=f"page={paged.pk + 1}", signed_url=f"{BASE}{PATH}?{query}")
    assert forged.status_code == 403
    assert status_of(paged) == Status.NEW


# --- end to end: the SMS that goes out is the one that is answered --------------------------


def test_the_code_in_the_sms_sent_acknowledges_the_page(
    settings: Any,
    twilio_api: Callable[..., FakeTwilio],  # noqa: F811
    make_user: Callable[..., User],
    make_incident: Callable[..., Incident],
) -> None:
    provider = twilio_api()
    configure(settings, provider.url)
    rob = make_user(Role.RESPONDER, username="rob")
    contact_method_add(user=rob, kind="sms", address=NUMBER, actor=SETUP)
    incident = make_incident(rob, title="Checkout <down> & out", impact=1, urgency=1)
    climb = page_now(incident=incident, actor=SETUP, user=rob)
    assert climb.next_at is not None
    EscalationModule().tick(climb.next_at)
    message = OutboxMessage.objects.get(incident=incident, channel="sms")
    with travel(message.not_before):
        OutboxModule().tick(message.not_before)
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    [request] = provider.requests
    body = request.form["Body"]
    assert body.startswith(f"{incident.ref} P1: Checkout <down> & out. Reply ")
    code = re.search(r"Reply (\d+) to acknowledge", body)
    assert code is not None
    assert f"{settings.BASE_URL}/p/" in body  # the signed acknowledge link

    reply = sms(code[1], sender=request.form["To"])
    response = post(reply, token="token-1")
    assert said(response) == f"{incident.ref} acknowledged"
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert Escalation.objects.get(pk=climb.pk).state == "acknowledged"
