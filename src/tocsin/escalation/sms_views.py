"""`POST /integrations/sms/reply`: acknowledge or resolve a page by SMS reply or key press.

The SMS provider forwards an incoming text as Twilio does (form fields From, To, Body,
MessageSid, ...) and the voice provider posts the key pressed during a page call
(CallSid, To, Digits; the page's code is in the URL the call's TwiML named). Both are
signed as Twilio signs (X-Twilio-Signature, checked against every configured provider's
token with the URL rebuilt from TOCSIN_BASE_URL); a missing or wrong signature is
answered 403 and changes nothing. See docs/channels-sms.md.

A text "4821" or "ack 4821" acknowledges the incident of page 4821, "resolve 4821"
resolves it; key 4 acknowledges, 6 resolves. It acts only when the phone number is one
of the paged person's enabled SMS or voice contact methods and the page is at most a
day old (the life of a page's links); anything else is answered politely and changes
nothing, with the same words whether or not the page exists. The reply is TwiML:
`<Response><Message>INC-42 acknowledged</Message></Response>` (`<Say>` on a call).
No session, no CSRF token: the signature is the authentication. Junk gets a 4xx or a
polite TwiML answer, never a 500.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tocsin.accounts.models import ContactKind, ContactMethod
from tocsin.accounts.services import contact_address
from tocsin.core.actors import Actor, client_ip
from tocsin.core.clock import now
from tocsin.core.errors import TocsinError
from tocsin.escalation.links import LINK_MAX_AGE
from tocsin.escalation.models import Page
from tocsin.escalation.responders import is_responder_page
from tocsin.escalation.services import page_act
from tocsin.incidents.models import Status
from tocsin.notify.channels import _twilio

log = logging.getLogger("tocsin.escalation.sms")

MAX_BODY = 16 * 1024  # a forwarded SMS is a few hundred bytes
CODE_MAX = 2**63 - 1
ACK_WORDS = frozenset({"a", "ack", "acknowledge", "acknowledged", "ok", "yes"})
RESOLVE_WORDS = frozenset({"r", "res", "resolve", "resolved", "close", "closed", "fixed"})
DIGITS = {"4": "acknowledge", "6": "resolve"}
PHONE_KINDS = (ContactKind.SMS, ContactKind.VOICE)

NO_MATCH = "Tocsin could not match this reply to a page sent to this number."
HELP = "Reply with the code from the page to acknowledge it (e.g. 4821), or 'resolve 4821'."
KEY_HELP = "That key does nothing. Goodbye."
_REPLY = re.compile(
    r"^(?:(?P<word>[a-z]+)\s*[:#-]?\s*)?#?(?P<code>[0-9]{1,19})(?:\s+(?P<after>[a-z]+))?$"
)
_PHONE_NOISE = re.compile(r"[\s().-]")
_CODE = re.compile(r"[0-9]{1,19}")


def _twiml(tag: str, text: str) -> HttpResponse:
    response = ET.Element("Response")
    ET.SubElement(response, tag).text = text
    body = '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(response, encoding="unicode")
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def parse_reply(text: str) -> tuple[str, int] | None:
    """("acknowledge" | "resolve", code) from an SMS body, or None when it is neither."""
    words = " ".join((text or "").lower().split()).strip(" .!")
    match = _REPLY.match(words)
    if match is None:
        return None
    code = int(match["code"])
    if not 0 < code <= CODE_MAX:
        return None
    chosen = {w for w in (match["word"], match["after"]) if w}
    if chosen - ACK_WORDS - RESOLVE_WORDS or len(chosen) > 1:
        return None
    return ("resolve" if chosen & RESOLVE_WORDS else "acknowledge"), code


def _phone(number: str) -> str:
    return _PHONE_NOISE.sub("", number or "")


def _number_is_theirs(person_id: int, number: str) -> bool:
    wanted = _phone(number)
    if not wanted:
        return False
    methods = ContactMethod.objects.filter(
        user_id=person_id, kind__in=PHONE_KINDS, disabled_at__isnull=True
    )
    return any(_phone(contact_address(method)) == wanted for method in methods)


def _signed_urls(request: HttpRequest) -> list[str]:
    """The URL the provider signed, as TOCSIN_BASE_URL names this server: the base's
    origin with the request's full path (a prefix mounted by SCRIPT_NAME included), and
    the base with the path inside the application."""
    base = settings.BASE_URL.rstrip("/")
    parts = urlsplit(base)
    urls = [f"{parts.scheme}://{parts.netloc}{request.get_full_path()}"]
    inside = f"{base}{request.get_full_path_info()}"
    if inside not in urls:
        urls.append(inside)
    return urls


def _act(request: HttpRequest, code: int, action: str, number: str) -> str:
    page = Page.objects.select_related("person", "incident").filter(pk=code).first()
    if (
        page is None
        or not page.person.is_active
        or page.created_at < now() - LINK_MAX_AGE
        or not _number_is_theirs(page.person_id, number)
    ):
        log.info("SMS reply for page %s not matched to its person; ignored", code)
        return NO_MATCH
    ref = page.incident.ref
    before = page.incident.status
    actor = Actor.for_user(
        page.person, request_id=getattr(request, "request_id", ""), ip=client_ip(request)
    )
    try:
        incident = page_act(page=page, action=action, actor=actor)
    except TocsinError as exc:
        return f"{ref}: {exc.message}"[:300]
    if is_responder_page(page):  # a responder request: acknowledging it accepts
        return f"{ref}: you accepted the request to respond."
    if incident.status == before:
        return f"{ref} is already {Status(incident.status).label.lower()}."
    return f"{ref} {'resolved' if action == 'resolve' else 'acknowledged'}"


@csrf_exempt
@require_POST
def sms_reply(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _plain(400, "Content-Length: not a number.")
    if length > MAX_BODY:
        return _plain(413, f"The body is larger than {MAX_BODY} bytes.")
    try:
        params = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError, ValueError):
        return _plain(400, "The body is not a form.")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not any(_twilio.signature_valid(url, params, signature) for url in _signed_urls(request)):
        return _plain(403, "X-Twilio-Signature: missing or not valid for this request.")
    form = dict(params)
    if "CallSid" in form or "Digits" in form:  # a key pressed during a page call
        action = DIGITS.get(form.get("Digits", "").strip())
        code_text = request.GET.get("page", "")
        if action is None:
            return _twiml("Say", KEY_HELP)
        if not _CODE.fullmatch(code_text) or not 0 < int(code_text) <= CODE_MAX:
            return _twiml("Say", NO_MATCH)
        outbound_call = form.get("Direction", "outbound").startswith("outbound")
        number = form.get("To", "") if outbound_call else form.get("From", "")
        text = _act(request, int(code_text), action, number)
        return _twiml("Say", f"{text}. Goodbye." if not text.endswith(".") else f"{text} Goodbye.")
    parsed = parse_reply(form.get("Body", ""))
    if parsed is None:
        return _twiml("Message", HELP)
    action, code = parsed
    return _twiml("Message", _act(request, code, action, form.get("From", "")))
