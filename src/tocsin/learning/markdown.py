"""Markdown for postmortems, problems, articles and runbooks: markdown-it-py renders
(CommonMark plus tables and strikethrough, raw HTML off), nh3 cleans what comes out.

Two locks, not one: raw HTML in the source is escaped by the renderer (`html=False`),
and the cleaner then keeps only the tags and attributes below and links to http, https
and mailto (no `javascript:`, `data:` or `vbscript:` URL survives either step). Links
get `rel="noopener noreferrer nofollow"`. Images are left out: a picture in a
postmortem would be fetched from wherever its author pointed, by every reader.
"""

from __future__ import annotations

import html as _html

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        # table cell alignment from markdown-it ("text-align:right") only
        filter_style_properties={"text-align"},
    )


def render(text: str) -> SafeString:
    """The HTML for `text` (Markdown), safe to put in a page as it is."""
    if not text:
        return mark_safe("")
    return mark_safe(_clean(_md.render(text)))  # noqa: S308 - cleaned by nh3 just above


def plain(text: str, *, limit: int = 300) -> str:
    """The text of `text` without Markdown, cut to `limit` characters (for lists,
    search snippets and mail)."""
    html = _md.render(text or "")
    words = nh3.clean(html, tags=set()).split()
    out = _html.unescape(" ".join(words))
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"
