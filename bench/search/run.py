"""bench/search: knowledge-base search and similar incidents, timed query by query.

Fill a database first with bench/search/generate.py, then point this at the same one:

    python bench/search/run.py --data-dir /tmp/tocsin-bench-search            # SQLite
    python bench/search/run.py --database-url postgresql://postgres@127.0.0.1:5432/bench_search

Knowledge base (tocsin.learning.fts over `learning_article`, ("title", "tags", "body"),
20 results, at most `article_selectors.SEARCH_MAX` matches ranked, as the knowledge
base's search does): five kinds of query, the same number of each, drawn from the data's own
vocabulary —
- `common`: one of the 100 most common words (matches a large share of the articles);
- `rare`: one word of the long tail;
- `common+rare`: both (ALL);
- `phrase`: two words side by side in a random article's body, quoted;
- `prefix`: a common word and the first four letters of a rare one, as someone types
  (prefix on the last word), over public articles only, as the reporter's portal
  suggests (`article_selectors.ranked_articles`: any word may match, those holding
  every word first, `SUGGEST_MAX` ranked, five answered).

Similar incidents: `tocsin.learning.similar.similar_incidents` (the API's work without
HTTP: the incident's telling words, fts ANY over the incident documents, the incidents
loaded, problems and known errors alike) for random incidents.

Each query is timed alone, sequentially, after a warm-up; p50/p95/p99/max per kind, of
the wall clock and of the process's CPU time. Writes
bench/results/search-<database>-<UTC stamp>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vocabulary import Words  # the bench's own module, next to this file

RESULTS = Path(__file__).resolve().parent.parent / "results"


def setup(args: argparse.Namespace) -> None:
    os.environ["TOCSIN_DATA_DIR"] = str(Path(args.data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50) * 1000, 2),
        "p95_ms": round(at(0.95) * 1000, 2),
        "p99_ms": round(at(0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def server_cpu() -> Callable[[], float]:
    """Seconds of CPU the database server's process for this connection has used: on
    PostgreSQL on this machine, from /proc/<backend pid>/schedstat (nanoseconds on a
    core); nothing on SQLite, whose work is this process's."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
    if not stat.exists():  # a server on another machine
        return lambda: 0.0
    return lambda: int(stat.read_text().split()[0]) / 1e9


def timed(
    calls: list[Callable[[], Any]], warmup: int
) -> tuple[list[float], list[float], list[int]]:
    """Wall-clock and CPU seconds of each call (CPU: this process's, which on SQLite
    includes the database's work, plus on PostgreSQL the server process's for this
    connection when it runs on this machine; on a shared machine the wall clock also
    counts the time other processes held the cores)."""
    for call in calls[:warmup]:
        call()
    server = server_cpu()
    samples, cpu, sizes = [], [], []
    for call in calls[warmup:]:
        start, start_cpu, start_server = time.perf_counter(), time.process_time(), server()
        found = call()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu + server() - start_server)
        sizes.append(len(found) if isinstance(found, list) else len(found.incidents))
    return samples, cpu, sizes


def warm(args: argparse.Namespace) -> str:
    """Read the database into memory before timing, as a server that has been running
    holds its working set: the SQLite file through the page cache; on PostgreSQL every
    table and index of the search (pg_prewarm, contrib, into the page cache). A query that
    is the first to touch a page would otherwise time this machine's disk (a cold run
    gave p99 of up to 0.9 s on 15 ms of CPU); `--cold` measures that instead."""
    from django.db import connection

    started = time.monotonic()
    if connection.vendor == "sqlite":
        with open(connection.settings_dict["NAME"], "rb") as db:
            while db.read(1 << 24):
                pass
    else:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') "
                "AND (c.relname LIKE 'learning_%%' OR c.relname LIKE 'incidents_%%')"
            )
    return f"read into memory first ({time.monotonic() - started:.1f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/tocsin-bench-search")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=200, help="per kind of query")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--note", default="", help="said next to the figures (e.g. the load)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="skip reading the database into memory first (measures the disk as well)",
    )
    args = parser.parse_args()
    setup(args)
    warmed = "" if args.cold else warm(args)

    from django.db import connection

    from tocsin.incidents.models import Incident
    from tocsin.learning import fts
    from tocsin.learning.article_selectors import SEARCH_MAX, SUGGEST_MAX, ranked_articles
    from tocsin.learning.models import Article
    from tocsin.learning.similar import INCIDENT_INDEX, similar_incidents

    kb = fts.Index(table="learning_article", columns=("title", "tags", "body"))
    words = Words(args.seed, pool=200_000)
    rng = random.Random(args.seed)
    n_incidents = Incident.objects.count()
    n_articles = Article.objects.count()
    max_article = Article.objects.order_by("-id").values_list("id", flat=True).first() or 0
    max_incident = Incident.objects.order_by("-id").values_list("id", flat=True).first() or 0
    total = args.queries + args.warmup

    def phrase() -> str:
        while True:
            body = Article.objects.filter(pk=rng.randint(1, max_article)).values_list(
                "body", flat=True
            )
            found = [w for w in (body.first() or "").split() if w not in fts.STOP_WORDS]
            if len(found) >= 2:
                at = rng.randrange(len(found) - 1)
                return f'"{found[at]} {found[at + 1]}"'

    def kb_search(text: str, **kwargs: Any) -> Callable[[], list[tuple[int, float]]]:
        # as the knowledge base's search does: it ranks (and counts) SEARCH_MAX matches
        return lambda: fts.search(kb, text, limit=20, candidates=SEARCH_MAX, **kwargs)

    def suggest(text: str) -> Callable[[], list[tuple[int, float]]]:
        # as the reporter's portal suggests while someone types (5 public articles)
        return lambda: ranked_articles(
            text,
            where="b.visibility = %s AND b.archived_at IS NULL",
            params=["public"],
            mode=fts.Mode.ANY,
            prefix=True,
            most=SUGGEST_MAX,
            wanted=5,
        )[:5]

    kinds: dict[str, list[Callable[[], Any]]] = {
        "kb common": [kb_search(words.common()) for _ in range(total)],
        "kb rare": [kb_search(words.rare()) for _ in range(total)],
        "kb common+rare": [kb_search(f"{words.common()} {words.rare()}") for _ in range(total)],
        "kb phrase": [kb_search(phrase()) for _ in range(total)],
        "kb prefix (public)": [
            suggest(f"{words.common()} {words.rare()[:4]}") for _ in range(total)
        ],
    }
    picked = Incident.objects.in_bulk([rng.randint(1, max_incident) for _ in range(total)])
    incidents = list(picked.values())
    rng.shuffle(incidents)
    kinds["similar incidents"] = [
        (lambda incident=incident: similar_incidents(incident)) for incident in incidents
    ]
    results: dict[str, Any] = {}
    all_kb: list[float] = []
    for kind, calls in kinds.items():
        samples, cpu, sizes = timed(calls, args.warmup)
        cpu_p = percentiles(cpu)
        results[kind] = percentiles(samples) | {
            "cpu_p50_ms": cpu_p["p50_ms"],
            "cpu_p99_ms": cpu_p["p99_ms"],
            "mean_results": round(statistics.fmean(sizes), 1),
        }
        if kind.startswith("kb"):
            all_kb += samples
        print(kind, results[kind], flush=True)
    results["kb all"] = percentiles(all_kb)
    load = os.getloadavg()
    report = {
        "bench": "search",
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": connection.vendor,
        "incidents": n_incidents,
        "articles": n_articles,
        "incident_index": INCIDENT_INDEX.table,
        "queries_per_kind": args.queries,
        "load_average": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
        "note": args.note,
        "warmed": warmed or "no (--cold)",
        "results": results,
        "command": " ".join(["python", *sys.argv]),
    }
    stamp = report["at"].replace("-", "").replace(":", "")
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"search-{connection.vendor}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# bench/search on {connection.vendor}, {report['at']}",
        "",
        f"{n_incidents:,} incidents, {n_articles:,} articles; {args.queries} timed queries "
        f"per kind after {args.warmup} untimed; load average {load[0]:.1f} on "
        f"{os.cpu_count()} cores. Database {warmed or 'not read first (--cold)'}. {args.note}",
        "",
        "| query | p50 ms | p95 ms | p99 ms | max ms | CPU p50 ms | CPU p99 ms | results |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | "
            f"{r.get('cpu_p50_ms', '')} | {r.get('cpu_p99_ms', '')} | "
            f"{r.get('mean_results', '')} |"
        )
    lines += [
        "",
        "CPU: this process's CPU time (on SQLite it includes the database's work) plus, on "
        "PostgreSQL, the CPU time of the server process serving this connection "
        "(/proc/<pid>/schedstat): the work itself, without the waits for a core.",
    ]
    lines += ["", f"Command: `{report['command']}`", ""]
    base.with_suffix(".md").write_text("\n".join(lines))
    print(base.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
