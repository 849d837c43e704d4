"""The Atom and RSS 2.0 feeds: well-formed, one entry per published incident or
maintenance with its updates, absolute links from TOCSIN_BASE_URL, drafts never."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from tests.comms.sppublic_data import build
from tocsin.comms import public

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()


@pytest.mark.django_db
def test_atom(settings) -> None:  # type: ignore[no-untyped-def]
    data = build()
    response = Client().get("/status/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "Elevated API error rates (Identified)" in titles
    assert "Slow website (Resolved)" in titles
    assert "Maintenance: Database upgrade (Scheduled)" in titles
    assert not any("Draft" in (t or "") for t in titles)
    incident = next(e for e in entries if "Elevated" in (e.findtext(f"{ATOM}title") or ""))
    link = incident.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"{settings.BASE_URL}/status/incidents/{data.incident.pk}/"
    text = incident.findtext(f"{ATOM}summary") or ""
    assert "We found the cause & are fixing it <soon>." in text
    assert "Investigating" in text


@pytest.mark.django_db
def test_rss() -> None:
    build()
    response = Client().get("/status/feed.rss")
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("channel/item")
    assert len(items) == 4  # two incidents, two maintenances; no draft
    for item in items:
        assert item.findtext("title") and item.findtext("link") and item.findtext("pubDate")
