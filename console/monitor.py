r"""The Monitor: probes in, alert state out, for the console and the headless agent alike.

    Scheduler --ProbeResult--> Monitor --> History (sparklines)
                                  |-----> AlertEngine (pure) --AlertEvent--> Store (SQLite WAL)
                                  |                                     \--> outbox -> SlackNotifier
                                  \-----> snapshot() for the UI

Exactly one process per state file runs the engine and the notifier: the holder
of the `engine` lease. Any other process (a second console beside the agent)
is a follower: it probes for its own panels but shows alert state read from
the store, and its operator intents (ack, silence) reach the leader through
the store. All SQLite work runs on one writer thread, in order, off the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from console.actions.progress import Cancelled, CancelToken, Progress, ProgressCallback
from console.actions.reporting import one_line
from console.alerts.engine import AlertEngine, AlertError
from console.alerts.model import AlertEvent, Matcher, Occurrence, Silence
from console.checklist import ItemState, evaluate, progress
from console.clock import Clock, SystemClock
from console.config.model import Config
from console.history import History
from console.monitor_views import ProbeTracker, event_lines
from console.scheduler import Scheduler
from console.snapshot import ActionView, EventLine, MonitorSnapshot
from console.state.identity import operator_identity
from console.state.records import ChecklistTick, Intent
from console.state.store import Store
from probes.result import Probe, ProbeResult

log = logging.getLogger("warroom.monitor")
T = TypeVar("T")

LEASE = "engine"
LEASE_TTL = 15.0
ACTION_STOP_TIMEOUT = 30.0  # a cancelled backup's cleanup (abort the upload, reap pg_dump)
TICK = 1.0


class MonitorError(Exception):
    """An operator action failed; the message is one line fit for a toast."""


class Monitor:
    def __init__(
        self,
        config: Config,
        probes: Sequence[Probe],
        *,
        clock: Clock,
        read_only: bool = False,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.config = config
        self._closers = list(closers)  # shared resources of the probes (HTTP pools)
        self.clock = clock
        self.read_only = read_only
        self.operator = operator_identity(config.console.operator)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.history = History(window=config.console.history, clock=clock)
        self._probes = list(probes)
        self._tracker = ProbeTracker(self._probes, clock)
        self._secrets = config.secrets()
        self._scheduler = Scheduler(
            self._probes, self._on_result, clock=clock, secrets=self._secrets
        )
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warroom-store")
        self._store: Store | None = None
        self._engine = AlertEngine(
            config.rules,
            config.alerts,
            clock,
            probes={p.name: p.kind for p in self._probes},
            notify_min_severity=config.slack.min_severity if config.slack.webhook_url else None,
            notify_acknowledged=config.slack.notify_acknowledged,
            channel_mentions=config.slack.channel_mentions,
            escalation_mentions=config.slack.escalation_mentions,
        )
        self._leader = False
        self._unreported = {p.name for p in self._probes}
        self._all_reported = asyncio.Event()
        if not self._unreported:
            self._all_reported.set()
        # Results that came before the first sync; None from then on.
        self._unsynced: list[ProbeResult] | None = []
        self._alerts: tuple[Occurrence, ...] = ()
        self._silences: tuple[Silence, ...] = ()
        self._events: tuple[EventLine, ...] = ()
        self._ticks: dict[str, ChecklistTick] = {}
        self._notifications: str | None = None
        self._pending_notifications = 0
        self._actions: dict[str, ActionView] = {}
        self._cancels: dict[str, CancelToken] = {}
        self._subscribers: list[Callable[[], None]] = []
        self._event_listeners: list[Callable[[AlertEvent], None]] = []
        self._intent_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._notifier: Any = None
        self._notifier_task: asyncio.Task[None] | None = None
        self._action_threads: dict[str, threading.Event] = {}  # set when the thread is done
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Probes first: their first results are the console's first frame, and opening
        # the store and taking the lease (a few hundred ms while the UI starts) need not
        # hold them back. What they report before the first sync waits in `_unsynced`.
        await self._scheduler.start()
        self._store = await self._write(self._open_store)
        await self.sync()
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="warroom-tick"))

    def _open_store(self) -> Store:
        store = Store.open(self.config.console.state_path, clock=self.clock)
        store.register_secrets(self.config.secrets())
        return store

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Stop probing, let running actions and the notifier finish, then close the store.

        Whatever fails on the way, the writer thread drains every queued write
        (FIFO) before the store closes, and the store is closed.
        """
        try:
            for token in self._cancels.values():
                token.cancel()
            await self._scheduler.stop()
            for close in self._closers:
                await close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
            # A cancelled backup still aborts its upload and records "cancelled":
            # the store must be open until it has.
            for done in list(self._action_threads.values()):
                await asyncio.to_thread(done.wait, ACTION_STOP_TIMEOUT)
            await self._stop_notifier(flush_timeout)
        finally:
            if self._store is not None:
                store, self._store = self._store, None
                if self._leader:
                    await self._write(lambda: store.release_lease(LEASE, self.holder))
                await self._write(store.close)
            self._writer.shutdown(wait=True)

    @property
    def store(self) -> Store:
        if self._store is None:
            raise MonitorError("the monitor is not started")
        return self._store

    @property
    def leader(self) -> bool:
        return self._leader

    # -- what the UI reads -------------------------------------------------------

    def snapshot(self) -> MonitorSnapshot:
        return MonitorSnapshot(
            at=self.clock.now(),
            environment=self.config.console.environment,
            operator=self.operator,
            read_only=self.read_only,
            probes=self._tracker.views(self._scheduler),
            alerts=self._alerts,
            silences=self._silences,
            events=self._events,
            notifications=self._notifications,
            pending_notifications=self._pending_notifications,
            actions=tuple(self._actions.values()),
            leader=self._leader,
            checklist={str(phase): done for phase, done in progress(self.checklist()).items()},
        )

    def checklist(self) -> list[ItemState]:
        """The go-live checklist now: proofs from the latest results, ticks from the store."""
        config = self.config
        return evaluate(
            config.checklist,
            self._tracker.latest(),
            probe_kinds=config.probe_kinds(),
            rules=config.rules,
            telemetry_configured=bool(config.telemetry.sentry_dsn),
            ticks=self._ticks,
        )

    async def set_checklist_item(self, item_id: str, ticked: bool) -> str:
        """A manual tick or untick: on disk and audited before it is shown."""
        self._refuse_if_read_only("checklist")
        item = next((i for i in self.config.checklist if i.id == item_id), None)
        if item is None:
            raise MonitorError(f"no checklist item {item_id!r}")
        verb = "ticked" if ticked else "unticked"
        store = self.store

        def write() -> dict[str, ChecklistTick]:
            store.set_checklist_item(item_id, ticked, self.operator)
            store.audit(self.operator, "checklist", item_id, verb, {"text": item.text})
            return store.checklist_items()

        self._ticks = await self._write(write)
        self._changed()
        return f"{verb} “{item.text}”"

    def series(self, probe: str, metric: str, points: int) -> list[float]:
        return self.history.series(probe, metric, points)

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def on_event(self, listener: Callable[[AlertEvent], None]) -> None:
        """Called for every alert event this process produces (the agent logs them)."""
        self._event_listeners.append(listener)

    def refresh_now(self, probe: str | None = None) -> None:
        self._scheduler.trigger(probe)

    async def check_once(self) -> list[ProbeResult]:
        """Every probe once, results fed through the engine (used by tests and `check`)."""
        results = await self._scheduler.run_once()
        for result in results:
            self._on_result(result)
        return results

    def _changed(self) -> None:
        for callback in self._subscribers:
            callback()

    # -- probes and the engine --------------------------------------------------

    async def first_results(self, timeout: float) -> None:
        """Wait until every probe has reported once, or for `timeout` seconds."""
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._all_reported.wait()

    def _on_result(self, result: ProbeResult) -> None:
        self.history.add(result)
        self._tracker.record(result)
        if self._unreported:
            self._unreported.discard(result.name)
            if not self._unreported:
                self._all_reported.set()
        if self._unsynced is not None:
            self._unsynced.append(result)  # the engine sees it once the lease is known
        elif self._leader:
            self._handle(self._engine.observe(result))
        self._changed()

    def _handle(self, events: list[AlertEvent]) -> None:
        if not events:
            return
        store = self.store
        self._submit(lambda: self._persist(store, events))
        self._alerts = tuple(self._engine.open_occurrences())
        self._silences = tuple(self._engine.silences())
        for event in events:
            for listener in self._event_listeners:
                listener(event)

    def _persist(self, store: Store, events: list[AlertEvent]) -> None:
        from console.notify.slack_message import render

        for event in events:
            store.save_occurrence(event.occurrence)
            store.record_event(event)
            for notification in event.notifications:
                payload = render(
                    notification,
                    environment=self.config.console.environment,
                    mentions=notification.mentions,
                )
                store.enqueue(notification, payload)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep ticking: one bad tick must not stop alerting
                log.exception("monitor tick failed: %s", exc)
            self._changed()

    async def sync(self) -> None:
        """Lease, intents, clock-driven transitions, and what followers read from the store."""
        store = self.store
        was_leader = self._leader
        self._leader = await self._write(lambda: store.acquire_lease(LEASE, self.holder, LEASE_TTL))
        if self._leader and not was_leader:
            occurrences, silences = await self._write(
                lambda: (store.open_occurrences(), store.silences())
            )
            self._engine.restore(occurrences, silences)
            self._start_notifier()
        early, self._unsynced = self._unsynced or [], None
        if self._leader:
            for result in early:  # in arrival order, after the restore: as if on time
                self._handle(self._engine.observe(result))
        if not self._leader and was_leader:
            await self._stop_notifier()
        if self._leader:
            await self._apply_intents()
            self._handle(self._engine.tick())
            self._alerts = tuple(self._engine.open_occurrences())
            self._silences = tuple(self._engine.silences())
        else:
            now = self.clock.now()
            alerts, silences = await self._write(
                lambda: (store.open_occurrences(), store.silences(active_at=now))
            )
            self._alerts = tuple(sorted(alerts, key=_alert_order))
            self._silences = tuple(silences)
        records, audit, health, pending, ticks = await self._write(
            lambda: (
                store.events(limit=60),
                store.audit_entries(limit=60),
                store.notification_health(),
                store.pending_notifications(),
                store.checklist_items(),
            )
        )
        self._ticks = ticks
        self._events = event_lines(records, audit)
        self._notifications = health
        self._pending_notifications = pending

    def _start_notifier(self) -> None:
        if not self.config.slack.webhook_url or self._notifier is not None:
            return
        from console.notify.slack import SlackNotifier

        # Delivery paces real requests (1/s, Retry-After), so it runs on real time even
        # when the engine runs on a test's fake clock.
        self._notifier = SlackNotifier(
            self.store, self.config.slack, self.config.secrets(), SystemClock(), self.holder
        )
        self._notifier_task = asyncio.create_task(self._notifier.run(), name="warroom-slack")

    async def _stop_notifier(self, flush_timeout: float | None = None) -> None:
        """Flush what is due (on shutdown), then stop: never cancelled mid-request.

        A request cancelled after Slack received it would stay claimed, undelivered,
        and be sent again once the claim expired.
        """
        notifier, task = self._notifier, self._notifier_task
        self._notifier, self._notifier_task = None, None
        if notifier is None:
            return
        try:
            if flush_timeout is not None:
                await notifier.flush(flush_timeout)  # takes turns with run() on its lock
        finally:
            await notifier.stop()  # run() finishes the request in flight, then returns
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)

    # -- operator intents ------------------------------------------------------

    async def acknowledge(self, occurrence_id: str, note: str = "") -> str:
        return await self._intent("ack", occurrence_id, note)

    async def unacknowledge(self, occurrence_id: str) -> str:
        return await self._intent("unack", occurrence_id)

    async def silence(self, matcher: Matcher, duration: float, comment: str) -> str:
        if duration <= 0:
            raise MonitorError("a silence needs a positive duration")
        now = self.clock.now()
        payload = {
            "id": uuid.uuid4().hex,
            "rule": matcher.rule,
            "probe": matcher.probe,
            "severity": matcher.severity,
            "starts_at": now,
            "ends_at": now + duration,
        }
        return await self._intent("silence", str(payload["id"]), comment, payload)

    async def lift_silence(self, silence_id: str) -> str:
        return await self._intent("lift", silence_id)

    async def _intent(
        self, kind: str, target: str, note: str = "", payload: dict[str, object] | None = None
    ) -> str:
        self._refuse_if_read_only(kind)
        store = self.store
        # Held from the write to the apply: a tick applying it in between would
        # leave this call without its outcome (a refusal reported as "recorded").
        async with self._intent_lock:
            intent_id = await self._write(
                lambda: store.add_intent(kind, target, self.operator, note, payload)  # type: ignore[arg-type]
            )
            if not self._leader:
                holder = await self._write(lambda: store.lease_holder(LEASE)) or "the engine"
                return f"{kind} recorded; {holder} applies it within a second"
            outcomes = await self._apply_pending()
        self._changed()
        outcome = outcomes.get(intent_id, f"{kind} recorded")
        if outcome.startswith("refused"):
            raise MonitorError(outcome)
        return outcome

    async def _apply_intents(self) -> dict[int, str]:
        async with self._intent_lock:
            return await self._apply_pending()

    async def _apply_pending(self) -> dict[int, str]:
        """Apply every pending intent, oldest first; outcomes by intent id (lock held)."""
        store = self.store
        outcomes: dict[int, str] = {}
        intents = await self._write(store.pending_intents)
        for intent in intents:
            outcome = self._apply(intent)
            outcomes[intent.id] = outcome
            await self._write(partial(self._record_intent, store, intent, outcome))
        return outcomes

    def _record_intent(self, store: Store, intent: Intent, outcome: str) -> None:
        store.mark_intent_applied(intent.id, outcome)
        store.audit(intent.author, intent.kind, intent.target, outcome, {"note": intent.note})

    def _apply(self, intent: Intent) -> str:
        try:
            if intent.kind in ("ack", "unack"):
                target = self._resolve(intent.target)
                if intent.kind == "ack":
                    event = self._engine.acknowledge(target, intent.author, intent.note)
                else:
                    event = self._engine.unacknowledge(target, intent.author)
                self._handle([event])
                return f"{event.kind.value} {event.occurrence.rule} on {event.occurrence.probe}"
            if intent.kind == "silence":
                silence = _silence_from(intent)
                self._handle(self._engine.add_silence(silence))
                self._submit(partial(self.store.save_silence, silence))
                return f"silenced {_describe(silence.matcher)} until {_clock(silence.ends_at)}"
            before = next((s for s in self._engine.silences() if s.id == intent.target), None)
            if before is None:
                return f"refused: no active silence {intent.target[:8]}"
            self._handle(self._engine.lift_silence(intent.target, intent.author))
            self._submit(
                partial(self.store.save_silence, replace(before, lifted_at=self.clock.now()))
            )
            return f"lifted silence {intent.target[:8]}"
        except (AlertError, KeyError, ValueError) as exc:
            return f"refused: {exc}"

    def _resolve(self, target: str) -> str:
        """A full occurrence id from an id or a unique prefix of an open one."""
        matches = [o.id for o in self._engine.open_occurrences() if o.id.startswith(target)]
        return matches[0] if len(matches) == 1 else target

    def _refuse_if_read_only(self, action: str) -> None:
        if self.read_only:
            raise MonitorError(f"read-only: {action} is disabled")

    # -- long actions ------------------------------------------------------------

    async def run_backup(self, progress: ProgressCallback, cancel: CancelToken) -> str:
        from console.actions.backup import run_backup

        return await self._run_action(
            "backup",
            lambda cb: run_backup(self.config, self.store, cb, cancel, self.operator).summary,
            progress,
            cancel,
        )

    async def run_drill(self, progress: ProgressCallback, cancel: CancelToken) -> str:
        from console.actions.drill import run_drill

        return await self._run_action(
            "drill",
            lambda cb: run_drill(self.config, self.store, cb, cancel, self.operator).summary,
            progress,
            cancel,
        )

    async def _run_action(
        self,
        action: str,
        work: Callable[[ProgressCallback], str],
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> str:
        self._refuse_if_read_only(action)
        current = self._actions.get(action)
        if current is not None and current.running:
            raise MonitorError(f"a {action} is already running")
        loop = asyncio.get_running_loop()
        self._cancels[action] = cancel
        self._set_action(action, running=True, progress=None)

        def report(update: Progress) -> None:
            # Called on the action's thread: hop to the loop before touching state.
            loop.call_soon_threadsafe(self._progress, action, update, progress)

        done = self._action_threads[action] = threading.Event()

        def run() -> str:
            try:
                return work(report)
            finally:
                done.set()

        try:
            summary = await asyncio.to_thread(run)
        except asyncio.CancelledError:
            # Whoever awaited it is gone (the app quitting): the thread is not, so it
            # is told to stop, and stop() waits for it before closing the store.
            cancel.cancel()
            raise
        except Cancelled:
            self._set_action(action, running=False, outcome="cancelled", ok=False)
            raise
        except Exception as exc:
            # Not every failure is the action's own (scrubbed) BackupFailed/DrillFailed:
            # psycopg quotes a DSN's bad password token back from libpq_target.
            reason = one_line((str(exc) or type(exc).__name__).splitlines()[0], self._secrets)
            self._set_action(action, running=False, outcome=f"failed: {reason}", ok=False)
            raise MonitorError(reason) from exc
        finally:
            self._cancels.pop(action, None)
            if any(p.name == "backups" for p in self._probes):
                self.refresh_now("backups")  # the status probe shows what just changed
        self._set_action(action, running=False, outcome=summary, ok=True)
        return summary

    def _progress(self, action: str, update: Progress, forward: ProgressCallback) -> None:
        self._set_action(action, running=True, progress=update)
        forward(update)

    def _set_action(
        self,
        action: str,
        *,
        running: bool,
        progress: Progress | None = None,
        outcome: str | None = None,
        ok: bool | None = None,
    ) -> None:
        previous = self._actions.get(action)
        self._actions[action] = ActionView(
            action=action,  # type: ignore[arg-type]
            running=running,
            progress=progress,
            last_outcome=outcome
            if outcome is not None
            else (previous.last_outcome if previous else None),
            last_ok=ok if ok is not None else (previous.last_ok if previous else None),
        )
        self._changed()

    def action_running(self) -> str | None:
        return next((a for a, v in self._actions.items() if v.running), None)

    def cancel_action(self, action: str) -> bool:
        token = self._cancels.get(action)
        if token is None:
            return False
        token.cancel()
        return True

    # -- the writer thread -------------------------------------------------------

    async def _write(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, work)

    def _submit(self, work: Callable[[], object]) -> None:
        """Fire-and-forget store work, still in order with every other write."""
        future = self._writer.submit(work)
        future.add_done_callback(_log_failure)


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        # With its traceback: which write (occurrence, event, outbox row) was lost.
        log.error("state write failed: %s", exc, exc_info=exc)


def _alert_order(occ: Occurrence) -> tuple[str, float]:
    return (occ.severity, occ.started_at)


def _silence_from(intent: Intent) -> Silence:
    payload = intent.payload
    return Silence(
        id=str(payload["id"]),
        matcher=Matcher(
            rule=str(payload.get("rule", "*")),
            probe=str(payload.get("probe", "*")),
            severity=str(payload.get("severity", "*")),
        ),
        starts_at=float(payload["starts_at"]),  # type: ignore[arg-type]
        ends_at=float(payload["ends_at"]),  # type: ignore[arg-type]
        author=intent.author,
        comment=intent.note,
    )


def _describe(matcher: Matcher) -> str:
    fields = (("rule", matcher.rule), ("probe", matcher.probe), ("severity", matcher.severity))
    return " ".join(f"{k}={v}" for k, v in fields if v not in ("*", "")) or "everything"


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def create_monitor(
    config: Config,
    *,
    clock: Clock | None = None,
    probes: Sequence[Probe] | None = None,
    read_only: bool = False,
) -> Monitor:
    """The one factory the CLI, the agent and the tests use."""
    closers: list[Callable[[], Awaitable[None]]] = []
    if probes is None:
        from probes.factory import build_probes
        from probes.http_client import HttpClients

        clients = HttpClients()
        closers.append(clients.aclose)
        probes = build_probes(config, clients)
    return Monitor(
        config, probes, clock=clock or SystemClock(), read_only=read_only, closers=closers
    )
