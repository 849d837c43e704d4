"""bench/statuspage: the public status page under a reload storm, beside the ceiling of an
empty Django endpoint, in one run, while an ingest load runs.

    .venv/bin/python bench/statuspage/run.py                      # SQLite, 10 s a target
    .venv/bin/python bench/statuspage/run.py --duration 5 --warmup 1
    .venv/bin/python bench/statuspage/run.py --db both --duration 30

For each database (SQLite: a fresh data directory; PostgreSQL: a fresh database
`tocsin_bench_statuspage`, created and dropped here) it migrates, fills the status page
(bench/statuspage/seed.py: `--components` components in groups with 90 days of history,
`--incidents` open public incidents with three updates each) and starts, the production
way (gunicorn, `--workers` sync workers each):

- `tocsin web` serving the status page;
- a second `tocsin web` on the same database taking the ingest load: `wrk` posting
  PagerDuty events (distinct dedup keys, bench/ingest's workload and script) with
  `--ingest-connections` connections for the whole run, so the database and the CPUs are
  busy as during an outage;
- bench/baseline's tiny Django project (no middleware, an empty view): the ceiling.

Then, one after the other with the ingest load running, `wrk` (16 connections, 2
threads, bench/statuspage/get.lua: GET with `Accept-Encoding: gzip`, as browsers send)
measures the ceiling (`/empty`), `/status/` and `/status/api/v2/summary.json`:
requests/s and p50/p99; then, for information, a reload of `/status/` (If-None-Match with
the page's ETag, answered 304). Targets (issue 11): each at least 90 % of the ceiling's
requests/s, p99 under 50 ms. Results: bench/results/statuspage-<time>.json and .md.
Every process started here runs in its own process group and is stopped at the end, even
on error or Ctrl-C. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable
PG_DB = "tocsin_bench_statuspage"
GET_LUA = HERE / "get.lua"
TARGET_RATIO = 0.90
TARGET_P99_MS = 50.0

# The process helpers of bench/ingest (process groups, waiting, wrk, PostgreSQL set-up).
_spec = importlib.util.spec_from_file_location("bench_ingest_run", ROOT / "bench/ingest/run.py")
assert _spec is not None and _spec.loader is not None
ingest = importlib.util.module_from_spec(_spec)
sys.modules["bench_ingest_run"] = ingest
_spec.loader.exec_module(ingest)


def run_get(
    *,
    base_url: str,
    path: str,
    duration: float,
    server_pid: int,
    connections: int,
    if_none_match: str = "",
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(ingest.WRK_THREADS),
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(GET_LUA),
        base_url,
        "--",
        path,
        if_none_match,
    ]
    server_before = ingest.tree_cpu_seconds(server_pid)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    elapsed = time.monotonic() - started
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = ingest.tree_cpu_seconds(server_pid) - server_before
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise ingest.BenchError(
            f"wrk failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["status_2xx"]
    wrk_cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
        usage_after.ru_stime - usage_before.ru_stime
    )
    return {
        "path": path,
        "seconds": round(seconds, 2),
        "requests": raw["requests"],
        "ok": ok,
        "non_2xx": raw["status_3xx"] + raw["status_4xx"] + raw["status_5xx"],
        "socket_errors": raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        "first_error": raw["first_error"],
        "req_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "kib_per_reply": round(raw["bytes"] / max(1, raw["requests"]) / 1024, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "server_cores": round(server_cpu / elapsed, 2) if elapsed else 0.0,
        # the server's CPU time per good reply: less sensitive to a shared machine's load
        # than req/s (another process's work takes turns, not this process's CPU seconds)
        "server_cpu_us_per_reply": round(server_cpu / ok * 1e6, 1) if ok else None,
        "wrk_cores": round(wrk_cpu / elapsed, 2) if elapsed else 0.0,
    }


def measure(
    label: str,
    args: argparse.Namespace,
    base_url: str,
    path: str,
    pid: int,
    if_none_match: str = "",
) -> dict[str, Any]:
    if args.warmup > 0:
        run_get(
            base_url=base_url,
            path=path,
            duration=args.warmup,
            server_pid=pid,
            connections=args.connections,
            if_none_match=if_none_match,
        )
    result = run_get(
        base_url=base_url,
        path=path,
        duration=args.duration,
        server_pid=pid,
        connections=args.connections,
        if_none_match=if_none_match,
    )
    print(
        f"  {label:<36} {result['req_per_s']:>8.0f} req/s  p50 {result['p50_ms']:>6.1f} ms"
        f"  p99 {result['p99_ms']:>6.1f} ms  {result['kib_per_reply']:.1f} KiB/reply"
        f"  server {result['server_cores']:.2f} cores"
        + (
            f"  non-2xx {result['non_2xx']} ({result['first_error'][:60]})"
            if result["non_2xx"]
            else ""
        ),
        flush=True,
    )
    return result


def web(procs: Any, name: str, env: dict[str, str], workers: int) -> tuple[int, str]:
    port = ingest.free_port()
    pid = procs.start(
        name,
        [
            PYTHON,
            "-m",
            "tocsin",
            "web",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env,
    )
    base = f"http://127.0.0.1:{port}"
    ingest.wait_http(f"{base}/healthz", 60, procs, name)
    return pid, base


def baseline(procs: Any, workdir: Path, db: Any, workers: int) -> tuple[int, str]:
    env = ingest.clean_env()
    env["PYTHONPATH"] = str(ingest.BASELINE_DIR)
    env["DJANGO_SETTINGS_MODULE"] = "baseline_site.settings"
    if db.baseline_url:
        env["BENCH_DATABASE_URL"] = db.baseline_url
    else:
        env["BENCH_SQLITE_PATH"] = str(workdir / "baseline.sqlite3")
    ingest.run_checked(
        [PYTHON, str(ingest.BASELINE_DIR / "manage.py"), "migrate", "--run-syncdb", "-v", "0"],
        env,
        cwd=ingest.BASELINE_DIR,
    )
    port = ingest.free_port()
    name = f"baseline-{db.name}"
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    pid = procs.start(
        name,
        [
            gunicorn,
            "baseline_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--preload",
            "--timeout",
            "30",
            "--no-control-socket",
        ],
        env,
        cwd=ingest.BASELINE_DIR,
    )
    base = f"http://127.0.0.1:{port}"
    ingest.wait_http(f"{base}/empty", 60, procs, name)
    return pid, base


def bench_db(db: Any, args: argparse.Namespace, workdir: Path, procs: Any) -> dict[str, Any]:
    env = ingest.clean_env()
    env["TOCSIN_DATA_DIR"] = str(workdir / f"tocsin-{db.name}")
    if db.tocsin_url:
        ingest.postgres_recreate(PG_DB)
        env["DATABASE_URL"] = db.tocsin_url
    print(f"{db.name}: migrating, filling the status page", flush=True)
    ingest.run_checked([PYTHON, "-m", "tocsin", "migrate"], env, timeout=600)
    seeded = json.loads(
        ingest.run_checked(
            [
                PYTHON,
                str(HERE / "seed.py"),
                "--components",
                str(args.components),
                "--incidents",
                str(args.incidents),
            ],
            env,
        )
    )
    keys = json.loads(
        ingest.run_checked(
            [PYTHON, str(ingest.HERE / "tocsin_keys.py"), "--services", "5", "--per-kind", "50"],
            env,
        )
    )
    requests_file = ingest.write_requests(
        workdir / f"ingest-{db.name}.txt", ingest.make_workload(keys).pd_distinct
    )
    status_pid, status_base = web(procs, f"tocsin-status-{db.name}", env, args.workers)
    ingest_pid, ingest_base = web(procs, f"tocsin-ingest-{db.name}", env, args.ingest_workers)
    base_pid, base_base = baseline(procs, workdir, db, args.workers)
    results: dict[str, Any] = {"seeded": seeded}
    with urllib.request.urlopen(f"{status_base}/status/", timeout=60) as reply:  # first render
        results["page_kib"] = round(len(reply.read()) / 1024, 1)
    gzipped = urllib.request.Request(f"{status_base}/status/", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(gzipped, timeout=60) as reply:  # the ETag a browser keeps
        etag = reply.headers["ETag"]
    background = None
    try:
        if args.ingest_connections > 0:
            total = 4 * (args.duration + args.warmup) + 10
            background = subprocess.Popen(
                [
                    "wrk",
                    "-t",
                    "1",
                    "-c",
                    str(args.ingest_connections),
                    "-d",
                    f"{total:g}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(ingest.LUA),
                    ingest_base,
                    "--",
                    str(requests_file),
                    ingest.next_salt(),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            time.sleep(1.0)
        results["ceiling"] = measure(
            "ceiling: Django empty endpoint", args, base_base, "/empty", base_pid
        )
        results["page"] = measure("/status/", args, status_base, "/status/", status_pid)
        results["summary"] = measure(
            "/status/api/v2/summary.json",
            args,
            status_base,
            "/status/api/v2/summary.json",
            status_pid,
        )
        results["reload"] = measure(
            "/status/ reload (If-None-Match: 304)",
            args,
            status_base,
            "/status/",
            status_pid,
            if_none_match=etag,
        )
    finally:
        if background is not None:
            background.send_signal(signal.SIGINT)  # wrk stops and reports its summary
            try:
                out, _err = background.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                background.kill()
                out, _err = background.communicate(timeout=10)
            line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
            if line:
                raw = json.loads(line.removeprefix("BENCH_JSON "))
                seconds = raw["duration_us"] / 1e6 or 1
                results["ingest"] = {"req_per_s": round(raw["status_2xx"] / seconds, 1)}
            else:
                results["ingest"] = {"note": "the ingest load was stopped before wrk reported"}
        for pid in (status_pid, ingest_pid, base_pid):
            procs.stop(pid)
    return results


def verdicts(results: dict[str, Any]) -> list[str]:
    lines = []
    for db, r in results["databases"].items():
        if not isinstance(r, dict) or "ceiling" not in r:
            continue
        ceiling = r["ceiling"]["req_per_s"]
        for key, label in (("page", "/status/"), ("summary", "summary.json")):
            got = r[key]
            ratio = got["req_per_s"] / ceiling if ceiling else 0.0
            ok = ratio >= TARGET_RATIO and got["p99_ms"] < TARGET_P99_MS
            lines.append(
                f"{db} {label}: {got['req_per_s']:,.0f} req/s = {ratio:.0%} of the ceiling "
                f"({ceiling:,.0f} req/s; target ≥ {TARGET_RATIO:.0%}), p99 {got['p99_ms']} ms "
                f"(target < {TARGET_P99_MS:g} ms): {'met' if ok else 'NOT met'}"
            )
    return lines


def markdown(results: dict[str, Any]) -> str:
    out = [
        f"# bench/statuspage {results['started']}",
        "",
        f"`{results['command']}`; load average at start {results['loadavg_at_start']}, "
        f"at end {results['loadavg_at_end']}. {results['components']} components, "
        f"{results['incidents']} open public incidents; wrk {results['connections']} connections, "
        f"{results['duration']} s after {results['warmup']} s warm-up; gunicorn "
        f"{results['workers']} sync workers; an ingest load on a second `tocsin web` "
        "throughout.",
        "",
        "| database | target | req/s | p50 ms | p99 ms | KiB/reply | server cores "
        "| server CPU µs/reply |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for db, r in results["databases"].items():
        if not isinstance(r, dict) or "ceiling" not in r:
            out.append(f"| {db} | skipped: {r} | | | | | | |")
            continue
        for key in ("ceiling", "page", "summary", "reload"):
            if key not in r:
                continue
            g = r[key]
            target = g["path"] + (" (reload: 304)" if key == "reload" else "")
            out.append(
                f"| {db} | {target} | {g['req_per_s']:,.0f} | {g['p50_ms']} | {g['p99_ms']} "
                f"| {g['kib_per_reply']} | {g['server_cores']} "
                f"| {g.get('server_cpu_us_per_reply', '')} |"
            )
        ingest_rate = r.get("ingest", {}).get("req_per_s", "?")
        out.append(f"| {db} | (ingest load, PagerDuty events) | {ingest_rate} | | | | | |")
    out += ["", *[f"- {v}" for v in verdicts(results)], ""]
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Tocsin's status page benchmark (docs/benchmarks.md)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds a target (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each (2)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument(
        "--connections", type=int, default=ingest.CONNECTIONS, help="wrk connections (16)"
    )
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--ingest-connections", type=int, default=2, help="0: no ingest load (2)")
    parser.add_argument("--ingest-workers", type=int, default=1)
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ingest.ensure_wrk(not args.no_install)
    except ingest.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python bench/statuspage/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "loadavg_at_start": os.getloadavg(),
        "components": args.components,
        "incidents": args.incidents,
        "connections": args.connections,
        "duration": args.duration,
        "warmup": args.warmup,
        "workers": args.workers,
        "databases": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-statuspage-"))
    procs = ingest.Processes(logdir=workdir)
    try:
        dbs = []
        if args.db in ("sqlite", "both"):
            dbs.append(ingest.Database("sqlite", None, None))
        if args.db in ("postgres", "both"):
            why = ingest.postgres_reachable()
            if why:
                results["databases"]["postgres"] = f"PostgreSQL unreachable: {why}"
                print(f"postgres skipped: {why}", flush=True)
            else:
                ingest.postgres_recreate("tocsin_bench_baseline")
                dbs.append(
                    ingest.Database(
                        "postgres",
                        ingest.postgres_url(PG_DB),
                        ingest.postgres_url("tocsin_bench_baseline"),
                    )
                )
        for db in dbs:
            results["databases"][db.name] = bench_db(db, args, workdir, procs)
    except ingest.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        if args.db in ("postgres", "both") and not ingest.postgres_reachable():
            ingest.postgres_recreate(PG_DB, drop_only=True)
            ingest.postgres_recreate("tocsin_bench_baseline", drop_only=True)
        shutil.rmtree(workdir, ignore_errors=True)
    results["loadavg_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"statuspage-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"statuspage-{stamp}.md").write_text(markdown(results))
    print("\n".join(verdicts(results)))
    print(f"results: {args.out / f'statuspage-{stamp}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
