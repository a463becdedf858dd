"""The weekly digest: what reps asked, how well the knowledge base answered, and what needs care.

Pure data from the state DB and the index (no Slack): `compute()` gathers a `Digest` (with the questions
experts answered and the drafts waiting to be published), `render_text()`
prints it for a terminal, `chart_png()` draws questions and answer rate per day. `next_run()` and
`period_key()` are the schedule's clock arithmetic.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterable
from zoneinfo import ZoneInfo

from knowledge.drafts import StoredDraft, waiting
from knowledge.gaps import Gap, Gaps
from knowledge.index import Document, Index
from knowledge.state import StateDB

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TOP_GAPS = 5
TOP_DOCUMENTS = 5
STALE_DAYS = 180
CHANGE_ORDER = {"added": 0, "changed": 1, "removed": 2}


def _rate(answered: int, gaps: int) -> float | None:
    """Answered over answered-or-gap: pending and failed questions say nothing about the content."""
    decided = answered + gaps
    return answered / decided if decided else None


@dataclass(frozen=True)
class Figures:
    """The counts of one period."""

    questions: int = 0
    answered: int = 0
    gaps: int = 0
    helpful: int = 0
    not_helpful: int = 0
    expert_answered: int = 0  # questions experts answered (a reply, or Mark answered) in the period

    @property
    def answer_rate(self) -> float | None:
        return _rate(self.answered, self.gaps)


@dataclass(frozen=True)
class Day:
    """One calendar day of the period (in the period's time zone), for the chart."""

    day: date
    questions: int
    answered: int
    gaps: int

    @property
    def answer_rate(self) -> float | None:
        return _rate(self.answered, self.gaps)


@dataclass(frozen=True)
class DocumentCount:
    path: str
    title: str
    url: str | None
    count: int


@dataclass(frozen=True)
class Change:
    path: str
    title: str
    url: str | None
    change: str  # added | changed | removed
    at: str


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    current: Figures
    previous: Figures  # the period of the same length just before
    top_gaps: list[Gap]
    top_documents: list[DocumentCount]
    stale: list[Document]
    stale_days: int
    changes: list[Change]
    days: list[Day]
    drafts: list[StoredDraft] = field(default_factory=list)  # saved drafts the current build does not index yet

    @property
    def question_change(self) -> int:
        return self.current.questions - self.previous.questions

    @property
    def rate_change(self) -> float | None:
        """The change in answer rate, in percentage points; None when either period has no rate."""
        now, before = self.current.answer_rate, self.previous.answer_rate
        return None if now is None or before is None else (now - before) * 100

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def zone_name(self) -> str:
        tz = self.until.tzinfo
        return getattr(tz, "key", None) or self.until.tzname() or "UTC"

    def reviewed_days_ago(self, doc: Document) -> int | None:
        return (self.until.date() - doc.last_reviewed).days if doc.last_reviewed else None


def iso(moment: datetime) -> str:
    """`moment` in the state DB's and the index's format (UTC, seconds), so strings compare as times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def compute(state: StateDB, index: Index, since: datetime, until: datetime, stale_days: int = STALE_DAYS) -> Digest:
    """The digest of [since, until): figures (and the period before), gaps, busiest, stale and changed docs."""
    docs = {d.path: d for d in index.documents()}
    return Digest(
        since=since,
        until=until,
        current=figures(state, since, until),
        previous=figures(state, since - (until - since), since),
        top_gaps=Gaps(state, embedder=None).list("open", limit=TOP_GAPS),
        top_documents=top_documents(state, docs, since, until),
        stale=stale_documents(docs.values(), until.date(), stale_days),
        stale_days=stale_days,
        changes=changes(index, docs, since, until),
        days=daily_series(state, since, until),
        drafts=waiting(state, docs.values(), index.changes()),
    )


def stale_documents(docs: Iterable[Document], today: date, stale_days: int) -> list[Document]:
    """Documents last reviewed more than `stale_days` before `today` (or never), oldest first."""
    cutoff = today - timedelta(days=stale_days)
    stale = (d for d in docs if d.last_reviewed is None or d.last_reviewed < cutoff)
    return sorted(stale, key=lambda d: (d.last_reviewed or date.min, d.path))


def figures(state: StateDB, since: datetime, until: datetime) -> Figures:
    """The counts of the questions asked in [since, until), of everyone's ratings of their answers, and of the
    questions experts answered in it (whenever they were asked)."""
    period = (iso(since), iso(until))
    row = state.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'answered' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN status = 'gap' THEN 1 ELSE 0 END), 0) FROM questions WHERE asked_at >= ? AND asked_at < ?",
        period,
    ).fetchone()
    ratings = dict(state.execute(
        "SELECT f.rating, COUNT(*) FROM feedback f JOIN questions q ON q.id = f.question_id "
        "WHERE q.asked_at >= ? AND q.asked_at < ? GROUP BY f.rating",
        period,
    ).fetchall())
    experts = state.execute(
        "SELECT COUNT(*) FROM expert_requests WHERE status IN ('answered', 'closed') AND answered_at >= ? AND answered_at < ?",
        period,
    ).fetchone()[0]
    return Figures(*map(int, row), helpful=ratings.get("helpful", 0), not_helpful=ratings.get("not_helpful", 0),
                   expert_answered=int(experts))


def top_documents(state: StateDB, docs: dict[str, Document], since: datetime, until: datetime) -> list[DocumentCount]:
    """The documents whose section came first in the most answered questions."""
    rows = state.execute(
        f"SELECT top, COUNT(*) FROM (SELECT {state.TOP_PATH} AS top FROM questions "
        "WHERE status = 'answered' AND asked_at >= ? AND asked_at < ?) answered WHERE top IS NOT NULL "
        "GROUP BY top ORDER BY COUNT(*) DESC, top LIMIT ?",
        (iso(since), iso(until), TOP_DOCUMENTS),
    ).fetchall()
    return [
        DocumentCount(path, docs[path].title if path in docs else path, docs[path].url if path in docs else None, count)
        for path, count in rows
    ]


def changes(index: Index, docs: dict[str, Document], since: datetime, until: datetime) -> list[Change]:
    """Documents added, changed or removed in the period, one line each: added-then-edited is 'added'."""
    recorded = index.changes(iso(since))
    folded: dict[str, tuple[str, str]] = {}
    for path, kind, at in recorded:
        if at >= iso(until):
            continue
        if kind == "changed" and folded.get(path, ("",))[0] == "added":
            kind = "added"
        folded[path] = (kind, at)
    return sorted(
        (
            Change(path, docs[path].title if path in docs else path, docs[path].url if path in docs else None, kind, at)
            for path, (kind, at) in folded.items()
        ),
        key=lambda c: (CHANGE_ORDER.get(c.change, 3), c.path),
    )


def daily_series(state: StateDB, since: datetime, until: datetime) -> list[Day]:
    """Questions, answered and gaps for each calendar day the period touches, in `until`'s time zone."""
    tz = until.tzinfo or timezone.utc
    first, last = since.astimezone(tz).date(), (until - timedelta(microseconds=1)).astimezone(tz).date()
    counts = {first + timedelta(days=n): [0, 0, 0] for n in range((last - first).days + 1)}
    rows = state.execute("SELECT asked_at, status FROM questions WHERE asked_at >= ? AND asked_at < ?", (iso(since), iso(until)))
    for asked_at, status in rows:
        day = counts.get(datetime.fromisoformat(asked_at).astimezone(tz).date())
        if day is not None:
            day[0] += 1
            day[1] += status == "answered"
            day[2] += status == "gap"
    return [Day(d, *c) for d, c in counts.items()]


def percent(rate: float | None) -> str:
    """0.8 -> '80%'; no rate (nothing answered or missed) -> 'n/a'."""
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def _signed(value: int, unit: str = "") -> str:
    return f"{value:+d}{unit}" if value else f"±0{unit}"


def period_label(digest: Digest) -> str:
    """'Mon 16 Nov 09:00 – Mon 23 Nov 09:00 (Europe/Berlin)'"""
    fmt = "%a %d %b %Y %H:%M" if digest.since.year != digest.until.year else "%a %d %b %H:%M"
    return f"{digest.since:{fmt}} – {digest.until:{fmt}} ({digest.zone_name})"


def length_label(digest: Digest) -> str:
    days = round(digest.length.total_seconds() / 86400)
    return f"{days // 7} weeks" if days % 7 == 0 and days > 7 else f"{days} days"


def change_summary(digest: Digest) -> tuple[str, str]:
    """How questions and answer rate moved since the previous period, as two short phrases."""
    before = digest.previous
    questions = f"{_signed(digest.question_change)} vs {before.questions}"
    if digest.rate_change is None:
        rate = f"vs {percent(before.answer_rate)}"
    else:
        rate = f"{_signed(round(digest.rate_change), ' pts')} vs {percent(before.answer_rate)}"
    return questions, rate


def gap_text(gap: Gap) -> str:
    """A gap's phrasing; after the retention period only the count is left."""
    return gap.question or next(iter(gap.examples), None) or "(question text removed after the retention period)"


def render_text(digest: Digest) -> str:
    """The digest as a plain terminal report."""
    now = digest.current
    q_change, rate_change = change_summary(digest)
    lines = [
        f"Knowledge base digest: {period_label(digest)}",
        f"(changes compared with the {length_label(digest)} before)",
        "",
        f"Questions asked  {now.questions}  ({q_change})",
        f"Answer rate      {percent(now.answer_rate)}  ({rate_change}): {now.answered} answered, {now.gaps} gaps",
        f"Feedback         {now.helpful} helpful, {now.not_helpful} not helpful",
        f"Expert answers   {now.expert_answered}  (vs {digest.previous.expert_answered})",
        "",
        "Top open gaps",
        *([f"  {g.count:>3}×  {gap_text(g)}" for g in digest.top_gaps] or ["  none"]),
        "",
        "Documents that answered most",
        *([f"  {d.count:>3}×  {d.title}  ({d.path})" for d in digest.top_documents] or ["  none"]),
        "",
        f"Stale documents (not reviewed for {digest.stale_days}+ days)",
        *([f"  {d.title}  ({d.path}): {d.owner or 'no owner'}, {_reviewed(digest, d)}" for d in digest.stale] or ["  none"]),
        "",
        "New and changed documents",
        *([f"  {c.change:<8} {c.title}  ({c.path})" for c in digest.changes] or ["  none"]),
        "",
        "Drafts waiting to be published",
        *([f"  {d.title}  ({d.path})" for d in digest.drafts] or ["  none"]),
    ]
    return "\n".join(lines) + "\n"


def _reviewed(digest: Digest, doc: Document) -> str:
    days = digest.reviewed_days_ago(doc)
    return "never reviewed" if days is None else f"last reviewed {doc.last_reviewed} ({days} days ago)"


def chart_png(digest: Digest) -> bytes:
    """A small PNG: questions per day as bars, answer rate as a line (Agg, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = range(len(digest.days))
    ax.bar(x, [d.questions for d in digest.days], color="#9db4cc", label="questions")
    ax.set_ylabel("questions")
    ax.set_xticks(list(x), [d.day.strftime("%a %d") for d in digest.days], fontsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    rated = [(n, d.answer_rate * 100) for n, d in enumerate(digest.days) if d.answer_rate is not None]
    rate_axis = ax.twinx()
    rate_axis.plot([n for n, _ in rated], [r for _, r in rated], color="#1d3b57", marker="o", label="answer rate")
    rate_axis.set_ylim(0, 105)
    rate_axis.set_ylabel("answer rate (%)")
    ax.set_title(f"Questions and answer rate per day ({digest.zone_name})", fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def weekday(name: str) -> int:
    """0 for 'mon' (or 'Monday') … 6 for 'sun'; ValueError for anything else."""
    key = name.strip().lower()
    for n, short in enumerate(WEEKDAYS):
        if key == short or key == FULL_WEEKDAYS[n]:
            return n
    raise ValueError(f"not a weekday: {name!r} (use mon, tue, wed, thu, fri, sat or sun)")


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _slot(day: date, hour: int, tz: tzinfo) -> datetime:
    """`hour`:00 on `day` as a real moment: a wall time skipped by DST moves forward, a repeated one is the first."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(timezone.utc).astimezone(tz)


def next_run(now: datetime, day: str, hour: int, tz: tzinfo | str) -> datetime:
    """The first slot (weekday `day`, `hour`:00 wall time in `tz`) strictly after `now`."""
    tz, wanted = _zone(tz), weekday(day)
    local = now.astimezone(tz).date()
    for offset in range(8):
        candidate = local + timedelta(days=offset)
        if candidate.weekday() == wanted and _slot(candidate, hour, tz) > now:
            return _slot(candidate, hour, tz)
    raise AssertionError("a weekly slot always falls within 8 days")  # pragma: no cover


def last_run(now: datetime, day: str, hour: int, tz: tzinfo | str) -> datetime:
    """The latest slot at or before `now` (the one a restarted scheduler may still owe)."""
    tz, wanted = _zone(tz), weekday(day)
    local = now.astimezone(tz).date()
    for offset in range(8):
        candidate = local - timedelta(days=offset)
        if candidate.weekday() == wanted and _slot(candidate, hour, tz) <= now:
            return _slot(candidate, hour, tz)
    raise AssertionError("a weekly slot always falls within 8 days")  # pragma: no cover


def period_key(until: datetime, tz: tzinfo | str) -> str:
    """The ISO year-week of the period's end in `tz`, e.g. '2026-W48': one digest per week and channel."""
    year, week, _ = until.astimezone(_zone(tz)).isocalendar()
    return f"{year}-W{week:02d}"
