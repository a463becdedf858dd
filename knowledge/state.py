"""The state DB: what users did (questions, everyone's feedback, gaps, owed DMs, event ids). Never rebuilt.

`StateDB` is the interface the bot, the gaps and the digest use, with the SQL both backends share. Each
backend owns its connections and its dialect: SQLite here (WAL mode, one connection per thread; the
default for one machine) and PostgreSQL in `knowledge.state_pg` (when DATABASE_URL is set: many processes
on many machines). `open_state(settings)` picks one. Schema changes are one numbered list of migrations,
written once, with the few words the dialects spell differently as {placeholders}.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from knowledge.answer import Answer
from knowledge.errors import KnowledgeError
from knowledge.late import Tokens

MIGRATION_TEMPLATES = [
    """
    CREATE TABLE questions (
        id {id},
        asked_at TEXT NOT NULL,
        user_id TEXT,
        channel_id TEXT,
        thread_ts TEXT,
        surface TEXT NOT NULL,          -- mention | dm | ask | battlecard | cli
        question TEXT,                  -- NULL once the retention period has passed
        status TEXT NOT NULL,           -- pending | answered | gap | error
        answered INTEGER,
        top_score {real},
        hits TEXT,                      -- JSON: [{{path, heading_path, anchor, score}}]
        feedback TEXT,                  -- helpful | not_helpful
        feedback_at TEXT,
        error TEXT
    );
    CREATE INDEX questions_asked_at ON questions(asked_at);
    CREATE TABLE events (event_id TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
    """,
    """
    CREATE TABLE gaps (
        id {id},
        status TEXT NOT NULL DEFAULT 'open',  -- open | answerable | resolved | ignored
        question TEXT,                        -- the first phrasing, NULL after the retention period
        vector {blob} NOT NULL,               -- float32 unit centroid of its questions' embeddings
        size INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_doc TEXT,
        resolved_by TEXT,
        resolved_at TEXT
    );
    ALTER TABLE questions ADD COLUMN gap_id {ref} REFERENCES gaps(id);
    CREATE INDEX questions_gap ON questions(gap_id);
    CREATE TABLE notifications (                -- DMs owed to askers when their gap is answered
        id {id},
        gap_id {ref} NOT NULL REFERENCES gaps(id),
        question_id {ref} NOT NULL REFERENCES questions(id),
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
        question_id {ref} NOT NULL REFERENCES questions(id),
        user_id TEXT NOT NULL,              -- who clicked, '' when unknown (a question asked outside Slack)
        rating TEXT NOT NULL,               -- helpful | not_helpful, their latest click
        rated_at TEXT NOT NULL,
        PRIMARY KEY (question_id, user_id)
    );
    INSERT INTO feedback (question_id, user_id, rating, rated_at)
        SELECT id, COALESCE(user_id, ''), feedback, COALESCE(feedback_at, asked_at) FROM questions WHERE feedback IS NOT NULL
    """,
    # Many processes may send the owed DMs: one claims a DM (claimed_at) before sending it, and a claim
    # older than a lease is taken over (its process died). Vectors by content hash: any machine's
    # `kb index` reuses what another one embedded.
    """
    ALTER TABLE notifications ADD COLUMN claimed_at TEXT;
    CREATE TABLE vectors (
        model TEXT NOT NULL,
        hash TEXT NOT NULL,                 -- the chunk's content hash
        vector {blob} NOT NULL,             -- float32
        PRIMARY KEY (model, hash)
    )
    """,
    # Conversations (issue 11): a follow-up remembers the earlier question it was searched with; a
    # question sent to the experts' channel waits there for the first reply in its thread, which goes
    # back to the rep and stays on the gap; drafts keep their Markdown here, so a draft written on an
    # ephemeral disk is not lost; a verification nudge goes to an owner once a week.
    """
    ALTER TABLE questions ADD COLUMN follows {ref} REFERENCES questions(id);
    CREATE INDEX questions_thread ON questions(channel_id, thread_ts);
    CREATE TABLE expert_requests (
        id {id},
        question_id {ref} NOT NULL UNIQUE REFERENCES questions(id),
        gap_id {ref} REFERENCES gaps(id),
        asked_by TEXT NOT NULL,             -- who clicked Ask an expert
        relay_channel TEXT NOT NULL,        -- where the answer goes back: the rep's thread or their DM
        relay_thread_ts TEXT,
        channel TEXT NOT NULL,              -- the experts' channel
        ts TEXT,                            -- the post there, whose thread collects the reply (NULL until posted)
        status TEXT NOT NULL DEFAULT 'open',  -- open | answered (a reply) | closed (Mark answered)
        answer TEXT,
        answered_by TEXT,
        answered_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX expert_requests_post ON expert_requests(channel, ts);
    ALTER TABLE gaps ADD COLUMN expert_answer TEXT;
    ALTER TABLE gaps ADD COLUMN expert_by TEXT;
    ALTER TABLE gaps ADD COLUMN expert_at TEXT;
    CREATE TABLE drafts (
        id {id},
        gap_id {ref} REFERENCES gaps(id),   -- NULL for a draft saved from a Slack thread
        path TEXT NOT NULL UNIQUE,          -- relative to the knowledge base folder (drafts/...)
        title TEXT NOT NULL,
        markdown TEXT NOT NULL,
        source TEXT NOT NULL,               -- gap | thread
        created_by TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE nudges (period TEXT NOT NULL, user_id TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (period, user_id))
    """,
    # An expert's answer is stored before it is relayed to the rep, and a relay that failed (a rate limit,
    # the network) stays owed until a watcher pass delivers it. relayed_at is when the relay was settled:
    # delivered, or refused for good (relay_error says why). Whoever relays holds relay_claimed_at, as
    # notifications.claimed_at. Requests answered before this were relayed then, or never will be: settled.
    """
    ALTER TABLE expert_requests ADD COLUMN relayed_at TEXT;
    ALTER TABLE expert_requests ADD COLUMN relay_error TEXT;
    ALTER TABLE expert_requests ADD COLUMN relay_claimed_at TEXT;
    UPDATE expert_requests SET relayed_at = answered_at WHERE status IN ('answered', 'closed');
    CREATE INDEX expert_requests_owed ON expert_requests(id) WHERE relayed_at IS NULL AND status IN ('answered', 'closed')
    """,
    # A coordinator takes a draft nobody will publish off the waiting list: the row (its Markdown) and its
    # file stay; only the list forgets it. Saving a draft to the same path again brings it back.
    """
    ALTER TABLE drafts ADD COLUMN discarded_at TEXT;
    ALTER TABLE drafts ADD COLUMN discarded_by TEXT
    """,
    # A chunk's word pieces (knowledge.late) come out of the same model call as its vector: a machine that
    # reuses another's vector needs its pieces too, or it embeds the chunk again.
    """
    CREATE TABLE pieces (
        model TEXT NOT NULL,
        hash TEXT NOT NULL,
        tokens {blob} NOT NULL,             -- knowledge.late.Tokens.pack()
        PRIMARY KEY (model, hash)
    )
    """,
]
SQLITE_WORDS = {"id": "INTEGER PRIMARY KEY", "ref": "INTEGER", "real": "REAL", "blob": "BLOB"}
MIGRATIONS = [t.format(**SQLITE_WORDS) for t in MIGRATION_TEMPLATES]  # what SQLite runs, as it always did

QUESTION_COLUMNS = "q.id, q.asked_at, q.user_id, q.channel_id, q.thread_ts, q.surface, q.question, q.status, q.answered, q.top_score, q.hits"
# A question with the asker's own rating (the `feedback` field), whoever else rated it.
SELECT_QUESTIONS = (
    f"SELECT {QUESTION_COLUMNS}, f.rating, q.gap_id, q.follows FROM questions q "
    "LEFT JOIN feedback f ON f.question_id = q.id AND f.user_id = COALESCE(q.user_id, '')"
)
# What `kb state import` copies, parents first; the key says which rows are already there.
TABLES = {
    "gaps": "id", "questions": "id", "feedback": "question_id, user_id", "notifications": "id",
    "events": "event_id", "digests": "period, channel", "meta": "key", "vectors": "model, hash",
    "pieces": "model, hash", "expert_requests": "id", "drafts": "id", "nudges": "period, user_id",
}


class StateUnavailable(KnowledgeError):
    """The state database cannot be reached or used; the message names the setting to fix."""


class ImportConflict(KnowledgeError):
    """The target already holds different rows under the ids being imported."""


EVENTS_KEPT = timedelta(days=1)  # how long a Slack event id is remembered against retries


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
    follows: int | None = None  # the earlier question a follow-up was searched with


class StateDB:
    """Questions, feedback, gaps, owed DMs and event ids. Safe from many threads (and, on PostgreSQL, many processes).

    `StateDB(path)` opens the SQLite backend, as `Path(...)` gives a PosixPath; `open_state(settings)` picks
    the backend from the settings.
    """

    # The dialect: how each backend spells the first hit's path of a JSON `hits` column, and row locks.
    TOP_PATH = "json_extract(hits, '$[0].path')"
    SKIP_LOCKED = ""
    name = "SQLite"

    def __new__(cls, *args, **kwargs):
        return super().__new__(SQLiteState if cls is StateDB else cls)

    # -- the seam each backend implements ----------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (`?` placeholders); returns a cursor-like result (fetchone, fetchall, rowcount, iteration)."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        """Statements run inside one transaction; `lock` names a critical section held until it ends."""
        raise NotImplementedError
        yield

    def close(self) -> None:
        """Release connections."""

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.execute(sql + " RETURNING id", params).fetchone()[0])

    # -- what the bot, the gaps and the digest need ------------------------------------------------

    def first_time(self, event_id: str) -> bool:
        """Record a Slack event id; False if it was seen before (a retry that must not answer twice)."""
        cur = self.execute("INSERT INTO events (event_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (event_id, now()))
        return cur.rowcount == 1

    def forget_old_events(self) -> int:
        """Delete event ids older than EVENTS_KEPT: Slack retries within minutes, and the table must not grow forever."""
        cutoff = (datetime.now(timezone.utc) - EVENTS_KEPT).isoformat(timespec="seconds")
        return self.execute("DELETE FROM events WHERE seen_at < ?", (cutoff,)).rowcount

    def record_question(self, question: str, surface: str, user_id: str | None = None,
                        channel_id: str | None = None, thread_ts: str | None = None) -> int:
        """Store a question before it is searched, so an error later cannot lose it."""
        return self._insert(
            "INSERT INTO questions (asked_at, user_id, channel_id, thread_ts, surface, question, status) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            (now(), user_id, channel_id, thread_ts, surface, question),
        )

    def record_answer(self, question_id: int, answer: Answer) -> None:
        hits = [
            {"path": h.chunk.path, "heading_path": list(h.chunk.heading_path), "anchor": h.chunk.anchor, "score": round(h.score, 4)}
            for h in answer.hits
        ]
        top = max((h.score for h in answer.hits), default=None)
        self.execute(
            "UPDATE questions SET status = ?, answered = ?, top_score = ?, hits = ? WHERE id = ?",
            ("answered" if answer.answered else "gap", int(answer.answered), None if top is None else float(top), json.dumps(hits), question_id),
        )

    def record_outcome(self, question_id: int, status: str, error: str | None = None) -> None:
        """Set a status that is not an answer: `gap` (e.g. no battlecard found) or `error`."""
        self.execute("UPDATE questions SET status = ?, error = ? WHERE id = ?", (status, error, question_id))

    def record_feedback(self, question_id: int, helpful: bool, user_id: str | None = None) -> bool:
        """Store `user_id`'s rating of an answer, replacing their earlier one; None rates as the asker.

        Returns False when there is no such question (nothing is stored).
        """
        cur = self.execute(
            "INSERT INTO feedback (question_id, user_id, rating, rated_at) "
            "SELECT id, COALESCE(?, user_id, ''), ?, ? FROM questions WHERE id = ? "
            "ON CONFLICT (question_id, user_id) DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at",
            (user_id, "helpful" if helpful else "not_helpful", now(), question_id),
        )
        return cur.rowcount > 0

    def ratings(self, question_id: int) -> dict[str, str]:
        """Everyone's latest rating of one answer: {user id: 'helpful' | 'not_helpful'}."""
        rows = self.execute("SELECT user_id, rating FROM feedback WHERE question_id = ? ORDER BY rated_at, user_id", (question_id,))
        return {r[0]: r[1] for r in rows}

    def feedback_counts(self, question_id: int) -> tuple[int, int]:
        """(helpful, not helpful) people for one answer, as its buttons show them."""
        counts = dict(self.execute("SELECT rating, COUNT(*) FROM feedback WHERE question_id = ? GROUP BY rating", (question_id,)).fetchall())
        return counts.get("helpful", 0), counts.get("not_helpful", 0)

    def earlier_question(self, question_id: int, channel_id: str, thread_ts: str | None = None,
                         user_id: str | None = None, since: str | None = None) -> Question | None:
        """The conversation's question before `question_id`: the last one in a thread, or (no thread) the
        same person's last one in that channel since `since` (a DM's short window)."""
        if thread_ts:
            where, params = "q.channel_id = ? AND q.thread_ts = ?", (channel_id, thread_ts)
        else:
            where, params = "q.channel_id = ? AND q.user_id = ? AND q.asked_at >= ?", (channel_id, user_id, since or "")
        row = self.execute(
            f"{SELECT_QUESTIONS} WHERE {where} AND q.id < ? AND q.question IS NOT NULL ORDER BY q.id DESC LIMIT 1",
            (*params, question_id),
        ).fetchone()
        return _question(row) if row else None

    def record_follows(self, question_id: int, earlier_id: int) -> None:
        """A follow-up was searched with `earlier_id` as its context (a re-render searches the same way)."""
        self.execute("UPDATE questions SET follows = ? WHERE id = ?", (earlier_id, question_id))

    def question(self, question_id: int) -> Question | None:
        row = self.execute(f"{SELECT_QUESTIONS} WHERE q.id = ?", (question_id,)).fetchone()
        return _question(row) if row else None

    def questions(self) -> list[Question]:
        return [_question(r) for r in self.execute(f"{SELECT_QUESTIONS} ORDER BY q.id").fetchall()]

    def forget_old_questions(self, days: int) -> int:
        """Delete question texts older than `days`; the rows (and so the counts) stay."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
        cur = self.execute("UPDATE questions SET question = NULL WHERE asked_at < ? AND question IS NOT NULL", (cutoff,))
        self.execute(
            "UPDATE gaps SET question = NULL WHERE question IS NOT NULL AND id NOT IN "
            "(SELECT gap_id FROM questions WHERE gap_id IS NOT NULL AND asked_at >= ?)", (cutoff,),
        )
        self.execute("DELETE FROM events WHERE seen_at < ?", (cutoff,))
        return cur.rowcount

    def get_meta(self, key: str) -> str | None:
        row = self.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def claim_digest(self, period: str, channel: str) -> bool:
        """True the first time a digest for `period` goes to `channel`; False ever after."""
        cur = self.execute("INSERT INTO digests (period, channel, posted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (period, channel, now()))
        return cur.rowcount == 1

    def release_digest(self, period: str, channel: str) -> None:
        """Undo a claim whose post failed, so the next run tries again."""
        self.execute("DELETE FROM digests WHERE period = ? AND channel = ?", (period, channel))

    # -- the embedding cache, shared by every machine that indexes against this database --------

    def cached_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored float32 vectors of those content hashes that `model` has embedded before."""
        return {h: np.frombuffer(bytes(v), dtype=np.float32) for h, v in self._by_hash("vectors", "vector", model, hashes)}

    def _by_hash(self, table: str, column: str, model: str, hashes: Sequence[str]) -> list[tuple[str, bytes]]:
        rows = []
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters is 999 on old builds
            batch = wanted[start:start + 500]
            rows += self.execute(
                f"SELECT hash, {column} FROM {table} WHERE model = ? AND hash IN ({', '.join('?' * len(batch))})", (model, *batch)
            ).fetchall()
        return rows

    def store_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Remember `model`'s vectors by content hash (a hash already stored keeps its vector)."""
        self.executemany(
            "INSERT INTO vectors (model, hash, vector) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )

    def cached_pieces(self, model: str, hashes: Sequence[str]) -> dict[str, Tokens]:
        """The stored word pieces of those content hashes that `model` has embedded before."""
        return {h: Tokens.unpack(bytes(t)) for h, t in self._by_hash("pieces", "tokens", model, hashes)}

    def store_pieces(self, model: str, tokens: dict[str, Tokens]) -> None:
        """Remember `model`'s word pieces by content hash, as store_vectors does its vectors."""
        self.executemany(
            "INSERT INTO pieces (model, hash, tokens) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(model, h, t.pack()) for h, t in tokens.items()],
        )

    # -- copying a SQLite state DB in ------------------------------------------------------------

    def import_from(self, source: "StateDB") -> dict[str, int]:
        """Copy every row of `source` that is not here yet (by key); returns rows added per table.

        Idempotent: a second run adds nothing. Ids are kept, so the target must not already hold other
        questions or gaps under the same ids (ImportConflict).
        """
        added = {}
        with self.transaction(lock="import"):
            self._check_ids(source, "questions", "asked_at, surface, user_id, channel_id, thread_ts")
            self._check_ids(source, "gaps", "created_at")
            for table, key in TABLES.items():
                mine = set(self.columns(table))
                columns = [c for c in source.columns(table) if c in mine]
                if not columns:
                    continue
                rows = source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
                before = self.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                marks = ", ".join("?" * len(columns))
                self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                                 [tuple(r) for r in rows])
                added[table] = self.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] - before
            self._after_import()
        return added

    def _check_ids(self, source: "StateDB", table: str, columns: str) -> None:
        """Rows under the same id must be the same rows (by columns that never change), or ids would collide."""
        mine = {r[0]: tuple(r[1:]) for r in self.execute(f"SELECT id, {columns} FROM {table}").fetchall()}
        clashes = [r[0] for r in source.execute(f"SELECT id, {columns} FROM {table}").fetchall() if r[0] in mine and mine[r[0]] != tuple(r[1:])]
        if clashes:
            raise ImportConflict(f"the target already has other {table} under the same ids (e.g. {clashes[0]}): import into an empty database")

    def _after_import(self) -> None:
        """Bring id generators past the imported ids (PostgreSQL's identity sequences)."""

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError


class SQLiteState(StateDB):
    """The state in one SQLite file, WAL mode, one connection per thread: one machine, any number of threads."""

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

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        # SQLite has one writer at a time: BEGIN IMMEDIATE takes the write lock up front, for any `lock`.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.execute(f"PRAGMA table_info({table})")]

    def _migrate(self) -> None:
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {n}")


def open_state(settings) -> StateDB:
    """PostgreSQL when `settings.database_url` is set (nothing is written locally), else SQLite at `settings.state_db`."""
    url = getattr(settings, "database_url", None)
    if url:
        from knowledge.state_pg import PostgresState

        return PostgresState(url)
    return StateDB(settings.state_db)


def _question(row: Sequence[Any]) -> Question:
    (id_, asked_at, user_id, channel_id, thread_ts, surface, question, status, answered, top_score, hits, rating, gap_id, follows) = tuple(row)
    return Question(
        id_, asked_at, user_id, channel_id, thread_ts, surface, question, status,
        None if answered is None else bool(answered), top_score, json.loads(hits or "[]"), rating, gap_id, follows,
    )
