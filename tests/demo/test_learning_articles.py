"""The demo organisation's knowledge base: 20+ articles on the demo's services, public
and internal, some with a history, one recorded as having solved a past incident; found
by search; written once."""

from __future__ import annotations

import pytest

from tocsin.accounts.models import User
from tocsin.core.clock import now
from tocsin.demo import load_demo
from tocsin.demo.learning_articles import write_articles
from tocsin.learning import article_selectors as sel
from tocsin.learning.models import Article, ArticleSolution

pytestmark = pytest.mark.django_db


def test_the_demo_knowledge_base() -> None:
    load_demo()
    write_articles(now())
    found = Article.objects.all()
    assert found.count() >= 20
    assert {a.visibility for a in found} == {"public", "internal"}
    assert all(a.services.exists() for a in found)
    assert found.filter(version__gt=1).count() >= 2
    assert ArticleSolution.objects.count() == 1
    rita = User.objects.get(username="rita")
    hits, count = sel.article_search(rita, sel.Filters(q="vpn"))
    assert count >= 2 and all(h.article.visibility == "public" for h in hits)
    sam = User.objects.get(username="sam")
    assert sel.article_search(sam, sel.Filters(q="vpn"))[1] > count
    write_articles(now())  # once only
    assert Article.objects.count() == found.count()
