"""Loaded first (`-p tests.xdist_worker`, from tests/run_suite.py): an xdist worker gets
a data directory of its own under its pass's (test-output/data-<database>/gw0, ...), so
that workers never share an attachment folder or a generated secret key. It only sets
TOCSIN_DATA_DIR, before Django's settings read it; outside xdist it does nothing."""

from __future__ import annotations

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("TOCSIN_DATA_DIR"):
    os.environ["TOCSIN_DATA_DIR"] = os.path.join(os.environ["TOCSIN_DATA_DIR"], _worker)
