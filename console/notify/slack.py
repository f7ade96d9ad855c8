"""Slack delivery from the persisted outbox.

What to notify (severity floor, mentions, acknowledgements) is the alert engine's
decision; rows arrive here already rendered by `slack_message.render`.

Delivery guarantees (with `Store`'s outbox): a notification is stored once per key,
claimed by one holder at a time, and marked delivered right after Slack answers
200. The one window for a duplicate is a holder dying (or `flush` timing out)
between that answer and `mark_delivered`; the claim then expires and the row is
sent again. Nothing is retried after a definite "no" (400/403/404/410...).

Secrets: the webhook URL (whose path is the credential) and every configured
secret are scrubbed from payloads before they are sent, and from errors before
they are stored, audited or logged (the wire client's errors name the host and
port, never the path; a logging filter scrubs this module's log lines as well).

The POST goes through the probes' HTTP/1.1 client (`probes.http_wire`): importing
httpx and building its client cost the console ~0.1 s before its first frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus

from console.clock import Clock
from console.config.model import SlackConfig
from console.config.secret import Secret, scrub
from console.state import OutboxRow, Store
from console.state.masking import ScrubFilter, plain
from probes.http_client import retry_after
from probes.http_wire import (
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    Request,
    WireClient,
    WireError,
)

log = logging.getLogger(__name__)

MIN_INTERVAL = 1.0  # Slack allows about one message per second per webhook
POLL_INTERVAL = 1.0
BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0
ERROR_TEXT_LIMIT = 120
ANSWER_LIMIT = 64 * 1024  # Slack answers "ok" or a short error code
_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None  # None: no HTTP answer (timeout, connection error)
    error: str  # "403 invalid_token", "timeout", ... ("" when delivered)
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in (408, 429) or self.status >= 500


class SlackNotifier:
    def __init__(
        self,
        store: Store,
        config: SlackConfig,
        secrets: list[Secret],
        clock: Clock,
        holder: str,
        client: WireClient | None = None,
        *,
        poll_interval: float = POLL_INTERVAL,
        min_interval: float = MIN_INTERVAL,
        rng: random.Random | None = None,
    ) -> None:
        if not config.webhook_url:
            raise ValueError("slack.webhook_url is not set")
        self._webhook = config.webhook_url
        self._config = config
        self._secrets = [*secrets, config.webhook_url]
        self._store = store
        self._clock = clock
        self._holder = holder
        self._poll = poll_interval
        self._min_interval = min_interval
        self._rng = rng or random.Random()
        self._own_client = client is None
        # One connection, kept alive between messages (they go one at a time); its
        # trust store loads on the first https request, not before the first frame.
        self._client = client or WireClient(verify=True, per_origin=1)
        try:  # the URL is checked once here, so no request built later can fail on it
            Request.build("POST", config.webhook_url.reveal(), _HEADERS)
        except ValueError:
            raise ValueError("slack.webhook_url is not an http(s) URL") from None  # no echo
        self._next_send = float("-inf")  # monotonic: earliest start of the next request
        self._paused_until = float("-inf")  # monotonic: end of a 429 Retry-After pause
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._running = False
        self._lock = asyncio.Lock()
        self._log_filter = ScrubFilter(self._secrets)
        log.addFilter(self._log_filter)
        store.register_secrets(self._secrets)

    async def run(self) -> None:
        """Deliver due rows until `stop()`; errors are logged and the loop carries on."""
        self._running = True
        self._finished.clear()
        try:
            while not self._stopping.is_set():
                try:
                    attempted = await self._deliver_one(respect_stop=True)
                except Exception:
                    log.exception("slack: delivery loop error")
                    attempted = False
                if not attempted:
                    await self._pause(self._poll, respect_stop=True)
        finally:
            self._running = False
            self._finished.set()

    async def flush(self, timeout: float) -> None:
        """Deliver what is due now, for shutdown; call before `stop()`."""
        try:
            async with asyncio.timeout(timeout):
                while await self._deliver_one(respect_stop=False):
                    pass
        except TimeoutError:
            log.warning("slack: flush timed out; undelivered rows stay in the outbox")

    async def stop(self) -> None:
        self._stopping.set()
        if self._running:
            await self._finished.wait()
        if self._own_client:
            await self._client.aclose()
        log.removeFilter(self._log_filter)

    async def _deliver_one(self, *, respect_stop: bool) -> bool:
        """Claim and attempt one due row; False when none was due (or stopping)."""
        async with self._lock:
            # A 429 pause is waited out before claiming: a claim must never be held
            # for longer than Retry-After could be, or it would expire under us.
            if not await self._wait_until(self._paused_until, respect_stop=respect_stop):
                return False
            rows = await asyncio.to_thread(
                self._store.claim_due, self._holder, self._clock.now(), 1
            )
            if not rows:
                return False
            row = rows[0]
            if not await self._wait_until(self._next_send, respect_stop=respect_stop):
                await asyncio.to_thread(self._store.release_claim, row.key, self._holder)
                return False
            self._next_send = self._clock.monotonic() + self._min_interval
            answer = await self._post(row)
            if answer.retry_after is not None:
                # The limit is the webhook's, not the row's: hold every message back.
                self._paused_until = self._clock.monotonic() + answer.retry_after
            await asyncio.to_thread(self._settle, row, answer)
            return True

    async def _wait_until(self, monotonic: float, *, respect_stop: bool) -> bool:
        """Sleep until the clock reaches `monotonic`; False if stopped meanwhile."""
        while (wait := monotonic - self._clock.monotonic()) > 0:
            if respect_stop and self._stopping.is_set():
                return False
            await self._pause(min(wait, self._poll), respect_stop=respect_stop)
        return not (respect_stop and self._stopping.is_set())

    async def _pause(self, seconds: float, *, respect_stop: bool) -> None:
        if not respect_stop:
            await asyncio.sleep(seconds)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _post(self, row: OutboxRow) -> _Answer:
        body = json.dumps(plain(row.payload, self._secrets), ensure_ascii=False).encode()
        request = Request.build("POST", self._webhook.reveal(), _HEADERS, body)
        try:
            response = await self._client.send(
                request,
                timeout=self._config.timeout,
                body_limit=ANSWER_LIMIT,
                follow_redirects=False,
            )
        except (ConnectTimeout, ReadTimeout, PoolTimeout) as exc:
            return _Answer(None, scrub(f"timeout ({exc})", self._secrets))
        except WireError as exc:
            return _Answer(None, scrub(f"connection error ({exc})", self._secrets))
        status = response.status
        text = scrub(response.body.decode("utf-8", "replace").strip(), self._secrets)
        if 200 <= status < 300 and text != "ok":
            log.warning("slack: accepted with unexpected answer %r", text[:ERROR_TEXT_LIMIT])
        reason = (text.splitlines() or [_phrase(status)])[0][:ERROR_TEXT_LIMIT]
        return _Answer(
            status,
            f"{status} {reason}".strip(),
            retry_after(response.headers, 1.0) if status == 429 else None,
        )

    def _settle(self, row: OutboxRow, answer: _Answer) -> None:
        """Record the outcome of one attempt (runs in a worker thread)."""
        if answer.delivered:
            self._store.mark_delivered(row.key)  # first: the duplicate window ends here
            log.info("slack: delivered %s (attempt %d)", row.key, row.attempts)
            return
        now = self._clock.now()
        give_up_at = row.created_at + self._config.give_up_after
        if answer.retryable and now < give_up_at:
            delay = answer.retry_after if answer.retry_after is not None else self._backoff(row)
            self._store.mark_retry(row.key, min(now + delay, give_up_at), answer.error)
            log.warning("slack: %s for %s, retrying in %.1fs", answer.error, row.key, delay)
            return
        outcome = (
            f"gave up after {row.attempts} attempts: {answer.error}"
            if answer.retryable
            else f"failed: {answer.error}"
        )
        self._store.mark_failed(row.key, answer.error)
        self._store.audit(
            self._holder,
            "notify",
            row.key,
            outcome,
            {"kind": row.kind, "occurrence": row.occurrence_id, "severity": row.severity},
        )
        log.error("slack: %s %s", row.key, outcome)

    def _backoff(self, row: OutboxRow) -> float:
        """Exponential in the attempt number, with jitter so two holders don't align."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (row.attempts - 1))
        return ceiling * (0.5 + self._rng.random() / 2)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
