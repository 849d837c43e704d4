"""`tocsin smtp`: the inbound email server (aiosmtpd).

Mail to `<integration-key>@<any domain>` (an integration of kind "email") opens an
incident or adds a note (tocsin.incidents.email_intake). The replies a sender sees:

- RCPT to anything else: `550 5.1.1 No such integration`.
- A message over TOCSIN_EMAIL_MAX_BYTES (default 25 MB): `552 5.3.4 Message too big`
  (at MAIL FROM when the client declares SIZE, else after DATA).
- A message that is not an email at all: `550 5.6.0 Malformed message: ...`.
- Database locked or unavailable: `451 4.3.0 Try again later`; nothing was written and
  the sending server retries.
- `250` only after the transaction that filed the mail has committed.

The handler runs in aiosmtpd's asyncio loop; the database work runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import AnyStr, TypeVar
from urllib.parse import urlparse

from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from tocsin.core.env import env_int
from tocsin.core.errors import TocsinError

log = logging.getLogger("tocsin.smtp")

NO_SUCH_INTEGRATION = "550 5.1.1 No such integration"
TOO_BIG = "552 5.3.4 Message too big"
TRY_LATER = "451 4.3.0 Try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_RECIPIENTS = 10

T = TypeVar("T")


def max_message_bytes() -> int:
    """TOCSIN_EMAIL_MAX_BYTES, read when the server starts."""
    return env_int("TOCSIN_EMAIL_MAX_BYTES", DEFAULT_MAX_MESSAGE_BYTES, minimum=1024)


def _with_connection(work: Callable[[], T]) -> T:
    """Run in a worker thread: a fresh connection, closed afterwards (the threads of the
    pool are not Django's request threads, so nothing else would close it)."""
    close_old_connections()
    try:
        return work()
    finally:
        connection.close()


async def in_thread(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(_with_connection, work)


def _reply_text(value: str) -> str:
    """Text safe inside an SMTP reply line: printable ASCII, one line, short."""
    text = "".join(ch if " " <= ch <= "~" else " " for ch in value)
    return " ".join(text.split())[:200]


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP with Tocsin's wording for the size limit (aiosmtpd answers
    "552 Error: ..." itself, both for MAIL FROM ... SIZE= and after DATA)."""

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 "):
            status = TOO_BIG
        await super().push(status)


class IntakeHandler:
    """aiosmtpd handler: decides per recipient, then files the message."""

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        from tocsin.catalog.models import IntegrationKind
        from tocsin.catalog.selectors import integration_by_key
        from tocsin.incidents.email_intake import key_from_address

        key = key_from_address(address)
        if key is None:
            log.info("smtp: refused recipient %r from %s", address, session.peer)
            return NO_SUCH_INTEGRATION
        try:
            found = await in_thread(
                lambda: integration_by_key(key, kinds=(IntegrationKind.EMAIL,)) is not None
            )
        except (OperationalError, InterfaceError) as exc:
            log.warning("smtp: database unavailable at RCPT: %s", exc)
            return TRY_LATER
        except Exception:
            log.exception("smtp: unexpected error at RCPT; answered 451")
            return TRY_LATER
        if not found:
            log.info("smtp: refused recipient %r from %s", address, session.peer)
            return NO_SUCH_INTEGRATION
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        from tocsin.incidents.email_intake import (
            MalformedMail,
            file_mail,
            key_from_address,
            parse_mail,
        )

        raw = envelope.original_content or b""
        try:
            # Decoding a large message takes a while: not in the event loop's thread.
            mail = await asyncio.to_thread(
                parse_mail, raw, envelope_sender=envelope.mail_from or ""
            )
        except MalformedMail as exc:
            log.info("smtp: malformed message from %s: %s", session.peer, exc)
            return f"550 5.6.0 Malformed message: {_reply_text(str(exc))}"
        except Exception:
            log.exception("smtp: unexpected error reading a message; answered 451")
            return TRY_LATER
        keys = [key for key in map(key_from_address, envelope.rcpt_tos) if key]
        try:
            filed = await in_thread(lambda: file_mail(mail=mail, keys=keys))
        except (OperationalError, InterfaceError) as exc:
            # Locked (SQLite busy timeout, PostgreSQL lock_timeout) or unreachable.
            log.warning("smtp: database unavailable, answered 451: %s", exc)
            return TRY_LATER
        except TocsinError as exc:
            log.info("smtp: message from %s refused: %s", session.peer, exc.message)
            return f"554 5.6.0 Message refused: {_reply_text(exc.message)}"
        except Exception:
            log.exception("smtp: unexpected error filing a message; answered 451")
            return TRY_LATER
        if not filed:
            return NO_SUCH_INTEGRATION
        refs = ", ".join(dict.fromkeys(item.incident.ref for item in filed))
        for item in filed:
            log.info(
                "smtp: mail from %s -> %s %s", mail.sender_label, item.outcome, item.incident.ref
            )
        return f"250 2.0.0 OK {refs}"


def server_hostname() -> str:
    """The name the server greets with: the host of TOCSIN_BASE_URL (no DNS lookup)."""
    return urlparse(settings.BASE_URL).hostname or "localhost"


def smtp_factory(handler: IntakeHandler | None = None) -> Callable[[], SMTP]:
    """A protocol factory for asyncio's create_server (the limit is read now)."""
    handler = handler or IntakeHandler()
    hostname = server_hostname()
    limit = max_message_bytes()

    def factory() -> SMTP:
        return IntakeSMTP(
            handler,
            hostname=hostname,
            ident="Tocsin ESMTP",
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            timeout=60,
        )

    return factory


async def serve(host: str, port: int, *, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or until the task is cancelled)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(smtp_factory(), host=host, port=port)
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    log.info("smtp server listening on %s:%s", host, port)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        server.close()
        await server.wait_closed()
        log.info("smtp server stopped")


def run(host: str, port: int) -> int:
    # aiosmtpd logs every SMTP command at INFO; keep Tocsin's own lines only.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(serve(host, port))
    return 0
