"""/battlecard end to end: the card, the list of competitors, odd input, picks and shares."""
from __future__ import annotations

import json

from tests.slack.test_questions import action_ids, texts


def test_battlecard_shows_the_key_sections_privately(bot):
    r = bot.send.command("/battlecard", "Acme Corp")
    assert r.status == 200
    reply = r.json()
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply["blocks"])
    assert reply["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Acme Corp battlecard", "emoji": True}}
    for anchor in ("why-we-win", "landmines-to-set", "acme-is-cheaper", "talk-track"):
        assert f"battlecards/acme#{anchor}|" in shown
    assert "battlecards/acme#overview" not in shown  # key sections only; the full card is one link away
    assert "share_battlecard" in action_ids(reply["blocks"])


def test_typos_and_aliases_find_the_card(bot):
    for typed in ("acmee", "ACME cloud", "globx"):
        reply = bot.send.command("/battlecard", typed).json()
        assert reply["blocks"][0]["type"] == "header", typed


def test_no_argument_lists_competitors_one_click_away(bot):
    reply = bot.send.command("/battlecard", "").json()
    ids = action_ids(reply["blocks"])
    assert len(ids) >= 5 and len(set(ids)) == len(ids)
    values = [e["value"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "battlecards/acme.md" in values
    assert bot.state.questions() == []  # asking for the list is not a gap


def test_an_unknown_competitor_lists_them_and_is_a_gap(bot):
    reply = bot.send.command("/battlecard", "<!here> Pied & Piper").json()
    shown = texts(reply["blocks"])
    assert "&lt;!here&gt; Pied &amp; Piper" in shown and "<!here>" not in shown
    assert "battlecard_pick_0" in action_ids(reply["blocks"])
    (gap,) = bot.state.questions()
    assert (gap.surface, gap.status, gap.question) == ("battlecard", "gap", "battlecard: <!here> Pied & Piper")


def test_picking_a_competitor_replaces_the_list_with_the_card(bot):
    bot.send.click("battlecard_pick_3", "battlecards/hooli.md")
    (reply,) = bot.slack.wait_for("response_url")
    assert reply.body["replace_original"] is True
    assert reply.body["blocks"][0]["text"]["text"] == "Hooli Workspace battlecard"


def test_sharing_a_battlecard_posts_it_in_the_channel(bot):
    bot.send.click("share_battlecard", "battlecards/acme.md", user="U0REP7")
    shared, deleted = bot.slack.wait_for("response_url", count=2)
    assert shared.body["response_type"] == "in_channel"
    assert "shared by <@U0REP7>" in texts(shared.body["blocks"])
    assert deleted.body["delete_original"] is True


def test_odd_characters_get_a_reply(bot):
    for typed in ("\u0000", "'; DROP TABLE documents; --", "🦄" * 300, "%s %d {0}"):
        r = bot.send.command("/battlecard", typed)
        assert r.status == 200 and json.loads(r.body)["blocks"], typed
