"""Where the Prometheus metrics of every process live (docs/prometheus.md).

prometheus-client's multiprocess mode: each process writes its counters and histograms
into memory-mapped files named after its pid, and `/metrics` adds them up. The mode is
chosen when prometheus_client is first imported, from PROMETHEUS_MULTIPROC_DIR, so the
settings set it (`configure`) before anything imports prometheus_client; this module
itself never imports it at load time.

Two directories under `$TOCSIN_DATA_DIR/prometheus/`: `web/` (gunicorn's workers and
every other process) and `worker/` (`tocsin worker`, the engine, which switches with
`use_role("worker")` before its first metric). `/metrics` reads both. Keeping them apart
lets `tocsin web` clean its own directory at start while a worker started at the same
moment (as `tocsin up` does) is already writing into the other. Cleaning removes only
the files of processes that are gone, so a second web or worker on the same data
directory keeps its files.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

from tocsin.core.env import ConfigError

ENV = "PROMETHEUS_MULTIPROC_DIR"
ROLES = ("web", "worker")
_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(\d+)\.db$")  # counter_123.db, gauge_livesum_123.db
_root: Path | None = None


def configure(data_dir: Path) -> Path:
    """Create the directories and point this process at `web/`; returns the root."""
    global _root
    _root = data_dir / "prometheus"
    for role in ROLES:
        (_root / role).mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(_root / "web")
    return _root


def root() -> Path:
    if _root is None:
        from django.conf import settings

        return Path(settings.PROMETHEUS_DIR)
    return _root


def directory(role: str) -> Path:
    return root() / role


def use_role(role: str) -> None:
    """Write this process's metrics under `role` (before the process records any)."""
    path = directory(role)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean(role: str) -> int:
    """Remove the files of processes no longer running; returns how many were removed."""
    removed = 0
    path = directory(role)
    if not path.is_dir():
        return 0
    for entry in path.iterdir():
        match = _FILE.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            entry.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def mark_dead(pid: int) -> None:
    """gunicorn's child_exit: a web worker's live gauges stop counting (its counters and
    histograms stay until the next start, so the sums never go down meanwhile)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(directory("web")))


def files() -> list[str]:
    """Every metrics file of every process, web and worker."""
    return sorted(
        str(entry)
        for role in ROLES
        if directory(role).is_dir()
        for entry in directory(role).iterdir()
        if entry.suffix == ".db"
    )


LOOPBACK = ["127.0.0.0/8", "::1/128"]


def allow_list(values: list[str]) -> list[str]:
    """TOCSIN_METRICS_ALLOW: networks (CIDR or single addresses); `none` allows none."""
    if [value.lower() for value in values] == ["none"]:
        return []
    checked = []
    for value in values:
        try:
            checked.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise ConfigError(
                f"TOCSIN_METRICS_ALLOW: {value!r} is not a network (e.g. 10.0.0.0/8) "
                "or an address; 'none' allows no address"
            ) from None
    return checked
