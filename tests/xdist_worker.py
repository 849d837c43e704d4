"""Loaded first (`-p tests.xdist_worker`, from tests/run_suite.py): an xdist worker gets
a data directory of its own under its pass's (test-output/data-<database>/gw0, ...), so
that workers never share an attachment folder or a generated secret key (it sets
TOCSIN_DATA_DIR before Django's settings read it), and on the controller it splits the
long files listed in SPLIT_FILES into a work unit per test (below). Outside xdist it does
nothing."""

from __future__ import annotations

import os
from typing import Any

import pytest

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("TOCSIN_DATA_DIR"):
    os.environ["TOCSIN_DATA_DIR"] = os.path.join(os.environ["TOCSIN_DATA_DIR"], _worker)


# Work units (on the controller): every test file is one unit, in one worker, in order
# (`--dist loadfile`), except the files listed here, whose tests are each a unit of their
# own. The accessibility check is a dozen long tests (every page, for a role, in one
# theme and width), a third of a pass's time; as one unit it was the pass's critical
# path, one worker walking it while the other had finished everything else.
SPLIT_FILES = ("tests/browser/test_accessibility.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    class SplitLongFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path in SPLIT_FILES else path

    return SplitLongFiles(config, log)
