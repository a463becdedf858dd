"""Who may review content gaps: user ids from KB_COORDINATORS, or members of a Slack user group."""
from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger("bot.coordinators")
GROUP_TTL = 300  # seconds a user group's member list is trusted before asking Slack again


class Coordinators:
    def __init__(self, user_ids: tuple[str, ...], group: str | None, client: WebClient):
        self.user_ids = frozenset(user_ids)
        self.group = group
        self.client = client
        self._members: frozenset[str] = frozenset()
        self._fetched = 0.0
        self._lock = threading.Lock()

    def __contains__(self, user_id: str) -> bool:
        return user_id in self.user_ids or (self.group is not None and user_id in self._group_members())

    def _group_members(self) -> frozenset[str]:
        with self._lock:
            if time.monotonic() - self._fetched > GROUP_TTL:
                try:
                    users = self.client.usergroups_users_list(usergroup=self.group)["users"]
                    self._members, self._fetched = frozenset(users), time.monotonic()
                except (SlackClientError, OSError, KeyError, TypeError) as exc:  # Slack refused, the network failed:
                    # keep the last known members rather than lock everyone out, or fail the click with no reply
                    reason = exc.response.get("error") if isinstance(exc, SlackApiError) else f"{type(exc).__name__}: {exc}"
                    log.warning("Could not read user group %s: %s", self.group, reason)
            return self._members
