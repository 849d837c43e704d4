"""The demo organisation, loaded once for every test of this folder.

`load_demo()` writes a whole organisation with its history: about 8 s of CPU on SQLite,
more on PostgreSQL, and this folder's tests each used to pay it. Here it is loaded once, in
a transaction held open for the folder and rolled back after its last test; each test
runs in a savepoint inside it (pytest-django's `db`), so what one test changes is gone for
the next, as before. The tests still call `load_demo()` themselves: with the demo there it
finds it and changes nothing. Tests that need an empty installation live elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction


@pytest.fixture(scope="package", autouse=True)
def _demo_loaded_once(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    from tocsin.demo import load_demo

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo()
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
