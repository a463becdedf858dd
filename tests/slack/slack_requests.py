"""Signed requests in Slack's own formats, sent to the app over HTTP."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99b1e2c2a5a5"
TEAM = "T0001"
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Posts to the app at `url` exactly as Slack does: signed, with Slack's headers and bodies."""

    def __init__(self, url: str, response_url: str):
        self.url = url
        self.response_url = response_url

    def post(self, body: bytes, content_type: str, *, headers: dict | None = None, secret: str = SIGNING_SECRET,
             timestamp: int | None = None, signed: bool = True) -> Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        h = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
        if signed:
            h["X-Slack-Signature"] = signature(body, ts, secret)
        h.update(headers or {})
        request = urllib.request.Request(self.url, data=body, headers=h, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return Response(r.status, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read())

    def command(self, command: str, text: str, user: str = "U0REP1", channel: str = "C0SALES", **kw) -> Response:
        return self.post(self.command_body(command, text, user, channel), FORM, **kw)

    def command_body(self, command: str, text: str, user: str = "U0REP1", channel: str = "C0SALES") -> bytes:
        form = {
            "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "example",
            "channel_id": channel, "channel_name": "sales", "user_id": user, "user_name": "rep",
            "command": command, "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
            "response_url": self.response_url, "trigger_id": f"trigger.{next(_ids)}",
        }
        return urlencode(form).encode()

    def event(self, event: dict, event_id: str | None = None, **kw) -> Response:
        body = {
            "token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0001",
            "event": event, "type": "event_callback", "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-context",
        }
        return self.post(json.dumps(body).encode(), "application/json", **kw)

    def mention(self, text: str, user: str = "U0REP1", channel: str = "C0SALES", ts: str | None = None,
                thread_ts: str | None = None, **kw) -> Response:
        """`@bot text`; with `thread_ts`, a reply in that thread (e.g. a follow-up under the bot's answer)."""
        ts = ts or f"1700000100.{next(_ids):06d}"
        event = {"type": "app_mention", "user": user, "text": f"<@UBOT0001> {text}", "ts": ts, "channel": channel, "event_ts": ts,
                 **({"thread_ts": thread_ts} if thread_ts else {})}
        return self.event(event, **kw)

    def dm(self, text: str, user: str = "U0REP1", channel: str = "D0REP1", **extra) -> Response:
        ts = f"1700000200.{next(_ids):06d}"
        event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts, "channel_type": "im", **extra}
        return self.event(event)

    def channel_message(self, text: str, user: str = "U0EXPERT", channel: str = "C0EXPERTS", thread_ts: str | None = None, **extra) -> Response:
        """A plain message in a channel the bot is in (message.channels), e.g. a reply in a thread."""
        ts = f"1700000300.{next(_ids):06d}"
        event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts,
                 "channel_type": "channel", **({"thread_ts": thread_ts} if thread_ts else {}), **extra}
        return self.event(event)

    def message_shortcut(self, callback_id: str, message: dict, user: str = "U0REP1", channel: str = "C0SALES") -> Response:
        """A message shortcut (the message's ⋮ menu), as Slack posts it: a form-encoded `message_action`."""
        payload = {
            "type": "message_action", "callback_id": callback_id, "team": {"id": TEAM, "domain": "example"},
            "user": {"id": user, "username": "someone", "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy-verification-token", "trigger_id": f"trigger.{next(_ids)}",
            "channel": {"id": channel, "name": "sales"}, "message_ts": message.get("ts"), "message": message,
            "response_url": self.response_url, "action_ts": str(time.time()),
        }
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")

    def click(self, action_id: str, value: str, user: str = "U0REP1", channel: str = "C0SALES", message: dict | None = None) -> Response:
        payload = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "example"},
            "user": {"id": user, "username": "rep", "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy-verification-token", "trigger_id": f"trigger.{next(_ids)}",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel, "is_ephemeral": message is None},
            "channel": {"id": channel, "name": "sales"}, "response_url": self.response_url,
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": str(time.time())}],
        }
        if message is not None:
            payload["message"] = message
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")

    def home_click(self, action_id: str, value: str, user: str = "U0REP1") -> Response:
        """A button on the App Home tab, as Slack posts it: the view as container, and no response_url."""
        payload = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "example"},
            "user": {"id": user, "username": "someone", "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy-verification-token", "trigger_id": f"trigger.{next(_ids)}",
            "container": {"type": "view", "view_id": "V0HOME"},
            "view": {"id": "V0HOME", "team_id": TEAM, "type": "home", "blocks": [], "private_metadata": "",
                     "callback_id": "", "hash": "h", "app_id": "A0001", "bot_id": "B0001"},
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": str(time.time())}],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def view_submission(sender: SlackSender, callback_id: str, values: dict, private_metadata: str, user: str) -> Response:
    """A modal's submit, as Slack posts it (form-encoded `payload`)."""
    payload = {
        "type": "view_submission", "team": {"id": TEAM, "domain": "example"},
        "user": {"id": user, "username": "coordinator", "team_id": TEAM}, "api_app_id": "A0001",
        "token": "legacy-verification-token", "trigger_id": f"trigger.{next(_ids)}",
        "view": {"id": "V0001", "team_id": TEAM, "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "state": {"values": values}, "hash": "h"},
        "response_urls": [],
    }
    return sender.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")
