"""Work after the ack: bounded thread pools, so an ack never waits behind searches or Web API calls.

Listeners run in the server's request thread (Bolt's `process_before_response=True`): they store what
the user sent, ack, and hand the slow part (search, Web API calls, `respond`) to `Work.later`.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Callable

log = logging.getLogger("bot.work")

WORKERS = 8  # searches are CPU-bound but Web API calls wait on Slack: a few more threads than cores
BACKLOG = 200  # jobs waiting beyond the workers; past this, people hear "I'm swamped" at once
NOTICE_WORKERS = 2  # "I'm swamped" replies: one Web API call each, never behind the backlog
# One person's questions searched or waiting at once: a script posting from one account every second must
# not fill the backlog and leave everyone else "swamped". A rep asking fast has at most a few in flight.
PER_ASKER = 3
SWAMPED = "I'm swamped right now. Your question is saved; please try again in a minute."


class Pool:
    """`workers` threads and at most `backlog` waiting jobs; `submit` refuses instead of queueing more."""

    def __init__(self, name: str, workers: int, backlog: int):
        self.name = name
        self._slots = threading.BoundedSemaphore(workers + backlog)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def submit(self, job: Callable[[], object]) -> bool:
        """Start `job` on a worker, or queue it; False (and nothing queued) when the backlog is full."""
        if not self._slots.acquire(blocking=False):
            return False
        try:
            self._executor.submit(self._run, job)
        except RuntimeError:  # shut down
            self._slots.release()
            return False
        return True

    def _run(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:
            # Jobs send their own apology; this keeps a bug from vanishing with its thread.
            log.exception("A job in the %s pool failed", self.name)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class Work:
    """Where listeners put what must not delay the ack, and the short reply when that is full."""

    def __init__(self, workers: int = WORKERS, backlog: int = BACKLOG):
        self.pool = Pool("work", workers, backlog)
        self.notices = Pool("notice", NOTICE_WORKERS, backlog)
        self.backlog = backlog
        self._warned: dict[str, float] = {}  # kind of warning -> when last logged
        self._in_flight: dict[str, int] = {}  # asker -> jobs queued or running
        self._lock = threading.Lock()

    def later(self, job: Callable[[], object], busy: Callable[[], object] | None = None, asker: str | None = None) -> bool:
        """Run `job` after the ack; if the backlog is full, or `asker` has PER_ASKER jobs in flight, run `busy`
        (a short reply) instead and say False."""
        if asker is not None and not self._begin(asker):
            self._warn("asker", "%s has %d questions in flight: replying 'swamped' to the next", asker, PER_ASKER)
        elif self.pool.submit(job if asker is None else partial(self._run_for, asker, job)):
            return True
        else:
            if asker is not None:
                self._end(asker)
            self._log_full()
        if busy is not None and not self.notices.submit(busy):
            log.warning("The notice backlog is full too: a busy reply was dropped (the question is stored)")
        return False

    def _begin(self, asker: str) -> bool:
        with self._lock:
            if self._in_flight.get(asker, 0) >= PER_ASKER:
                return False
            self._in_flight[asker] = self._in_flight.get(asker, 0) + 1
            return True

    def _end(self, asker: str) -> None:
        with self._lock:
            left = self._in_flight.pop(asker) - 1
            if left:
                self._in_flight[asker] = left

    def _run_for(self, asker: str, job: Callable[[], object]) -> None:
        try:
            job()
        finally:
            self._end(asker)

    def notice(self, reply: Callable[[], object]) -> None:
        """Send a short reply (a Web API call) off the request thread, never behind the slow work."""
        if not self.notices.submit(reply):
            log.warning("The notice backlog is full: a short reply was dropped")

    def _log_full(self) -> None:
        self._warn("full", "The work backlog is full (%d waiting): replying 'swamped' to new requests", self.backlog)

    def _warn(self, kind: str, message: str, *args) -> None:
        """Log at most once a minute per kind: enough to see it, not once per request of a flood."""
        now = time.monotonic()
        if kind not in self._warned or now - self._warned[kind] >= 60:
            self._warned[kind] = now
            log.warning(message, *args)

    def shutdown(self) -> None:
        self.pool.shutdown()
        self.notices.shutdown()
