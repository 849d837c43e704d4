"""outbox_manager: sends queued messages, at least once, doubled at most once per crash.

Claiming. A message is claimed with a compare-and-set (queued, or `sending` with an
expired lease -> `sending`, attempts + 1) whose lease runs from the clock at the moment
of the claim; the outcome (sent, queued again, failed) is written only by the holder of
that claim (`state=sending AND attempts=n`), by `_finish`, in one transaction with the
contact method's delivery status and the `notify.hooks.on_outcome` hooks. Without a
crash no message goes out twice: another worker may take a message only after its lease
has run out, and a lease outlasts the longest a channel's `send` can take
(TOCSIN_OUTBOX_LEASE_SECONDS overrides every channel's lease, for tests).

Two modes:

- threaded (`OutboxModule(threads=n)`, n > 0; what `tocsin worker` runs, with
  n = TOCSIN_OUTBOX_THREADS, default 16): the engine thread only claims, and only as many
  messages as there are free sending threads, at most TOCSIN_OUTBOX_PER_DESTINATION
  (default 8) per destination (channel kind + host, the SMTP relay for mail, the contact
  method for SMS and voice). Each claimed message goes to a sending thread at once (its
  lease starts at the claim), which loads it, calls the channel, records the outcome and
  closes its own database connection. A sending thread that frees a slot a due message
  waited for claims the next ones itself (`_refill`, one claimer at a time), so a storm's
  pages keep leaving while the engine thread ingests and escalates (ADR 0008). The
  module never waits on a send: a provider that hangs until its timeout ties up only its
  destination's slots, never other channels or other engine modules.
- synchronous (`OutboxModule()`, threads=0, what tests drive tick by tick, and any turn
  that runs inside an open transaction, whose claims other connections cannot see): each
  message is claimed just before it is sent, in the engine thread; a turn stops claiming
  when its time budget is spent (tocsin.core.budget).

A stopping worker (`forget()`) waits TOCSIN_OUTBOX_STOP_WAIT_SECONDS for the sends in
flight and then gives up on them: their leases run out and each is sent once more by the
next worker (at least once; the receiver drops the repeat by its message id).

Throttle and bundling (SMS and voice, per contact method): no method gets more than one
message in TOCSIN_OUTBOX_THROTTLE_SECONDS (60). A message due sooner stays queued with
`not_before` = the last send + 60 s. Pages for one method that are due together (a
storm) go out as one bundle: the most urgent (then newest) page, its body followed by a
line such as "12 more incidents for Payments" (also in `payload["bundle"]`); the others
are recorded with the carrier's outcome: sent with provider_message_id
"bundled:<message_id of the carrier>" and `bundled_into`, queued again or failed with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import Max, Q

from tocsin.accounts.models import ContactMethod
from tocsin.core import instruments
from tocsin.core.budget import budget_spent
from tocsin.core.clock import now as clock_now
from tocsin.core.wake import work_committed
from tocsin.notify import hooks, sql
from tocsin.notify.channels import Permanent, Result, Sent, Temporary, channel_for
from tocsin.notify.channels.base import MAIL_RETRY, Channel, RetryPolicy
from tocsin.notify.hooks import Outcome
from tocsin.notify.models import OutboxMessage, OutboxState

log = logging.getLogger("tocsin.notify")
T = TypeVar("T")

# The lease of a channel that has no policy of its own (an unknown channel is failed
# at once, so this only bounds how long such a claim could stay `sending`).
LEASE = MAIL_RETRY.lease
# Kinds throttled (and bundled) per contact method.
THROTTLED_KINDS = frozenset({"sms", "voice"})
PAGE_PURPOSE = "page"  # tocsin.escalation.services.PAGE_PURPOSE (notify sits below it)
BUNDLE_MAX = 500  # rows one bundle carries; the rest go in the next one
PAGE_SIZE = 100  # due rows read per query while looking for claimable ones
FIRST_PAGE = 16  # ... in the first query of a scan (threaded mode; then 64, then 100)
SCAN_MAX = 2000  # due rows looked at per turn (rows of busy destinations are skipped)
IDLE_CLOSE = 30.0  # seconds: a sending thread idle this long closes its connection
# A contact method that keeps working has its "last delivery" time written at most this
# often (the profile shows it to the minute): a storm's thousand pages to one person are
# one write a minute, not one a page. A change (a failure, a recovery) is written at once.
DELIVERY_STAMP_EVERY = dt.timedelta(seconds=60)

# --- test hook ---------------------------------------------------------------------------
# TOCSIN_TEST_CRASH_AT=after_claim|after_send|climb_step makes the worker SIGKILL itself
# at that point (tests/system/test_paging_crash.py). Read once; unset, it does nothing.
_CRASH_AT = os.environ.get("TOCSIN_TEST_CRASH_AT", "")


def crash_point(name: str) -> None:
    """Test hook: die here, as a power cut would, when TOCSIN_TEST_CRASH_AT names `name`."""
    if _CRASH_AT and name == _CRASH_AT:
        log.warning("TOCSIN_TEST_CRASH_AT=%s: killing this worker", name)
        os.kill(os.getpid(), signal.SIGKILL)


# -----------------------------------------------------------------------------------------


def _due(at: dt.datetime) -> Q:
    return Q(state=OutboxState.QUEUED, not_before__lte=at) | Q(
        state=OutboxState.SENDING, lease_until__lt=at
    )


def _lease(policy: RetryPolicy) -> dt.timedelta:
    override = float(getattr(settings, "TOCSIN_OUTBOX_LEASE_SECONDS", 0) or 0)
    return dt.timedelta(seconds=override) if override > 0 else policy.lease


def _throttle() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "TOCSIN_OUTBOX_THROTTLE_SECONDS", 60))


def destination(kind: str, address: str, contact_method_id: int | None) -> str:
    """What a per-destination limit counts: SMS and voice per contact method, mail per
    relay (all mail goes through one), any other channel per host (and port) of its URL."""
    if kind in THROTTLED_KINDS and contact_method_id is not None:
        return f"{kind}:method:{contact_method_id}"
    if kind == "email":
        return "email"
    host = ""
    if "://" in address:
        try:
            parts = urlsplit(address)
            host = (parts.hostname or "").lower()
            if host and parts.port:
                host = f"{host}:{parts.port}"
        except ValueError:
            host = ""
    if host:
        return f"{kind}:{host}"
    if contact_method_id is not None:
        return f"{kind}:method:{contact_method_id}"
    return f"{kind}:{address[:200]}"


def bundle_line(others: Sequence[tuple[Any, str]]) -> str:
    """'12 more incidents for Payments' from (incident id or None, service) of the pages
    carried along; the same incident counts once."""
    seen: set[Any] = set()
    per_service: Counter[str] = Counter()
    for incident, service in others:
        if incident is not None:
            if incident in seen:
                continue
            seen.add(incident)
        per_service[service or ""] += 1
    total = sum(per_service.values())
    if not total:
        return ""
    noun = "incident" if total == 1 else "incidents"
    named = [(s, n) for s, n in per_service.most_common() if s]
    if not named:
        return f"{total} more {noun}"
    if len(per_service) == 1:
        return f"{total} more {noun} for {named[0][0]}"
    parts = [f"{n} for {s}" for s, n in named]
    if per_service.get(""):
        parts.append(f"{per_service['']} for no service")
    return f"{total} more {noun}: " + ", ".join(parts)


@dataclass
class Claim:
    """A message this worker holds (and the pages it carries as a bundle)."""

    pk: int
    attempts: int
    kind: str
    policy: RetryPolicy
    destination: str
    bundled: list[tuple[int, int]] = field(default_factory=list)  # (pk, attempts)
    bundle: dict[str, Any] | None = None
    freed: bool = False  # its sending slot was given back
    # time.monotonic() when the lease runs out: the outcome is worth recording until then
    until: float = field(default_factory=lambda: time.monotonic() + LEASE.total_seconds())


@dataclass
class _Row:
    pk: int
    kind: str
    recipient: str
    contact_method_id: int | None
    purpose: str
    not_before: dt.datetime


class OutboxModule:
    """The outbox engine module. `OutboxModule()` sends synchronously in the engine
    thread (tests); `OutboxModule(threads=n)` hands sends to n threads of its own (the
    worker: tocsin.engine.engine.default_modules, n = TOCSIN_OUTBOX_THREADS)."""

    name = "outbox"
    batch = 20

    def __init__(self, threads: int = 0, per_destination: int | None = None) -> None:
        self.threads = max(0, threads)
        self.per_destination: int = per_destination or int(
            getattr(settings, "TOCSIN_OUTBOX_PER_DESTINATION", 2)
        )
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()  # pks claimed and not yet recorded
        self._busy: Counter[str] = Counter()  # destination -> sends in flight
        self._slots = 0  # sending threads taken
        self._waiting = False  # a due message waited for a slot: wake on release
        self._claiming = threading.Lock()  # one claimer at a time (engine or sender thread)
        # a claimer found another at work: that one scans again before it stops, so a
        # slot freed meanwhile is not left waiting for the engine's next turn
        self._rescan = False
        self._stopping = False  # forget(): sending threads claim nothing more
        self._jobs: queue.Queue[Claim | None] = queue.Queue()
        self._pool: list[threading.Thread] = []
        self._idle = threading.Condition(self._lock)
        self._cut = False  # the last turn stopped on its time budget

    # --- claiming --------------------------------------------------------------------------

    def _claim(self, pk: int, at: dt.datetime, lease: dt.timedelta = LEASE) -> int | None:
        """Compare-and-set: queued (or an expired lease) -> sending, exactly one row.

        Returns the attempt number this claim holds, or None if another worker has it.
        """
        # One statement (UPDATE ... RETURNING, tocsin.notify.sql) rather than the update
        # and a read of the attempt number: a storm claims hundreds a second.
        return sql.claim(pk, at, at + lease)

    def _release(self, held: Sequence[tuple[int, int]], not_before: dt.datetime | None) -> None:
        """Give back claims not acted on (a throttled method): queued again, the attempt
        not counted."""
        for pk, attempts in held:
            fields: dict[str, Any] = {
                "state": OutboxState.QUEUED,
                "lease_until": None,
                "attempts": attempts - 1,
            }
            if not_before is not None:
                fields["not_before"] = not_before
            OutboxMessage.objects.filter(
                pk=pk, state=OutboxState.SENDING, attempts=attempts
            ).update(**fields)

    def _due_rows(self, at: dt.datetime, scan: int = SCAN_MAX) -> Iterator[list[_Row]]:
        """Due rows, oldest first, a page at a time (keyset), up to `scan` rows. In threaded
        mode the first page is small and each next one larger: a sending thread that freed
        one slot (a storm's every send) claims one message, and the rows it reads, and the
        contact methods read with them, were most of that claim's cost."""
        after: tuple[dt.datetime, int] | None = None
        scanned = 0
        size = self.batch if not self.threads else FIRST_PAGE
        while scanned < scan:
            # (tocsin.notify.sql: the ORM query, built once)
            rows = [_Row(*values) for values in sql.due_rows(at, size, after)]
            if not rows:
                return
            yield rows
            if len(rows) < size:
                return
            scanned += len(rows)
            after = (rows[-1].not_before, rows[-1].pk)
            if self.threads:
                size = min(PAGE_SIZE, size * 4)

    def _claim_method(self, row: _Row, kind: str, policy: RetryPolicy, dest: str) -> Claim | None:
        """Claim what is due for one SMS/voice contact method: one message, or one page
        carrying the other due pages (a bundle); None when the method is throttled or
        another worker is sending to it (the claims are given back)."""
        at = clock_now()
        group = OutboxMessage.objects.filter(
            _due(at), contact_method_id=row.contact_method_id, channel=kind
        )
        if row.purpose == PAGE_PURPOSE:
            group = group.filter(purpose=PAGE_PURPOSE)
        else:
            group = group.filter(pk=row.pk)
        candidates = list(
            group.order_by("not_before", "pk").values_list(
                "pk", "payload", "created_at", "incident_id"
            )[:BUNDLE_MAX]
        )
        lease = _lease(policy)
        started = time.monotonic()
        held: list[tuple[int, int]] = []
        info: dict[int, tuple[Any, dt.datetime, Any]] = {}
        with transaction.atomic():  # one commit for the group (each claim still a CAS)
            for pk, payload, created_at, incident_id in candidates:
                attempts = self._claim(pk, clock_now(), lease)
                if attempts is not None:
                    held.append((pk, attempts))
                    data = payload if isinstance(payload, dict) else {}
                    info[pk] = (data, created_at, incident_id)
        if not held:
            return None
        # Checked after claiming: of two workers claiming for one method at once, at least
        # one sees the other's claim and gives its own back.
        at = clock_now()
        mine = [pk for pk, _ in held]
        others = OutboxMessage.objects.filter(contact_method_id=row.contact_method_id).exclude(
            pk__in=mine
        )
        last = others.filter(state=OutboxState.SENT, sent_at__gt=at - _throttle()).aggregate(
            last=Max("sent_at")
        )["last"]
        if last is not None:
            self._release(held, last + _throttle())
            log.info(
                "contact method %s: %d message(s) held back by the throttle until %s",
                row.contact_method_id,
                len(held),
                last + _throttle(),
            )
            return None
        if others.filter(state=OutboxState.SENDING, lease_until__gte=at).exists():
            self._release(held, at + dt.timedelta(seconds=5))
            return None

        def rank(item: tuple[int, int]) -> tuple[int, float, int]:
            payload, created_at, _ = info[item[0]]
            priority = payload.get("priority")
            urgency = priority if isinstance(priority, int) else 9
            return (urgency, -created_at.timestamp(), -item[0])

        held.sort(key=rank)
        carrier, rest = held[0], held[1:]
        bundle: dict[str, Any] | None = None
        if rest:
            carrier_incident = info[carrier[0]][2]
            carried = [
                (info[pk][2], str(info[pk][0].get("service") or ""))
                for pk, _ in rest
                if info[pk][2] is None or info[pk][2] != carrier_incident
            ]
            per_service = Counter(service for _, service in carried)
            bundle = {
                "count": len(rest),
                "incidents": len({i for i, _ in carried if i is not None})
                + sum(1 for i, _ in carried if i is None),
                "services": dict(per_service),
                "text": bundle_line(carried),
            }
        return Claim(
            carrier[0],
            carrier[1],
            kind,
            policy,
            dest,
            bundled=rest,
            bundle=bundle,
            until=started + lease.total_seconds(),
        )

    def _claims(self, at: dt.datetime, scan: int = SCAN_MAX) -> Iterator[Claim]:
        """Claim due messages, as many as may be sent now (the caller sends each before
        asking for the next in synchronous mode)."""
        seen: set[int] = set()
        methods_seen: set[int] = set()  # SMS/voice methods dealt with in this turn
        self._cut = False
        for rows in self._due_rows(at, scan):
            methods = sql.methods_by_id(
                {r.contact_method_id for r in rows if r.contact_method_id is not None}
            )
            for row in rows:
                if row.pk in seen:
                    continue
                seen.add(row.pk)
                if budget_spent():
                    self._cut = True
                    return
                with self._lock:
                    if row.pk in self._in_flight:
                        continue
                    if self.threads and self._slots >= self.threads:
                        self._waiting = True
                        return
                channel = channel_for(row.kind)
                policy = channel.policy if channel is not None else MAIL_RETRY
                address = row.recipient
                if not address and row.contact_method_id in methods:
                    address = _address(methods[row.contact_method_id])
                dest = destination(row.kind, address, row.contact_method_id)
                with self._lock:
                    if self.threads and self._busy[dest] >= self.per_destination:
                        self._waiting = True
                        continue
                if row.kind in THROTTLED_KINDS and row.contact_method_id is not None:
                    if row.contact_method_id in methods_seen:
                        continue  # one message (or bundle) per method and turn
                    methods_seen.add(row.contact_method_id)
                    claim = self._claim_method(row, row.kind, policy, dest)
                else:
                    lease = _lease(policy)
                    started = time.monotonic()
                    attempts = self._claim(row.pk, clock_now(), lease)
                    claim = (
                        None
                        if attempts is None
                        else Claim(
                            row.pk,
                            attempts,
                            row.kind,
                            policy,
                            dest,
                            until=started + lease.total_seconds(),
                        )
                    )
                if claim is None:
                    continue  # another worker has it, or the throttle holds it
                yield claim

    def tick(self, now: dt.datetime) -> int:
        # Inside an open transaction (a test's) the claims are invisible to the sending
        # threads' own connections: such a turn sends in this thread.
        if self.threads and not connection.in_atomic_block:
            return self._tick_threaded()
        done = 0
        for claim in self._claims(clock_now()):
            crash_point("after_claim")  # committed: each claim is its own statement here
            if self._deliver(claim):
                done += 1
        if self._cut:
            # The rest is claimed next turn, with leases of their own; a positive
            # count brings the worker back at once.
            return max(done, 1)
        return done

    # --- threaded mode ---------------------------------------------------------------------

    def _tick_threaded(self) -> int:
        self._start_pool()
        self._stopping = False  # a module ticked again after forget() (tests) sends again
        started, cut = self._refill(SCAN_MAX)
        return max(started, 1) if cut else started

    def _refill(self, scan: int) -> tuple[int, bool]:
        """Claim what the free sending slots may take and hand it to the threads. Called
        by the engine's turn and by a sending thread that has just freed a slot which a
        due message waited for: during a storm the threads keep sending while the engine
        thread works through the ingest and escalation modules (before, a turn's 0.5 s
        budgets of those modules stood between a finished send and the next claim, and
        the pages of a storm waited for the whole backlog). One claimer at a time; a
        claimer that finds another at work leaves it to that one. Returns (claims handed
        over, whether the scan stopped on the turn's time budget)."""
        started, cut = 0, False
        while not self._stopping:
            if not self._claiming.acquire(blocking=False):
                with self._lock:
                    self._rescan = True  # the claimer at work looks again
                break
            try:
                with self._lock:
                    self._waiting = False
                    self._rescan = False
                # The claims of one scan in one transaction (one turn at SQLite's write
                # lock, not one per message), handed to the threads once committed:
                # `sending` is committed before any provider is called.
                handed: list[Claim] = []
                try:
                    with transaction.atomic():
                        for claim in self._claims(clock_now(), scan):
                            with self._lock:
                                self._in_flight.add(claim.pk)
                                self._busy[claim.destination] += 1
                                self._slots += 1
                            handed.append(claim)
                except BaseException:
                    for claim in handed:  # rolled back: not ours after all
                        self._free_slot(claim)
                        with self._lock:
                            self._in_flight.discard(claim.pk)
                    raise
                if handed:
                    crash_point("after_claim")  # committed, not yet handed over
                for claim in handed:
                    self._jobs.put(claim)
                started += len(handed)
                cut = self._cut
            finally:
                self._claiming.release()
            with self._lock:
                again = self._rescan
            if not again or cut:
                break
        return started, cut

    def _start_pool(self) -> None:
        while len(self._pool) < self.threads:
            thread = threading.Thread(
                target=self._sender, name=f"outbox-send-{len(self._pool) + 1}", daemon=True
            )
            thread.start()
            self._pool.append(thread)

    def _sender(self) -> None:
        """A sending thread: its own database connection, kept between sends (as the
        request threads of a web server keep theirs) and closed when idle or stopping."""
        try:
            while True:
                try:
                    claim = self._jobs.get(timeout=IDLE_CLOSE)
                except queue.Empty:
                    connection.close()
                    continue
                if claim is None:
                    return
                self._send_one(claim)
        finally:
            connection.close()

    def _send_one(self, claim: Claim) -> None:
        try:
            close_old_connections()
            self._deliver(claim)
        except Exception:
            log.exception("outbox message %s: the sending thread failed", claim.pk)
        finally:
            self._free_slot(claim)  # no-op when _deliver already freed it
            with self._lock:
                self._in_flight.discard(claim.pk)
                wake = self._waiting
                self._idle.notify_all()
            try:
                # a due message waited for a slot: this thread claims it (and what else
                # the free slots may take) rather than wait for the engine's next turn
                if wake and not self._refill(PAGE_SIZE)[0]:
                    work_committed()  # PostgreSQL: the engine claims what waited
                close_old_connections()
            except Exception:
                log.exception("outbox: could not wake the worker")
                connection.close()

    def _free_slot(self, claim: Claim) -> None:
        with self._lock:
            if claim.freed:
                return
            claim.freed = True
            self._busy[claim.destination] -= 1
            if self._busy[claim.destination] <= 0:
                del self._busy[claim.destination]
            self._slots -= 1

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no send is in flight (True) or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def forget(self) -> None:
        """The worker stops: wait briefly for sends in flight, then give up on them (their
        leases run out and the next worker sends them again, once)."""
        self._stopping = True
        if not self._pool:
            return
        wait = float(getattr(settings, "TOCSIN_OUTBOX_STOP_WAIT_SECONDS", 5.0))
        if not self.wait_idle(wait):
            log.warning(
                "outbox: %d send(s) still in flight after %.0f s; they are sent again "
                "when their leases run out",
                self.in_flight(),
                wait,
            )
        for _ in self._pool:
            self._jobs.put(None)
        self._pool = []

    # --- sending ---------------------------------------------------------------------------

    def _deliver(self, claim: Claim) -> bool:
        """Send one claimed message (and what it carries) and record the outcome."""
        # The engine thread (synchronous mode) does not wait long on a database error.
        until = claim.until if self.threads else min(claim.until, time.monotonic() + 2)
        # (tocsin.notify.sql: the ORM's select_related get, built once, not per send)
        message = _retrying(lambda: _message_for_send(claim.pk), until)
        if claim.bundle and claim.bundle.get("text"):
            message.body = f"{message.body}\n\n{claim.bundle['text']}"
            message.payload = {**(message.payload or {}), "bundle": claim.bundle}
        channel: Channel | None = channel_for(claim.kind)
        method = message.contact_method if message.contact_method_id is not None else None
        if channel is None:
            result: Result = Permanent(f"unknown channel {message.channel!r}")
        elif method is not None and method.disabled_at is not None:
            # removed after the message was queued: fail it (the person's next method is
            # brought forward for a page) rather than use an address they took back
            result = Permanent("the contact method was removed")
        else:
            try:
                result = channel.send(message)
            except Exception as exc:  # a channel bug is retried like a provider failure
                log.exception("channel %s raised on message %s", message.channel, claim.pk)
                result = Temporary(f"{exc.__class__.__name__}: {exc}")
        crash_point("after_send")
        if self.threads:
            self._free_slot(claim)  # the provider call is over: the next may start
        # A database that is busy or gone for a moment must not turn a sent message into
        # a duplicate: the outcome is retried while the claim's lease lasts.
        return _retrying(
            lambda: self._finish(
                message, claim.attempts, result, claim.policy, bundled=claim.bundled
            ),
            until,
        )

    def _finish(
        self,
        message: OutboxMessage,
        attempts: int,
        result: Result,
        policy: RetryPolicy,
        *,
        bundled: Sequence[tuple[int, int]] = (),
    ) -> bool:
        """Record the outcome, only if this worker still holds the claim; the contact
        method's delivery status and the `notify.hooks.on_outcome` hooks go in the same
        transaction. Pages carried in a bundle get the carrier's outcome."""
        with transaction.atomic():
            return self._record(message, attempts, result, policy, bundled)

    def _record(
        self,
        message: OutboxMessage,
        attempts: int,
        result: Result,
        policy: RetryPolicy,
        bundled: Sequence[tuple[int, int]] = (),
    ) -> bool:
        at = clock_now()
        outcome: Outcome
        carried: dict[str, Any]
        if isinstance(result, Sent):
            fields: dict[str, Any] = {
                "state": OutboxState.SENT,
                "sent_at": at,
                "lease_until": None,
                "last_error": "",
                "provider_message_id": result.provider_message_id[:300],
            }
            carried = {
                **fields,
                "provider_message_id": f"bundled:{message.message_id}",
                "bundled_into_id": message.pk,
            }
            outcome = "sent"
        elif isinstance(result, Temporary) and attempts < policy.max_attempts:
            retry_after = result.retry_after or policy.delay(attempts)
            fields = {
                "state": OutboxState.QUEUED,
                "not_before": at + retry_after,
                "lease_until": None,
                "last_error": result.reason[:2000],
            }
            carried = dict(fields)
            outcome = "retry"
            log.warning(
                "outbox message %s: attempt %s failed, retry in %ss: %s",
                message.pk,
                attempts,
                int(retry_after.total_seconds()),
                result.reason,
            )
        else:
            fields = {
                "state": OutboxState.FAILED,
                "lease_until": None,
                "last_error": result.reason[:2000],
            }
            carried = {
                **fields,
                "last_error": f"bundled into {message.message_id}: {result.reason}"[:2000],
            }
            outcome = "failed"
            log.error("outbox message %s failed for good: %s", message.pk, result.reason)
        if outcome == "sent":  # most outcomes: one prepared statement (tocsin.notify.sql)
            updated = sql.record_sent(message.pk, attempts, at, fields["provider_message_id"])
        else:
            updated = OutboxMessage.objects.filter(
                pk=message.pk, state=OutboxState.SENDING, attempts=attempts
            ).update(**fields)
        if not updated:
            log.error(
                "outbox message %s: the claim (attempt %s) was lost before its outcome "
                "was recorded; the lease is too short for this channel",
                message.pk,
                attempts,
            )
            return False
        reason = "" if isinstance(result, Sent) else result.reason
        if message.contact_method_id is not None and outcome != "retry":
            _stamp_delivery(message, ok=outcome == "sent", error=reason[:2000], at=at)
        hooks.run_outcome(message=message, outcome=outcome, reason=reason)
        # /metrics (issue 13): delivery latency and failures per channel, once committed
        latency = (at - message.created_at).total_seconds()
        transaction.on_commit(
            lambda: instruments.delivery_outcome(message.channel, outcome, latency)
        )
        kept = [
            pk
            for pk, held in bundled
            if OutboxMessage.objects.filter(pk=pk, state=OutboxState.SENDING, attempts=held).update(
                **carried
            )
        ]
        if kept:  # (an empty `pk__in` still costs a query's compilation: most sends)
            for other in OutboxMessage.objects.filter(pk__in=kept).order_by("pk"):
                hooks.run_outcome(message=other, outcome=outcome, reason=reason)
        return isinstance(result, Sent)


def _message_for_send(pk: int) -> OutboxMessage:
    message = sql.message_for_send(pk)
    if message is None:
        raise OutboxMessage.DoesNotExist(f"outbox message {pk} is gone")
    return message


def _stamp_delivery(message: OutboxMessage, *, ok: bool, error: str, at: dt.datetime) -> None:
    """The contact method's last delivery: written when its outcome or error changes, or
    when the time written is DELIVERY_STAMP_EVERY old. `message.contact_method` is the row
    as read for this send: when it shows the same outcome written less than that ago,
    nothing is asked; otherwise the statement checks the row as it is now (a storm's
    sends to one person are read before the first of them is stamped)."""
    method_id = message.contact_method_id
    if method_id is None:
        return
    method = message.contact_method
    if (
        ok
        and method is not None
        and method.last_delivery_ok is True
        and method.last_error == error
        and method.last_delivery_at is not None
        and method.last_delivery_at <= at < method.last_delivery_at + DELIVERY_STAMP_EVERY
    ):
        return
    # a failure is always written (its time and error are what the profile shows)
    since = at - DELIVERY_STAMP_EVERY if ok else at
    sql.stamp_delivery(method_id, ok=ok, error=error, at=at, since=since)


def worker_threads() -> int:
    """Sending threads for the worker's outbox: TOCSIN_OUTBOX_THREADS, except on an
    in-memory SQLite database (tests only), whose shared cache fails a reader at once
    while another connection writes; there the worker sends in its engine thread."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        return 0
    return int(getattr(settings, "TOCSIN_OUTBOX_THREADS", 16))


def _retrying(action: Callable[[], T], until: float) -> T:
    """`action()`, tried again on database errors (a busy SQLite, a dropped PostgreSQL
    connection) with a growing pause, until the monotonic time `until`."""
    pause = 0.05
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause >= until:
                raise
            log.warning("outbox: database error, trying again in %.2f s", pause, exc_info=True)
            if connection.in_atomic_block is False:
                connection.close_if_unusable_or_obsolete()
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _address(method: ContactMethod) -> str:
    from tocsin.accounts.services import contact_address

    try:
        return contact_address(method)
    except Exception:  # an address that cannot be read is the channel's to report
        return ""
