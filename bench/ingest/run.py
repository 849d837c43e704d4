"""bench/ingest: how fast Tocsin accepts and drains alerts, beside its ceilings, in one run.

    make bench                       # both databases, 10 s a scenario
    .venv/bin/python bench/ingest/run.py --duration 30 --db both

For each database (SQLite: a fresh file in a temporary directory; PostgreSQL: a fresh
database `tocsin_bench`, created and dropped here, skipped with a message when the server
is unreachable) it starts Tocsin's real web server the production way (`tocsin web
--workers 2`: gunicorn, 2 sync workers) on 127.0.0.1, creates many integration keys and
drives it with `wrk` (16 connections) for a fixed time:

  (a) one PagerDuty event per request, distinct dedup keys, rotating over 200 keys;
  (b) Alertmanager webhook snapshots of 100 new alerts each, rotating over 200 keys;
  (c) duplicate re-sends: the same 1,000 PagerDuty bodies over and over;

after each, it drains the inbox with the worker's engine ticks and times it. On the same
server set-up it measures a tiny Django project (bench/baseline: an empty endpoint and one
INSERT per request) and, once, Alertmanager's own `POST /api/v2/alerts` (single alerts and
batches of 100, the same alerts). Results go to bench/results/ as JSON and Markdown.
Every process started here runs in its own process group and is killed at the end, even
on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BASELINE_DIR = ROOT / "bench" / "baseline"
RESULTS_DIR = ROOT / "bench" / "results"
LUA = HERE / "rotate.lua"
PYTHON = sys.executable
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_TOCSIN_DB = "tocsin_bench"
PG_BASELINE_DB = "tocsin_bench_baseline"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALERTS_PER_SNAPSHOT = 100
DUPLICATE_BODIES = 1000
CONNECTIONS = 16
WRK_THREADS = 2


class BenchError(Exception):
    """A failure that ends the run with one line."""


# --- processes ----------------------------------------------------------------------


@dataclass
class Processes:
    """Every child started by the benchmark; `stop_all` ends them and their groups."""

    logdir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path = ROOT) -> int:
        log = (self.logdir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killpg reaches its workers
        )
        log.close()
        self.children.append((name, proc))
        return proc.pid

    def stop(self, pid: int, grace: float = 10.0) -> None:
        for name, proc in list(self.children):
            if proc.pid == pid:
                _stop_group(proc, grace)
                self.children.remove((name, proc))

    def stop_all(self) -> None:
        for _name, proc in reversed(self.children):
            _stop_group(proc, 5.0)
        self.children.clear()

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # The group may outlive its leader (gunicorn workers): make sure it is gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, procs: Processes, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        for child_name, proc in procs.children:
            if child_name == name and proc.poll() is not None:
                raise BenchError(f"{name} exited:\n{procs.log_tail(name)}")
        time.sleep(0.2)
    raise BenchError(f"{name} did not answer at {url} within {timeout:.0f} s")


def run_checked(
    command: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 300.0
) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(command[:4])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


# --- CPU accounting -----------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its descendants still alive."""
    children = _children_map()
    total = 0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


# --- the load -----------------------------------------------------------------------


def write_requests(path: Path, lines: list[tuple[str, str]]) -> Path:
    with path.open("w") as out:
        for url_path, body in lines:
            assert "\t" not in url_path and "\n" not in body and "\t" not in body
            out.write(f"{url_path}\t{body}\n")
    return path


def pagerduty_event(key: str, dedup_key: str, n: int) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": f"High request latency on api-{n % 50} ({dedup_key})",
            "source": f"api-{n % 50}.prod.example.com",
            "severity": ("critical", "error", "warning", "info")[n % 4],
            "component": "api",
            "group": "prod-web",
            "class": "latency",
            "custom_details": {"p99_ms": "812", "region": "eu-west-1", "runbook": "RB-12"},
        },
        "client": "bench",
        "client_url": "http://127.0.0.1/bench",
    }


def alert_labels(group: str, i: int) -> dict[str, str]:
    return {
        "alertname": "HighLatency",
        "group": group,
        "instance": f"api-{i}.prod.example.com:9100",
        "job": "api",
        "severity": ("critical", "warning")[i % 2],
    }


def alert_annotations(i: int) -> dict[str, str]:
    return {
        "summary": f"p99 latency above 500 ms on api-{i}",
        "description": "The 99th percentile of request latency has been above 500 ms for 5 m.",
        "runbook_url": "https://runbooks.example.com/high-latency",
    }


# Alertmanager refuses alerts that start in the future: five minutes ago, at start-up.
STARTS_AT = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def alertmanager_snapshot(group: str, fingerprint_prefix: str) -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": alert_labels(group, i),
            "annotations": alert_annotations(i),
            "startsAt": STARTS_AT,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=latency",
            "fingerprint": f"{fingerprint_prefix}{i:06x}",
        }
        for i in range(ALERTS_PER_SNAPSHOT)
    ]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency", group="' + group + '"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "tocsin",
        "groupLabels": {"alertname": "HighLatency", "group": group},
        "commonLabels": {"alertname": "HighLatency", "group": group, "job": "api"},
        "commonAnnotations": {"runbook_url": "https://runbooks.example.com/high-latency"},
        "externalURL": "http://alertmanager.example.com",
        "alerts": alerts,
    }


def alertmanager_api_alerts(group: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "labels": alert_labels(group, i),
            "annotations": alert_annotations(i),
            "startsAt": STARTS_AT,
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=latency",
        }
        for i in range(count)
    ]


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Workload:
    pd_distinct: list[tuple[str, str]]
    pd_duplicates: list[tuple[str, str]]
    am_snapshots: list[tuple[str, str]]


def make_workload(keys: dict[str, list[str]]) -> Workload:
    pd_keys, am_keys = keys["pagerduty"], keys["alertmanager"]
    distinct = [
        ("/v2/enqueue", compact(pagerduty_event(key, f"a-@@N@@-{n}", n)))
        for n, key in enumerate(pd_keys)
    ]
    duplicates = [
        ("/v2/enqueue", compact(pagerduty_event(pd_keys[n % len(pd_keys)], f"dup-{n}", n)))
        for n in range(DUPLICATE_BODIES)
    ]
    snapshots = [
        (f"/integrations/alertmanager/{key}", compact(alertmanager_snapshot("@@N@@", "@@N@@")))
        for key in am_keys
    ]
    return Workload(distinct, duplicates, snapshots)


_salt = 0


def next_salt() -> str:
    """Two hex digits, different for every wrk run, so distinct bodies never repeat."""
    global _salt
    _salt = (_salt + 1) % 256
    return f"{_salt:02x}"


def run_wrk(
    *,
    base_url: str,
    requests_file: Path,
    duration: float,
    server_pid: int,
    events_per_request: int,
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(requests_file),
        next_salt(),
    ]
    server_before = tree_cpu_seconds(server_pid)
    busy_before, total_before = machine_busy_seconds()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    elapsed = time.monotonic() - started
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, total_after = machine_busy_seconds()
    server_cpu = tree_cpu_seconds(server_pid) - server_before
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["status_2xx"]
    wrk_cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
        usage_after.ru_stime - usage_before.ru_stime
    )
    machine_cpu = busy_after - busy_before
    wall_cores = (total_after - total_before) / elapsed if elapsed else 0
    return {
        "seconds": round(seconds, 2),
        "requests": raw["requests"],
        "ok": ok,
        "non_2xx": raw["status_3xx"] + raw["status_4xx"] + raw["status_5xx"],
        "status_4xx": raw["status_4xx"],
        "status_5xx": raw["status_5xx"],
        "socket_errors": raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        "first_error": raw["first_error"],
        "req_per_s": round(ok / seconds, 1),
        "events_per_s": round(ok * events_per_request / seconds, 1),
        "events_per_request": events_per_request,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        # Little's law: replies/s x mean latency = requests in flight. Equal to the
        # connections means every connection always had a request at the server, i.e.
        # the load generator never made the server wait.
        "in_flight": round(raw["requests"] / seconds * raw["mean_us"] / 1e6, 1),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_req": round(server_cpu * 1000 / ok, 3) if ok else None,
        "wrk_cpu_s": round(wrk_cpu, 2),
        "wrk_cores": round(wrk_cpu / elapsed, 2),
        "server_cores": round(server_cpu / elapsed, 2),
        "machine_busy_cores": round(machine_cpu / elapsed, 2),
        "other_busy_cores": round(max(0.0, machine_cpu - server_cpu - wrk_cpu) / elapsed, 2),
        "machine_cores_seen": round(wall_cores, 2),
    }


def measure(
    *,
    label: str,
    base_url: str,
    requests_file: Path,
    args: argparse.Namespace,
    server_pid: int,
    events_per_request: int,
) -> dict[str, Any]:
    if args.warmup > 0:
        run_wrk(
            base_url=base_url,
            requests_file=requests_file,
            duration=args.warmup,
            server_pid=server_pid,
            events_per_request=events_per_request,
        )
    result = run_wrk(
        base_url=base_url,
        requests_file=requests_file,
        duration=args.duration,
        server_pid=server_pid,
        events_per_request=events_per_request,
    )
    note = (
        f"  non-2xx {result['non_2xx']} ({result['first_error'][:80]})" if result["non_2xx"] else ""
    )
    print(
        f"  {label:<44} {result['req_per_s']:>8.0f} req/s {result['events_per_s']:>9.0f} ev/s"
        f"  p50 {result['p50_ms']:>6.1f} ms  p99 {result['p99_ms']:>6.1f} ms"
        f"  server {result['server_cores']:.2f} cores, wrk {result['wrk_cores']:.2f},"
        f" others {result['other_busy_cores']:.2f}{note}",
        flush=True,
    )
    return result


# --- databases ----------------------------------------------------------------------


@dataclass
class Database:
    name: str  # sqlite | postgres
    tocsin_url: str | None  # DATABASE_URL for Tocsin (None: SQLite in the data dir)
    baseline_url: str | None  # BENCH_DATABASE_URL for the baseline (None: SQLite)


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip PostgreSQL
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def postgres_recreate(name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


# --- the targets --------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOCSIN_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def bench_tocsin(
    db: Database, args: argparse.Namespace, workdir: Path, procs: Processes
) -> dict[str, Any]:
    """Each scenario on a fresh database and a fresh server: the order of the scenarios
    favours none of them (a later one used to find the inbox, the alerts and the storm
    windows the earlier ones left)."""
    # (b) last: its drain is the longest.
    scenarios = [
        ("a", "(a) PagerDuty, 1 event/request, distinct", 1),
        ("c", "(c) PagerDuty duplicate re-sends", 1),
        ("b", f"(b) Alertmanager snapshots of {ALERTS_PER_SNAPSHOT} alerts", ALERTS_PER_SNAPSHOT),
    ]
    results: dict[str, Any] = {"services": args.services}
    for code, label, per_request in scenarios:
        env = clean_env()
        env["TOCSIN_DATA_DIR"] = str(workdir / f"tocsin-{db.name}-{code}")
        if db.tocsin_url:
            postgres_recreate(PG_TOCSIN_DB)
            env["DATABASE_URL"] = db.tocsin_url
        print(f"Tocsin on {db.name}, {label[:3]}: migrating, creating keys", flush=True)
        run_checked([PYTHON, "-m", "tocsin", "migrate"], env, timeout=600)
        keys = json.loads(
            run_checked(
                [
                    PYTHON,
                    str(HERE / "tocsin_keys.py"),
                    "--services",
                    str(args.services),
                    "--per-kind",
                    str(args.keys),
                ],
                env,
            )
        )
        results["keys"] = {kind: len(found) for kind, found in keys.items()}
        workload = make_workload(keys)
        lines = {"a": workload.pd_distinct, "b": workload.am_snapshots, "c": workload.pd_duplicates}
        requests_file = write_requests(workdir / f"tocsin-{db.name}-{code}.txt", lines[code])
        port = free_port()
        name = f"tocsin-web-{db.name}-{code}"
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
                str(args.workers),
            ],
            env,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base_url}/healthz", 60, procs, name)
            result = measure(
                label=f"Tocsin {label}",
                base_url=base_url,
                requests_file=requests_file,
                args=args,
                server_pid=pid,
                events_per_request=per_request,
            )
            if not args.no_drain:
                drain = json.loads(
                    run_checked(
                        [
                            PYTHON,
                            str(HERE / "tocsin_drain.py"),
                            "--timeout",
                            str(args.drain_timeout),
                            "--workers",
                            str(args.drain_workers),
                        ],
                        env,
                        timeout=args.drain_timeout + 120,
                    )
                )
                result["drain"] = drain
                print(
                    f"    drain: {drain['rows']} rows / {drain['events']} events in"
                    f" {drain['seconds']:.1f} s = {drain['events_per_s'] or 0:.0f} events/s"
                    f" ({drain['alerts_created']} alerts, {drain['incidents_created']} incidents"
                    f"{', TIMED OUT' if drain['timed_out'] else ''}"
                    f"{', ' + drain['error'] if drain.get('error') else ''})",
                    flush=True,
                )
            results[code] = result
        finally:
            procs.stop(pid)
    return results


def bench_baseline(
    db: Database, args: argparse.Namespace, workdir: Path, procs: Processes, body_file: Path
) -> dict[str, Any]:
    env = clean_env()
    env["PYTHONPATH"] = str(BASELINE_DIR)
    env["DJANGO_SETTINGS_MODULE"] = "baseline_site.settings"
    if db.baseline_url:
        env["BENCH_DATABASE_URL"] = db.baseline_url
    else:
        env["BENCH_SQLITE_PATH"] = str(workdir / "baseline.sqlite3")
    run_checked(
        [PYTHON, str(BASELINE_DIR / "manage.py"), "migrate", "--run-syncdb", "-v", "0"],
        env,
        cwd=BASELINE_DIR,
    )
    lines = [ln.split("\t", 1) for ln in body_file.read_text().splitlines()]
    empty = write_requests(
        workdir / f"baseline-{db.name}-empty.txt", [("/empty", b) for _, b in lines]
    )
    insert = write_requests(
        workdir / f"baseline-{db.name}-insert.txt", [("/insert", b) for _, b in lines]
    )
    port = free_port()
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
            str(args.workers),
            "--worker-class",
            "sync",
            "--preload",
            "--timeout",
            "30",
            "--no-control-socket",
        ],
        env,
        cwd=BASELINE_DIR,
    )
    base_url = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {}
    try:
        wait_http(f"{base_url}/empty", 60, procs, name)
        for code, label, path in (
            ("empty", "Django empty endpoint", empty),
            ("insert", "Django + one INSERT per request", insert),
        ):
            results[code] = measure(
                label=label,
                base_url=base_url,
                requests_file=path,
                args=args,
                server_pid=pid,
                events_per_request=1,
            )
    finally:
        procs.stop(pid)
    return results


def bench_alertmanager(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        print("Alertmanager: not installed (apt-get install prometheus-alertmanager); skipped")
        return {"skipped": "prometheus-alertmanager is not installed"}
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: blackhole\n  group_by: [alertname, group]\n"
        "receivers:\n  - name: blackhole\n"
    )
    storage = workdir / "alertmanager-data"
    storage.mkdir(exist_ok=True)
    port = free_port()
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
        clean_env(),
        cwd=workdir,
    )
    base_url = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {
        "version": (version.stdout or version.stderr).splitlines()[0]
        if (version.stdout or version.stderr)
        else "",
    }
    single = write_requests(
        workdir / "am-single.txt",
        [("/api/v2/alerts", compact(alertmanager_api_alerts("@@N@@", 1)))],
    )
    batch = write_requests(
        workdir / "am-batch.txt",
        [("/api/v2/alerts", compact(alertmanager_api_alerts("@@N@@", ALERTS_PER_SNAPSHOT)))],
    )
    print("Alertmanager POST /api/v2/alerts (in memory)", flush=True)
    try:
        wait_http(f"{base_url}/-/ready", 30, procs, "alertmanager")
        for code, label, path, per in (
            ("single", "Alertmanager, 1 alert/request", single, 1),
            (
                "batch",
                f"Alertmanager, {ALERTS_PER_SNAPSHOT} alerts/request",
                batch,
                ALERTS_PER_SNAPSHOT,
            ),
        ):
            results[code] = measure(
                label=label,
                base_url=base_url,
                requests_file=path,
                args=args,
                server_pid=pid,
                events_per_request=per,
            )
    finally:
        procs.stop(pid)
    return results


# --- report -------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def _row(target: str, db: str, scenario: str, r: dict[str, Any] | None) -> str:
    if not r:
        return f"| {target} | {db} | {scenario} | – | – | – | – | – | – | – |"
    drain = r.get("drain")
    drained = "–"
    if drain:
        drained = f"{drain['events_per_s'] or 0:,.0f}/s ({drain['seconds']:.1f} s)"
        if drain.get("timed_out"):
            drained += " timed out"
    errors = str(r["non_2xx"] + r["socket_errors"]) if (r["non_2xx"] or r["socket_errors"]) else "0"
    cpu = f"{r['server_cpu_ms_per_req']:.2f}" if r["server_cpu_ms_per_req"] else "–"
    return (
        f"| {target} | {db} | {scenario} | {r['req_per_s']:,.0f} | {r['events_per_s']:,.0f} "
        f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {errors} | {cpu} | {drained} |"
    )


def verdicts(results: dict[str, Any]) -> list[str]:
    """Issue 3's targets, on SQLite."""
    tocsin = results.get("tocsin", {}).get("sqlite")
    baseline = results.get("baseline", {}).get("sqlite")
    if not tocsin or not baseline:
        return ["SQLite was not measured: no verdict."]
    a, b, c = tocsin.get("a"), tocsin.get("b"), tocsin.get("c")
    ceiling = baseline["insert"]["req_per_s"]
    lines = []
    if a:
        ratio = a["events_per_s"] / ceiling if ceiling else 0
        ok = ratio >= 0.7 and a["p99_ms"] < 50 and not a["non_2xx"]
        lines.append(
            f"(a) {'MET' if ok else 'MISSED'}: {a['events_per_s']:,.0f} events/s = {ratio:.0%} of "
            f"the one-INSERT ceiling ({ceiling:,.0f} req/s; target ≥ 70 %), "
            f"p99 {a['p99_ms']:.1f} ms (target < 50 ms)"
        )
    if b:
        drained = (b.get("drain") or {}).get("events_per_s") or 0
        ok = b["events_per_s"] >= 10_000 and drained >= 10_000 and not b["non_2xx"]
        lines.append(
            f"(b) {'MET' if ok else 'MISSED'}: {b['events_per_s']:,.0f} alerts/s accepted, "
            f"{drained:,.0f} alerts/s drained (target ≥ 10,000 each)"
        )
    if a and c:
        ok = c["events_per_s"] >= a["events_per_s"] and not c["non_2xx"]
        lines.append(
            f"(c) {'MET' if ok else 'MISSED'}: {c['events_per_s']:,.0f} events/s vs "
            f"{a['events_per_s']:,.0f} for (a) (target: at least as fast)"
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"Run {results['started_at']} — `{results['command']}`",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}, {m['wrk']}; load average at start "
        f"{' '.join(m['loadavg_at_start'])}. {results['settings']['duration']:g} s a scenario "
        f"after {results['settings']['warmup']:g} s of warm-up, {CONNECTIONS} connections, "
        f"{results['settings']['workers']} gunicorn sync workers.",
        "",
        "| target | DB | scenario | req/s | events/s | p50 ms | p99 ms | errors "
        "| server CPU ms/req | drained |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for db, r in results.get("tocsin", {}).items():
        if "skipped" in r:
            continue
        out.append(_row("Tocsin", db, "(a) PagerDuty, 1 event/request", r.get("a")))
        out.append(_row("Tocsin", db, "(b) Alertmanager, 100-alert snapshots", r.get("b")))
        out.append(_row("Tocsin", db, "(c) PagerDuty duplicate re-sends", r.get("c")))
    for db, r in results.get("baseline", {}).items():
        if "skipped" in r:
            continue
        out.append(_row("Django", db, "empty endpoint", r.get("empty")))
        out.append(_row("Django", db, "one INSERT per request", r.get("insert")))
    am = results.get("alertmanager", {})
    if am and "skipped" not in am:
        out.append(_row("Alertmanager", "memory", "1 alert/request", am.get("single")))
        out.append(_row("Alertmanager", "memory", "100 alerts/request", am.get("batch")))
    out.append("")
    loads = [
        r2
        for group in ("tocsin", "baseline")
        for per_db in results.get(group, {}).values()
        for r2 in per_db.values()
        if isinstance(r2, dict) and "wrk_cores" in r2
    ]
    with_am = loads + [r2 for r2 in am.values() if isinstance(r2, dict) and "wrk_cores" in r2]
    if loads:
        out.append(
            f"Load generator: wrk used at most {max(r['wrk_cores'] for r in with_am):.2f} of a "
            f"core in any scenario; other processes on the machine used up to "
            f"{max(r['other_busy_cores'] for r in with_am):.2f} cores during a scenario. "
            f"Requests in flight at Tocsin and Django (replies/s × mean latency): "
            f"{min(r['in_flight'] for r in loads):.1f}–{max(r['in_flight'] for r in loads):.1f} "
            f"of {CONNECTIONS} connections."
        )
        busiest = max(r["other_busy_cores"] for r in with_am)
        if busiest > 0.25:
            out.append("")
            out.append(
                f"**The machine was busy**: other processes used up to {busiest:.2f} of "
                f"{results['machine']['nproc']} cores during a scenario, so these figures "
                "understate what a quiet machine does; compare the rows with each other, "
                "not with the targets."
            )
        out.append("")
    for skipped in [
        f"{group} {db}: {r['skipped']}"
        for group in ("tocsin", "baseline")
        for db, r in results.get(group, {}).items()
        if "skipped" in r
    ] + ([f"alertmanager: {am['skipped']}"] if "skipped" in am else []):
        out.append(f"Skipped: {skipped}")
    out.append("Targets (issue 3, SQLite):")
    out.append("")
    out.extend(f"- {line}" for line in results.get("verdicts", []))
    return "\n".join(out) + "\n"


# --- main ---------------------------------------------------------------------------


def ensure_wrk(install: bool) -> None:
    if shutil.which("wrk"):
        return
    if not install:
        raise BenchError("wrk is not installed: apt-get install wrk (or run without --no-install)")
    print("wrk is missing: installing the Debian package", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run([*sudo, *command], env=env, check=False, timeout=600)
    if not shutil.which("wrk"):
        raise BenchError("could not install wrk; install the Debian package 'wrk' and retry")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Tocsin's ingest benchmark (see docs/benchmarks.md)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds a scenario (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each (2)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--keys", type=int, default=200, help="integration keys per kind (200)")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument(
        "--drain-workers", type=int, default=1, help="worker processes draining at once (1)"
    )
    parser.add_argument("--no-drain", action="store_true", help="measure acceptance only")
    parser.add_argument(
        "--only",
        default="tocsin,baseline,alertmanager",
        help="comma-separated subset of tocsin,baseline,alertmanager",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    ensure_wrk(not args.no_install)
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results: dict[str, Any] = {
        "started_at": started_at,
        "command": "python bench/ingest/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(),
        "settings": {
            "duration": args.duration,
            "warmup": args.warmup,
            "connections": CONNECTIONS,
            "wrk_threads": WRK_THREADS,
            "workers": args.workers,
            "services": args.services,
            "keys_per_kind": args.keys,
        },
        "tocsin": {},
        "baseline": {},
    }
    databases: list[Database] = []
    if args.db in ("sqlite", "both"):
        databases.append(Database("sqlite", None, None))
    pg_created: list[str] = []
    if args.db in ("postgres", "both"):
        reason = postgres_reachable()
        if reason is None:
            databases.append(
                Database("postgres", postgres_url(PG_TOCSIN_DB), postgres_url(PG_BASELINE_DB))
            )
        else:
            print(f"PostgreSQL at {PG_ADMIN_URL} unreachable ({reason}): skipped", flush=True)
            results["tocsin"]["postgres"] = {"skipped": f"unreachable: {reason}"}
            results["baseline"]["postgres"] = {"skipped": f"unreachable: {reason}"}

    interrupted: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-"))
    procs = Processes(logdir=workdir)
    code = 0
    try:
        for db in databases:
            if db.name == "postgres":
                for name in (PG_TOCSIN_DB, PG_BASELINE_DB):
                    postgres_recreate(name)
                    pg_created.append(name)
            if "tocsin" in only:
                results["tocsin"][db.name] = bench_tocsin(db, args, workdir, procs)
            if "baseline" in only:
                pd_file = workdir / "pd-bodies.txt"
                if not pd_file.exists():
                    fake_keys = {
                        "pagerduty": [f"{n:032d}" for n in range(args.keys)],
                        "alertmanager": [],
                    }
                    write_requests(pd_file, make_workload(fake_keys).pd_distinct)
                results["baseline"][db.name] = bench_baseline(db, args, workdir, procs, pd_file)
        if "alertmanager" in only:
            results["alertmanager"] = bench_alertmanager(args, workdir, procs)
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
        signal.signal(signal.SIGTERM, previous)
        for name in pg_created:
            with contextlib.suppress(Exception):
                postgres_recreate(name, drop_only=True)
        if code == 0 and not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)
        elif code:
            print(f"bench: logs kept in {workdir}", file=sys.stderr)

    results["verdicts"] = verdicts(results)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started_at.replace(":", "").replace("-", "")
    json_path = args.out / f"ingest-{stamp}.json"
    md_path = args.out / f"ingest-{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    print()
    print(markdown(results))
    print(
        f"Results: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}"
    )
    print(f"         {md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path}")
    print("Paste the Markdown table into docs/benchmarks.md (with a note on the machine).")
    return code


if __name__ == "__main__":
    sys.exit(main())
