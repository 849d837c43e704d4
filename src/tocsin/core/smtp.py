"""`tocsin smtp`: the inbound email server (aiosmtpd).

Email intake (turning mail to an integration address into inbox rows) is a later issue.
Until then the server accepts connections and refuses every recipient, so senders get a
clear permanent error instead of a timeout. The later issue fills in `IntakeHandler`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlparse

from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings

log = logging.getLogger("tocsin.smtp")

NO_SUCH_INTEGRATION = "550 5.1.1 No such integration"
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class IntakeHandler:
    """aiosmtpd handler: decides per recipient, then receives the message."""

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        log.info("smtp: refused recipient %s from %s", address, session.peer)
        return NO_SUCH_INTEGRATION

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Not reached while every recipient is refused (aiosmtpd answers 503 first).
        return "554 5.7.1 No valid recipients"


def server_hostname() -> str:
    """The name the server greets with: the host of TOCSIN_BASE_URL (no DNS lookup)."""
    return urlparse(settings.BASE_URL).hostname or "localhost"


async def serve(host: str, port: int, *, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or until the task is cancelled)."""
    loop = asyncio.get_running_loop()
    handler = IntakeHandler()
    hostname = server_hostname()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            ident="Tocsin ESMTP",
            data_size_limit=MAX_MESSAGE_BYTES,
            timeout=60,
        )

    server = await loop.create_server(factory, host=host, port=port)
    stop = asyncio.Event()
    installed: list[int] = []
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
