"""Settings read once per batch: a memo scoped to one of the engine's batch transactions.

The engine applies many events in one transaction (the ingest drain's batches, the
escalation's batches of steps). Each event reads the same configuration again: the
priority matrix, the SLA targets, the major-incident settings, a service's paging set-up
and automation webhooks. Inside `batch_memo()` such a read goes through `memo(key, read)`
and is made once for the whole batch; outside it (a web request, a test, a service
called on its own) `memo` simply calls `read()`, so nothing changes there.

Only configuration that the batch itself never writes may be memoised. On SQLite the
batch's write transaction sees one snapshot of the database from its first statement, so
the memo returns exactly what a fresh read would; on PostgreSQL (READ COMMITTED) a
setting an administrator commits while a batch runs (a fraction of a second) applies
from the next batch on, as if the batch had started a moment earlier.

The ingest module holds one memo over its whole turn (several batches, each its own
transaction, about half a second): every inbox row of the turn was received before the
turn began, so the settings it is applied with are still read after its arrival. A
setting committed during the turn applies from the next turn.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_memo: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "tocsin_batch_memo", default=None
)


@contextmanager
def batch_memo() -> Iterator[None]:
    """Memoise configuration reads until the block ends (nested: the outer memo is kept)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo(key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, made once per `batch_memo()` block for each `key`."""
    found = _memo.get()
    if found is None:
        return read()
    if key in found:
        return found[key]
    value = read()
    found[key] = value
    return value
