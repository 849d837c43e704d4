"""Loaded first (`-p tests.xdist_worker`, from tests/run_suite.py).

In an xdist worker: a data directory of its own under its pass's
(test-output/data-<database>/gw0, ...), so that workers never share an attachment folder
or a generated secret key. It only sets TOCSIN_DATA_DIR, before Django's settings read
it; outside xdist it does nothing.

In the xdist controller (`--dist loadfile`): the order in which files are handed out.
xdist's own order is by number of tests, largest first, which leaves the files of a few
long tests (the browser, the real processes) to the end, where one of them can keep one
worker busy for minutes while the other has nothing left. Here the files that take
longest go first (longest-processing-time-first), and the cases of the accessibility
crawl (one role and theme each, independent: each loads the demo organisation itself)
are work units of their own, so they spread over the workers instead of holding one for
the whole crawl.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("TOCSIN_DATA_DIR"):
    os.environ["TOCSIN_DATA_DIR"] = os.path.join(os.environ["TOCSIN_DATA_DIR"], _worker)

# Tests whose parametrized cases are independent work units (not kept with their file).
SPLIT = ("tests/browser/test_accessibility.py::test_every_page_is_accessible[",)

# Seconds per test, by where the file is: a rough cost model to order the files, not a
# limit. Real processes and Chromium cost seconds a test; the rest tenths of one.
COST = (
    ("tests/browser/test_accessibility.py", 60.0),
    ("tests/browser/", 6.0),
    ("tests/system/", 15.0),
    ("tests/cli/", 4.0),
    ("tests/engine/test_wake.py", 15.0),
    ("tests/engine/test_worker_process.py", 10.0),
    ("tests/alerts/ingest/test_denial_of_service_server.py", 10.0),
)
DEFAULT_COST = 0.2


def unit_of(nodeid: str) -> str:
    if nodeid.startswith(SPLIT):
        return nodeid
    return nodeid.split("::", 1)[0]


def cost_of(unit: str, tests: int) -> float:
    for prefix, seconds in COST:
        if unit.startswith(prefix):
            return seconds * tests
    return DEFAULT_COST * tests


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    class LongestFirst(LoadFileScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if not self._ordered:
                self._ordered = True
                units = sorted(self.workqueue.items(), key=lambda u: -cost_of(u[0], len(u[1])))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)
