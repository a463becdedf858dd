"""DATABASE_URL at the command line: `kb state import`, the gap log in PostgreSQL, and one clear line when the URL is wrong."""
from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from kb.cli import main
from knowledge.answer import Answer
from knowledge.gaps import Gaps
from knowledge.state import StateDB
from knowledge.state_pg import PostgresState


def run(*args, env):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def old_db(tmp_path, embedder):
    """A SQLite state DB as the bot left it on one machine: a gap asked twice, a rating."""
    state = StateDB(tmp_path / "old.db")
    for text, user in [("do we sign a HIPAA BAA", "U1"), ("will we sign a business associate agreement", "U2")]:
        qid = state.record_question(text, "ask", user, "C1")
        state.record_answer(qid, Answer(text, False, []))
        Gaps(state, embedder).add(qid)
    state.record_feedback(qid, False, user_id="U2")
    return tmp_path / "old.db"


def test_import_copies_a_sqlite_state_db_into_postgres_once(old_db, pg_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": pg_url, "KB_STATE_DB": str(tmp_path / "unused.db")}
    first = run("state", "import", str(old_db), env=env)
    assert first.exit_code == 0, first.output
    assert "1 gaps, 2 questions, 1 feedback" in first.output and "postgres@127.0.0.1" in first.output
    again = run("state", "import", str(old_db), env=env)
    assert again.exit_code == 0 and "nothing new" in again.output
    listed = run("gaps", "list", env=env).output
    assert "2× by 2 rep(s)  [open]" in listed and "“do we sign a HIPAA BAA”" in listed
    assert not (tmp_path / "unused.db").exists()  # with DATABASE_URL nothing is written locally


def test_import_needs_database_url(old_db):
    result = run("state", "import", str(old_db), env={"DATABASE_URL": ""})
    assert result.exit_code == 1 and "DATABASE_URL is not set" in result.output


@pytest.fixture
def refused_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        yield f"postgresql://kb:secret@127.0.0.1:{sock.getsockname()[1]}/kb"


@pytest.mark.parametrize("args", [
    ["gaps", "list"], ["gaps", "export", "--csv"], ["digest"], ["state", "import", "{old_db}"],
    ["serve", "--http", "--port", "0"],
])
def test_an_unreachable_database_url_is_one_line_within_seconds(args, refused_url, old_db):
    env = {"DATABASE_URL": refused_url, "SLACK_BOT_TOKEN": "xoxb-1-test", "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99b1e2c2a5a5", "SLACK_APP_TOKEN": ""}
    started = time.monotonic()
    result = run(*[a.format(old_db=old_db) for a in args], env=env)
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: DATABASE_URL: cannot use PostgreSQL at kb@127.0.0.1:") and "secret" not in line


def test_a_database_url_that_is_not_postgres_is_one_line():
    result = run("gaps", "list", env={"DATABASE_URL": "mysql://kb:secret@db/kb"})
    assert result.exit_code == 1
    assert result.output == "Error: DATABASE_URL must start with postgres:// or postgresql://, not 'mysql'\n"
    conninfo = run("gaps", "list", env={"DATABASE_URL": "host=db user=kb password=secret dbname=kb"})
    assert conninfo.output == "Error: DATABASE_URL must start with postgres:// or postgresql://, not a value without one\n"


def test_gaps_and_digest_read_the_shared_database(pg_url, embedder, sample_index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = PostgresState(pg_url)
    try:
        qid = state.record_question("is brightwave hipaa compliant", "dm", "U1", "D1")
        state.record_answer(qid, Answer("is brightwave hipaa compliant", False, []))
        Gaps(state, embedder).add(qid)
        state.execute("UPDATE questions SET asked_at = ?", ((datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds"),))
    finally:
        state.close()
    env = {"DATABASE_URL": pg_url, "KB_INDEX_DIR": str(sample_index)}
    assert "“is brightwave hipaa compliant”" in run("gaps", "list", env=env).output
    digest = run("digest", env=env)
    assert digest.exit_code == 0 and "Questions asked  1" in digest.output and "1×  is brightwave hipaa compliant" in digest.output
    assert list(tmp_path.iterdir()) == []


def test_a_second_machines_kb_index_embeds_nothing(pg_url, tmp_path):
    from tests.conftest import write

    write(tmp_path / "kb", "pricing.md", "# Pricing\n\n## Discounts\n\nUp to 20% needs a manager.\n\n## Renewals\n\nUplift is capped at 7%.\n")
    env = {"DATABASE_URL": pg_url}
    first = run("index", "--source", str(tmp_path / "kb"), "--index", str(tmp_path / "machine-1"), env=env)
    assert "chunks: 2 in all, 2 embedded, 0 reused" in first.output, first.output
    second = run("index", "--source", str(tmp_path / "kb"), "--index", str(tmp_path / "machine-2"), env=env)
    assert "chunks: 2 in all, 0 embedded, 2 reused" in second.output, second.output
