"""Issue 11 end to end through `kb serve --http` as a real process and the local fake Slack: follow-ups
(thread and DM), More, Ask an expert to the reply on the gap and in `kb gaps draft`, Save to knowledge base."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import SAMPLE_KB
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_gaps import eventually
from tests.slack.test_questions import action_ids, texts
from tests.slack.test_serve import KB
from tests.slack.test_transport import kb_serve

EXPERTS, COORDINATOR = "C0EXPERTS", "U0COORD"
EARLIER, FOLLOW_UP = "acme says theyre cheaper, how do i handle it", "what about umbrella?"
UMBRELLA = "battlecards/umbrella#umbrella-is-cheaper-for-us"


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_index):
    """One `kb serve --http` for the module: experts' channel and coordinators set, its own copy of the knowledge base."""
    root = tmp_path_factory.mktemp("conversations")
    source = root / "knowledge_base"
    shutil.copytree(SAMPLE_KB, source)
    settings = {"KB_EXPERTS_CHANNEL": EXPERTS, "KB_COORDINATORS": COORDINATOR, "KB_SOURCE": str(source), "KB_NUDGES": "off"}
    with FakeSlack() as slack, kb_serve(root, sample_index, slack, **settings) as (send, log):
        yield send, slack, root, source


def posts(slack: FakeSlack, channel: str, count: int):
    found = eventually(lambda: [c for c in slack.of("chat.postMessage") if c.body.get("channel") == channel], lambda p: len(p) >= count)
    assert len(found) >= count, [c.body.get("channel") for c in slack.of("chat.postMessage")]
    return found


def replies(slack: FakeSlack, since: int, count: int) -> list[dict]:
    return [c.body for c in slack.wait_for("response_url", count=since + count)[since:]]


def kb_cli(root, *args: str) -> str:
    env = {**os.environ, "KB_STATE_DB": str(root / "state.db"), "KB_SOURCE": str(root / "knowledge_base")}
    done = subprocess.run([str(KB), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_follow_ups_in_a_thread_and_a_dm_and_more(served):
    send, slack, _, _ = served
    send.mention(EARLIER, channel="C0FOLLOW", ts="1700000900.000001")
    posts(slack, "C0FOLLOW", 1)
    send.mention(FOLLOW_UP, channel="C0FOLLOW", thread_ts="1700000900.000001")
    in_thread = posts(slack, "C0FOLLOW", 2)[1].body
    assert in_thread["thread_ts"] == "1700000900.000001" and UMBRELLA in texts(in_thread["blocks"])

    send.dm(EARLIER, user="U0DMREP", channel="D0DMREP")
    send.dm(FOLLOW_UP, user="U0DMREP", channel="D0DMREP")
    in_dm = posts(slack, "D0DMREP", 2)[1].body
    assert UMBRELLA in texts(in_dm["blocks"]) and "following up on" in texts(in_dm["blocks"])

    before = len(slack.of("response_url"))
    question_id = next(e["value"] for b in in_dm["blocks"] if b["type"] == "actions" for e in b["elements"])
    message = {"type": "message", "ts": "1700000000.000009", "text": in_dm["text"], "blocks": in_dm["blocks"]}
    send.click("answer_more", question_id, user="U0DMREP", channel="D0DMREP", message=message)
    (more,) = replies(slack, before, 1)
    assert more["replace_original"] is True and sum(b["type"] == "divider" for b in more["blocks"]) == 6
    assert UMBRELLA in texts(more["blocks"])  # More keeps the conversation's context


def test_ask_an_expert_to_the_reply_on_the_gap_and_in_the_draft(served):
    send, slack, root, source = served
    send.mention("what is our parental leave policy", channel="C0LEAVE", ts="1700000950.000001")
    (answer,) = posts(slack, "C0LEAVE", 1)
    assert "ask_expert" in action_ids(answer.body["blocks"])
    question_id = next(e["value"] for b in answer.body["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "ask_expert")
    before = len(slack.of("response_url"))
    send.click("ask_expert", question_id, channel="C0LEAVE", message={"type": "message", "ts": answer.reply["ts"], "blocks": answer.body["blocks"]})
    (confirm,) = replies(slack, before, 1)
    assert "asked the experts" in confirm["text"]
    (post,) = posts(slack, EXPERTS, 1)

    send.channel_message("16 weeks paid for every parent, see <https://hr.example.com/leave|HR>", user="U0HRLEAD",
                         channel=EXPERTS, thread_ts=post.reply["ts"])
    relayed = posts(slack, "C0LEAVE", 2)[1].body
    assert relayed["thread_ts"] == "1700000950.000001" and "16 weeks paid" in texts(relayed["blocks"])

    listed = eventually(lambda: kb_cli(root, "gaps", "list"), lambda out: "16 weeks paid" in out)
    assert "16 weeks paid" in listed and "U0HRLEAD" in listed
    gap_id = listed.split("#", 1)[1].split()[0]
    kb_cli(root, "gaps", "draft", gap_id)
    (draft,) = (source / "drafts").glob(f"gap-{gap_id}-*.md")
    text = draft.read_text()
    assert "16 weeks paid for every parent, see [HR](https://hr.example.com/leave)" in text
    assert "owner_slack: U0HRLEAD" in text and "what is our parental leave policy" in text


def test_save_to_knowledge_base_is_for_coordinators(served):
    send, slack, _, source = served
    parent = {"type": "message", "user": "U0AE", "ts": "1700001000.000001", "text": "How we run a *mutual action plan*: agree dates in week one"}
    slack.threads[("C0DEALS", parent["ts"])] = [parent, {"type": "message", "user": "U0SE", "ts": "1700001000.000002",
                                                       "thread_ts": parent["ts"], "text": "and share the plan doc in the channel"}]
    before = len(slack.of("response_url"))
    send.message_shortcut("save_to_kb", parent, user="U0REP1", channel="C0DEALS")
    (refused,) = replies(slack, before, 1)
    assert "coordinator" in refused["text"] and not list((source / "drafts").glob("*mutual*"))

    send.message_shortcut("save_to_kb", parent, user=COORDINATOR, channel="C0DEALS")
    (saved,) = replies(slack, before + 1, 1)
    (draft,) = eventually(lambda: list((source / "drafts").glob("*mutual*")), bool)
    text = draft.read_text()
    assert "**mutual action plan**" in text and "share the plan doc" in text and "draft: true" in text
    assert saved["response_type"] == "ephemeral" and draft.name in saved["text"]
    assert slack.wait_for("files.completeUploadExternal")  # the Markdown also went to the coordinator's DM
