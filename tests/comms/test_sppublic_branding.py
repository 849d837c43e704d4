"""The page's own name, logo and colour, set by an administrator: the header stays
readable (WCAG 2.2 AA contrast) whatever colour is chosen, and the logo is served from
storage with an SVG unable to run anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tocsin.comms import public
from tocsin.comms.models import StatusPage
from tocsin.comms.public import brand_colours, contrast
from tocsin.comms.services import status_changed, status_page

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> None:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    settings.MEDIA_ROOT = tmp_path / "media"
    public.forget()


@pytest.mark.parametrize(
    "colour",
    [
        "#1f4e8c",
        "#ffff00",
        "#777777",
        "#7f7f7f",
        "#ff0000",
        "#00ff00",
        "#000000",
        "#ffffff",
        "nonsense",
    ],
)
def test_the_header_colours_always_reach_aa_contrast(colour: str) -> None:
    bg, text = brand_colours(colour)
    assert re.fullmatch(r"#[0-9a-f]{6}", bg)
    assert contrast(bg, text) >= 4.5


def test_a_colour_that_passes_is_kept() -> None:
    assert brand_colours("#1F4E8C") == ("#1f4e8c", "#ffffff")
    assert brand_colours("#ffff00") == ("#ffff00", "#111111")


@pytest.mark.django_db
def test_name_colour_and_logo_on_the_page() -> None:
    page = status_page()
    page.name = "Acme <Cloud> status"
    page.brand_colour = "#777777"
    page.logo.save("acme.png", ContentFile(PNG), save=False)
    page.save()
    status_changed()
    client = Client()
    html = client.get("/status/").content.decode()
    assert "<title>Acme &lt;Cloud&gt; status</title>" in html
    assert 'src="/status/logo?r=' in html
    css = client.get("/status/brand.css").content.decode()
    bg, text = re.findall(r"#[0-9a-f]{6}", css)
    assert contrast(bg, text) >= 4.5
    logo = client.get("/status/logo")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content) == PNG


@pytest.mark.django_db
def test_an_svg_logo_cannot_run_script() -> None:
    page = status_page()
    page.logo.save(
        "evil.svg",
        ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    )
    response = Client().get("/status/logo")
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.django_db
def test_no_logo_is_404() -> None:
    status_page()
    assert Client().get("/status/logo").status_code == 404
    StatusPage.objects.filter(pk=1).update(logo="status/notes.txt")
    assert Client().get("/status/logo").status_code == 404
