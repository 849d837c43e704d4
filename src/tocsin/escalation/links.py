"""Signed links in every page: acknowledge, resolve, open — usable without a session.

A token names one page (so one person and one incident) and one action, is signed with
the installation's secret, and expires after LINK_MAX_AGE. Opening the link only shows a
page with one button; the button's POST acts (mail scanners that prefetch links change
nothing). The action is taken as the paged person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "tocsin.escalation.page-link"
LINK_MAX_AGE = dt.timedelta(hours=24)
PAGE_ACTIONS = ("acknowledge", "resolve", "open")
# "respond": a responder request's link, whose page offers Accept and Decline
ACTIONS = (*PAGE_ACTIONS, "respond")


@dataclass(frozen=True)
class LinkClaim:
    page_id: int
    action: str


def page_token(page_id: int, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    return signing.dumps({"p": page_id, "a": action}, salt=SALT, compress=False)


def page_link(page_id: int, action: str) -> str:
    base = settings.BASE_URL.rstrip("/")
    return f"{base}/p/{page_token(page_id, action)}/"


def page_links(page_id: int) -> dict[str, str]:
    return {action: page_link(page_id, action) for action in PAGE_ACTIONS}


def check_token(token: str) -> LinkClaim | None:
    """The page and action a token names, or None when forged, altered or expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    page_id, action = data.get("p"), data.get("a")
    if not isinstance(page_id, int) or action not in ACTIONS:
        return None
    return LinkClaim(page_id=page_id, action=action)
