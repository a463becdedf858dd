"""The state DB: what users did (questions, everyone's feedback, processed Slack event ids). Never rebuilt.

SQLite in WAL mode, one connection per thread; schema changes are numbered migrations.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from knowledge.answer import Answer

MIGRATIONS = [
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
        asked_at TEXT NOT NULL,
        user_id TEXT,
        channel_id TEXT,
        thread_ts TEXT,
        surface TEXT NOT NULL,          -- mention | dm | ask | battlecard | cli
        question TEXT,                  -- NULL once the retention period has passed
        status TEXT NOT NULL,           -- pending | answered | gap | error
        answered INTEGER,
        top_score REAL,
        hits TEXT,                      -- JSON: [{path, heading_path, anchor, score}]
        feedback TEXT,                  -- helpful | not_helpful
        feedback_at TEXT,
        error TEXT
    );
    CREATE INDEX questions_asked_at ON questions(asked_at);
    CREATE TABLE events (event_id TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
    """,
    """
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL DEFAULT 'open',  -- open | answerable | resolved | ignored
        question TEXT,                        -- the first phrasing, NULL after the retention period
        vector BLOB NOT NULL,                 -- float32 unit centroid of its questions' embeddings
        size INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_doc TEXT,
        resolved_by TEXT,
        resolved_at TEXT
    );
    ALTER TABLE questions ADD COLUMN gap_id INTEGER REFERENCES gaps(id);
    CREATE INDEX questions_gap ON questions(gap_id);
    CREATE TABLE notifications (                -- DMs owed to askers when their gap is answered
        id INTEGER PRIMARY KEY,
        gap_id INTEGER NOT NULL REFERENCES gaps(id),
        question_id INTEGER NOT NULL REFERENCES questions(id),
        user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        error TEXT,
        UNIQUE (gap_id, user_id)
    );
    CREATE TABLE digests (period TEXT NOT NULL, channel TEXT NOT NULL, posted_at TEXT NOT NULL, PRIMARY KEY (period, channel));
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)
    """,
    # Ratings per person: anyone in a channel may rate a thread answer, and one person's click must not
    # overwrite another's (the asker's above all). questions.feedback held one rating a question, its
    # clicker unknown: it is carried over as the asker's and no longer written.
    """
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions(id),
        user_id TEXT NOT NULL,              -- who clicked, '' when unknown (a question asked outside Slack)
        rating TEXT NOT NULL,               -- helpful | not_helpful, their latest click
        rated_at TEXT NOT NULL,
        PRIMARY KEY (question_id, user_id)
    );
    INSERT INTO feedback (question_id, user_id, rating, rated_at)
        SELECT id, COALESCE(user_id, ''), feedback, COALESCE(feedback_at, asked_at) FROM questions WHERE feedback IS NOT NULL
    """,
]
# A question with the asker's own rating (the `feedback` field), whoever else rated it.
SELECT_QUESTIONS = (
    "SELECT q.*, f.rating AS own_rating FROM questions q "
    "LEFT JOIN feedback f ON f.question_id = q.id AND f.user_id = COALESCE(q.user_id, '')"
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Question:
    id: int
    asked_at: str
    user_id: str | None
    channel_id: str | None
    thread_ts: str | None
    surface: str
    question: str | None
    status: str
    answered: bool | None
    top_score: float | None
    hits: list[dict]
    feedback: str | None  # the asker's own rating; others' are in StateDB.ratings()
    gap_id: int | None = None


class StateDB:
    """Questions, feedback and event ids. Safe to use from many threads at once."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {n}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def first_time(self, event_id: str) -> bool:
        """Record a Slack event id; False if it was seen before (a retry that must not answer twice)."""
        cur = self.db.execute("INSERT OR IGNORE INTO events (event_id, seen_at) VALUES (?, ?)", (event_id, now()))
        return cur.rowcount == 1

    def record_question(self, question: str, surface: str, user_id: str | None = None,
                        channel_id: str | None = None, thread_ts: str | None = None) -> int:
        """Store a question before it is searched, so an error later cannot lose it."""
        cur = self.db.execute(
            "INSERT INTO questions (asked_at, user_id, channel_id, thread_ts, surface, question, status) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            (now(), user_id, channel_id, thread_ts, surface, question),
        )
        return int(cur.lastrowid)

    def record_answer(self, question_id: int, answer: Answer) -> None:
        hits = [
            {"path": h.chunk.path, "heading_path": list(h.chunk.heading_path), "anchor": h.chunk.anchor, "score": round(h.score, 4)}
            for h in answer.hits
        ]
        self.db.execute(
            "UPDATE questions SET status = ?, answered = ?, top_score = ?, hits = ? WHERE id = ?",
            (
                "answered" if answer.answered else "gap",
                int(answer.answered),
                max((h.score for h in answer.hits), default=None),
                json.dumps(hits),
                question_id,
            ),
        )

    def record_outcome(self, question_id: int, status: str, error: str | None = None) -> None:
        """Set a status that is not an answer: `gap` (e.g. no battlecard found) or `error`."""
        self.db.execute("UPDATE questions SET status = ?, error = ? WHERE id = ?", (status, error, question_id))

    def record_feedback(self, question_id: int, helpful: bool, user_id: str | None = None) -> bool:
        """Store `user_id`'s rating of an answer, replacing their earlier one; None rates as the asker.

        Returns False when there is no such question (nothing is stored).
        """
        cur = self.db.execute(
            "INSERT INTO feedback (question_id, user_id, rating, rated_at) "
            "SELECT id, COALESCE(?, user_id, ''), ?, ? FROM questions WHERE id = ? "
            "ON CONFLICT (question_id, user_id) DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at",
            (user_id, "helpful" if helpful else "not_helpful", now(), question_id),
        )
        return cur.rowcount > 0

    def ratings(self, question_id: int) -> dict[str, str]:
        """Everyone's latest rating of one answer: {user id: 'helpful' | 'not_helpful'}."""
        rows = self.db.execute("SELECT user_id, rating FROM feedback WHERE question_id = ? ORDER BY rated_at", (question_id,))
        return {r[0]: r[1] for r in rows}

    def feedback_counts(self, question_id: int) -> tuple[int, int]:
        """(helpful, not helpful) people for one answer, as its buttons show them."""
        counts = dict(self.db.execute("SELECT rating, COUNT(*) FROM feedback WHERE question_id = ? GROUP BY rating", (question_id,)).fetchall())
        return counts.get("helpful", 0), counts.get("not_helpful", 0)

    def question(self, question_id: int) -> Question | None:
        row = self.db.execute(f"{SELECT_QUESTIONS} WHERE q.id = ?", (question_id,)).fetchone()
        return _question(row) if row else None

    def questions(self) -> list[Question]:
        return [_question(r) for r in self.db.execute(f"{SELECT_QUESTIONS} ORDER BY q.id")]

    def forget_old_questions(self, days: int) -> int:
        """Delete question texts older than `days`; the rows (and so the counts) stay."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
        cur = self.db.execute("UPDATE questions SET question = NULL WHERE asked_at < ? AND question IS NOT NULL", (cutoff,))
        self.db.execute(
            "UPDATE gaps SET question = NULL WHERE question IS NOT NULL AND id NOT IN "
            "(SELECT gap_id FROM questions WHERE gap_id IS NOT NULL AND asked_at >= ?)", (cutoff,),
        )
        self.db.execute("DELETE FROM events WHERE seen_at < ?", (cutoff,))
        return cur.rowcount

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def claim_digest(self, period: str, channel: str) -> bool:
        """True the first time a digest for `period` goes to `channel`; False ever after."""
        cur = self.db.execute("INSERT OR IGNORE INTO digests (period, channel, posted_at) VALUES (?, ?, ?)", (period, channel, now()))
        return cur.rowcount == 1

    def release_digest(self, period: str, channel: str) -> None:
        """Undo a claim whose post failed, so the next run tries again."""
        self.db.execute("DELETE FROM digests WHERE period = ? AND channel = ?", (period, channel))


def _question(row: sqlite3.Row) -> Question:
    return Question(
        row["id"], row["asked_at"], row["user_id"], row["channel_id"], row["thread_ts"], row["surface"],
        row["question"], row["status"], None if row["answered"] is None else bool(row["answered"]),
        row["top_score"], json.loads(row["hits"] or "[]"), row["own_rating"], row["gap_id"],
    )
