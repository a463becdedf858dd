"""The `kb` command line, run in-process with the real model and a real index."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kb.cli import main
from knowledge.rank import FEATURES
from tests.conftest import write


@pytest.fixture
def run(sample_index, monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", str(sample_index))
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PORT", "KB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args, input=None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_ask_json_has_the_documented_shape(run):
    result = run("ask", "who approves a 30% discount", "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert set(body) == {"query", "read_as", "follows", "answered", "confidence", "hits"} and body["answered"] is True
    assert body["follows"] is None and body["read_as"] is None
    assert 0 <= body["confidence"] <= 1
    assert set(body["hits"][0]) == {"path", "anchor", "title", "heading_path", "snippet", "url", "score", "features"}
    assert body["hits"][0]["path"] == "playbooks/pricing-and-discounting.md"
    assert set(body["hits"][0]["features"]) == set(FEATURES)


def test_ask_says_how_it_read_a_question_whose_words_it_spelled_out(run):
    body = json.loads(run("ask", "cust wants 35% off, who signs", "--json").output)
    assert body["query"] == "cust wants 35% off, who signs" and body["read_as"] == "customer wants 35% off, who signs"
    assert "(read as: customer wants 35% off, who signs)" in run("ask", "cust wants 35% off, who signs", "--explain").output


def test_ask_after_an_earlier_question_searches_it_as_a_follow_up(run):
    alone = json.loads(run("ask", "and hooli?", "--json").output)
    after = json.loads(run("ask", "and hooli?", "--json", "--after", "what landmines can i set vs globex").output)
    assert alone["follows"] is None and after["follows"] == "what landmines can i set vs globex"
    landmines = lambda body: [h["path"] for h in body["hits"] if h["heading_path"].endswith("› Landmines to set")]
    assert landmines(after) == ["battlecards/hooli.md"] and landmines(alone) == []
    # An earlier question is read as the search reads it: 'umbrela' names umbrella, which 'and hooli?' replaces.
    after_typo = json.loads(run("ask", "and hooli?", "--json", "--after", "what landmines can i set vs umbrela").output)
    assert after_typo["follows"] == "what landmines can i set vs umbrela"
    assert {h["path"] for h in after_typo["hits"]} == {"battlecards/hooli.md"}
    stands_alone = json.loads(run("ask", "who approves a 30% discount", "--json", "--after", "and hooli?").output)
    assert stands_alone["follows"] is None
    assert "following up on: what landmines" in run("ask", "and hooli?", "--after", "what landmines can i set vs globex").output


def test_ask_reads_questions_from_stdin_one_json_per_line(run):
    result = run("ask", "-", "--json", "-k", "2", input="acme pricing\n\nparental leave policy for new parents\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(l["query"], l["answered"], len(l["hits"])) for l in lines] == [
        ("acme pricing", True, 2), ("parental leave policy for new parents", False, 2)]


def test_ask_human_output_says_gap(run):
    result = run("ask", "what is the parental leave policy for new parents")
    assert "No confident answer: this would be logged as a content gap" in result.output


def test_battlecard_json_and_no_match(run):
    card = json.loads(run("battlecard", "acmee", "--json").output)
    assert card["found"] and card["path"] == "battlecards/acme.md"
    assert any(s["url"].endswith("#why-we-win") for s in card["sections"])
    missing = run("battlecard", "pied piper")
    assert "No battlecard matches 'pied piper'" in missing.output and "Acme Corp" in missing.output


def test_index_reports_problems_with_path_and_line(run, tmp_path):
    source = tmp_path / "kb"
    write(source, "good.md", "# Good\n\nSome useful text about renewals.\n")
    write(source, "bad.md", "---\ntitle: [broken\n---\n# Bad\n\nText.\n")
    result = CliRunner().invoke(main, ["index", "--source", str(source), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0
    assert f"{source}/bad.md:2: broken front matter" in result.stderr
    assert "1 added, 0 changed, 0 removed, 0 unchanged, 1 skipped" in result.stdout


def test_index_reports_files_it_would_not_read_and_honours_kb_max_file_mb(run, tmp_path, monkeypatch):
    source = tmp_path / "kb"
    write(source, "good.md", "# Good\n\nSome useful text about renewals.\n")
    write(source, "big.md", "# Big\n\n" + "A long deck. " * 100_000)  # 1.2 MB
    (source / "leak.md").symlink_to("/etc/passwd")
    monkeypatch.setenv("KB_MAX_FILE_MB", "1")
    result = CliRunner().invoke(main, ["index", "--source", str(source), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0
    assert f"{source}/big.md: 1.2 MB is over KB_MAX_FILE_MB=1 (skipped)" in result.stderr
    assert f"{source}/leak.md: symlink to a file outside the source folder (skipped)" in result.stderr
    assert "1 added, 0 changed, 0 removed, 0 unchanged, 2 skipped" in result.stdout


def test_nothing_to_index_is_one_line_and_exit_1(run, tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["index", "--source", str(tmp_path / "empty"), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1 and result.stderr.startswith("Error: nothing could be indexed")
    assert "Traceback" not in result.stderr


def test_a_missing_index_is_one_line(run, tmp_path):
    result = CliRunner().invoke(main, ["ask", "x", "--index", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no index at" in result.stderr and "kb index" in result.stderr


@pytest.mark.parametrize(
    "env, args, says",
    [
        ({}, ["serve"], "set SLACK_APP_TOKEN to run in Socket Mode, or pass --http"),
        ({"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99b1e2c2a5a5"}, ["serve", "--http"], "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2"}, ["serve", "--http"], "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99b1e2c2a5a5"}, ["serve", "--http"], "SLACK_BOT_TOKEN does not look right"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, ["serve"], "SLACK_APP_TOKEN does not look right"),
    ],
)
def test_serve_names_the_missing_credential(run, monkeypatch, env, args, says):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and says in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("var, value", [("KB_STALE_DAYS", "soon"), ("KB_RETENTION_DAYS", "-3"), ("KB_MAX_FILE_MB", "0"), ("PORT", "http")])
def test_a_malformed_number_setting_is_one_clear_line(run, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    result = CliRunner().invoke(main, ["battlecard", "acme"])
    assert result.exit_code == 1 and f"{var} must be a whole number" in result.stderr and "Traceback" not in result.stderr
