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

Per-service settings (a service's paging set-up) are filled for all the services of a
turn at once: the apps register a reader with `register_service_primer` (at start, in
their AppConfig.ready), and the ingest turn calls `prime_services(ids)` with the
services it is about to drain: one query per kind of setting instead of one per service
(a storm spreads a turn's rows over dozens of services). A primed key holds exactly what
the key's own read would have returned.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterable, Iterator
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


def has_memo() -> bool:
    """Inside a `batch_memo()` block (where a read made once serves the whole batch)."""
    return _memo.get() is not None


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


ServicePrimer = Callable[[list[int]], dict[Hashable, Any]]
_service_primers: list[ServicePrimer] = []


def register_service_primer(primer: ServicePrimer) -> None:
    """Add a reader that answers memo keys for many services in one query: given service
    ids, it returns {key: what memo(key, read) would have read} for each of them."""
    if primer not in _service_primers:
        _service_primers.append(primer)


def prime_services(service_ids: Iterable[int]) -> None:
    """Inside `batch_memo()`, fill the keys of these services from every registered
    primer (keys already read are kept); outside it, nothing."""
    found = _memo.get()
    ids = sorted({pk for pk in service_ids if pk is not None})
    if found is None or not ids:
        return
    for primer in _service_primers:
        for key, value in primer(ids).items():
            found.setdefault(key, value)
