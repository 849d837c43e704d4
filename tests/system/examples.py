"""The example configurations on the docs pages, read from the pages themselves.

A docs page marks an example with an HTML comment on the line before its fenced block:

    <!-- example: alertmanager-webhook -->
    ```yaml
    ...
    ```

`example("alertmanager.md", "alertmanager-webhook")` returns the block's text, so what a
reader copies from docs/integrations/ is literally what the system tests run. Examples
use `https://tocsin.example.com` for Tocsin's address and `YOUR_INTEGRATION_KEY` (and a
few other upper-case placeholders) for values the reader fills in; `fill()` replaces
them, insisting that every placeholder it is given is actually there.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "integrations"
BASE = "https://tocsin.example.com"
KEY = "YOUR_INTEGRATION_KEY"

_BLOCK = re.compile(
    r"^<!-- example: (?P<name>[\w.-]+) -->\n```[\w-]*\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)


def examples(page: str) -> dict[str, str]:
    """Every marked example on a docs page, by name."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(text):
        name = match.group("name")
        assert name not in found, f"{page}: example {name!r} is marked twice"
        found[name] = match.group("body")
    return found


def example(page: str, name: str) -> str:
    found = examples(page)
    assert name in found, f"{page} has no example marked {name!r} (found: {sorted(found)})"
    return found[name]


def fill(text: str, replacements: dict[str, str]) -> str:
    """Replace placeholders; each one must occur, so a docs edit cannot silently skip it."""
    for old, new in replacements.items():
        assert old in text, f"the example no longer contains {old!r}:\n{text}"
        text = text.replace(old, new)
    return text
