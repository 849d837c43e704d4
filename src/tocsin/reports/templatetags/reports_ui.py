"""Template helpers of the reports pages."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from tocsin.reports.dashboard import human_duration, percent
from tocsin.reports.metrics import RateStat

register = template.Library()


@register.simple_tag
def drill_url(metric: str, part: str, query: str = "", priority: int | None = None) -> str:
    """The list of incidents behind a number, with the page's filters."""
    extra: list[tuple[str, str]] = [("metric", metric)]
    if part != "count":
        extra.append(("part", part))
    if priority is not None:
        kept = "&".join(p for p in query.split("&") if p and not p.startswith("priority="))
        query = kept
        extra.append(("priority", str(priority)))
    base = reverse("reports-drill")
    return f"{base}?{query + '&' if query else ''}{urlencode(extra)}"


@register.filter
def human(seconds: float | None) -> str:
    return human_duration(seconds)


@register.filter
def pct(stat: RateStat | float | None) -> str:
    if isinstance(stat, RateStat):
        return percent(stat.rate)
    return percent(stat)


@register.filter
def bucket_word(kind: str) -> str:
    return {"day": "per day", "week": "per week (from Monday)", "month": "per month"}.get(kind, "")
