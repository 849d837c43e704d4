"""The email channel: SMTP through Django's mail backend (TOCSIN_EMAIL_URL)."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from tocsin.notify.channels.base import (
    MAIL_RETRY,
    Permanent,
    Result,
    Sent,
    Temporary,
    address_of,
)

if TYPE_CHECKING:
    from tocsin.notify.models import OutboxMessage

kind = "email"
policy = MAIL_RETRY
SEND_TIMEOUT = 10  # seconds per SMTP operation; well inside the policy's lease
# Headers a message may add through `payload["headers"]` (mailing-list mail such as the
# status page's: RFC 2369 List-Unsubscribe and RFC 8058 one-click List-Unsubscribe-Post).
EXTRA_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id")


def _extra_headers(message: OutboxMessage) -> dict[str, str]:
    payload = message.payload if isinstance(message.payload, dict) else {}
    asked = payload.get("headers")
    if not isinstance(asked, dict):
        return {}
    return {
        name: str(asked[name]).replace("\r", " ").replace("\n", " ")
        for name in EXTRA_HEADERS
        if isinstance(asked.get(name), str)
    }


def send(message: OutboxMessage) -> Result:
    message_id = f"<{message.message_id}@tocsin>"
    recipient = address_of(message)
    if not recipient:
        return Permanent("no recipient address")
    mail = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={**_extra_headers(message), "Message-ID": message_id},
        connection=get_connection(timeout=SEND_TIMEOUT),
    )
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return Permanent(f"recipient refused: {_describe(exc)}")
        return Temporary(f"recipient deferred: {_describe(exc)}")
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            return Permanent(f"{exc.__class__.__name__}: {exc.smtp_code} {_text(exc.smtp_error)}")
        return Temporary(f"{exc.__class__.__name__}: {exc.smtp_code} {_text(exc.smtp_error)}")
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped
        return Temporary(_describe(exc))
    return Sent(provider_message_id=message_id)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"
