"""Heartbeat pings: the body is ignored; the inbox row (kind "heartbeat") is the ping.

The engine reads the row's `received_at` as the ping time; the row carries no events.
"""

from __future__ import annotations

from tocsin.alerts.adapters.base import Event


def parse() -> list[Event]:
    return []
