"""Coordinators from a Slack user group: read from Slack, kept when Slack cannot be reached."""
from __future__ import annotations

from slack_sdk import WebClient

import bot.coordinators
from bot.coordinators import Coordinators
from tests.slack.fake_slack import FakeSlack


def test_group_members_are_coordinators_and_stay_so_while_slack_is_unreachable(monkeypatch):
    with FakeSlack() as slack:
        slack.usergroups["S0ENABLE"] = ["U0COORD"]
        coordinators = Coordinators(("U0LISTED",), "S0ENABLE", WebClient(token="xoxb-0001-test-token", base_url=slack.api_url))
        assert "U0COORD" in coordinators and "U0LISTED" in coordinators and "U0REP1" not in coordinators
        monkeypatch.setattr(bot.coordinators, "GROUP_TTL", -1)  # ask Slack on every check
        slack.refuse("usergroups.users.list", None)  # the network fails: no answer at all
        assert "U0COORD" in coordinators and "U0REP1" not in coordinators  # the last known members, no exception
        slack.allow()
        slack.usergroups["S0ENABLE"] = ["U0REP1"]
        assert "U0REP1" in coordinators and "U0COORD" not in coordinators
