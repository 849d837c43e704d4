"""REST API (filled by the on-call work)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["on-call"])
