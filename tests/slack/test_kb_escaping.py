"""Knowledge-base text is data, not Slack markup: a hostile document rendered through every surface.

A coordinator's typo, a pasted snippet or a malicious edit can put `<!channel>`, `<@U…>` or a forged
`<https://…|label>` into a title, an owner, a heading, a competitor name, a path or a URL. Nothing of it
may reach a field Slack parses (message `text`, mrkdwn objects, fields) as markup. plain_text objects
(headers, buttons, options, modal titles) are shown literally by Slack, so they keep the raw text.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot.blocks import battlecard_blocks, battlecard_text, competitor_blocks, hit_blocks
from bot.digest_post import digest_blocks, digest_text
from bot.gap_views import answered_dm_blocks, resolve_modal
from bot.home_views import coordinator_home, rep_home
from bot.mrkdwn import from_markdown, link
from indexer.build import build
from knowledge.answer import KnowledgeBase
from knowledge.digest import compute
from knowledge.gaps import Gap, Notification
from knowledge.index import LiveIndex
from knowledge.state import StateDB
from tests.conftest import write
from tests.slack.conftest import start_bot
from tests.slack.slack_requests import view_submission
from tests.slack.test_gaps import COORDINATOR

EVILCORP = """---
title: "Evilcorp <!channel> battlecard"
type: battlecard
competitor: "Evilcorp <@U123> & Sons"
aliases: [Evilcorp]
owner: "<!here> Mallory & <@U123>"
last_reviewed: 2020-01-01
url: "https://kb.example/evil<!channel>|click>"
---

## Why we win <@U123> & friends

Evilcorp pricing <!channel> is <@U123> higher; see <https://evil.example|click here> & [the docs](https://evil.example/a<!channel>b).

## Landmines <https://evil.example|click>

Ask Evilcorp prospects about migration <!everyone> & data export.
"""
PLAYBOOK_PATH = "playbooks/evil<@U123>&co.md"  # no url: its links are KB_BASE_URL + this path
PLAYBOOK = """---
title: "Discounts <!channel> & <@U123>"
type: playbook
owner: "<@U123>"
---

## Discount approval & <@U123>

Discounts over 20% need <!subteam^S123> approval & a [form](https://forms.example/x?a=1&b=<!channel>).
"""
KB_FORGERIES = ("<!", "<@U123", "<https://evil", "<https://forms.example/x?a=1&b=<")
# What the bot itself may write: a mention of the Slack user who acted, and links whose URL and
# label hold no < > | (the URL escaped by bot.mrkdwn.link, the label by escape()).
OWN_MARKUP = re.compile(r"<(?:@U0[A-Z0-9]+|https?://[^\s<>|]+\|[^<>|]+)>")


def parsed_texts(payload) -> list[str]:
    """Every string Slack parses as mrkdwn in a message, view or block list; plain_text is skipped."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and node.get("type") != "plain_text":
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)

    walk(payload)
    return found


def plain_texts(payload) -> list[str]:
    return re.findall(r'"type": "plain_text", "text": "((?:[^"\\]|\\.)*)"', json.dumps(payload, ensure_ascii=False))


def assert_defused(payload, where: str) -> str:
    """No markup from the KB in any parsed field; the escaped KB text is there (so it was rendered)."""
    texts = parsed_texts(payload)
    for text in texts:
        leftover = OWN_MARKUP.sub("", text)
        assert "<" not in leftover, f"{where}: raw markup reaches Slack in {text!r}"
        assert not any(f in text for f in KB_FORGERIES), f"{where}: {text!r}"
    shown = "\n".join(texts)
    assert "&lt;" in shown and "&amp;" in shown, f"{where}: the hostile document was not rendered at all"
    return shown


@pytest.fixture(scope="module")
def hostile_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    source, root = tmp_path_factory.mktemp("hostile-kb"), tmp_path_factory.mktemp("hostile-index")
    write(source, "battlecards/evilcorp.md", EVILCORP)
    write(source, PLAYBOOK_PATH, PLAYBOOK)
    build(source, root, embedder)
    return KnowledgeBase(LiveIndex(root, embedder.name), embedder, base_url="https://kb.example")


@pytest.fixture
def bot(tmp_path, fake_slack, hostile_kb):
    server, running = start_bot(tmp_path, fake_slack, hostile_kb, coordinators=(COORDINATOR,))
    yield running
    server.close()


def command_reply(bot, response, earlier_replies: int = 0) -> dict:
    """A slash command's reply: in the ack's body, or (when the ack is empty) sent to response_url."""
    if response.body:
        return response.json()
    return bot.slack.wait_for("response_url", count=earlier_replies + 1)[earlier_replies].body


def test_link_urls_cannot_carry_markup():
    made = link("https://kb.example/a<!channel>|b> c&d#x", "T <@U1> | & >")
    assert made == "<https://kb.example/a%3C!channel%3E%7Cb%3E%20c&amp;d#x|T &lt;@U1&gt; ¦ &amp; &gt;>"
    assert link("battlecards/<!here>.md", "<!here>") == "&lt;!here&gt;"  # not absolute: the label alone


def test_battlecard_and_its_share_in_channel_escape_kb_text(bot):
    card = command_reply(bot, bot.send.command("/battlecard", "evilcorp"))
    assert card["text"] == "Evilcorp &lt;!channel&gt; battlecard"
    assert card["blocks"][0]["text"] == {"type": "plain_text", "text": "Evilcorp <!channel> battlecard", "emoji": True}
    shown = assert_defused(card, "/battlecard")
    assert "Owner: &lt;!here&gt; Mallory &amp; &lt;@U123&gt;" in shown
    assert "<https://kb.example/evil%3C!channel%3E%7Cclick%3E#why-we-win-u123--friends|" in shown
    before = len(bot.slack.of("response_url"))
    bot.send.click("share_battlecard", "battlecards/evilcorp.md", user="U0REP7")
    shared = bot.slack.wait_for("response_url", count=before + 1)[before].body
    assert shared["response_type"] == "in_channel" and shared["text"] == "Evilcorp &lt;!channel&gt; battlecard"
    assert "shared by <@U0REP7>" in assert_defused(shared, "share in channel")


def test_picking_from_the_competitor_list_escapes_kb_text(bot):
    listing = command_reply(bot, bot.send.command("/battlecard", ""))
    assert "Evilcorp <@U123> & Sons" in plain_texts(listing["blocks"])  # a button: plain_text, shown literally
    assert all("<" not in t for t in parsed_texts(listing))
    before = len(bot.slack.of("response_url"))
    bot.send.click("battlecard_pick_0", "battlecards/evilcorp.md")
    picked = bot.slack.wait_for("response_url", count=before + 1)[before].body
    assert picked["text"] == "Evilcorp &lt;!channel&gt; battlecard"
    assert_defused(picked, "battlecard pick")


def test_answers_in_threads_privately_and_shared_escape_kb_text(bot):
    bot.send.mention("evilcorp pricing and discounts")
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert "<https://kb.example/evil%3C!channel%3E%7Cclick%3E#" in assert_defused(post.body, "mention answer")
    bot.send.command("/ask", "who approves discounts over 20%", user="U0REP9")
    private = bot.slack.wait_for("response_url")[0].body
    assert "<https://kb.example/playbooks/evil%3C@U123%3E&amp;co.md#" in assert_defused(private, "/ask answer")
    qid = bot.state.questions()[-1].id
    bot.send.click("share_answer", str(qid), user="U0REP9")
    shared = bot.slack.wait_for("response_url", count=2)[1].body
    assert shared["response_type"] == "in_channel"
    assert_defused(shared, "shared answer")


def test_app_home_escapes_kb_text_for_reps_and_coordinators(bot):
    home = {"type": "app_home_opened", "channel": "D0HOME", "tab": "home", "event_ts": "1700000300.000001"}
    bot.send.event({**home, "user": "U0REP1"})
    bot.send.event({**home, "user": COORDINATOR})
    views = {c.body["user_id"]: c.body["view"] for c in bot.slack.wait_for("views.publish", count=2)}
    views = {user: v if isinstance(v, dict) else json.loads(v) for user, v in views.items()}
    assert "Evilcorp &lt;@U123&gt; &amp; Sons" in assert_defused(views["U0REP1"], "rep home")
    stale = assert_defused(views[COORDINATOR], "coordinator home")
    assert "&lt;!here&gt; Mallory &amp; &lt;@U123&gt;, last reviewed 2020-01-01" in stale


def test_gap_review_modal_and_the_answered_dm_escape_kb_text(bot):
    bot.send.command("/ask", "what is the parental leave policy", user="U0REP1")
    bot.slack.wait_for("response_url")
    (question,) = bot.state.questions()
    assert question.gap_id is not None
    bot.send.click("gap_resolve", str(question.gap_id), user=COORDINATOR)
    (opened,) = bot.slack.wait_for("views.open")
    modal = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    assert "Evilcorp <!channel> battlecard" in plain_texts(modal)  # an option: plain_text, shown literally
    assert all("<" not in t for t in parsed_texts(modal))
    picked = {"doc_pick": {"value": {"type": "static_select", "selected_option": {"value": "battlecards/evilcorp.md"}}}}
    view_submission(bot.send, "gap_resolve", picked, json.dumps({"gap_id": question.gap_id}), COORDINATOR)
    (dm,) = bot.slack.wait_for("chat.postMessage")
    shown = assert_defused(dm.body, "answered DM")
    assert "Added by the enablement team: <https://kb.example/evil%3C!channel%3E%7Cclick%3E|battlecards/evilcorp.md>" in shown


def test_every_pure_builder_escapes_kb_text(hostile_kb, tmp_path):
    """The builders as dicts, without Slack: answers, battlecards, competitors, homes, digest, gap views."""
    kb = hostile_kb
    card = kb.battlecard("evilcorp")
    answer = kb.ask("evilcorp pricing and discount approval")
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    digest = compute(StateDB(tmp_path / "state.db"), kb.index.get(), until - timedelta(days=7), until)
    assert {d.path for d in digest.stale} == {"battlecards/evilcorp.md", PLAYBOOK_PATH}
    assert {c.path for c in digest.changes} == {"battlecards/evilcorp.md", PLAYBOOK_PATH}
    gap = Gap(1, "open", "discounts", 2, 1, ["discounts"], "2026-11-01", "2026-11-02", None)
    built = {
        "hit_blocks": [b for hit in answer.hits for b in hit_blocks(kb, hit.chunk)],
        "battlecard_blocks": battlecard_blocks(kb, card, shared_by="U0REP7"),
        "battlecard_text": {"text": battlecard_text(card), "blocks": battlecard_blocks(kb, card)},
        "competitor_blocks": competitor_blocks(kb.competitors(), asked="<!here> & co"),
        "rep_home": rep_home(kb.competitors()),
        "coordinator_home": coordinator_home(digest, kb, kb.competitors()),
        "digest_blocks": {"text": digest_text(digest), "blocks": digest_blocks(digest, kb)},
        "answered_dm_blocks": answered_dm_blocks(kb, Notification(1, 1, 1, "U0REP1", "discounts", "battlecards/evilcorp.md"), answer),
        "answered_dm_blocks (pasted URL)": answered_dm_blocks(kb, Notification(1, 1, 1, "U0REP1", "discounts", "https://kb.example/<!channel>&x"), answer),
    }
    for name, payload in built.items():
        assert_defused(payload, name)
    assert "Evilcorp <!channel> battlecard" in plain_texts(built["battlecard_blocks"])  # the header, literal
    modal = resolve_modal(gap, kb.index.get().documents(), "{}")
    assert "Discounts <!channel> & <@U123>" in plain_texts(modal)  # an option, literal
    assert all("<" not in t for t in parsed_texts(modal))


def test_a_snippet_reads_html_entities_once_and_escapes_what_they_spell():
    shown = from_markdown("Cases &gt; New &amp; Open<br>Over &lt;$20k: &lt;!channel&gt; [Q&amp;A](https://kb.example/?a=1&amp;b=2)", 500)
    assert shown == "Cases &gt; New &amp; Open; Over &lt;$20k: &lt;!channel&gt; <https://kb.example/?a=1&amp;b=2|Q&amp;A>"
    # Only entities with their `;`, and never into a link the source did not write.
    assert from_markdown("[report](https://crm.example/r?id=7&region=emea&currency=usd)", 500) == (
        "<https://crm.example/r?id=7&amp;region=emea&amp;currency=usd|report>")
    assert from_markdown("&#91;Reset&#93;&#40;https://evil.example&#41;", 500) == "[Reset](https://evil.example)"


def test_a_nul_in_kb_text_cannot_pick_or_break_a_link():
    assert from_markdown("[docs](https://kb.example/a) then \x000\x00 and \x007\x00", 500) == "<https://kb.example/a|docs> then 0 and 7"
