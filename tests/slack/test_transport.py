"""Slack's transport rules through `kb serve --http` as a real process: acks in time under any queue,
only signed requests reach Bolt, garbage gets a polite reply, and a burst does not flood the log."""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import pytest

from bot.payloads import BROKEN_BUTTON
from bot.server import SeenSignatures, _OncePerMinute
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import FORM, SIGNING_SECRET, SlackSender, view_submission
from tests.slack.test_serve import KB, free_port

DEADLINE = 3.0  # Slack's hard limit for an ack: later, the user sees an error (not a speed claim)
SLOW = 1.0  # seconds the fake Web API and response_url take to answer


@contextmanager
def kb_serve(tmp_path, index, slack: FakeSlack, **settings: str):
    """`kb serve --http` on the sample index against `slack` (plus `settings`, e.g. KB_EXPERTS_CHANNEL); yields its sender and its log file."""
    port, log_path = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "PORT": str(port), "KB_INDEX_DIR": str(index), "KB_STATE_DB": str(tmp_path / "state.db"),
           "SLACK_BOT_TOKEN": "xoxb-0001-test-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url, **settings}
    env.pop("SLACK_APP_TOKEN", None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(KB), "serve", "--http", "--host", "127.0.0.1"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}/healthz", log_path)
            yield SlackSender(f"http://127.0.0.1:{port}/slack/events", slack.response_url()), log_path
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def wait_healthy(proc: subprocess.Popen, url: str, log_path=None) -> None:
    """Return once `kb serve`'s health check answers; fail with the end of its log if it never does."""
    deadline = time.monotonic() + 120  # the model loads first (two at once on a shared CI box)
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(url, timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.2)
    log = log_path.read_text()[-2000:] if log_path else ""
    raise AssertionError(f"kb serve did not come up (exit code {proc.poll()}): {log}")


@pytest.fixture(scope="module")
def slow(tmp_path_factory, sample_index):
    """`kb serve` whose Slack answers every Web API call and response_url post in one second."""
    with FakeSlack(latency=SLOW) as slack, kb_serve(tmp_path_factory.mktemp("slow"), sample_index, slack) as (send, log):
        send.command("/ask", "warm up")  # the first search pays for lazy loading; not what is measured
        slack.wait_for("response_url", timeout=60)
        yield send, slack, log


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_index):
    with FakeSlack() as slack, kb_serve(tmp_path_factory.mktemp("served"), sample_index, slack) as (send, log):
        yield send, slack, log


def timed(call) -> tuple[float, int]:
    start = time.monotonic()
    status = call().status
    return time.monotonic() - start, status


def at_once(calls: list) -> list[tuple[float, int]]:
    """Send every request at the same moment, as a burst from Slack; (seconds to the ack, status) each."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(timed, calls))


def test_twenty_asks_at_once_against_a_slow_slack_are_all_acked_in_time_and_answered(slow):
    send, slack, _ = slow
    before = len(slack.of("response_url"))
    acks = at_once([lambda n=n: send.command("/ask", f"who approves a {n + 10}% discount", user=f"U0REP{n:03d}") for n in range(20)])
    assert [status for _, status in acks] == [200] * 20
    late = [round(t, 2) for t, _ in acks if t >= DEADLINE]
    assert not late, f"acks past Slack's 3 s deadline: {late}"
    replies = slack.wait_for("response_url", count=before + 20, timeout=60)[before:]
    assert all("discount-approval-levels" in json.dumps(r.body) for r in replies)


def test_an_ask_behind_fifty_mentions_in_flight_is_acked_in_time_and_everything_is_answered(slow):
    send, slack, _ = slow
    posts, replies = len(slack.of("chat.postMessage")), len(slack.of("response_url"))
    acks = at_once([lambda n=n: send.mention(f"what is the uptime sla, take {n}", user=f"U0REP{n:03d}") for n in range(50)])
    assert [status for _, status in acks] == [200] * 50
    took, status = timed(lambda: send.command("/ask", "how long is the renewal notice period"))
    assert status == 200 and took < DEADLINE, f"/ask behind 50 mentions acked after {took:.2f} s"
    assert not [t for t, _ in acks if t >= DEADLINE]
    slack.wait_for("response_url", count=replies + 1, timeout=60)
    answers = slack.wait_for("chat.postMessage", count=posts + 50, timeout=60)[posts:]
    assert all("availability-and-sla" in json.dumps(a.body.get("blocks")) for a in answers)


UNSIGNED = {
    "truncated JSON": (b'{"x', "application/json"),
    "invalid UTF-8": (b"\xff\xfe\xfa payload=\xc3", "application/x-www-form-urlencoded"),
    "payload that is not JSON": (b"payload=notjson", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("body, content_type", UNSIGNED.values(), ids=UNSIGNED.keys())
@pytest.mark.parametrize("how", ["unsigned", "wrong secret", "stale", "timestamp not a number"])
def test_unsigned_or_stale_garbage_is_401_in_one_short_log_line(served, body, content_type, how):
    send, _, log = served
    kw = {"unsigned": {"signed": False}, "wrong secret": {"secret": "0" * 32},
          "stale": {"timestamp": int(time.time()) - 6 * 60}, "timestamp not a number": {"headers": {"X-Slack-Request-Timestamp": "soon"}}}[how]
    r, logged = post_logged(send, log, body, content_type, **kw)
    assert r.status == 401
    assert_short(logged)


SIGNED_GARBAGE = {
    "truncated JSON": (b'{"x', "application/json"),
    "a JSON list": (b"[1, 2]", "application/json"),
    "payload that is not JSON": (b"payload=notjson", "application/x-www-form-urlencoded"),
    "payload that is a string": (b"payload=%22hi%22", "application/x-www-form-urlencoded"),
    "event that is a string": (b'{"type": "event_callback", "event": "garbage"}', "application/json"),
    "actions that are not objects": (b'payload={"type": "block_actions", "actions": [1]}', "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("body, content_type", SIGNED_GARBAGE.values(), ids=SIGNED_GARBAGE.keys())
def test_signed_but_malformed_bodies_are_400_in_one_short_log_line(served, body, content_type):
    send, _, log = served
    r, logged = post_logged(send, log, body, content_type)
    assert r.status == 400
    assert_short(logged)


def test_a_signed_request_sent_again_is_not_served_again(served):
    """A captured request stays validly signed for five minutes; sent again, it must not ask again."""
    send, slack, log = served
    sender = SlackSender(send.url, slack.response_url("replayed"))
    body, now = sender.command_body("/ask", "what is the uptime SLA"), int(time.time())
    assert sender.post(body, FORM, timestamp=now).status == 200
    wait_for_path(slack, sender.response_url, timeout=60)
    again, logged = post_logged(sender, log, body, FORM, timestamp=now)
    assert (again.status, again.body) == (200, b"")
    assert "repeat of a signed request" in logged
    assert_short(logged)
    # The same question in a new request is answered: only the copy was refused.
    assert sender.command("/ask", "what is the uptime SLA").status == 200
    deadline = time.monotonic() + 60
    while len(wait_for_path(slack, sender.response_url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # a second answer to the copy, had it been queued, lands by now
    assert len(wait_for_path(slack, sender.response_url)) == 2


def test_signatures_are_remembered_for_the_window_and_no_more_than_the_limit():
    seen = SeenSignatures(window=300)
    assert seen.first("a", 1000, now=1000)
    assert not seen.first("a", 1000, now=1299)  # a repeat within the window
    assert seen.first("b", 1300, now=1301) and seen.first("a", 1000, now=1302)  # out of it: forgotten
    full = SeenSignatures(window=300, limit=2)
    assert full.first("x", 1000, now=1000) and full.first("y", 1000, now=1000) and full.first("z", 1000, now=1000)
    assert not full.first("z", 1000, now=1000) and full.first("x", 1000, now=1000)  # "x" made room for "z"


def refused_from_length(send: SlackSender, length: int, sent: bytes = b"") -> bytes:
    """The first bytes of the reply to a POST that claims `length` bytes of body and sends only `sent`.

    The body is not sent: the server answers a too-long one from its header and closes, and a client still
    sending would be reset (losing the reply) on a busy machine."""
    url = urlsplit(send.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(f"POST {url.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {length}\r\n\r\n".encode() + sent)
        return s.recv(64)


def test_a_body_over_a_megabyte_is_413(served):
    send, _, log = served
    start = log.stat().st_size
    assert refused_from_length(send, (1 << 20) + 1).startswith(b"HTTP/1.1 413")
    time.sleep(0.2)  # a log line, if any, lands
    with open(log, "rb") as f:
        f.seek(start)
        assert_short(f.read().decode("utf-8", "replace"))


def test_a_huge_body_is_refused_from_its_length_before_it_is_sent(served):
    """Waitress's default reads up to 1 GB into a temporary file before the app may refuse it."""
    send, _, _ = served
    assert refused_from_length(send, 300 << 20, b"{" * 1024).startswith(b"HTTP/1.1 413")  # with 300 MB unsent


def post_logged(send: SlackSender, log, body: bytes, content_type: str, **kw):
    """Post one request; return the response and what the server logged meanwhile."""
    start = log.stat().st_size
    r = send.post(body, content_type, **kw)
    time.sleep(0.2)  # let the log line land
    with open(log, "rb") as f:
        f.seek(start)
        return r, f.read().decode("utf-8", "replace")


def assert_short(logged: str) -> None:
    assert "Traceback" not in logged and len(logged.splitlines()) <= 1 and len(logged) < 300, logged


GARBAGE_CLICKS = [("feedback_helpful", "garbage"), ("feedback_not_helpful", ""), ("share_answer", "12abc"),
                  ("gap_ignore", "1.5"), ("gap_resolve", "-3"), ("feedback_helpful", None)]


@pytest.mark.parametrize("action_id, value", GARBAGE_CLICKS)
def test_a_button_with_a_garbage_value_gets_a_polite_private_line(served, action_id, value):
    send, slack, log = served
    url = slack.response_url(f"garbage-{action_id}-{value}")
    before = log.stat().st_size
    r = click(SlackSender(send.url, url), action_id, value)
    assert r.status == 200
    reply = next(c for c in wait_for_path(slack, url))
    assert reply.body == {"replace_original": False, "response_type": "ephemeral", "text": BROKEN_BUTTON}
    assert "Traceback" not in log.read_text()[before:]


@pytest.mark.parametrize("metadata", ["{not json", "[]", json.dumps({"gap_id": "seven"}), ""])
def test_a_resolve_form_with_broken_metadata_is_answered_in_the_form(served, metadata):
    send, _, log = served
    values = {"doc_paste": {"value": {"type": "plain_text_input", "value": "products/pricing.md"}}}
    r = view_submission(send, "gap_resolve", values, metadata, "U0COORD")
    assert r.status == 200
    assert r.json() == {"response_action": "errors", "errors": {"doc_paste": "This form is out of date. Close it and click Resolve on the gap again."}}


def click(send: SlackSender, action_id: str, value: str | None):
    """A signed block_actions click; `value` None leaves the field out, as a broken client might."""
    action = {"action_id": action_id, "block_id": "b1", "type": "button", "action_ts": str(time.time())}
    if value is not None:
        action["value"] = value
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0REP1", "team_id": "T0001"},
               "api_app_id": "A0001", "token": "t", "trigger_id": "trigger.1", "response_url": send.response_url,
               "container": {"type": "message", "channel_id": "C0SALES", "is_ephemeral": True},
               "channel": {"id": "C0SALES"}, "actions": [action]}
    return send.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def wait_for_path(slack: FakeSlack, url: str, timeout: float = 20.0):
    path = url[len(slack.url):]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [c for c in slack.of("response_url") if c.path == path]
        if calls:
            return calls
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived at {path}")


def test_a_burst_logs_waitress_queueing_once_not_per_request(served):
    send, slack, log = served
    before = log.stat().st_size
    acks = at_once([lambda n=n: send.command("/battlecard", "acme") for n in range(40)])
    assert [status for _, status in acks] == [200] * 40
    time.sleep(0.2)
    assert log.read_text()[before:].count("Task queue depth") <= 1


def test_queue_warnings_pass_once_a_minute_with_a_count_of_the_rest():
    quiet, records = _OncePerMinute(every=60), []
    for n in range(5):
        record = logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (n,), None)
        if quiet.filter(record):
            records.append(record)
    assert [r.getMessage() for r in records] == ["Task queue depth is 0"]
    quiet.last -= 61  # a minute later
    record = logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (9,), None)
    assert quiet.filter(record) and record.getMessage() == "Task queue depth is 9 (4 more such warnings in the last minute)"


def test_an_ask_with_the_word_payload_in_it_is_answered(served):
    # Bolt takes any form body containing "payload" for an interaction and dropped the question.
    send, slack, _ = served
    url = slack.response_url("payload-word")
    r = SlackSender(send.url, url).command("/ask", "what is the max webhook payload size")
    assert r.status == 200
    (reply,) = wait_for_path(slack, url, timeout=60)
    assert "what is the max webhook payload size" in json.dumps(reply.body)
