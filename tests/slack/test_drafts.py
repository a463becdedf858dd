"""*Draft it* and *Save to knowledge base* end to end: the real Bolt app over HTTP, the local fake Slack,
a real state DB and a real knowledge base folder the drafts are written into."""
from __future__ import annotations

import json

import pytest
import yaml

from knowledge.gaps import Gaps
from tests.slack.conftest import start_bot
from tests.slack.test_gaps import COORDINATOR, LEAVE, ask_all

EXPERT_REPLY = "*16 weeks* fully paid: see <https://people.example/leave|the leave policy> &amp; ask <@U0PEOPLE>."
GAP_PATH = "drafts/gap-1-what-is-our-parental-leave-policy.md"
PARENT = {"type": "message", "ts": "1700000500.000100", "user": "U0AE", "text": "What's our *on-prem* answer &lt;!here&gt;?"}
REPLY = {"type": "message", "ts": "1700000500.000200", "thread_ts": PARENT["ts"], "user": "U0SE",
         "text": "We offer a <https://x.example/vpc|private VPC>, not on-prem."}
THREAD_PATH = "drafts/thread-c0sales-1700000500-000100-what-s-our-on-prem-answer-here.md"


@pytest.fixture
def source(tmp_path):
    return tmp_path / "kb"


@pytest.fixture
def bot(tmp_path, fake_slack, sample_kb, source):
    server, running = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,), source=source)
    yield running
    server.close()


def drafts_in_db(bot) -> list[tuple]:
    return [tuple(r) for r in bot.state.execute("SELECT gap_id, path, source, created_by FROM drafts ORDER BY id").fetchall()]


def reply(bot, count: int) -> dict:
    return bot.slack.wait_for("response_url", count=count)[count - 1].body


def uploaded(bot) -> tuple[dict, bytes, dict]:
    (ask,) = bot.slack.wait_for("files.getUploadURLExternal")
    (upload,) = bot.slack.wait_for("upload")
    (complete,) = bot.slack.wait_for("files.completeUploadExternal")
    return ask.body, upload.raw, complete.body


@pytest.fixture
def gap_with_answer(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1"), (LEAVE[1], "U0REP2")])
    gaps = Gaps(bot.state, None)
    (gap,) = gaps.list()
    gaps.record_expert_answer(gap.id, EXPERT_REPLY, by="U0EXPERT")
    return gap.id


def test_draft_it_is_refused_for_a_rep(bot, gap_with_answer, source):
    bot.send.click("gap_draft", str(gap_with_answer), user="U0REP1")
    refusal = reply(bot, 3)
    assert "for the enablement coordinators" in refusal["text"] and refusal["replace_original"] is False
    assert not (source / "drafts").exists() and drafts_in_db(bot) == []
    assert bot.slack.of("files.getUploadURLExternal") == [] and bot.slack.of("conversations.open") == []


def test_draft_it_writes_the_draft_and_dms_it_to_the_coordinator(bot, gap_with_answer, source):
    bot.send.click("gap_draft", str(gap_with_answer), user=COORDINATOR)
    told = reply(bot, 3)
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert f"as `{GAP_PATH}` in the knowledge base" in told["text"] and "sent you its Markdown in a DM" in told["text"]
    markdown = (source / GAP_PATH).read_text(encoding="utf-8")
    assert yaml.safe_load(markdown.split("---")[1])["owner_slack"] == "U0EXPERT"
    assert "## Answer\n\n**16 weeks** fully paid: see [the leave policy](https://people.example/leave) & ask @U0PEOPLE.\n" in markdown
    assert "- how many weeks of parental leave do we get" in markdown
    assert drafts_in_db(bot) == [(gap_with_answer, GAP_PATH, "gap", COORDINATOR)]
    (opened,) = bot.slack.of("conversations.open")
    ask, raw, complete = uploaded(bot)
    assert opened.body["users"] == COORDINATOR and complete["channel_id"] == f"D{COORDINATOR}"
    assert ask["filename"] == GAP_PATH.split("/")[1] and raw.decode("utf-8") == markdown
    assert "`drafts/gap-1-what-is-our-parental-leave-policy.md`" in complete["initial_comment"]


def test_draft_it_never_overwrites_a_writers_file(bot, gap_with_answer, source):
    (source / "drafts").mkdir(parents=True)
    (source / GAP_PATH).write_text("# The writer's version\n", encoding="utf-8")
    bot.send.click("gap_draft", str(gap_with_answer), user=COORDINATOR)
    told = reply(bot, 3)["text"]
    assert f"`{GAP_PATH}` is already in the knowledge base, so I left it as it is" in told
    assert (source / GAP_PATH).read_text(encoding="utf-8") == "# The writer's version\n"
    _, raw, _ = uploaded(bot)
    assert b"**16 weeks** fully paid" in raw  # the new draft still reaches the coordinator


def test_a_draft_that_cannot_be_saved_gets_a_polite_reply(bot, gap_with_answer, source, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    source.mkdir()
    (source / "drafts").symlink_to(tmp_path / "elsewhere")  # would write outside the knowledge base
    bot.send.click("gap_draft", str(gap_with_answer), user=COORDINATOR)
    told = reply(bot, 3)["text"]
    assert told.startswith("Sorry, I could not save that draft") and "Traceback" not in told and "Error" not in told
    assert list((tmp_path / "elsewhere").iterdir()) == [] and drafts_in_db(bot) == []


def test_save_to_knowledge_base_is_refused_for_a_rep(bot, source):
    bot.slack.threads[("C0SALES", PARENT["ts"])] = [PARENT, REPLY]
    r = bot.send.message_shortcut("save_to_kb", REPLY, user="U0REP1")
    assert r.status == 200
    refusal = reply(bot, 1)
    assert refusal["text"].startswith("Sorry, saving messages to the knowledge base is for the enablement coordinators")
    assert refusal["response_type"] == "ephemeral"
    assert bot.slack.of("conversations.replies") == [] and not (source / "drafts").exists() and drafts_in_db(bot) == []


def test_save_to_knowledge_base_writes_the_thread_for_a_coordinator(bot, source):
    bot.slack.threads[("C0SALES", PARENT["ts"])] = [PARENT, REPLY]
    assert bot.send.message_shortcut("save_to_kb", REPLY, user=COORDINATOR).status == 200
    told = reply(bot, 1)["text"]
    assert f"Saved the draft *What's our on-prem answer &lt;!here&gt;* as `{THREAD_PATH}`" in told
    assert "<!here>" not in told and "sent you its Markdown in a DM" in told
    (read,) = bot.slack.of("conversations.replies")
    assert (read.body["channel"], read.body["ts"]) == ("C0SALES", PARENT["ts"])
    markdown = (source / THREAD_PATH).read_text(encoding="utf-8")
    meta = yaml.safe_load(markdown.split("---")[1])
    assert meta["owner_slack"] == "U0AE" and meta["draft"] is True and meta["title"] == "What's our on-prem answer <!here>"
    assert "## Answer\n\nWe offer a [private VPC](https://x.example/vpc), not on-prem.\n" in markdown
    assert "**@U0AE:**\n\nWhat's our **on-prem** answer <!here>?\n\n**@U0SE:**\n\nWe offer a" in markdown
    assert drafts_in_db(bot) == [(None, THREAD_PATH, "thread", COORDINATOR)]
    _, raw, complete = uploaded(bot)
    assert raw.decode("utf-8") == markdown and complete["channel_id"] == f"D{COORDINATOR}"
    assert "<!here>" not in json.dumps(complete)


def test_a_thread_the_bot_cannot_read_saves_the_message_alone_and_says_so(bot, source):
    lone = {**PARENT, "ts": "1700000600.000100"}
    bot.send.message_shortcut("save_to_kb", lone, user=COORDINATOR)
    told = reply(bot, 1)["text"]
    assert "I could only save this message: I could not read its thread (thread_not_found)" in told
    (path,) = (source / "drafts").glob("thread-c0sales-1700000600-000100-*.md")
    assert "## Answer\n\nWhat's our **on-prem** answer <!here>?\n" in path.read_text(encoding="utf-8")


def test_a_disk_that_cannot_take_the_draft_still_keeps_and_sends_it(bot, source):
    source.mkdir()
    (source / "drafts").write_text("a file where the folder should be", encoding="utf-8")
    bot.slack.threads[("C0SALES", PARENT["ts"])] = [PARENT, REPLY]
    bot.send.message_shortcut("save_to_kb", PARENT, user=COORDINATOR)
    told = reply(bot, 1)["text"]
    assert told.startswith(f"I could not write `{THREAD_PATH}`") and "kept in my database" in told
    assert drafts_in_db(bot) == [(None, THREAD_PATH, "thread", COORDINATOR)]
    _, raw, _ = uploaded(bot)
    assert b"## From the Slack thread" in raw
