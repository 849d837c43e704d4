"""The dashboards' charts: SVG drawn on the server by pygal (docs/adr/0009-charts.md).

Each chart is its own `image/svg+xml` response that the page shows with `<img>`: no
script (pygal's tooltips script is never referenced, and its inline config script is
taken out by an XML filter before rendering), so the page's CSP stays as it is. The
colours are the palette's (read from app.css, the light or the dark copy): the page
shows the light image or the dark one by the same rule that picks the theme, and a
narrow variant for phones.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pygal  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from tocsin.reports.dashboard import (
    INFO,
    PRIORITIES,
    Series,
    human_duration,
    sla_table,
)
from tocsin.reports.metrics import Filters

Theme = Literal["light", "dark"]
Size = Literal["wide", "narrow"]
CHART_NAMES = ("volume", "ack", "recovery", "sla")

APP_CSS = Path(__file__).resolve().parent.parent / "static" / "tocsin" / "css" / "app.css"
FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

# Used only when app.css cannot be read (the light theme's values).
_FALLBACK = {
    "surface": "#ffffff",
    "text": "#1a1d21",
    "text-2": "#4a525c",
    "muted": "#5f6873",
    "border": "#e3e6ea",
    "border-strong": "#cfd4da",
    "line-red": "#f04438",
    "line-orange": "#e8590c",
    "line-amber": "#f79009",
    "line-blue": "#528bff",
    "line-green": "#47cd89",
    "line-violet": "#7a5af8",
}
_VAR = re.compile(r"--([a-z0-9-]+)\s*:\s*(#[0-9a-fA-F]{3,8})\s*;")


@functools.cache
def palette(theme: Theme) -> dict[str, str]:
    """The palette variables of app.css for a theme (the `:root` block for light, the
    `:root[data-theme="dark"]` block for dark)."""
    try:
        css = APP_CSS.read_text(encoding="utf-8")
    except OSError:
        return dict(_FALLBACK)
    marker = ":root {" if theme == "light" else ':root[data-theme="dark"] {'
    start = css.find(marker)
    if start < 0:
        return dict(_FALLBACK)
    block = css[start : css.find("}", start)]
    found = dict(_VAR.findall(block))
    return {**_FALLBACK, **found}


def _style(theme: Theme, colors: Sequence[str], size: Size) -> Style:
    p = palette(theme)
    small = size == "narrow"
    return Style(
        background=p["surface"],
        plot_background=p["surface"],
        foreground=p["text-2"],
        foreground_strong=p["text"],
        foreground_subtle=p["border-strong"],
        opacity="0.92",
        opacity_hover="1",
        transition="0ms",
        colors=tuple(colors),
        font_family=FONT,
        label_font_size=13 if small else 12,
        major_label_font_size=13 if small else 12,
        legend_font_size=14 if small else 13,
        value_font_size=12,
        tooltip_font_size=12,
        title_font_size=15,
        no_data_font_size=18,
    )


def _strip_scripts(root: Any) -> Any:
    """pygal writes an inline config script for its (unused) tooltips: take it out."""
    for parent in root.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _config(theme: Theme, colors: Sequence[str], size: Size, **extra: Any) -> dict[str, Any]:
    narrow = size == "narrow"
    return {
        "style": _style(theme, colors, size),
        "width": 400 if narrow else 640,
        "height": 340 if narrow else 320,
        "js": [],  # no script at all (pygal's default loads one from the internet)
        "explicit_size": False,  # a viewBox: the image scales to its box
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "truncate_label": -1,
        "margin": 8,
        "spacing": 8,
        "show_minor_x_labels": False,
        "no_data_text": "No incidents in this period",
        "print_values": False,
        **extra,
    }


def _x_major(labels: Sequence[str], size: Size) -> list[str]:
    """Labels to show under the axis: at most about 8 (narrow: 4), evenly spaced."""
    most = 4 if size == "narrow" else 8
    step = max(1, -(-len(labels) // most))
    return list(labels[::step])


def _render(chart: Any) -> bytes:
    chart.add_xml_filter(_strip_scripts)
    svg = chart.render()
    return svg if isinstance(svg, bytes) else str(svg).encode("utf-8")


def count_axis(top: int) -> list[int]:
    """Whole-number ticks for a count axis: 0 to at least `top`, about five steps."""
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500) if top / s <= 5), 0)
    if not step:
        step = 10 ** math.ceil(math.log10(max(top, 1) / 5))
    return list(range(0, max(top, 1) + step, step))


PRIORITY_COLOURS = ("line-red", "line-amber", "line-blue", "muted")


def volume_chart(series: Series, theme: Theme, size: Size = "wide") -> bytes:
    p = palette(theme)
    labels = series.labels()
    totals = [sum(int(series.values[p_][i] or 0) for p_ in PRIORITIES) for i in range(len(labels))]
    chart = pygal.StackedBar(
        **_config(
            theme,
            [p[name] for name in PRIORITY_COLOURS],
            size,
            x_labels_major=_x_major(labels, size),
            y_title="Incidents",
            y_labels=count_axis(max(totals, default=0)),
        )
    )
    chart.x_labels = labels
    for priority in PRIORITIES:
        chart.add(f"P{priority}", [int(v or 0) for v in series.values[priority]])
    return _render(chart)


# Steps for a duration axis, in seconds: the smallest that needs at most 5 of them.
_STEPS = [60 * m for m in (1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720)] + [
    86400 * d for d in (1, 2, 4, 7, 14, 28, 56)
]


def duration_axis(values: Sequence[float | None]) -> list[float]:
    """Round ticks for a duration axis (0, 15m, 30m, … or 0, 1d, 2d, …)."""
    top = max((v for v in values if v is not None), default=0.0)
    step = next((s for s in _STEPS if top / s <= 5), _STEPS[-1])
    count = max(2, math.ceil(top / step)) if top else 2
    return [float(step * i) for i in range(count + 1)]


def response_chart(
    series: Series, theme: Theme, size: Size = "wide", names: Sequence[str] | None = None
) -> bytes:
    """Median durations per bucket (seconds, the axis labelled as durations)."""
    p = palette(theme)
    labels = series.labels()
    wanted = [n for n in series.values if names is None or n in names]
    everything = [v for n in wanted for v in series.values[n]]
    colours = {
        "mtta": p["line-violet"],
        "mttr_mitigate": p["line-amber"],
        "mttr_resolve": p["line-green"],
    }
    chart = pygal.Line(
        **_config(
            theme,
            [colours.get(n, p["line-blue"]) for n in wanted],
            size,
            x_labels_major=_x_major(labels, size),
            y_labels=duration_axis(everything),
            value_formatter=human_duration,
            allow_interruptions=False,
            dots_size=3,
            stroke_style={"width": 2.5},
        )
    )
    chart.x_labels = labels
    for name in wanted:
        short = INFO[name].label.split(" · ")[1] if name in INFO else name
        # resolve is dashed: where nothing was mitigated first the two lines coincide
        dashed = {"dasharray": "7, 5", "width": 2.5} if name == "mttr_resolve" else {}
        chart.add(short.capitalize(), list(series.values[name]), stroke_style=dashed or None)
    return _render(chart)


def sla_chart(filters: Filters, theme: Theme, size: Size = "wide") -> bytes:
    p = palette(theme)
    rows = sla_table(filters)
    chart = pygal.Bar(
        **_config(
            theme,
            [p["line-blue"], p["line-green"]],
            size,
            range=(0, 100),
            y_title="Met, %",
            y_labels=[0, 25, 50, 75, 100],
        )
    )
    chart.x_labels = [f"P{row['priority']}" for row in rows]
    for key, title in (("response", "Response"), ("resolution", "Resolution")):
        chart.add(
            title,
            [round(row[key].rate * 100, 1) if row[key].rate is not None else None for row in rows],
        )
    return _render(chart)
