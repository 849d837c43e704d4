"""bench/paging: from an alert's HTTP request to the page at the receiver, in one run (issue 10).

    .venv/bin/python bench/paging/run.py --db both            # the full run (< 10 min a DB)
    .venv/bin/python bench/paging/run.py --db sqlite --quick  # a smoke test (< 2 min a DB)

For each database (SQLite: a fresh data directory; PostgreSQL: a fresh database
`tocsin_bench_paging`, created and dropped here, skipped with a message when the server
is unreachable) it migrates, builds the organisation with bench/paging/tocsin_side.py
(through Tocsin's own services), then starts the real processes on 127.0.0.1: `tocsin web
--workers 2` (gunicorn, sync workers) and one `tocsin worker`. Pages go to a receiver
in this process: an HTTP server on loopback (contact methods of kind "webhook", the
default when Tocsin has that channel) or an SMTP server (aiosmtpd; kind "email", the
fallback), which records when each page arrives. Then:

  (a) idle: `--idle` alerts (default 200), one at a time, each a PagerDuty Events v2
      `POST /v2/enqueue` to a service whose one-level policy pages one person; latency =
      the page's arrival at the receiver - the moment the request was sent (p50/p99);
  (b) storm: `--storm` alerts (default 1,000) over `--storm-services` services (default
      50, one person each), sent as fast as 8 connections allow; every page's latency;
  (c) escalation accuracy: `--accuracy` open incidents (default 10,000), opened through
      `incident_create` before the worker starts, their climbs parked; then their steps
      are given due times spread evenly over `--window` seconds (default 240) starting a
      few seconds ahead; lateness of each step = the time the step's transaction wrote
      its "Paged ..." timeline entry - its due time (and the page's arrival - due);
  (d) the worker's resident memory (VmRSS of the `tocsin worker` process), sampled every
      0.2 s throughout, maximum per phase;
  (e) once per run, Prometheus Alertmanager (the Debian package's binary) with
      `group_wait: 0s` and a webhook receiver on the same loopback server: latency from
      `POST /api/v2/alerts` to the webhook's arrival, `--idle` alerts one at a time.

Targets (SQLite): idle p50 < 50 ms and p99 < 100 ms; every storm page within 5 s; every
due step within 2 s; worker RSS < 250 MB. Results: bench/results/paging-<time>.json and
.md (the table for docs/benchmarks.md). Every process started here runs in its own
process group and is stopped at the end, even on error or Ctrl-C; all traffic stays on
127.0.0.1. Bounded: fixed counts, every wait has a time limit.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable
PG_DB = "tocsin_bench_paging"
MARKER = re.compile(rb"bench-([a-z]+)-(\d+)")
TARGETS = {"idle_p50_ms": 50.0, "idle_p99_ms": 100.0, "storm_max_s": 5.0, "late_max_s": 2.0}
RSS_TARGET_MB = 250.0


def _load_ingest() -> Any:
    """bench/ingest/run.py's process helpers (Processes, wait_http, postgres_recreate, ...)."""
    spec = importlib.util.spec_from_file_location("bench_ingest_run", ROOT / "bench/ingest/run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ingest = _load_ingest()
BenchError = ingest.BenchError


# --- the receiver: every page (and Alertmanager's webhook) lands here ----------------------


class Receiver:
    """An HTTP server and an SMTP server on loopback; the first arrival of each marker
    (`bench-a-17` in a page's subject, an Alertmanager label) and how many times it came."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.other = 0
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.record(arrived, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.http_port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.smtp: Any = None
        self.smtp_port = ingest.free_port()
        from aiosmtpd.controller import Controller

        class Mail:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.record(time.time(), bytes(envelope.content))
                return "250 OK"

        self.smtp = Controller(Mail(), hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def record(self, arrived: float, body: bytes) -> None:
        found = MARKER.search(body)
        with self.cond:
            if found is None:
                self.other += 1
                return
            marker = found.group(0).decode()
            self.count[marker] = self.count.get(marker, 0) + 1
            self.first.setdefault(marker, arrived)
            self.cond.notify_all()

    def reset(self) -> None:
        """Forget every arrival (each database's run uses the same markers)."""
        with self.cond:
            self.first.clear()
            self.count.clear()
            self.other = 0

    def wait_for(self, markers: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(m in self.first for m in markers):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True

    def duplicates(self, prefix: str) -> int:
        with self.cond:
            return sum(n - 1 for m, n in self.count.items() if m.startswith(prefix) and n > 1)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        with contextlib.suppress(Exception):
            self.smtp.stop()


# --- worker memory -----------------------------------------------------------------------


class RssSampler:
    """VmRSS of the worker's processes (summed) every 0.2 s; the maximum per phase, in MB."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self) -> float | None:
        total = 0.0
        for pid in self.pids:
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                return None
            total += next(
                (int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0
            )
        return total

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            rss = self._read()
            if rss is not None:
                self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)

    def close(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join(timeout=2)
        return {k: round(v, 1) for k, v in self.peaks.items()}


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of one process group
    (`tocsin web`: gunicorn's master and its workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid pgrp …; utime and stime are fields 14 and 15
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_snapshot(workers: dict[str, int], web: int) -> dict[str, float]:
    """CPU seconds so far: the worker's (every process of the engine, as `tocsin up` runs
    it), the web's and this benchmark's own (its client threads and the receiver), with
    the wall clock."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "worker": sum(group_cpu_s(pid) for pid in workers.values()),
        # and each of its processes (`worker_proc`, `sender_proc`) when there are several
        **(
            {f"{name}_proc": group_cpu_s(pid) for name, pid in workers.items()}
            if len(workers) > 1
            else {}
        ),
        "web": group_cpu_s(web),
        "bench": own.ru_utime + own.ru_stime,
        "wall": time.monotonic(),
    }


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 2) for k in before}


# --- measuring ----------------------------------------------------------------------------


def stats_ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(ordered[-1], 1),
    }


def post(port: int, path: str, body: dict[str, Any] | list[Any]) -> int:
    data = json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, data, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        return reply.status
    finally:
        conn.close()


def pd_event(key: str, marker: str) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": marker,
        "payload": {
            "summary": f"{marker} checkout latency above 2 s",
            "source": "bench.example.com",
            "severity": "critical",
        },
        "client": "bench/paging",
    }


def one_at_a_time(
    receiver: Receiver,
    count: int,
    prefix: str,
    send: Callable[[str], int],
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Send `count` alerts one after the other, each after the previous page arrived."""
    latencies: list[float] = []
    missing = errors = 0
    for n in range(count):
        marker = f"bench-{prefix}-{n}"
        sent = time.time()
        status = send(marker)
        if status >= 300:
            errors += 1
            continue
        if not receiver.wait_for([marker], timeout):
            missing += 1
            continue
        latencies.append((receiver.first[marker] - sent) * 1000)
        time.sleep(0.05)
    return {**stats_ms(latencies), "missing": missing, "errors": errors}


def bench_idle(receiver: Receiver, port: int, key: str, count: int, prefix: str) -> dict[str, Any]:
    return one_at_a_time(
        receiver, count, prefix, lambda m: post(port, "/v2/enqueue", pd_event(key, m))
    )


def bench_storm(
    receiver: Receiver, port: int, keys: list[str], count: int, wait: float
) -> dict[str, Any]:
    sent: dict[str, float] = {}
    errors: list[int] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        marker = f"bench-b-{n}"
        started = time.time()
        status = post(port, "/v2/enqueue", pd_event(keys[n % len(keys)], marker))
        with lock:
            if status < 300:
                sent[marker] = started
            else:
                errors.append(status)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))
    send_s = time.monotonic() - began
    receiver.wait_for(list(sent), wait)
    latencies = [(receiver.first[m] - t) * 1000 for m, t in sent.items() if m in receiver.first]
    result = stats_ms(latencies)
    result.update(
        sent=len(sent),
        errors=len(errors),
        missing=len(sent) - len(latencies),
        send_s=round(send_s, 2),
        over_5s=sum(1 for v in latencies if v > 5000),
        duplicates=receiver.duplicates("bench-b-"),
    )
    # the latency's course: the alerts in the order they were sent, in tenths, each
    # tenth's worst latency (ms) and when its last request was sent (s after the first)
    order = sorted((t, m) for m, t in sent.items() if m in receiver.first)
    if order:
        first = order[0][0]
        tenths = []
        for i in range(10):
            part = order[i * len(order) // 10 : (i + 1) * len(order) // 10]
            if part:
                worst = max((receiver.first[m] - t) * 1000 for t, m in part)
                tenths.append([round(part[-1][0] - first, 2), round(worst)])
        result["by_tenth"] = tenths
    result["_sent"] = sent
    return result


def storm_stages(
    receiver: Receiver, sent: dict[str, float], env: dict[str, str]
) -> list[dict[str, Any]]:
    """Where the storm pages' time went, by tenths of the alerts in the order they were
    sent: the median seconds from the request to each stage (tocsin_side.py stages:
    the alert seen, its incident, its page, its message queued and sent; then the
    receiver's arrival)."""
    found = json.loads(
        ingest.run_checked([PYTHON, str(HERE / "tocsin_side.py"), "stages"], env, timeout=120)
    )
    order = sorted((t, m) for m, t in sent.items())
    out = []
    for i in range(10):
        part = order[i * len(order) // 10 : (i + 1) * len(order) // 10]
        row: dict[str, Any] = {"tenth": i + 1}
        for stage in ("alert", "incident", "page", "queued", "sent"):
            values = [
                found[m][stage] - t
                for t, m in part
                if m in found and found[m].get(stage) is not None
            ]
            row[stage] = round(statistics.median(values), 2) if values else None
        arrived = [receiver.first[m] - t for t, m in part if m in receiver.first]
        row["arrived"] = round(statistics.median(arrived), 2) if arrived else None
        out.append(row)
    return out


def bench_accuracy(
    receiver: Receiver, env: dict[str, str], count: int, window: float
) -> dict[str, Any]:
    if count == 0:
        return {"n": 0}
    start = time.time() + 5.0
    due = json.loads(
        ingest.run_checked(
            [
                PYTHON,
                str(HERE / "tocsin_side.py"),
                "schedule",
                "--start",
                str(start),
                "--window",
                str(window),
            ],
            env,
            timeout=120,
        )
    )["due"]
    if time.time() > start:
        raise BenchError("scheduling the due steps took longer than their 5 s lead")
    # the last step is due at start + window; give it 10 s, and the pages time to arrive
    time.sleep(max(0.0, start + window - time.time()) + 10)
    deadline = time.time() + 60
    while True:
        got = json.loads(
            ingest.run_checked([PYTHON, str(HERE / "tocsin_side.py"), "collect"], env, timeout=120)
        )
        if len(got["fired"]) >= len(due) or time.time() > deadline:
            break
        time.sleep(5)
    fired = {int(k): v for k, v in got["fired"].items()}
    late = [(fired[int(pk)] - t) * 1000 for pk, t in due.items() if int(pk) in fired]
    result = stats_ms(late)
    result.update(
        steps=len(due),
        missing=len(due) - len(late),
        over_2s=sum(1 for v in late if v > 2000),
        early=sum(1 for v in late if v < 0),
        fired_twice=got["fired_twice"],
        pages=got["pages"],
        window_s=window,
    )
    # the page's arrival at the receiver - the step's due time: incident n (bench-c-<n>)
    # was opened n-th, so its climb is the n-th by id
    by_order = [due[k] for k in sorted(due, key=int)]
    arrived = [
        (receiver.first[f"bench-c-{n}"] - t) * 1000
        for n, t in enumerate(by_order)
        if f"bench-c-{n}" in receiver.first
    ]
    result["delivery"] = stats_ms(arrived)
    result["delivery"]["missing"] = len(by_order) - len(arrived)
    result["page_duplicates"] = receiver.duplicates("bench-c-")
    return result


# --- one database -------------------------------------------------------------------------


def bench_database(
    db: str, args: argparse.Namespace, workdir: Path, procs: Any, receiver: Receiver
) -> dict[str, Any]:
    receiver.reset()
    env = ingest.clean_env()
    env["TOCSIN_DATA_DIR"] = str(workdir / f"tocsin-{db}")
    env["TOCSIN_OUTBOUND_ALLOW"] = "127.0.0.1/32"
    env["TOCSIN_EMAIL_URL"] = f"smtp://127.0.0.1:{receiver.smtp_port}"
    port = ingest.free_port()
    env["TOCSIN_BASE_URL"] = f"http://127.0.0.1:{port}"
    if db == "postgres":
        ingest.postgres_recreate(PG_DB)
        env["DATABASE_URL"] = ingest.postgres_url(PG_DB)
    print(f"[{db}] migrating", flush=True)
    ingest.run_checked([PYTHON, "-m", "tocsin", "migrate"], env, timeout=600)
    print(
        f"[{db}] building: people, policies, services, {args.accuracy} open incidents", flush=True
    )
    built = json.loads(
        ingest.run_checked(
            [
                PYTHON,
                str(HERE / "tocsin_side.py"),
                "setup",
                "--receiver",
                receiver.url,
                "--channel",
                args.channel,
                "--storm-services",
                str(args.storm_services),
                "--accuracy",
                str(args.accuracy),
            ],
            env,
            timeout=1200,
        )
    )
    result: dict[str, Any] = {
        "channel": built["channel"],
        "accuracy_setup_s": built["accuracy_setup_s"],
    }
    web = procs.start(
        f"web-{db}",
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
            "2",
        ],
        env,
    )
    # The engine as `tocsin up` runs it (tocsin.cli.up_workers: on two or more CPUs the
    # outbox's sends in a worker of their own), or one worker with --one-worker. Their
    # CPU and memory are counted together.
    from tocsin.cli import up_workers

    engine = up_workers([PYTHON, "-m", "tocsin"], 1 if args.one_worker else None)
    workers = {name: procs.start(f"{name}-{db}", command, env) for name, command in engine.items()}
    # --workers N > 1: more whole worker processes beside them (an experiment); their CPU
    # and memory are not counted
    extra = [
        procs.start(f"worker-{db}-{i}", [PYTHON, "-m", "tocsin", "worker"], env)
        for i in range(2, args.workers + 1)
    ]
    rss = RssSampler(list(workers.values()))
    try:
        ingest.wait_http(f"http://127.0.0.1:{port}/healthz", 60, procs, f"web-{db}")
        keys = built["keys"]
        rss.phase = "warm-up"
        warm = bench_idle(receiver, port, keys["idle"], 5, f"e{db[0]}")  # not reported
        if warm.get("missing") or warm.get("errors"):
            raise BenchError(
                f"[{db}] warm-up pages did not arrive ({warm}); worker log:\n"
                + "\n".join(procs.log_tail(f"{name}-{db}") for name in engine)
            )
        print(f"[{db}] (a) {args.idle} alerts one at a time", flush=True)
        rss.phase = "idle"
        result["idle"] = bench_idle(receiver, port, keys["idle"], args.idle, "a")
        print(f"    {result['idle']}", flush=True)
        print(
            f"[{db}] (b) storm of {args.storm} alerts over {len(keys['storm'])} services",
            flush=True,
        )
        rss.phase = "storm"
        before = cpu_snapshot(workers, web)
        result["storm"] = bench_storm(receiver, port, keys["storm"], args.storm, args.storm_wait)
        result["storm"]["cpu_s"] = cpu_between(before, cpu_snapshot(workers, web))
        sent = result["storm"].pop("_sent")
        if args.stages:
            result["storm"]["stages"] = storm_stages(receiver, sent, env)
            for row in result["storm"]["stages"]:
                print(f"    stages (median s after the request): {row}", flush=True)
        print(f"    {result['storm']}", flush=True)
        print(f"[{db}] (c) {args.accuracy} due steps over {args.window:g} s", flush=True)
        rss.phase = "accuracy"
        result["accuracy"] = bench_accuracy(receiver, env, args.accuracy, args.window)
        print(f"    {result['accuracy']}", flush=True)
    finally:
        result["worker_rss_mb"] = rss.close()
        for pid in [*workers.values(), *extra]:
            procs.stop(pid)
        procs.stop(web)
        if db == "postgres":
            with contextlib.suppress(Exception):
                ingest.postgres_recreate(PG_DB, drop_only=True)
    print(f"[{db}] (d) worker RSS peaks (MB): {result['worker_rss_mb']}", flush=True)
    return result


# --- Alertmanager -------------------------------------------------------------------------


def bench_alertmanager(
    args: argparse.Namespace, workdir: Path, procs: Any, receiver: Receiver
) -> dict[str, Any]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        print("Alertmanager: not installed (apt-get install prometheus-alertmanager); skipped")
        return {"skipped": "prometheus-alertmanager is not installed"}
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: bench\n"
        "  group_by: [alertname, bench]\n"
        "  group_wait: 0s\n"
        "  group_interval: 1m\n"
        "  repeat_interval: 4h\n"
        "receivers:\n"
        "  - name: bench\n"
        "    webhook_configs:\n"
        f"      - url: {receiver.url}/alertmanager\n"
        "        send_resolved: false\n"
    )
    storage = workdir / "alertmanager-data"
    storage.mkdir(exist_ok=True)
    port = ingest.free_port()
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    pid = procs.start(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        ingest.clean_env(),
        cwd=workdir,
    )
    first_line = (version.stdout or version.stderr or "").splitlines()
    result: dict[str, Any] = {"version": first_line[0] if first_line else ""}

    def send(marker: str) -> int:
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return post(
            port,
            "/api/v2/alerts",
            [
                {
                    "labels": {"alertname": "BenchPage", "bench": marker, "severity": "critical"},
                    "annotations": {"summary": f"{marker} checkout latency above 2 s"},
                    "startsAt": now,
                    "generatorURL": "http://127.0.0.1/bench",
                }
            ],
        )

    try:
        ingest.wait_http(f"http://127.0.0.1:{port}/-/ready", 30, procs, "alertmanager")
        one_at_a_time(receiver, 3, "ew", send)  # warm-up, not reported
        print(f"Alertmanager: {args.idle} alerts one at a time", flush=True)
        result["idle"] = one_at_a_time(receiver, args.idle, "e", send)
        print(f"    {result['idle']}", flush=True)
    finally:
        procs.stop(pid)
    return result


# --- report -------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for db, r in results.get("tocsin", {}).items():
        if "skipped" in r or "idle" not in r:
            continue
        idle, storm, acc = r["idle"], r.get("storm", {}), r.get("accuracy", {})
        rss = max(r.get("worker_rss_mb", {}).values() or [0.0])
        checks = [
            (
                "idle",
                idle.get("n", 0) > 0
                and not idle.get("missing")
                and idle["p50_ms"] < TARGETS["idle_p50_ms"]
                and idle["p99_ms"] < TARGETS["idle_p99_ms"],
                f"p50 {idle.get('p50_ms')} ms (< 50), p99 {idle.get('p99_ms')} ms (< 100)",
            ),
            (
                "storm",
                storm.get("n", 0) > 0
                and not storm.get("missing")
                and not storm.get("errors")
                and storm.get("max_ms", 1e9) <= TARGETS["storm_max_s"] * 1000,
                f"max {storm.get('max_ms')} ms (≤ 5,000), {storm.get('missing')} missing",
            ),
            (
                "accuracy",
                acc.get("n", 0) > 0
                and not acc.get("missing")
                and not acc.get("fired_twice")
                and acc.get("max_ms", 1e9) <= TARGETS["late_max_s"] * 1000,
                f"max lateness {acc.get('max_ms')} ms (≤ 2,000), {acc.get('missing')} missing",
            ),
            ("worker RSS", rss < RSS_TARGET_MB, f"{rss:.0f} MB (< 250)"),
        ]
        for name, ok, text in checks:
            out.append(f"{db} {name}: {'MET' if ok else 'MISSED'}: {text}")
    return out


def _cell(r: dict[str, Any] | None, key: str) -> str:
    if not r or key not in r:
        return "–"
    value = r[key]
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    m = results["machine"]
    out = [
        f"Run {results['started_at']} — `{results['command']}`",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}; load average at start {' '.join(m['loadavg_at_start'])}. "
        f"`tocsin web` (gunicorn, 2 sync workers) and {s.get('engine', 'one `tocsin worker`')} "
        "on 127.0.0.1; "
        f"(a) {s['idle']} alerts one at a time; (b) {s['storm']} alerts over "
        f"{s['storm_services']} services, 8 connections; (c) {s['accuracy']} due steps "
        f"over {s['window']:g} s.",
        "",
        "| DB | channel | measure | n | p50 ms | p99 ms | max ms | missing | note |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for db, r in results.get("tocsin", {}).items():
        if "skipped" in r:
            out.append(f"| {db} | – | skipped: {r['skipped']} | | | | | | |")
            continue
        ch = r.get("channel", "–")
        idle, storm, acc = r.get("idle"), r.get("storm"), r.get("accuracy")
        rows = [
            ("(a) alert → page, idle", idle, ""),
            (
                "(b) alert → page, storm",
                storm,
                f"sent in {storm.get('send_s')} s, {storm.get('over_5s')} over 5 s"
                + (
                    "; CPU s worker {worker}, web {web}, bench {bench} in {wall} s".format(
                        **storm["cpu_s"]
                    )
                    if storm.get("cpu_s")
                    else ""
                )
                if storm
                else "",
            ),
            (
                "(c) step lateness (fired − due)",
                acc,
                f"{acc.get('over_2s')} over 2 s, {acc.get('fired_twice')} fired twice"
                if acc
                else "",
            ),
        ]
        for label, row, note in rows:
            out.append(
                f"| {db} | {ch} | {label} | {_cell(row, 'n')} | {_cell(row, 'p50_ms')} "
                f"| {_cell(row, 'p99_ms')} | {_cell(row, 'max_ms')} | {_cell(row, 'missing')} "
                f"| {note} |"
            )
        rss = r.get("worker_rss_mb", {})
        peaks = ", ".join(f"{k} {v:.0f}" for k, v in rss.items())
        out.append(
            f"| {db} | {ch} | (d) worker RSS, MB | | | | "
            f"{max(rss.values() or [0.0]):.0f} | | {peaks} |"
        )
    am = results.get("alertmanager", {})
    if "idle" in am:
        a = am["idle"]
        out.append(
            f"| – | webhook | (e) Alertmanager alert → webhook, group_wait 0 | {_cell(a, 'n')} "
            f"| {_cell(a, 'p50_ms')} | {_cell(a, 'p99_ms')} | {_cell(a, 'max_ms')} "
            f"| {_cell(a, 'missing')} | {am.get('version', '')} |"
        )
    elif "skipped" in am:
        out.append(f"| – | – | (e) Alertmanager: {am['skipped']} | | | | | | |")
    out += ["", *[f"- {v}" for v in results.get("verdicts", [])], ""]
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke test")
    parser.add_argument("--idle", type=int, default=None, help="(a) alerts (200; quick 20)")
    parser.add_argument("--storm", type=int, default=None, help="(b) alerts (1000; quick 100)")
    parser.add_argument("--storm-services", type=int, default=None, help="(b) 50; quick 10")
    parser.add_argument("--storm-wait", type=float, default=60.0, help="(b) s to wait for pages")
    parser.add_argument(
        "--stages", action="store_true", help="(b) where the storm pages' time went"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="more whole `tocsin worker` processes (1: none)"
    )
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="one `tocsin worker` with every module (`tocsin up` on one CPU)",
    )
    parser.add_argument("--accuracy", type=int, default=None, help="(c) steps (10000; quick 300)")
    parser.add_argument("--window", type=float, default=None, help="(c) seconds (240; quick 15)")
    parser.add_argument(
        "--channel",
        choices=("auto", "webhook", "email"),
        default="auto",
        help="how pages reach the receiver (auto: webhook when Tocsin has it, else email)",
    )
    parser.add_argument("--no-alertmanager", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    quick = args.quick
    for name, full, small in (
        ("idle", 200, 20),
        ("storm", 1000, 100),
        ("storm_services", 50, 10),
        ("accuracy", 10_000, 300),
        ("window", 240.0, 15.0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    return args


def engine_label(args: argparse.Namespace) -> str:
    from tocsin.cli import up_workers

    engine = up_workers(["tocsin"], 1 if args.one_worker else None)
    label = " and ".join(f"`{' '.join(command)}`" for command in engine.values())
    if args.workers > 1:
        label += f" and {args.workers - 1} more `tocsin worker`"
    return label


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        machine = ingest.machine_info()
    except OSError:  # it asks `wrk --version`, which this benchmark does not need
        machine = {
            "nproc": os.cpu_count(),
            "cpu_model": "",
            "memory_gib": 0,
            "python": sys.version.split()[0],
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        }
    results: dict[str, Any] = {
        "started_at": started_at,
        "command": "python bench/paging/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine,
        "settings": {
            **{
                k: getattr(args, k)
                for k in ("idle", "storm", "storm_services", "accuracy", "window", "channel")
            },
            "engine": engine_label(args),
        },
        "tocsin": {},
    }
    databases = []
    if args.db in ("sqlite", "both"):
        databases.append("sqlite")
    if args.db in ("postgres", "both"):
        reason = ingest.postgres_reachable()
        if reason is None:
            databases.append("postgres")
        else:
            print(f"PostgreSQL unreachable ({reason}): skipped", flush=True)
            results["tocsin"]["postgres"] = {"skipped": f"unreachable: {reason}"}

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-paging-"))
    procs = ingest.Processes(logdir=workdir)
    receiver = Receiver()
    code = 0
    began = time.monotonic()
    try:
        if not args.no_alertmanager:
            results["alertmanager"] = bench_alertmanager(args, workdir, procs, receiver)
        for db in databases:
            t0 = time.monotonic()
            results["tocsin"][db] = bench_database(db, args, workdir, procs, receiver)
            results["tocsin"][db]["run_s"] = round(time.monotonic() - t0, 1)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        results["error"] = str(exc)
        code = 1
    except KeyboardInterrupt:
        print("bench: interrupted; stopping everything", file=sys.stderr)
        results["error"] = "interrupted"
        code = 130
    finally:
        procs.stop_all()
        receiver.close()
        signal.signal(signal.SIGTERM, previous)
        if code == 0 and not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"bench: logs kept in {workdir}", file=sys.stderr)
    results["seconds"] = round(time.monotonic() - began, 1)
    results["verdicts"] = verdicts(results)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started_at.replace(":", "").replace("-", "")
    json_path = args.out / f"paging-{stamp}.json"
    md_path = args.out / f"paging-{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    print()
    print(markdown(results))
    print(f"Results: {json_path}\n         {md_path}  ({results['seconds']} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
