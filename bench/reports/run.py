"""bench/reports: every reports page and `GET /api/v1/metrics`, timed over a big data set
through a real `tocsin web` on loopback.

Fill a database first with bench/reports/generate.py, then point this at the same one:

    python bench/reports/run.py --data-dir /tmp/tocsin-bench-reports-1m            # SQLite
    python bench/reports/run.py --database-url postgresql://postgres@127.0.0.1:5432/bench_reports

It starts `tocsin web --host 127.0.0.1 --port P --workers 2` (gunicorn, sync workers,
DEBUG off: production's way) on that database, signs in through /login/ as the
generator's staff account `bench`, then requests each URL of `URLS` below one at a time
(a new connection each, as gunicorn's sync workers close them): `--warmup` times
untimed, then `--runs` times, timing from sending the request to the last byte. A URL
that answers 404 is skipped with a note (the pages are being built: rerun after they
land); any other answer but 200 is reported as an error, as is a request that takes
longer than gunicorn's 30 s worker timeout. p50/p99/max per URL.

URL placeholders: {service} is the busiest service, {team} its team, {since365} and
{since_all} the start of the last 365 days and of the whole data set (by the data's
last incident), {until} the day after it. The default period of the pages and the API
is the last 30 days up to now (the generator's data ends when it ran).

Results: bench/results/reports-<database>-<UTC stamp>.json and .md. The server runs in a
process group of its own and is stopped at the end, also on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import signal
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
TARGET_MS = 1000.0
USERNAME, PASSWORD = "bench", "bench"

# bench/ui's signed-in session (cookies, timed GETs) and, through it, bench/ingest's
# process helpers (process groups, waiting for a server).
_spec = importlib.util.spec_from_file_location("bench_ui_run", ROOT / "bench/ui/run.py")
assert _spec is not None and _spec.loader is not None
ui = importlib.util.module_from_spec(_spec)
sys.modules["bench_ui_run"] = ui
_spec.loader.exec_module(ui)
ingest = ui.ingest

_API = "/api/v1/metrics"
_ALL = "since={since_all}&until={until}"
_YEAR = "since={since365}&until={until}"

# (label, path): every URL measured. Add the pages as they land; a 404 is skipped.
URLS: list[tuple[str, str]] = [
    # GET /api/v1/metrics: three periods, each unfiltered, by service, by priority, both
    ("api 30 d", _API),
    ("api 30 d service", f"{_API}?service={{service}}"),
    ("api 30 d priority", f"{_API}?priority=2"),
    ("api 30 d service+priority", f"{_API}?service={{service}}&priority=2"),
    ("api 365 d", f"{_API}?{_YEAR}"),
    ("api 365 d service", f"{_API}?{_YEAR}&service={{service}}"),
    ("api 365 d priority", f"{_API}?{_YEAR}&priority=2"),
    ("api 365 d service+priority", f"{_API}?{_YEAR}&service={{service}}&priority=2"),
    ("api all", f"{_API}?{_ALL}"),
    ("api all service", f"{_API}?{_ALL}&service={{service}}"),
    ("api all priority", f"{_API}?{_ALL}&priority=2"),
    ("api all service+priority", f"{_API}?{_ALL}&service={{service}}&priority=2"),
    ("api all team", f"{_API}?{_ALL}&team={{team}}"),
    # dashboards (issue 13's pages)
    ("overview 30 d", "/reports/"),
    ("overview 90 d", "/reports/?period=90"),
    ("overview 365 d", "/reports/?period=custom&since={since365}&until={last_day}"),
    ("overview all", "/reports/?period=custom&since={since_all}&until={last_day}"),
    (
        "overview all service",
        "/reports/?period=custom&since={since_all}&until={last_day}&service={service}",
    ),
    (
        "chart volume 365 d",
        "/reports/charts/volume.svg?period=custom&since={since365}&until={last_day}",
    ),
    ("chart ack 365 d", "/reports/charts/ack.svg?period=custom&since={since365}&until={last_day}"),
    (
        "chart recovery 365 d",
        "/reports/charts/recovery.svg?period=custom&since={since365}&until={last_day}",
    ),
    ("chart sla 365 d", "/reports/charts/sla.svg?period=custom&since={since365}&until={last_day}"),
    ("teams", "/reports/teams/"),
    ("team 30 d", "/reports/teams/{team}/"),
    ("team all", "/reports/teams/{team}/?period=custom&since={since_all}&until={last_day}"),
    ("drill mtta 30 d", "/reports/incidents/?metric=mtta"),
    (
        "drill mtta all",
        "/reports/incidents/?metric=mtta&period=custom&since={since_all}&until={last_day}",
    ),
    (
        "drill sla breached all",
        "/reports/incidents/?metric=sla_response&part=rest"
        "&period=custom&since={since_all}&until={last_day}",
    ),
    ("drill csv mtta 30 d", "/reports/incidents.csv?metric=mtta"),
    ("export csv 30 d", "/reports/export.csv"),
    ("export json 30 d", "/reports/export.json"),
    ("export json all", "/reports/export.json?period=custom&since={since_all}&until={last_day}"),
    ("noise 30 d", "/reports/noise/"),
    ("noise 365 d", "/reports/noise/?since={since365}&to={last_day}"),
    ("noise 365 d service", "/reports/noise/?since={since365}&to={last_day}&service={service}"),
    ("noise all", "/reports/noise/?since={since_all}&to={last_day}"),
    ("noise csv 30 d", "/reports/noise/?format=csv"),
    ("oncall 30 d", "/reports/oncall/"),
    ("oncall 365 d", "/reports/oncall/?since={since365}&until={until}"),
    ("oncall team 365 d", "/reports/oncall/?since={since365}&until={until}&team={team}"),
    ("oncall csv 30 d", "/reports/oncall.csv"),
    ("api oncall-load 30 d", "/api/v1/reports/oncall-load"),
]


def setup(args: argparse.Namespace) -> dict[str, str]:
    """Django in this process (to read the data set's shape) and the server's env."""
    env = ingest.clean_env()
    env["TOCSIN_DATA_DIR"] = str(Path(args.data_dir).resolve())
    env["TOCSIN_LOG_LEVEL"] = "WARNING"
    os.environ["TOCSIN_DATA_DIR"] = env["TOCSIN_DATA_DIR"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if args.database_url:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    return env


def dataset() -> dict[str, Any]:
    """The data set's size and the values the URLs are built from."""
    from django.db import connection
    from django.db.models import Count, Max, Min

    from tocsin.alerts.models import Alert
    from tocsin.escalation.models import Page
    from tocsin.incidents.models import Incident, TimelineEntry
    from tocsin.reports.models import IncidentFact

    span = Incident.objects.aggregate(first=Min("reported_at"), last=Max("reported_at"))
    if span["last"] is None:
        raise SystemExit("no incidents: run bench/reports/generate.py first")
    busiest = (
        IncidentFact.objects.values("service_id", "team_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        raise SystemExit("no facts: run generate.py with --facts python or sql")
    last_day: dt.date = span["last"].astimezone(dt.UTC).date()
    return {
        "database": connection.vendor,
        "incidents": Incident.objects.count(),
        "timeline_entries": TimelineEntry.objects.count(),
        "facts": IncidentFact.objects.count(),
        "alerts": Alert.objects.count(),
        "pages": Page.objects.count(),
        "first": span["first"].isoformat(),
        "last": span["last"].isoformat(),
        "values": {
            "service": busiest["service_id"],
            "team": busiest["team_id"],
            "since365": (last_day - dt.timedelta(days=364)).isoformat(),
            "since_all": span["first"].astimezone(dt.UTC).date().isoformat(),
            "until": (last_day + dt.timedelta(days=1)).isoformat(),
            "last_day": last_day.isoformat(),
        },
    }


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def measure(session: Any, path: str, warmup: int, runs: int, server: int) -> dict[str, Any]:
    """Timed GETs of one URL; {"skipped": why} on a 404, {"error": …} on anything else.
    Beside the wall clock, the server's CPU a request (its process tree's user + system
    time over the timed runs: on SQLite that includes the database's work, on PostgreSQL
    the database server's is not in it), the figure a busy machine disturbs least."""
    samples: list[float] = []
    size = 0
    cpu_start = 0.0
    for i in range(warmup + runs):
        if i == warmup:
            cpu_start = ingest.tree_cpu_seconds(server)
        try:
            status, _first, last, content, _response = session.request("GET", path)
        except (TimeoutError, ConnectionError) as exc:
            return {"error": f"{type(exc).__name__} after {len(samples)} runs"}
        if status == 404:
            return {"skipped": "404 (not there yet)"}
        if status != 200:
            return {"error": f"answered {status}: {content[:200]!r}"}
        if i >= warmup:
            samples.append(last)
            size = len(content)
    cpu = ingest.tree_cpu_seconds(server) - cpu_start
    ordered = sorted(samples)
    return {
        "runs": runs,
        "server_cpu_ms": round(cpu * 1000 / max(1, runs), 1),
        "bytes": size,
        "p50_ms": round(percentile(ordered, 0.5), 1),
        "p99_ms": round(percentile(ordered, 0.99), 1),
        "max_ms": round(ordered[-1], 1),
    }


def machine() -> dict[str, Any]:
    """bench/ingest's machine_info without its wrk line (this bench does not use wrk)."""
    import shutil

    if shutil.which("wrk"):
        return ingest.machine_info()  # type: ignore[no-any-return]
    info = {"nproc": os.cpu_count(), "loadavg_at_start": Path("/proc/loadavg").read_text()}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu_model"] = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    return info


def markdown(report: dict[str, Any]) -> str:
    data = report["dataset"]
    lines = [
        f"# bench/reports on {data['database']}, {report['at']}",
        "",
        f"{data['incidents']:,} incidents ({data['facts']:,} counted), "
        f"{data['timeline_entries']:,} timeline entries, {data['alerts']:,} alerts, "
        f"{data['pages']:,} pages, reported {data['first'][:10]} – {data['last'][:10]}. "
        f"`tocsin web --workers {report['workers']}` on 127.0.0.1, one request at a time, "
        f"{report['runs']} timed runs a URL after {report['warmup']} untimed; load average "
        f"{report['load_average'][0]} on {report['cpus']} cores. {report['note']}",
        "",
        "| URL | p50 ms | p99 ms | max ms | server CPU ms | KiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["results"]:
        label = f"{row['label']} `{row['path']}`"
        if "skipped" in row:
            lines.append(f"| {label} | skipped: {row['skipped']} | | | | |")
        elif "error" in row:
            lines.append(f"| {label} | error: {row['error']} | | | | |")
        else:
            flag = " ⚠" if row["max_ms"] >= TARGET_MS else ""
            lines.append(
                f"| {label} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']}{flag} | "
                f"{row['server_cpu_ms']} | {row['bytes'] / 1024:.0f} |"
            )
    lines += ["", f"Command: `{report['command']}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/tocsin-bench-reports-1m")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="measure only labels containing this")
    parser.add_argument("--note", default="", help="said next to the figures (e.g. the load)")
    args = parser.parse_args(argv)
    env = setup(args)
    data = dataset()
    print(json.dumps({k: v for k, v in data.items() if k != "values"}), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-reports-"))
    procs = ingest.Processes(logdir=workdir)

    def on_signal(signum: int, _frame: object) -> None:
        procs.stop_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    port = args.port or ingest.free_port()
    results: list[dict[str, Any]] = []
    try:
        command = [PYTHON, "-m", "tocsin", "web", "--host", "127.0.0.1", "--port", str(port)]
        pid = procs.start("web", [*command, "--workers", str(args.workers)], env)
        ingest.wait_http(f"http://127.0.0.1:{port}/healthz", 120, procs, "web")
        session = ui.Session(port)
        session.sign_in(USERNAME, PASSWORD)
        for label, template in URLS:
            if args.only and args.only not in label:
                continue
            path = template.format(**data["values"])
            row = {"label": label, "path": path} | measure(
                session, path, args.warmup, args.runs, pid
            )
            results.append(row)
            if "skipped" in row or "error" in row:
                print(f"  {label:<28} {path}: {row.get('skipped') or row.get('error')}")
            else:
                print(
                    f"  {label:<28} p50 {row['p50_ms']:8.1f} ms  p99 {row['p99_ms']:8.1f} ms"
                    f"  max {row['max_ms']:8.1f} ms  CPU {row['server_cpu_ms']:7.1f} ms"
                    f"  {urllib.parse.unquote(path)}",
                    flush=True,
                )
        procs.stop(pid)
    except ingest.BenchError as exc:
        print(f"bench/reports failed: {exc} (server log in {workdir})", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = {
        "bench": "reports",
        "at": at,
        "dataset": data,
        "server": f"tocsin web --workers {args.workers} on 127.0.0.1",
        "workers": args.workers,
        "runs": args.runs,
        "warmup": args.warmup,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "machine": machine(),
        "note": args.note,
        "results": results,
        "command": " ".join(["python", *sys.argv]),
    }
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"reports-{data['database']}-{at.replace('-', '').replace(':', '')}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(report))
    print(base.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
