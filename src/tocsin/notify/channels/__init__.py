"""The registry of delivery channels: one module per kind (DESIGN.md: notify/channels)."""

from __future__ import annotations

import importlib
from typing import cast

from tocsin.notify.channels.base import (
    MAIL_RETRY,
    PAGE_RETRY,
    Channel,
    Permanent,
    Result,
    RetryPolicy,
    Sent,
    Temporary,
)

# kind -> module implementing it. A new channel is a module and a line here.
CHANNELS: dict[str, str] = {
    "email": "tocsin.notify.channels.email",
    "sms": "tocsin.notify.channels.sms",
    "voice": "tocsin.notify.channels.voice",
    "webhook": "tocsin.notify.channels.webhook",
    "slack": "tocsin.notify.channels.slack",
    "teams": "tocsin.notify.channels.teams",
    "ntfy": "tocsin.notify.channels.ntfy",
    "apprise": "tocsin.notify.channels.apprise",
}

__all__ = [
    "CHANNELS",
    "MAIL_RETRY",
    "PAGE_RETRY",
    "Channel",
    "Permanent",
    "Result",
    "RetryPolicy",
    "Sent",
    "Temporary",
    "channel_for",
]


def channel_for(kind: str) -> Channel | None:
    """The channel module for `kind`, or None when there is none (a permanent failure)."""
    path = CHANNELS.get(kind)
    if path is None:
        return None
    return cast(Channel, importlib.import_module(path))
