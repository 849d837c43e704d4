"""The colour palettes of app.css, light and dark, read as a person with low vision would:
every text/background pair the stylesheet uses reaches WCAG AA (4.5:1), the dark theme
redefines every colour, and no rule outside the palettes hard-codes a colour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "src/tocsin/static/tocsin/css/app.css"
AA = 4.5

# Text on the surfaces it is drawn on without a rule naming both (inherited backgrounds).
SURFACES = ("--bg", "--surface", "--surface-2")
TEXT_ON_SURFACES = (
    "--text",
    "--text-2",
    "--muted",
    "--accent",
    "--accent-hover",
    "--red",
    "--orange",
    "--amber",
    "--green",
    "--blue",
    "--violet",
)
OTHER_PAIRS = (
    ("--text", "--grey-bg"),  # the main navigation on hover
    ("--text-2", "--grey-bg"),  # pills
    ("--muted", "--grey-bg"),  # closed and ended pills
    ("--text", "--accent-soft"),  # a chosen radio card
    ("--text", "--row-hover"),  # a queue row under the pointer
    ("--muted", "--row-hover"),
    ("--accent", "--row-hover"),
    ("--text-2", "--stripe"),  # a suppressed alert's summary
    ("--text", "--internal-bg"),  # an internal note
    ("--text", "--confirm-bg"),  # the reporter's confirm box
    ("--accent", "--confirm-bg"),
    ("--text", "--auth-top"),  # the sign-in page
    ("--muted", "--auth-top"),
    ("--red", "--red-bg"),  # the danger button under the pointer
    ("--red", "--surface"),  # field errors
    ("--on-accent", "--accent-hover"),  # the primary button under the pointer
    ("--text", "--accent-soft"),
)

ADMIN_CSS = CSS.with_name("admin.css")
# Django admin's own variables, as its stylesheets pair them.
ADMIN_PAIRS = (
    ("--body-fg", "--body-bg"),
    ("--body-fg", "--darkened-bg"),
    ("--body-quiet-color", "--body-bg"),
    ("--body-quiet-color", "--darkened-bg"),
    ("--body-medium-color", "--body-bg"),
    ("--link-fg", "--body-bg"),
    ("--link-fg", "--darkened-bg"),
    ("--link-fg", "--selected-bg"),
    ("--link-hover-color", "--body-bg"),
    ("--header-link-color", "--header-bg"),
    ("--header-color", "--header-bg"),
    ("--header-branding-color", "--header-bg"),
    ("--breadcrumbs-fg", "--breadcrumbs-bg"),
    ("--breadcrumbs-link-fg", "--breadcrumbs-bg"),
    ("--button-fg", "--button-bg"),
    ("--button-fg", "--button-hover-bg"),
    ("--button-fg", "--default-button-bg"),
    ("--button-fg", "--close-button-bg"),
    ("--button-fg", "--delete-button-bg"),
    ("--error-fg", "--body-bg"),
    ("--error-fg", "--message-error-bg"),
    ("--body-fg", "--message-success-bg"),
    ("--body-fg", "--message-warning-bg"),
    ("--body-fg", "--message-error-bg"),
    ("--body-fg", "--selected-row"),
)


def _without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def _declarations(body: str) -> dict[str, str]:
    found = {}
    for name, value in re.findall(r"(--[\w-]+|color-scheme)\s*:\s*([^;]+);", body):
        found[name] = " ".join(value.split())
    return found


def _block(css: str, opener: str) -> str:
    """The body of the first block opened by `opener` (which ends with "{")."""
    start = css.index(opener) + len(opener)
    depth, at = 1, start
    while depth:
        at += 1
        depth += {"{": 1, "}": -1}.get(css[at], 0)
    return css[start:at]


def _palettes() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(light, dark from the system setting, dark chosen in the top bar)."""
    css = _without_comments(CSS.read_text())
    light = _declarations(_block(css, ":root {"))
    media = _block(css, "@media (prefers-color-scheme: dark) {")
    system_dark = _declarations(_block(media, ':root:not([data-theme="light"]) {'))
    chosen_dark = _declarations(_block(css, ':root[data-theme="dark"] {'))
    return light, system_dark, chosen_dark


def _rgb(value: str) -> tuple[float, float, float]:
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value.strip())
    assert match, f"{value!r} is not a plain #rgb / #rrggbb colour"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _luminance(value: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(value))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _resolve(value: str, palette: dict[str, str]) -> str | None:
    """A plain colour for `value` (a hex, `var(--x)`, white/black); None if it is not one."""
    value = value.strip().removesuffix("!important").strip()
    value = {"#fff": "#ffffff", "white": "#ffffff", "#000": "#000000", "black": "#000000"}.get(
        value, value
    )
    for _ in range(5):
        match = re.fullmatch(r"var\((--[\w-]+)\)", value)
        if not match:
            break
        value = palette.get(match.group(1), "")
    return value if re.fullmatch(r"#[0-9a-fA-F]{3,6}", value) else None


def _rule_pairs() -> list[tuple[str, str, str]]:
    """(selector, color, background) of every rule that sets both, from the whole file."""
    css = _without_comments(CSS.read_text())
    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        color = re.search(r"(?:^|;|\s)color\s*:\s*([^;]+)", body)
        background = re.search(r"background(?:-color)?\s*:\s*([^;]+)", body)
        if color and background:
            pairs.append((" ".join(selector.split()), color.group(1), background.group(1)))
    return pairs


def _all_pairs(palette: dict[str, str]) -> list[tuple[str, str, str]]:
    """(what, foreground colour, background colour) for every pair to check."""
    pairs = [
        (f"{fg} on {bg}", palette[fg], palette[bg]) for fg in TEXT_ON_SURFACES for bg in SURFACES
    ]
    pairs += [(f"{fg} on {bg}", palette[fg], palette[bg]) for fg, bg in OTHER_PAIRS]
    for selector, color, background in _rule_pairs():
        fg, bg = _resolve(color, palette), _resolve(background, palette)
        if fg and bg:
            pairs.append((f"{selector} {{color: {color}; background: {background}}}", fg, bg))
    return pairs


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_the_dark_theme_is_one_palette_written_twice() -> None:
    _, system_dark, chosen_dark = _palettes()
    assert system_dark, "no dark palette under @media (prefers-color-scheme: dark)"
    assert system_dark == chosen_dark, "the two copies of the dark palette differ"


def test_the_dark_theme_redefines_every_colour() -> None:
    light, dark, _ = _palettes()
    colours = {name for name, value in light.items() if re.fullmatch(r"#[0-9a-fA-F]+", value)}
    assert colours - set(dark) == set()
    assert (light["color-scheme"], dark["color-scheme"]) == ("light", "dark")  # form controls


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_and_background_pair_reaches_aa(theme: str) -> None:
    light, dark, _ = _palettes()
    palette = light if theme == "light" else {**light, **dark}
    failures = [
        f"{what}: {fg} on {bg} = {contrast(fg, bg):.2f}:1"
        for what, fg, bg in _all_pairs(palette)
        if contrast(fg, bg) < AA
    ]
    assert failures == [], "\n".join(failures)


def test_rules_use_the_palette_not_hard_coded_colours() -> None:
    css = _without_comments(CSS.read_text())
    palettes_end = css.index(':root[data-theme="dark"] {')
    rest = css[palettes_end + len(_block(css, ':root[data-theme="dark"] {')) :]
    rest = rest[rest.index("}") + 1 :]
    hard_coded = re.findall(r"[^\n]*(?:#[0-9a-fA-F]{3,8}\b|\brgba?\()[^\n]*", rest)
    assert hard_coded == []


def test_every_variable_used_is_defined() -> None:
    css = _without_comments(CSS.read_text())
    light, _, _ = _palettes()
    used = set(re.findall(r"var\((--[\w-]+)", css))
    assert used - set(light) == set()


def _admin_palettes() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    css = _without_comments(ADMIN_CSS.read_text())
    light = _declarations(_block(css, ":root {"))
    media = _block(css, "@media (prefers-color-scheme: dark) {")
    return (
        light,
        _declarations(_block(media, ":root {")),
        _declarations(_block(css, 'html[data-theme="dark"] {')),
    )


def test_the_admin_dark_palette_is_written_twice_alike() -> None:
    _, system_dark, chosen_dark = _admin_palettes()
    assert system_dark == chosen_dark


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_admin_colours_reach_aa(theme: str) -> None:
    light, dark, _ = _admin_palettes()
    palette = light if theme == "light" else {**light, **dark}
    failures = [
        f"{fg} on {bg}: {contrast(palette[fg], palette[bg]):.2f}:1"
        for fg, bg in ADMIN_PAIRS
        if contrast(palette[fg], palette[bg]) < AA
    ]
    assert failures == []
