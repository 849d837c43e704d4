"""axe-core in Chromium, for tests/browser/test_accessibility.py.

axe-core comes from npm, pinned in package.json / package-lock.json and installed by
`npm ci` (.ci/run does it); it is a test tool only, never served by Tocsin. Without
node_modules the checks skip with the reason (under TOCSIN_TEST_STRICT=1 a skip fails).

The script is evaluated through the DevTools protocol (`page.evaluate`), which a page's
Content-Security-Policy does not govern: the app's strict CSP stays as it is, and a
CSP violation the app itself causes is still reported by the `open_as` fixture.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The impacts that fail the check (axe's scale: minor, moderate, serious, critical).
FAILING = ("serious", "critical")


@functools.cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_source() -> str:
    """axe-core's script, or a skip naming the command that installs it."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE} missing): run `npm ci` in {ROOT}")
    return _source()


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    snippet: str

    def line_target(self) -> str:
        """The element: its selector and the start of its HTML."""
        return f"{' '.join(self.targets)} {self.snippet[:120]}"


_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, impact: n.impact}))
  }));
}"""

_DUPLICATE_IDS = """() => {
  const seen = {};
  for (const el of document.querySelectorAll("[id]")) seen[el.id] = (seen[el.id] || 0) + 1;
  return Object.entries(seen).filter(([, n]) => n > 1);
}"""


def axe_violations(page: Page, impacts: tuple[str, ...] = FAILING) -> list[Violation]:
    """Run axe-core over `page` as it is now; the violations of the given impacts, one per
    rule and element."""
    source = axe_source()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source + "\n;void 0")
    found: list[Violation] = []
    for rule in page.evaluate(_RUN):
        for node in rule["nodes"]:
            impact = node.get("impact") or rule.get("impact") or "minor"
            if impact in impacts:
                found.append(
                    Violation(
                        rule=rule["id"],
                        impact=impact,
                        help=rule["help"],
                        targets=tuple(node["target"]),
                        snippet=" ".join(str(node["html"]).split()),
                    )
                )
    return found


def dom_duplicate_ids(page: Page) -> dict[str, int]:
    """Ids used more than once in the live DOM (after the page's scripts ran)."""
    pairs: list[Any] = page.evaluate(_DUPLICATE_IDS)
    return {str(ident): int(n) for ident, n in pairs}
