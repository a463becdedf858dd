"""The loop that closes content gaps (after every re-index, ask open gaps again and DM who asked), relays
the experts' answers a failed relay left owed, and sends the weekly verification nudges to owners of stale
documents."""
from __future__ import annotations

import logging
import socket
import threading

from slack_sdk import WebClient

from bot.expert_relay import relay_owed
from bot.notify import send_pending
from bot.nudges import send_nudges
from knowledge.answer import KnowledgeBase
from knowledge.digest import STALE_DAYS
from knowledge.experts import Experts
from knowledge.gaps import Gaps
from knowledge.state import StateDB

log = logging.getLogger("bot.watcher")
RECHECKED = "gaps_rechecked_build"


class GapWatcher:
    """Polls the index; a new build triggers a gap recheck. Pending DMs (e.g. from `kb gaps resolve`) and experts'
    answers still owed to reps go out too, and, with `nudges`, each owner of documents stale for `stale_days`
    gets this week's nudge (`kb serve` passes KB_NUDGES and KB_STALE_DAYS)."""

    def __init__(self, kb: KnowledgeBase, gaps: Gaps, state: StateDB, client: WebClient, interval: float = 30.0,
                 retention_days: int | None = None, host: str | None = None, nudges: bool = False,
                 stale_days: int = STALE_DAYS):
        self.kb, self.gaps, self.state, self.client = kb, gaps, state, client
        self.experts = Experts(state, gaps)
        # Each machine builds its own index (its own build names) and several may share one state DB:
        # the last build rechecked is remembered per machine, or they would recheck each other's every tick.
        self.rechecked = f"{RECHECKED}:{host or socket.gethostname()}"
        self.interval = interval
        self.retention_days = retention_days
        self.nudges, self.stale_days = nudges, stale_days
        self._stop = threading.Event()

    def tick(self) -> None:
        build = self.kb.index.get().dir.name  # opening the new build here also swaps it in for the bot
        if self.state.get_meta(self.rechecked) != build:
            now_answerable = self.gaps.recheck(self.kb)
            self.state.set_meta(self.rechecked, build)
            if now_answerable:
                log.info("Index %s answers %d open gap(s): %s", build, len(now_answerable), now_answerable)
        send_pending(self.client, self.gaps, self.kb)
        relay_owed(self.client, self.experts)  # cheap: one indexed SELECT, unless a relay failed
        if self.retention_days:
            self.state.forget_old_questions(self.retention_days)  # cheap: one indexed UPDATE
        self.state.forget_old_events()  # a day's event ids at most
        if self.nudges:
            send_nudges(self.client, self.state, self.kb, self.stale_days)  # a SELECT, unless a nudge is owed

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("Gap watcher tick failed; trying again in %ss", self.interval)
            self._stop.wait(self.interval)

    def start(self) -> "GapWatcher":
        threading.Thread(target=self.run, name="gap-watcher", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
