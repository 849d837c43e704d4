"""Full-text search on both databases, one way (issue 12).

An `Index` names a table and its text columns, most important first. On SQLite it is an
FTS5 table over the base table (external content, the Porter stemmer, kept in step by
triggers, so every write path — services, admin, raw SQL — updates it); on PostgreSQL it
is a stored generated column `fts_vector` holding the weighted `tsvector` of the same
columns (English stemming), kept in step by PostgreSQL on every write path, with a GIN
index over it. The vector is stored, not only indexed as an expression, because ranking
reads it for every candidate row: recomputed from the text, `ts_rank_cd` over 2,000
articles took 1.5 s (bench/search, docs/benchmarks.md "Search"). One consequence:
PostgreSQL refuses to change the type of a column a generated column reads, so a
migration that alters an indexed column (a longer `max_length`) drops the index first
(the reverse of `operations(index)`) and creates it again after.

User text never reaches the query language as it is: `terms()` keeps words and "quoted
phrases" (letters, digits and underscores of any script) and drops everything else, so
no character can break or widen a query. Two ways to combine them:

- ``ALL``: every word or phrase must match (a search box);
- ``ANY``: any may match, the more the better (similar incidents: the text of one incident
  looks for others), ranked by BM25 on SQLite and `ts_rank_cd` on PostgreSQL.

English stop words ("the", "is", …) standing alone are left out of a query on both
databases (PostgreSQL drops them itself; FTS5 does not, and "the" OR … would match nearly
every row); inside a "quoted phrase" they stay.

`prefix=True` lets the last word match as a prefix (suggestions while someone types).

Two bounds keep a search fast whatever the words (docs/benchmarks.md, "Search"), the
same on both databases:

- a search ranks at most `candidates` matches (the first the index gives): a word held
  by most rows ranks a few hundred of them, not every one;
- a phrase is looked for in at most `PHRASE_ROWS` rows holding all of its words (the
  first the index gives): PostgreSQL's index knows words, not their places, so each
  such row is read and its positions compared; two very common words side by side
  would otherwise be checked in most of the table.

Create an index in a migration with `operations(index)`; search with `search(index, text)`,
which answers `(id, score)` pairs best first (a higher score is better on both databases).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.db import connection, migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_TOKEN = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32  # a pasted essay searches on its first 32 words and phrases
PHRASE_ROWS = 1000  # rows holding all of a phrase's words it is looked for in, at most
PG_COLUMN = "fts_vector"  # PostgreSQL: the stored tsvector column of an indexed table

# English stop words (PostgreSQL's `english` list, which drops them from every query):
# left out of ANY queries, so that both databases search the same words.
_STOP_WORDS_TEXT = """
a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing don down during each few for from
further had has have having he her here hers herself him himself his how i if in into is
it its itself just me more most my myself no nor not now of off on once only or other
our ours ourselves out over own s same she should so some such t than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with you your yours
yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


class Mode(Enum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True)
class Index:
    table: str  # the base table, with an integer primary key `id`
    columns: tuple[str, ...]  # text columns, the most important first
    # PostgreSQL weights per column ('A' highest … 'D'); SQLite uses `bm25_weights`
    weights: tuple[str, ...] = ()
    bm25_weights: tuple[float, ...] = ()
    # SQLite: FTS5 prefix indexes for these prefix lengths (what someone types before
    # suggestions come: "vp", "vpn", "rout"), so a prefix query reads one list instead
    # of merging every word that starts so; () for an index never searched by prefix
    prefixes: tuple[int, ...] = (2, 3, 4)
    # PostgreSQL: the statistics target of the vector column (None: the server's, 100).
    # ANALYZE keeps the 10 × target most common lexemes with their frequencies, which
    # is what `document_counts` weighs words by without reading rows
    pg_statistics: int | None = None

    def __post_init__(self) -> None:
        # every name goes into SQL as it is: only plain identifiers
        for name in (self.table, *self.columns):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"not a plain SQL identifier: {name!r}")
        if self.weights and len(self.weights) != len(self.columns):
            raise ValueError("one PostgreSQL weight per column")
        if self.bm25_weights and len(self.bm25_weights) != len(self.columns):
            raise ValueError("one BM25 weight per column")

    @property
    def fts_table(self) -> str:
        return f"{self.table}_fts"

    @property
    def gin_index(self) -> str:
        return f"{self.table}_fts_gin"

    def pg_weights(self) -> tuple[str, ...]:
        if self.weights:
            return self.weights
        return tuple("ABCD"[min(i, 3)] for i in range(len(self.columns)))

    def sqlite_weights(self) -> tuple[float, ...]:
        if self.bm25_weights:
            return self.bm25_weights
        return tuple(max(10.0 / (2**i), 1.0) for i in range(len(self.columns)))

    @property
    def pg_column(self) -> str:
        return PG_COLUMN

    def pg_vector(self, alias: str = "") -> str:
        """The weighted tsvector expression (what the stored column `fts_vector` holds)."""
        prefix = f"{alias}." if alias else ""
        parts = [
            f"setweight(to_tsvector('english'::regconfig, coalesce({prefix}{column}, '')), "
            f"'{weight}')"
            for column, weight in zip(self.columns, self.pg_weights(), strict=True)
        ]
        return "(" + " || ".join(parts) + ")"


# -- what the user typed ---------------------------------------------------------------


def terms(text: str) -> list[tuple[str, ...]]:
    """Words and phrases of `text`: each a tuple of words (a phrase has several)."""
    out: list[tuple[str, ...]] = []
    for match in _TOKEN.finditer(text or ""):
        phrase, word = match.group(1), match.group(2)
        words = tuple(_WORD.findall(phrase)) if phrase is not None else (word,)
        if words:
            out.append(tuple(w.lower() for w in words))
        if len(out) >= MAX_TERMS:
            break
    return out


def _query_terms(text: str, mode: Mode) -> list[tuple[str, ...]]:
    # a lone stop word would match nearly everything (ANY), and PostgreSQL drops it from
    # every query: left out on both databases, in both modes
    return [words for words in terms(text) if len(words) > 1 or words[0] not in STOP_WORDS]


def sqlite_match(text: str, mode: Mode = Mode.ALL, *, prefix: bool = False) -> str | None:
    """An FTS5 MATCH expression for `text`, or None when it has no words."""
    found = _query_terms(text, mode)
    if not found:
        return None
    parts = []
    for i, words in enumerate(found):
        quoted = '"' + " ".join(words) + '"'
        if prefix and i == len(found) - 1 and len(words) == 1:
            quoted += "*"
        parts.append(quoted)
    return (" " if mode is Mode.ALL else " OR ").join(parts)


def has_phrase(text: str) -> bool:
    """Does `text` hold a "quoted phrase" of several words?"""
    return any(len(words) > 1 for words in terms(text))


def sqlite_match_loose(text: str, mode: Mode = Mode.ALL, *, prefix: bool = False) -> str | None:
    """`sqlite_match` with each phrase loosened to all of its words, anywhere: what the
    rows a phrase is looked for in hold."""
    found = _query_terms(text, mode)
    if not found:
        return None
    parts = []
    for i, words in enumerate(found):
        quoted = " AND ".join(f'"{w}"' for w in words)
        if prefix and i == len(found) - 1 and len(words) == 1:
            quoted += "*"
        parts.append(f"({quoted})" if len(words) > 1 else quoted)
    return (" AND " if mode is Mode.ALL else " OR ").join(parts)


def pg_tsquery(
    text: str, mode: Mode = Mode.ALL, *, prefix: bool = False, loose: bool = False
) -> str | None:
    """A `to_tsquery('english', …)` argument for `text`, or None when it has no words.
    Words are only \\w characters, so nothing in them is tsquery syntax. `loose`: each
    phrase becomes all of its words, anywhere (see `sqlite_match_loose`)."""
    found = _query_terms(text, mode)
    if not found:
        return None
    parts = []
    for i, words in enumerate(found):
        part = (" & " if loose else " <-> ").join(f"'{w}'" for w in words)
        if prefix and i == len(found) - 1 and len(words) == 1:
            part += ":*"
        parts.append(f"({part})" if len(words) > 1 else part)
    return (" & " if mode is Mode.ALL else " | ").join(parts)


# -- searching ------------------------------------------------------------------------


def search(
    index: Index,
    text: str,
    *,
    mode: Mode = Mode.ALL,
    prefix: bool = False,
    limit: int = 20,
    where: str = "",
    params: Sequence[Any] = (),
    candidates: int = 2000,
    ranked: bool = True,
    phrase_rows: int | None = None,
) -> list[tuple[int, float]]:
    """The ids of `index.table` rows matching `text`, best first, with a score (higher
    is better). `where` is extra SQL over the base table's columns (aliased `b`, e.g.
    ``"b.visibility = %s"``) with `params`. At most `candidates` matches are ranked: a
    query matching half a million rows ranks the first few thousand the index gives.
    A phrase is looked for in at most `phrase_rows` rows (default `PHRASE_ROWS`) holding
    all of its words and meeting `where`.
    `ranked=False`: the newest matches (highest id) first, score 0, without ranking —
    for words so common that ranking them would read every row holding them."""
    if not ranked:
        return _newest(
            index, text, mode=mode, prefix=prefix, limit=limit, where=where, params=params
        )
    checked = PHRASE_ROWS if phrase_rows is None else phrase_rows
    phrase = has_phrase(text)
    extra = f" AND ({where})" if where else ""
    if connection.vendor == "postgresql":
        query = pg_tsquery(text, mode, prefix=prefix)
        if query is None:
            return []
        vector = f"b.{index.pg_column}"
        if phrase:
            # the rows holding the phrase's words (the index answers that without
            # reading a vector), at most `checked`; only those are read for positions
            rows = (
                f"(SELECT b.id, {vector} FROM {index.table} b"  # noqa: S608
                f" WHERE {vector} @@ to_tsquery('english'::regconfig, %s){extra}"
                f" LIMIT %s) b"
            )
            head: list[Any] = [pg_tsquery(text, mode, prefix=prefix, loose=True), *params]
            head += [checked, query]
            extra, params = "", ()
        else:
            rows, head = f"{index.table} b", [query]
        sql = (
            f"SELECT id, score FROM ("  # noqa: S608 - names from code (Index checks them)
            f"  SELECT b.id, ts_rank_cd({vector}, q) AS score"
            f"  FROM {rows}, to_tsquery('english'::regconfig, %s) q"
            f"  WHERE {vector} @@ q{extra}"
            f"  LIMIT %s"
            f") ranked ORDER BY score DESC, id DESC LIMIT %s"
        )
        args: list[Any] = [*head, *params, candidates, limit]
    else:
        match = sqlite_match(text, mode, prefix=prefix)
        if match is None:
            return []
        weights = ", ".join(str(w) for w in index.sqlite_weights())
        fts, head = index.fts_table, [match]
        if phrase:
            # the same bound as on PostgreSQL: the rows up to the `checked`-th holding
            # the phrase's words, a rowid range, which FTS5 applies as it reads (BM25
            # still counts the rows of the whole table holding the phrase, for its
            # weight: ranking by the words instead, or filtering by a list of rowids,
            # was slower, as FTS5 evaluates the MATCH again for each rowid listed)
            loose = sqlite_match_loose(text, mode, prefix=prefix)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT b.id FROM {fts} f JOIN {index.table} b ON b.id = f.rowid"  # noqa: S608
                    f" WHERE {fts} MATCH %s{extra} ORDER BY f.rowid LIMIT 1 OFFSET %s",
                    [loose, *params, max(checked - 1, 0)],
                )
                row = cursor.fetchone()
            last = int(row[0]) if row else 2**63 - 1
            extra += " AND f.rowid <= %s"
            params = [*params, last]
        sql = (
            f"SELECT id, score FROM ("  # noqa: S608 - names from code (Index checks them)
            f"  SELECT b.id AS id, -bm25({fts}, {weights}) AS score"
            f"  FROM {fts} f JOIN {index.table} b ON b.id = f.rowid"
            f"  WHERE {fts} MATCH %s{extra}"
            f"  LIMIT %s"
            f") ORDER BY score DESC, id DESC LIMIT %s"
        )
        args = [*head, *params, candidates, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [(int(row[0]), float(row[1])) for row in cursor.fetchall()]


def _newest(
    index: Index,
    text: str,
    *,
    mode: Mode,
    prefix: bool,
    limit: int,
    where: str,
    params: Sequence[Any],
) -> list[tuple[int, float]]:
    extra = f" AND ({where})" if where else ""
    if connection.vendor == "postgresql":
        query = pg_tsquery(text, mode, prefix=prefix)
        sql = (
            f"SELECT b.id FROM {index.table} b"  # noqa: S608 - names from code
            f" WHERE b.{index.pg_column} @@ to_tsquery('english'::regconfig, %s){extra}"
            f" ORDER BY b.id DESC LIMIT %s"
        )
    else:
        query = sqlite_match(text, mode, prefix=prefix)
        sql = (
            f"SELECT b.id FROM {index.fts_table} f"  # noqa: S608 - names from code
            f" JOIN {index.table} b ON b.id = f.rowid"
            f" WHERE {index.fts_table} MATCH %s{extra} ORDER BY f.rowid DESC LIMIT %s"
        )
    if query is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, [query, *params, limit])
        return [(int(row[0]), 0.0) for row in cursor.fetchall()]


SHARE_PROBE = 50  # PostgreSQL: a probe of a word the statistics call rare stops here
STATISTICS_TTL = 300.0  # seconds a process keeps a column's statistics (ANALYZE's)


def document_counts(index: Index, words: Sequence[str], *, cap: int = 1000) -> dict[str, int]:
    """How many rows of `index` hold each of `words` (single words), each counted only up
    to `cap`: a word found `cap` times is a common word, and counting it further would
    cost as much as reading all its rows. One statement for all the words; each count
    reads at most `cap` index entries on SQLite.

    PostgreSQL's index cannot count without reading the rows, so the planner's statistics
    of the vector column (ANALYZE, autovacuum) weigh the words first: a word among the
    column's most common lexemes counts as many rows as the statistics estimate (an
    estimate from a sample, `cap` at most) and is not probed. When the least common of
    those lexemes is estimated in fewer than twice `cap` rows, a word not among them is
    rare, or nearly (`Index.pg_statistics` raises how many the statistics keep), and its
    probe stops at `SHARE_PROBE` rows: enough to tell how rare, and whether any row but
    one holds it.
    Without such statistics, every word is probed up to `cap` rows."""
    probes: list[tuple[str, str]] = []
    for word in dict.fromkeys(words):
        found = terms(word)
        if len(found) == 1 and len(found[0]) == 1 and found[0][0] not in STOP_WORDS:
            probes.append((word, found[0][0]))
    counts = dict.fromkeys(words, 0)
    probe_cap = cap
    if probes and connection.vendor == "postgresql":
        stats = _pg_statistics(index)
        if stats is not None:
            lexemes = _pg_lexemes([term for _, term in probes])
            rows, least = stats
            for word, term in probes:
                estimate = rows.get(lexemes.get(term) or "")
                if estimate is not None:
                    counts[word] = max(1, min(cap, round(estimate)))
            probes = [(word, term) for word, term in probes if lexemes.get(term) not in rows]
            if least < 2 * cap:  # what they leave out is rare, give or take the sample
                probe_cap = min(cap, SHARE_PROBE)
    if not probes:
        return counts
    parts: list[str] = []
    args: list[Any] = []
    for i, (_, term) in enumerate(probes):
        if connection.vendor == "postgresql":
            parts.append(
                f"SELECT {i}, count(*) FROM (SELECT 1 FROM {index.table} b"  # noqa: S608
                f" WHERE b.{index.pg_column} @@ to_tsquery('english'::regconfig, %s)"
                f" LIMIT %s) s{i}"
            )
            args += [f"'{term}'", probe_cap]
        else:
            parts.append(
                f"SELECT {i}, count(*) FROM (SELECT rowid FROM {index.fts_table}"  # noqa: S608
                f" WHERE {index.fts_table} MATCH %s LIMIT %s)"
            )
            args += [f'"{term}"', probe_cap]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), args)
        for i, count in cursor.fetchall():
            counts[probes[int(i)][0]] = int(count)
    return counts


def _pg_lexemes(words: list[str]) -> dict[str, str | None]:
    """Each word's lexeme (English stemming), None for a word that has none."""
    sql = """
        SELECT w.word,
               (SELECT lexeme FROM unnest(to_tsvector('english'::regconfig, w.word)) LIMIT 1)
        FROM unnest(%s::text[]) AS w(word)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [words])
        return {str(word): lexeme for word, lexeme in cursor.fetchall()}


_statistics: dict[tuple[str, str], tuple[float, tuple[dict[str, float], float] | None]] = {}


def _pg_statistics(index: Index) -> tuple[dict[str, float], float] | None:
    """The most common lexemes of the index's vector column with the rows each is
    estimated in, and the estimate of the least common of them (the planner's
    statistics: the frequencies in ANALYZE's sample, times the table's rows); None when
    the column has none yet. Read again at most every `STATISTICS_TTL` seconds."""
    key = (str(connection.settings_dict["NAME"]), index.table)
    now = time.monotonic()
    cached = _statistics.get(key)
    if cached is not None and now - cached[0] < STATISTICS_TTL:
        return cached[1]
    sql = """
        SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples
        FROM pg_stats s
        JOIN pg_class c ON c.oid = (quote_ident(current_schema()) || '.' || %s)::regclass
        WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [index.table, index.table, index.pg_column])
        row = cursor.fetchone()
    found: tuple[dict[str, float], float] | None = None
    if row is not None and row[0] and row[1] and row[2] and row[2] > 0:
        lexemes, freqs, tuples = row[0], row[1], float(row[2])
        rows = {lexeme: freq * tuples for lexeme, freq in zip(lexemes, freqs, strict=False)}
        found = (rows, min(rows.values()))
    _statistics[key] = (now, found)
    return found


def forget_statistics() -> None:
    """Read the statistics again at the next weighing (after an ANALYZE, in tests)."""
    _statistics.clear()


# -- creating and dropping the index (in migrations) ----------------------------------


def _sqlite_create(index: Index) -> list[str]:
    cols = ", ".join(index.columns)
    new = ", ".join(f"new.{c}" for c in index.columns)
    old = ", ".join(f"old.{c}" for c in index.columns)
    fts, table = index.fts_table, index.table
    lengths = " ".join(str(int(n)) for n in index.prefixes)
    prefix = f", prefix='{lengths}'" if lengths else ""
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
        f"content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'{prefix})",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        # only when an indexed column changes: an incident's status moves often
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # noqa: S608
    ]


def _sqlite_drop(index: Index) -> list[str]:
    fts = index.fts_table
    return [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"DROP TABLE IF EXISTS {fts}",
    ]


def _pg_create(index: Index) -> list[str]:
    statistics = ""
    if index.pg_statistics is not None:
        statistics = f", ALTER COLUMN {index.pg_column} SET STATISTICS {int(index.pg_statistics)}"
    return [
        # STORAGE MAIN: the vector stays in the row, compressed, rather than in the
        # TOAST table (an article's is ~2 kB, just over the limit): ranking and phrase
        # checks read it for every candidate, and a TOAST fetch costs an index lookup
        # more per row (half the time of a ranked search, docs/benchmarks.md "Search").
        # One statement, so the table is written once, with the vectors in place.
        f"ALTER TABLE {index.table} ADD COLUMN {index.pg_column} tsvector "
        f"GENERATED ALWAYS AS {index.pg_vector()} STORED, "
        f"ALTER COLUMN {index.pg_column} SET STORAGE MAIN{statistics}",
        f"CREATE INDEX {index.gin_index} ON {index.table} USING GIN ({index.pg_column})",
    ]


def _pg_drop(index: Index) -> list[str]:
    return [
        f"DROP INDEX IF EXISTS {index.gin_index}",
        f"ALTER TABLE {index.table} DROP COLUMN IF EXISTS {index.pg_column}",
    ]


def _runner(index: Index, *, create: bool) -> Any:
    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            statements = _pg_create(index) if create else _pg_drop(index)
        elif vendor == "sqlite":
            statements = _sqlite_create(index) if create else _sqlite_drop(index)
        else:
            raise RuntimeError(f"full-text search is not built for {vendor}")
        for statement in statements:
            schema_editor.execute(statement)

    return run


def operations(index: Index) -> list[migrations.operations.base.Operation]:
    """The migration operations that create `index` (and drop it when unapplied)."""
    return [
        migrations.RunPython(
            _runner(index, create=True), _runner(index, create=False), elidable=False
        )
    ]
