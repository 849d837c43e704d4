"""Which metric costs what: each figure of `metrics.compute()` and of the alert-noise
report, timed on its own over a data set of bench/reports/generate.py.

    .venv/bin/python bench/reports/profile_metrics.py \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_reports --days 30 365 1095
    .venv/bin/python bench/reports/profile_metrics.py --data-dir /tmp/tocsin-bench-reports-1m

In one process (no web server), the period ending now, unfiltered. Each figure is run
`--runs` times; prints the best and the median wall time in ms, and the process's CPU
time (the database's own CPU is not in it on PostgreSQL). The machine may be busy: the
best of several runs is the figure least sensitive to load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def setup(args: argparse.Namespace) -> None:
    os.environ["TOCSIN_DATA_DIR"] = str(Path(args.data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """(best ms, median ms, best CPU ms) over `runs` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return min(walls), statistics.median(walls), min(cpus)


def figures(filters: Any) -> dict[str, Callable[[], Any]]:
    from tocsin.reports import metrics, noise
    from tocsin.reports.metrics import DURATION_METRICS

    out: dict[str, Callable[[], Any]] = {}
    for name, column in DURATION_METRICS.items():
        out[name] = lambda column=column: metrics.duration(column, filters)
    out["rates (_fact_counts)"] = lambda: metrics._fact_counts(filters)
    out["postmortem_completion"] = lambda: metrics.postmortem_completion(filters)
    out["action_items_overdue"] = lambda: metrics.action_items_overdue(filters)
    out["problems_opened"] = lambda: metrics.problems_opened(filters)
    out["known_errors_reused"] = lambda: metrics.known_errors_reused(filters, 0)
    out["compute() (the API's default)"] = lambda: metrics.compute(filters)

    def jitless(fn: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            with noise.no_jit():  # as noise_report() runs them
                return fn(filters)

        return run

    for fn in (
        noise.alerts_per_incident,
        noise.pages_without_action,
        noise.pages_actionable,
        noise.pages_answered,
        noise.feedback_split,
        noise.noisiest_integrations,
        noise.noisiest_names,
    ):
        out[f"noise: {fn.__name__}"] = jitless(fn)

    def suggestions() -> Any:
        with noise.no_jit():
            rows = noise.noisiest_integrations(filters), noise.noisiest_names(filters)
        c0, t0 = time.process_time(), time.perf_counter()
        with noise.no_jit():
            noise.suggestions(filters, *rows)
        print(
            f"    (suggestions alone: {(time.perf_counter() - t0) * 1000:.1f} ms, "
            f"CPU {(time.process_time() - c0) * 1000:.1f} ms)"
        )

    out["noise: tables + suggestions"] = suggestions

    top: list[int] = []

    def worst_case_checks() -> Any:
        """The grouping checks (bursts, labels) as if all ten top integrations qualified
        (none does in the generated data: 2.7 alerts an incident), over the window they
        read (noise.suggestion_filters: the period's last 30 days at most)."""
        with noise.no_jit():
            if not top:
                rows = noise.noisiest_integrations(filters)
                top.extend(r.integration_id for r in rows if r.integration_id is not None)
            recent = noise.suggestion_filters(filters)
            noise.burst_counts(recent, top)
            noise.group_labels(recent, top)

    out["noise: grouping checks, top ten (worst)"] = worst_case_checks
    out["noise_report() (the page's figures)"] = lambda: noise.noise_report(filters)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/tocsin-bench-reports-1m")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365, 1095])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="figures whose name contains this")
    args = parser.parse_args()
    setup(args)
    from django.db import connection

    from tocsin.reports.metrics import Filters

    print(f"{connection.vendor}; load average {os.getloadavg()}")
    for days in args.days:
        filters = Filters.last(days)
        print(f"\n{days} days   best ms   median ms   CPU ms (this process)")
        for name, fn in figures(filters).items():
            if args.only and args.only not in name:
                continue
            best, median, cpu = timed(fn, args.runs)
            print(f"  {name:40} {best:9.1f} {median:9.1f} {cpu:9.1f}")
    print(f"\nload average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
