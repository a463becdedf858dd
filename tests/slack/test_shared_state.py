"""Two `kb serve --http` processes on their own ports and local disks, one PostgreSQL: as two web dynos.

A retried event answers once whichever process gets it, one question asked on both is one gap with two
askers, two `kb digest --post` at once post one digest, and nothing is written to either local disk.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from tests.slack.slack_requests import SIGNING_SECRET, SlackSender
from tests.slack.test_serve import KB, free_port
from tests.slack.test_transport import wait_healthy

COORDINATOR = "U0COORD"
LEAVE = "what is our parental leave policy"  # not in the sample knowledge base


def _env(slack, pg_url, index, disk) -> dict:
    env = {
        **os.environ, "DATABASE_URL": pg_url, "KB_INDEX_DIR": str(index), "KB_STATE_DB": str(disk / "state.db"),
        "SLACK_BOT_TOKEN": "xoxb-0001-test-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        "KB_COORDINATORS": COORDINATOR,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return env


@pytest.fixture
def two_dynos(tmp_path, fake_slack, sample_index, pg_url):
    """Two bot processes, each with its own copy of the index on its own 'disk', sharing `pg_url`."""
    procs, senders, disks = [], [], []
    for n in (1, 2):
        disk = tmp_path / f"dyno{n}"
        shutil.copytree(sample_index, disk / "index", symlinks=True)
        port = free_port()
        log = open(tmp_path / f"serve{n}.log", "w")
        env = {**_env(fake_slack, pg_url, disk / "index", disk), "PORT": str(port)}
        procs.append((subprocess.Popen([str(KB), "serve", "--http", "--host", "127.0.0.1"], env=env, cwd=disk,
                                       stdout=log, stderr=subprocess.STDOUT), log))
        senders.append(SlackSender(f"http://127.0.0.1:{port}/slack/events", fake_slack.response_url()))
        disks.append(disk)
    for (proc, _), send in zip(procs, senders):
        wait_healthy(proc, send.url.replace("/slack/events", "/healthz"))
    yield senders, disks
    for proc, log in procs:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_two_processes_share_one_state(two_dynos, fake_slack, pg_url, tmp_path):
    (first, second), disks = two_dynos
    # One event, and Slack's retry of it arriving at the other process: one answer.
    assert first.mention("what's the uptime sla", event_id="Ev0SHARED1").status == 200
    assert second.mention("what's the uptime sla", event_id="Ev0SHARED1", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status == 200
    fake_slack.wait_for("chat.postMessage", timeout=60)
    time.sleep(2)  # a second answer would have arrived by now
    assert len(fake_slack.of("chat.postMessage")) == 1

    # The same unanswerable question on both: one gap, two askers, seen from either process and the CLI.
    first.command("/ask", LEAVE, user="U0REP1")
    fake_slack.wait_for("response_url", count=1, timeout=60)
    second.command("/ask", LEAVE, user="U0REP2")
    fake_slack.wait_for("response_url", count=2, timeout=60)
    first.command("/kb-gaps", "", user=COORDINATOR)
    listing = str(fake_slack.wait_for("response_url", count=3, timeout=60)[2].body["blocks"])
    assert "*2× asked* by 2 reps" in listing and listing.count("gap_resolve") == 1
    env = _env(fake_slack, pg_url, disks[0] / "index", tmp_path)
    cli = subprocess.run([str(KB), "gaps", "list"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "2× by 2 rep(s)  [open]" in cli.stdout and cli.stdout.count("[open]") == 1

    # Two digests started at once (two schedulers, or a cron and a person): one post.
    digests = [subprocess.Popen([str(KB), "digest", "--post", "--channel", "C0DIGEST"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in digests]
    assert all(p.returncode == 0 for p in digests), outputs
    assert sorted("Posted the" in o for o in outputs) == [False, True], outputs
    assert [c.body["channel"] for c in fake_slack.of("chat.postMessage")].count("C0DIGEST") == 1

    for disk in disks:  # the state is in PostgreSQL only: no local state file on either disk
        assert sorted(p.name for p in disk.iterdir()) == ["index"]
