"""The voice channel: a phone call through the provider adapter (_twilio, with failover).

The call's TwiML reads the page aloud and gathers one key press (docs/channels-sms.md):

    <Response>
      <Gather numDigits="1" method="POST" timeout="10"
              action="{TOCSIN_BASE_URL}/integrations/sms/reply?page=4821">
        <Say>Tocsin page. INC-42, priority 1. Card payments failing.
             Press 4 to acknowledge. Press 6 to resolve.</Say>
      </Gather>
      <Say>No key was pressed. Goodbye.</Say>
    </Response>

The provider posts the digit to the reply endpoint, signed like an SMS reply; the page
code is in the signed URL and the called number must be one of the person's. Every
text is escaped as XML (the document is built by ElementTree, never by pasting).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings

from tocsin.notify.channels import _twilio
from tocsin.notify.channels.base import PAGE_RETRY, Permanent, Result, address_of
from tocsin.notify.channels.sms import cut, one_line, page_code

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "voice"
policy = PAGE_RETRY
REPLY_PATH = "/integrations/sms/reply"
ACK_DIGIT = "4"
RESOLVE_DIGIT = "6"
GATHER_SECONDS = 10
TITLE_MAX = 200


def reply_url(code: int) -> str:
    return f"{settings.BASE_URL.rstrip('/')}{REPLY_PATH}?{urlencode({'page': code})}"


def call_twiml(message: OutboxMessage) -> str:
    payload = message.payload if isinstance(message.payload, dict) else {}
    code = page_code(payload)
    response = ET.Element("Response")
    if code is None:
        say = ET.SubElement(response, "Say")
        say.text = cut(f"{one_line(message.subject)}. {one_line(message.body)}", 600)
        return ET.tostring(response, encoding="unicode")
    ref = one_line(str(payload.get("incident") or ""))[:30]
    priority = payload.get("priority")
    title = cut(one_line(str(payload.get("title") or message.subject)), TITLE_MAX)
    words = f"Tocsin page. {ref}"
    if isinstance(priority, int):
        words += f", priority {priority}"
    words += f". {title.rstrip('.')}. "
    bundle = payload.get("bundle")
    if isinstance(bundle, dict) and bundle.get("text"):  # a storm: "12 more incidents for …"
        words += one_line(str(bundle["text"]))[:120].rstrip(".") + ". "
    words += f"Press {ACK_DIGIT} to acknowledge. Press {RESOLVE_DIGIT} to resolve."
    gather = ET.SubElement(
        response,
        "Gather",
        numDigits="1",
        action=reply_url(code),
        method="POST",
        timeout=str(GATHER_SECONDS),
    )
    ET.SubElement(gather, "Say").text = words
    ET.SubElement(response, "Say").text = "No key was pressed. Goodbye."
    return ET.tostring(response, encoding="unicode")


def send(message: OutboxMessage) -> Result:
    to = address_of(message)
    if not to:
        return Permanent("no phone number")
    return _twilio.place_call(to=to, twiml=call_twiml(message), key=str(message.message_id))
