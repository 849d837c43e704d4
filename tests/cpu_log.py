"""Where a test pass spends its CPU: one line a test, written when TOCSIN_TEST_CPU_LOG
names a folder (a pytest plugin, loaded by tests/conftest.py).

Wall times say little on a shared 2-core machine (a test waits for the others); CPU
seconds do. Each line is `nodeid  own  children  wall`: `own` is this pytest process's
CPU over the test (its threads too: the live server runs in one), `children` the CPU
of the processes it started (gunicorn, workers, Chromium, Alertmanager) over the test,
read from /proc for those still running and from the kernel's count of those it waited
for. `python -m tests.cpu_report <folder>` sums them by file and by folder.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_TICK = os.sysconf("SC_CLK_TCK")


def _descendants_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of every live process below `root`, by pid."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read().decode()
        except OSError:
            continue
        # the command may hold spaces and parentheses: split after the last ')'
        fields = raw[raw.rfind(")") + 2 :].split()
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    found: dict[int, float] = {}
    for pid in cpu:
        p = parent.get(pid, 0)
        while p > 1:
            if p == root:
                found[pid] = cpu[pid]
                break
            p = parent.get(p, 0)
    return found


def _children_reaped() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuLog:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        vendor = (
            "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
        )
        self.out = open(folder / f"cpu-{vendor}-{worker}.tsv", "a", buffering=1)  # noqa: SIM115

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        me = os.getpid()
        before_live = _descendants_cpu(me)
        before_reaped = _children_reaped()
        before_own = time.process_time()
        began = time.monotonic()
        yield
        wall = time.monotonic() - began
        own = time.process_time() - before_own
        after_live = _descendants_cpu(me)
        live = sum(cpu - before_live.get(pid, 0.0) for pid, cpu in after_live.items())
        # a process that ended during the test: what it had used before is not counted twice
        gone = sum(cpu for pid, cpu in before_live.items() if pid not in after_live)
        children = live + max(_children_reaped() - before_reaped - gone, 0.0)
        self.out.write(f"{item.nodeid}\t{own:.3f}\t{children:.3f}\t{wall:.3f}\n")


def pytest_configure(config: pytest.Config) -> None:
    # under xdist the controller runs no test, so only its workers write lines
    folder = os.environ.get("TOCSIN_TEST_CPU_LOG")
    if folder:
        config.pluginmanager.register(CpuLog(Path(folder)), "tocsin_cpu_log")
