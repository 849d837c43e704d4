"""Make bench/search's data: incidents (each with its search document) and knowledge
articles, in a database of their own, fast.

    python bench/search/generate.py --incidents 1000000 --articles 100000 \\
        --data-dir /tmp/tocsin-bench-search                          # SQLite
    python bench/search/generate.py --incidents 1000000 --articles 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_search

It starts from an empty database (`--fresh` removes a previous one: the SQLite file in
the data directory, or drops and creates the PostgreSQL database), migrates it, and fills
it with bulk SQL: `executemany` in one transaction on SQLite, `COPY` on PostgreSQL, with
the full-text indexes dropped during the load and built once at the end (FTS5 `rebuild`,
`CREATE INDEX … USING GIN`). It refuses the test databases (`test*`, `h_*`) and any data
directory holding something that is not its own.

The text (bench/search/vocabulary.py): titles of 4–9 words, descriptions of 15–60, a
category, a service and alert labels per incident; articles with a title of 4–8 words,
2–4 tags and a body of 60–250 words. Words follow a Zipf law over ~300 common words of
the trade and ~30,000 rare ones. The article index is the knowledge base's:
table `learning_article`, columns ("title", "tags", "body"); when the migrations of this
branch do not create it, this script does, through tocsin.learning.fts.

Prints a JSON line: the counts and how long each step took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vocabulary import Words  # the bench's own module, next to this file

SERVICES = 60
CATEGORIES = 24
CHUNK = 20_000


def _guard_database(url: str) -> str:
    name = url.rsplit("/", 1)[-1].split("?")[0]
    if not name or name.startswith(("test", "h_")) or name in ("postgres", "tocsin"):
        raise SystemExit(f"refusing database {name!r}: bench/search needs a database of its own")
    return name


def prepare(args: argparse.Namespace) -> None:
    """Point Tocsin at the bench's own database (fresh when asked) and migrate it."""
    data_dir = Path(args.data_dir).resolve()
    os.environ["TOCSIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if args.database_url:
        name = _guard_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
        import psycopg

        admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and args.fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    else:
        os.environ.pop("DATABASE_URL", None)
        if data_dir.exists() and any(
            p.name
            not in {
                "tocsin.sqlite3",
                "tocsin.sqlite3-wal",
                "tocsin.sqlite3-shm",
                "secret_key",
                "static",
                "prometheus",  # a Tocsin process's metrics files (run.py, the web)
            }
            for p in data_dir.iterdir()
        ):
            raise SystemExit(f"refusing {data_dir}: it holds files bench/search did not make")
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{data_dir}/tocsin.sqlite3{suffix}").unlink(missing_ok=True)
        data_dir.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# -- rows -------------------------------------------------------------------------------


class Table:
    """Rows for one model's table: every concrete column, constants prepared once."""

    def __init__(self, model: Any) -> None:
        from django.db import connection

        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        self.template: list[Any] = []
        for f in self.fields:
            value = f.get_default() if (f.has_default() or not f.null) else None
            if value is None and not f.null and f.get_internal_type() == "DateTimeField":
                value = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            self.template.append(
                f.get_db_prep_save(value, connection) if value is not None else None
            )
        self.sqlite = connection.vendor == "sqlite"
        self.ops = connection.ops

    def row(self, **values: Any) -> list[Any]:
        out = list(self.template)
        for name, value in values.items():
            if isinstance(value, dt.datetime) and self.sqlite:
                value = self.ops.adapt_datetimefield_value(value)
            out[self.index[name]] = value
        return out


def insert(table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Bulk-insert `rows` into `table` (one transaction); the number inserted."""
    from django.db import connection, transaction

    count = 0
    columns = ", ".join(table.columns)
    with transaction.atomic():
        raw = connection.connection
        if connection.vendor == "postgresql":
            copying = f"COPY {table.table} ({columns}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(copying) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join("?" for _ in table.columns)
            sql = f"INSERT INTO {table.table} ({columns}) VALUES ({marks})"
            chunk: list[Sequence[Any]] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= CHUNK:
                    raw.executemany(sql, chunk)
                    count += len(chunk)
                    chunk = []
            if chunk:
                raw.executemany(sql, chunk)
                count += len(chunk)
    return count


def run_index(index: Any, *, create: bool) -> None:
    from django.db import connection

    from tocsin.learning import fts

    with connection.schema_editor(atomic=True) as editor:
        if connection.vendor == "postgresql":
            editor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        fts._runner(index, create=create)(None, editor)  # type: ignore[arg-type]


def index_exists(index: Any) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index.gin_index])
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [index.fts_table])
        return cursor.fetchone() is not None


def settle() -> None:
    """The statistics, and on PostgreSQL a VACUUM: a database that has been running a
    while has had autovacuum set its rows' hint bits and visibility map; a freshly
    loaded one would have its first reads write every page they touch."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# -- the data ---------------------------------------------------------------------------

RESOLUTIONS = [
    "fixed",
    "workaround",
    "configuration",
    "user-error",
    "no-fault-found",
    "third-party",
]


def incidents(
    n: int, start: int, words: Words, services: list[tuple[int, str]], cats: list[tuple[int, str]]
) -> Iterator[tuple[list[Any], list[Any]]]:
    """(incident row, document row) pairs."""
    from tocsin.incidents.models import Incident
    from tocsin.learning.models import IncidentDocument

    rng = random.Random(start + 17)
    inc, doc = Table(Incident), Table(IncidentDocument)
    origin = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for i in range(start, start + n):
        service_id, service = services[rng.randrange(len(services))]
        category_id, category = cats[rng.randrange(len(cats))]
        title = words.text(4, 9).capitalize()
        description = words.text(15, 60)
        reported = origin + dt.timedelta(minutes=i * 1.5 + rng.random())
        resolved = reported + dt.timedelta(minutes=rng.randint(5, 3000))
        open_ = rng.random() < 0.03
        code = "" if open_ else RESOLUTIONS[rng.randrange(len(RESOLUTIONS))]
        notes = "" if open_ else words.text(5, 20)
        priority = rng.choice((1, 2, 3, 3, 3, 4, 4))
        labels = (
            f"{category} {service} alertname {words.common()}{words.common()} "
            f"instance {words.rare()}-{rng.randrange(100)} cluster {words.rare()}"
        )
        yield (
            inc.row(
                id=i,
                number=i,
                title=title,
                description=description,
                status="new" if open_ else "closed",
                source="monitoring" if rng.random() < 0.6 else "portal",
                service_id=service_id,
                category_id=category_id,
                priority=priority,
                impact=priority,
                urgency=priority,
                reported_at=reported,
                updated_at=resolved,
                resolved_at=None if open_ else resolved,
                closed_at=None if open_ else resolved,
                resolution_code=code,
                resolution_notes=notes,
            ),
            doc.row(incident_id=i, title=title, labels=labels, description=description),
        )


def articles(n: int, words: Words) -> Iterator[list[Any]]:
    from tocsin.learning.models import Article

    rng = random.Random(99)
    table = Table(Article)
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    for i in range(1, n + 1):
        yield table.row(
            id=i,
            title=words.text(4, 8).capitalize(),
            tags=" ".join(words.take(rng.randint(2, 4))),
            body=words.text(60, 250),
            visibility="public" if rng.random() < 0.4 else "internal",
            created_at=at,
            updated_at=at,
        )


ARTICLE_INDEX_COLUMNS = ("title", "tags", "body")


def article_index() -> Any:
    from tocsin.learning import fts

    return fts.Index(table="learning_article", columns=ARTICLE_INDEX_COLUMNS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--data-dir", default="/tmp/tocsin-bench-search")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reindex", action="store_true", help="only drop and build the full-text indexes again"
    )
    args = parser.parse_args()
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare(args)
    took["migrate"] = time.perf_counter() - t0

    from django.db import connection

    from tocsin.catalog.models import Category, Service
    from tocsin.incidents.models import Incident
    from tocsin.learning.models import Article
    from tocsin.learning.similar import INCIDENT_INDEX

    if args.reindex:
        from tocsin.learning.problem_search import PROBLEM_INDEX

        for index in (INCIDENT_INDEX, article_index(), PROBLEM_INDEX):
            t = time.perf_counter()
            run_index(index, create=False)
            run_index(index, create=True)
            took[f"index {index.table}"] = time.perf_counter() - t
        settle()
        print(json.dumps({"reindexed": {k: round(v, 1) for k, v in took.items()}}))
        return 0
    if Incident.objects.exists() or Article.objects.exists():
        raise SystemExit("the database holds incidents or articles already: use --fresh")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")  # bench data: speed over durability
    words = Words(args.seed)
    services = [
        (s.pk, s.name)
        for s in Service.objects.bulk_create(
            Service(name=f"{words.common().title()} {words.rare().title()} {n}")
            for n in range(SERVICES)
        )
    ]
    cats = [
        (c.pk, c.name)
        for c in Category.objects.bulk_create(
            Category(name=f"{words.common().title()} {n}") for n in range(CATEGORIES)
        )
    ]
    if not services[0][0]:  # SQLite before 3.35 gives no ids back
        services = list(Service.objects.values_list("pk", "name"))
        cats = list(Category.objects.values_list("pk", "name"))

    kb_index = article_index()
    kb_made_here = not index_exists(kb_index)
    for index in (INCIDENT_INDEX, kb_index):
        if index_exists(index):
            run_index(index, create=False)

    t = time.perf_counter()
    from tocsin.learning.models import IncidentDocument

    inc_table, doc_table = Table(Incident), Table(IncidentDocument)
    n_inc = n_doc = 0
    stream = incidents(args.incidents, 1, words, services, cats)
    while True:
        pairs = list(itertools.islice(stream, 50_000))
        if not pairs:
            break
        n_inc += insert(inc_table, (a for a, _ in pairs))
        n_doc += insert(doc_table, (b for _, b in pairs))
    took["insert_incidents"] = time.perf_counter() - t
    t = time.perf_counter()
    n_art = insert(Table(Article), articles(args.articles, words))
    took["insert_articles"] = time.perf_counter() - t
    t = time.perf_counter()
    run_index(INCIDENT_INDEX, create=True)
    took["index_incidents"] = time.perf_counter() - t
    t = time.perf_counter()
    run_index(kb_index, create=True)
    took["index_articles"] = time.perf_counter() - t
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('incidents_incident', 'id'), %s)", [n_inc + 1]
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('learning_article', 'id'), %s)", [n_art + 1]
            )
    t = time.perf_counter()
    settle()
    took["vacuum_analyze"] = time.perf_counter() - t
    took["total"] = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "incidents": n_inc,
                "documents": n_doc,
                "articles": n_art,
                "article_index_made_here": kb_made_here,
                "seconds": {k: round(v, 1) for k, v in took.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
