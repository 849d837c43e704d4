"""bench/ui: time to first byte of the service-desk pages, with the demo data and with
100,000 more incidents, served the production way.

    .venv/bin/python bench/ui/run.py                       # SQLite, 200 samples a page
    .venv/bin/python bench/ui/run.py --db both --samples 300
    .venv/bin/python bench/ui/run.py --incidents 20000     # a smaller history

For each database (SQLite: a fresh data directory; PostgreSQL: a fresh database
`tocsin_bench_ui`, created and dropped here, skipped with a message when unreachable) it
runs `tocsin migrate` and `tocsin demo`, starts `tocsin web --workers 2` (gunicorn, 2
sync workers, DEBUG off, as in production) on 127.0.0.1 and signs in through /login/
as a service-desk agent and as the reporter with the most incidents. Then, one request
at a time (a new connection each, as gunicorn's sync workers close them), it requests
each page `--warmup` times, then `--samples` times, and records the time from sending
the request to reading the response's status line and headers (time to first byte;
the sync workers send nothing before the view has rendered the whole page) and to the
last byte. With the server stopped, bench/ui/cpu.py then renders each page in-process
and records its CPU time (`--cpu-samples`), the figure that hardly moves with the
machine's load. Then it adds `--incidents` historical incidents (bench/ui/bulk.py: bulk
inserts) to the same database, restarts the server and measures again.

Pages: the queue (open incidents), the queue over every status, a search over every
status, the demo incident with the longest timeline, the alerts list (agent), and the
portal (reporter). Results go to bench/results/ui-<time>.json and .md. The target
(issue 8): time to first byte p99 under 100 ms on SQLite. Every process started here
runs in its own process group and is stopped at the end, even on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import http.cookies
import importlib.util
import json
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable
PG_DB = "tocsin_bench_ui"
DEMO_PASSWORD = "demo"
TARGET_P99_MS = 100.0

# The process helpers of bench/ingest (process groups, waiting, PostgreSQL set-up).
_spec = importlib.util.spec_from_file_location("bench_ingest_run", ROOT / "bench/ingest/run.py")
assert _spec is not None and _spec.loader is not None
ingest = importlib.util.module_from_spec(_spec)
sys.modules["bench_ingest_run"] = ingest
_spec.loader.exec_module(ingest)


class Session:
    """Cookies of one signed-in person, and timed GETs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _remember(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                self.cookies[key] = morsel.value

    def request(
        self, method: str, path: str, body: str | None = None
    ) -> tuple[int, float, float, bytes, http.client.HTTPResponse]:
        headers = {"Cookie": self._cookie_header(), "Accept": "text/html"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        first_byte = time.perf_counter()
        content = response.read()
        last_byte = time.perf_counter()
        conn.close()
        self._remember(response)
        return (
            response.status,
            (first_byte - started) * 1000,
            (last_byte - started) * 1000,
            content,
            response,
        )

    def sign_in(self, username: str, password: str) -> None:
        status, _, _, content, _ = self.request("GET", "/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        if status != 200 or match is None:
            raise ingest.BenchError(f"/login/ answered {status} without a CSRF token")
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": match.group(1).decode(),
                "username": username,
                "password": password,
            }
        )
        status, *_ = self.request("POST", "/login/", body)
        if status != 302 or "sessionid" not in self.cookies:
            raise ingest.BenchError(f"signing in as {username} failed ({status})")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure_page(session: Session, path: str, warmup: int, samples: int) -> dict[str, Any]:
    for _ in range(warmup):
        status, *_ = session.request("GET", path)
        if status != 200:
            raise ingest.BenchError(f"GET {path} answered {status}")
    ttfb: list[float] = []
    total: list[float] = []
    size = 0
    for _ in range(samples):
        status, first, last, content, _ = session.request("GET", path)
        if status != 200:
            raise ingest.BenchError(f"GET {path} answered {status}")
        ttfb.append(first)
        total.append(last)
        size = len(content)
    return {
        "path": path,
        "samples": samples,
        "bytes": size,
        "ttfb_p50_ms": round(statistics.median(ttfb), 1),
        "ttfb_p99_ms": round(percentile(ttfb, 0.99), 1),
        "ttfb_max_ms": round(max(ttfb), 1),
        "total_p50_ms": round(statistics.median(total), 1),
        "total_p99_ms": round(percentile(total, 0.99), 1),
    }


def pages(picks: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, who, path) of every page measured."""
    return [
        ("queue (open)", "agent", "/"),
        ("queue (any status)", "agent", "/?status=all"),
        ("queue search (any status)", "agent", "/?status=all&q=printer"),
        (f"incident {picks['incident']}", "agent", f"/incidents/{picks['incident']}/"),
        ("alerts", "agent", "/alerts/"),
        ("portal", "reporter", "/portal/"),
    ]


def bench_database(
    name: str, database_url: str | None, args: argparse.Namespace, workdir: Path, procs: Any
) -> dict[str, Any]:
    env = ingest.clean_env()
    env["TOCSIN_DATA_DIR"] = str(workdir / f"tocsin-{name}")
    env["TOCSIN_LOG_LEVEL"] = "WARNING"
    if database_url:
        ingest.postgres_recreate(PG_DB)
        env["DATABASE_URL"] = database_url
    print(f"{name}: migrate, demo", flush=True)
    ingest.run_checked([PYTHON, "-m", "tocsin", "migrate"], env, timeout=600)
    ingest.run_checked([PYTHON, "-m", "tocsin", "demo"], env, timeout=600)
    picks = json.loads(ingest.run_checked([PYTHON, str(HERE / "bulk.py"), "--incidents", "0"], env))
    results: dict[str, Any] = {"picks": picks, "datasets": {}}
    datasets = [("demo", 0), (f"demo + {args.incidents:,} incidents", args.incidents)]
    for label, extra in datasets:
        if extra:
            print(f"{name}: adding {extra:,} incidents", flush=True)
            loaded = json.loads(
                ingest.run_checked(
                    [PYTHON, str(HERE / "bulk.py"), "--incidents", str(extra)],
                    env,
                    timeout=1800,
                )
            )
            results["bulk"] = loaded
            print(f"    {loaded['incidents_total']:,} incidents in {loaded['seconds']} s")
        port = ingest.free_port()
        server = f"tocsin-web-ui-{name}-{extra}"
        pid = procs.start(
            server,
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
                str(args.workers),
            ],
            env,
        )
        try:
            ingest.wait_http(f"http://127.0.0.1:{port}/healthz", 60, procs, server)
            sessions = {"agent": Session(port), "reporter": Session(port)}
            sessions["agent"].sign_in(picks["agent"], DEMO_PASSWORD)
            sessions["reporter"].sign_in(picks["reporter"], DEMO_PASSWORD)
            rows = []
            for page_label, who, path in pages(picks):
                row = measure_page(sessions[who], path, args.warmup, args.samples)
                row["page"] = page_label
                rows.append(row)
                print(
                    f"    {label:<28} {page_label:<28} TTFB p50 {row['ttfb_p50_ms']:6.1f} ms"
                    f"  p99 {row['ttfb_p99_ms']:6.1f} ms  ({row['bytes'] / 1024:.0f} KiB)",
                    flush=True,
                )
            results["datasets"][label] = rows
        finally:
            procs.stop(pid)
        if args.cpu_samples:
            specs = [f"{picks[who]}={path}" for _label, who, path in pages(picks)]
            cpu = json.loads(
                ingest.run_checked(
                    [PYTHON, str(HERE / "cpu.py"), "--samples", str(args.cpu_samples), *specs],
                    env,
                    timeout=1800,
                )
            )
            for row, spec in zip(rows, specs, strict=True):
                row.update(cpu[spec])
                print(
                    f"    {label:<28} {row['page']:<28} CPU p50 {row['cpu_p50_ms']:6.1f} ms"
                    f"  p99 {row['cpu_p99_ms']:6.1f} ms  {row['queries']} queries",
                    flush=True,
                )
    return results


def machine() -> dict[str, Any]:
    return ingest.machine_info()  # type: ignore[no-any-return]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# bench/ui {results['started']}",
        "",
        f"`tocsin web --workers {results['args']['workers']}` (gunicorn), one request at a "
        f"time, {results['args']['samples']} samples a page after "
        f"{results['args']['warmup']} warm-ups. Target: TTFB p99 < {TARGET_P99_MS:.0f} ms "
        "on SQLite.",
        "",
        "| database | data | page | TTFB p50 ms | TTFB p99 ms | last byte p99 ms | KiB"
        " | CPU p50 ms | CPU p99 ms | queries |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for db, found in results["databases"].items():
        if "skipped" in found:
            lines.append(f"| {db} | skipped: {found['skipped']} | | | | | | | | |")
            continue
        for data, rows in found["datasets"].items():
            for row in rows:
                flag = " ⚠" if row["ttfb_p99_ms"] >= TARGET_P99_MS else ""
                lines.append(
                    f"| {db} | {data} | {row['page']} | {row['ttfb_p50_ms']} |"
                    f" {row['ttfb_p99_ms']}{flag} | {row['total_p99_ms']} |"
                    f" {row['bytes'] / 1024:.0f} | {row.get('cpu_p50_ms', '')} |"
                    f" {row.get('cpu_p99_ms', '')} | {row.get('queries', '')} |"
                )
    info = results.get("machine", {})
    lines += ["", f"Machine: {json.dumps(info)}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--cpu-samples", type=int, default=50, help="in-process CPU time samples (0: none)"
    )
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "args": vars(args),
        "machine": machine(),
        "databases": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-ui-"))
    procs = ingest.Processes(logdir=workdir)

    def on_signal(signum: int, _frame: object) -> None:
        procs.stop_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.db in ("sqlite", "both"):
            results["databases"]["sqlite"] = bench_database("sqlite", None, args, workdir, procs)
        if args.db in ("postgres", "both"):
            reason = ingest.postgres_reachable()
            if reason:
                print(f"PostgreSQL skipped: {reason}")
                results["databases"]["postgres"] = {"skipped": reason}
            else:
                try:
                    results["databases"]["postgres"] = bench_database(
                        "postgres", ingest.postgres_url(PG_DB), args, workdir, procs
                    )
                finally:
                    ingest.postgres_recreate(PG_DB, drop_only=True)
    except ingest.BenchError as exc:
        print(f"bench/ui failed: {exc} (logs in {workdir})", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
    shutil.rmtree(workdir, ignore_errors=True)  # the databases and server logs
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"ui-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS_DIR / f"ui-{stamp}.md").write_text(markdown(results))
    print(f"results: bench/results/ui-{stamp}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
