"""tocsin.learning.fts on the real database: the query builders, and search over a real
index (the knowledge base's, created by the learning migration)."""

from __future__ import annotations

import pytest

from tocsin.learning import fts
from tocsin.learning.article_index import ARTICLE_INDEX as INDEX
from tocsin.learning.models import Article


def test_terms_keep_words_and_phrases_and_drop_syntax() -> None:
    assert fts.terms('disk "full on" db-01 AND * NEAR( ") ') == [
        ("disk",),
        ("full", "on"),
        ("db",),
        ("01",),
        ("and",),
        ("near",),
    ]
    assert fts.sqlite_match("vpn") == '"vpn"'
    assert fts.sqlite_match("vpn router", fts.Mode.ANY) == '"vpn" OR "router"'
    assert fts.sqlite_match("rout", prefix=True) == '"rout"*'
    assert fts.pg_tsquery('"disk full" vpn', prefix=True) == "('disk' <-> 'full') & 'vpn':*"
    assert fts.sqlite_match(" -- ') ") is None
    assert fts.pg_tsquery("") is None


def _article(title: str, body: str = "", tags: str = "") -> int:
    return Article.objects.create(title=title, body=body, tags=tags).pk


@pytest.mark.django_db
def test_search_ranks_stems_phrases_and_survives_any_input() -> None:
    vpn = _article("VPN disconnects every hour", "Reconnect the client.", "vpn network")
    router = _article("Router misconfigured", "The core router drops routes.", "network")
    printer = _article("Printer jams", "Open the tray and remove the paper.")
    ids = [i for i, _ in fts.search(INDEX, "network")]
    assert set(ids) == {vpn, router}
    # stemming: "disconnecting" finds "disconnects"; the title outranks the body
    assert [i for i, _ in fts.search(INDEX, "disconnecting")] == [vpn]
    assert next(i for i, _ in fts.search(INDEX, "router")) == router
    # a phrase matches only words side by side
    assert [i for i, _ in fts.search(INDEX, '"remove the paper"')] == [printer]
    assert fts.search(INDEX, '"paper the remove"') == []
    # ANY: each word may match, the more the better
    both = fts.search(INDEX, "router vpn printer", mode=fts.Mode.ANY)
    assert {i for i, _ in both} == {vpn, router, printer}
    # typing: the last word is a prefix
    assert [i for i, _ in fts.search(INDEX, "print", prefix=True)] == [printer]
    # an edit is searched at once (triggers on SQLite; the index is an expression on PG)
    Article.objects.filter(pk=printer).update(title="Scanner jams")
    assert [i for i, _ in fts.search(INDEX, "scanner")] == [printer]
    # nothing a user types breaks the query
    for text in ['"', "'", "OR", "NOT vpn", "*", "a:b", "(", "\\", "vpn\x00", "-vpn", "NEAR(a b)"]:
        fts.search(INDEX, text)
    # a stop word standing alone is not a word to hold, on both databases (PostgreSQL
    # drops it itself); in a phrase it stays
    fan = _article("Fan noise", "Replace it.")
    assert fts.sqlite_match("the fan") == '"fan"'
    assert [i for i, _ in fts.search(INDEX, "the fan")] == [fan]
    assert fts.search(INDEX, "the") == []
    # extra conditions on the base table
    assert fts.search(INDEX, "network", where="b.id = %s", params=[vpn])[0][0] == vpn
