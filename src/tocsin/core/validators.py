"""Rules for values that several layers check (the services and the API's schema)."""

from __future__ import annotations

import re

USERNAME_PATTERN = r"^[\w.@+-]{1,150}$"
"""A username: 1–150 letters, digits and @ . + - _ (stated as is in the API schema)."""

USERNAME_RE = re.compile(USERNAME_PATTERN)


def username_valid(value: str) -> bool:
    """The whole value matches (a trailing newline, which `$` would let through, does not)."""
    return USERNAME_RE.fullmatch(value) is not None
