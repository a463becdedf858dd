"""`kb gaps list | export --csv | resolve | draft | drafts | discard-draft` on a real state DB and index."""
from __future__ import annotations

import csv
import io
import shutil
from datetime import date

import pytest
import yaml
from click.testing import CliRunner

from indexer.build import build
from kb.cli import main
from knowledge.answer import Answer
from knowledge.drafts import Drafts
from knowledge.gaps import Gaps
from knowledge.state import StateDB
from tests.conftest import SAMPLE_KB


@pytest.fixture
def filled(tmp_path, embedder, monkeypatch):
    db = tmp_path / "state.db"
    state, gaps = StateDB(db), Gaps(StateDB(db), embedder)
    for text, user in [("do we sign a HIPAA BAA", "U1"), ("will we sign a business associate agreement", "U2"), ("what's our parental leave policy", "U3")]:
        qid = state.record_question(text, "ask", user, "C1")
        state.record_answer(qid, Answer(text, False, []))
        gaps.add(qid)
    monkeypatch.setenv("KB_STATE_DB", str(db))
    return gaps


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list_shows_counts_and_phrasings(filled):
    out = run("gaps", "list").output
    assert out.index("#1  2× by 2 rep(s)  [open]") < out.index("#2  1× by 1 rep(s)  [open]")
    assert "“will we sign a business associate agreement”" in out
    assert "expert" not in out


def test_list_shows_the_experts_answer_first_line_and_who(filled):
    filled.record_expert_answer(2, "*16 weeks*, paid: see <https://people.example/leave|the policy>.\nAsk People Ops for the form.", by="U0EXPERT")
    out = run("gaps", "list").output
    line = f"    ↳ expert U0EXPERT ({date.today().isoformat()}): 16 weeks, paid: see the policy.\n"
    assert line in out and out.index("#2  1×") < out.index(line)
    assert out.count("↳ expert") == 1 and "Ask People Ops" not in out


def test_export_csv(filled):
    rows = list(csv.DictReader(io.StringIO(run("gaps", "export", "--csv").output)))
    assert [(r["id"], r["count"], r["askers"], r["status"]) for r in rows] == [("1", "2", "2", "open"), ("2", "1", "1", "open")]


def test_resolve_queues_a_dm_per_asker(filled):
    result = run("gaps", "resolve", "1", "--doc", "playbooks/security-review.md")
    assert result.exit_code == 0 and "2 rep(s) will get a DM" in result.output
    assert sorted(n.user_id for n in filled.pending()) == ["U1", "U2"]
    missing = CliRunner().invoke(main, ["gaps", "resolve", "99", "--doc", "x.md"])
    assert missing.exit_code == 1 and "no gap 99" in missing.stderr


def test_draft_writes_a_stub_that_stays_out_of_the_index(filled, tmp_path, sample_index, embedder):
    source = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB, source)
    result = run("gaps", "draft", "1", "--source", str(source), "--index", str(sample_index))
    assert result.exit_code == 0, result.output
    (draft,) = (source / "drafts").glob("gap-1-*.md")
    text = draft.read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["draft"] is True and meta["title"] == "Do we sign a HIPAA BAA" and meta["type"] == "faq"
    assert "owner_slack" not in meta and "## Answer\n\nTODO: the answer" in text
    assert "- will we sign a business associate agreement" in text
    assert "## Nearest existing sections\n\n- [" in text and "https://enablement.brightwave.example/" in text
    report = build(source, tmp_path / "index", embedder)
    assert report.drafts == [draft.relative_to(source).as_posix()]
    assert all(not c.startswith("drafts/") for c in report.added)


def test_draft_has_the_experts_reply_and_is_kept_in_the_state_db(filled, tmp_path, sample_index):
    filled.record_expert_answer(1, "Yes, on *Enterprise*: legal signs <https://legal.example/baa|our BAA> &amp; theirs.", by="U0EXPERT")
    source = tmp_path / "kb"
    result = run("gaps", "draft", "1", "--source", str(source), "--index", str(sample_index))
    assert result.exit_code == 0, result.output
    path = source / "drafts" / "gap-1-do-we-sign-a-hipaa-baa.md"
    text = path.read_text()
    assert yaml.safe_load(text.split("---")[1])["owner_slack"] == "U0EXPERT"
    assert "## Answer\n\nYes, on **Enterprise**: legal signs [our BAA](https://legal.example/baa) & theirs.\n" in text
    assert Drafts(filled.state, source).markdown("drafts/gap-1-do-we-sign-a-hipaa-baa.md") == text


def test_draft_never_overwrites_a_writers_file(filled, tmp_path, sample_index):
    source = tmp_path / "kb"
    assert run("gaps", "draft", "1", "--source", str(source), "--index", str(sample_index)).exit_code == 0
    path = source / "drafts" / "gap-1-do-we-sign-a-hipaa-baa.md"
    path.write_text("# Edited by a writer\n")
    again = CliRunner().invoke(main, ["gaps", "draft", "1", "--source", str(source), "--index", str(sample_index)])
    assert again.exit_code == 1 and "already exists; finish or delete it first" in again.stderr
    assert path.read_text() == "# Edited by a writer\n"


def test_drafts_lists_them_and_discard_draft_takes_one_off_the_waiting_list(filled, tmp_path, sample_index):
    source = tmp_path / "kb"
    for gap_id in ("1", "2"):
        assert run("gaps", "draft", gap_id, "--source", str(source), "--index", str(sample_index)).exit_code == 0
    listed = run("gaps", "drafts", "--index", str(sample_index)).output
    assert "#1  [waiting]" in listed and "drafts/gap-1-do-we-sign-a-hipaa-baa.md\n    Do we sign a HIPAA BAA\n" in listed
    assert "#2  [waiting]" in listed

    result = run("gaps", "discard-draft", "1")
    assert result.output == ("Draft #1 (drafts/gap-1-do-we-sign-a-hipaa-baa.md) is off the waiting list; "
                             "its file and its copy in the state DB are kept.\n")
    assert (source / "drafts" / "gap-1-do-we-sign-a-hipaa-baa.md").is_file()
    listed = run("gaps", "drafts", "--index", str(sample_index)).output
    assert f"#1  [discarded by cli {date.today().isoformat()}]" in listed and "#2  [waiting]" in listed
    waiting = run("gaps", "drafts", "--status", "waiting", "--index", str(sample_index)).output
    assert "#2  [waiting]" in waiting and "#1" not in waiting
    assert run("gaps", "discard-draft", "1").output.startswith("Draft #1 (drafts/gap-1-do-we-sign-a-hipaa-baa.md) was already discarded by cli")


def test_discard_draft_of_an_unknown_id_is_one_line(filled):
    missing = CliRunner().invoke(main, ["gaps", "discard-draft", "99"])
    assert missing.exit_code == 1 and missing.stderr == "Error: no draft 99 (see `kb gaps drafts`)\n"
    garbage = CliRunner().invoke(main, ["gaps", "discard-draft", "x1"])
    assert garbage.exit_code == 2 and "'x1' is not a valid integer" in garbage.stderr
    no_index = run("gaps", "drafts", "--index", "/nonexistent")
    assert no_index.stdout == "No drafts.\n" and "every draft not discarded shows as waiting" in no_index.stderr
