"""The knowledge base's full-text index (tocsin.learning.fts): an article's title counts
most, then its tags, then its body. Created by the learning migration that adds the
knowledge base; searched by `tocsin.learning.article_selectors`."""

from __future__ import annotations

from tocsin.learning import fts

ARTICLE_INDEX = fts.Index(table="learning_article", columns=("title", "tags", "body"))
