"""`kb gaps`: the content-gap log (and the drafts made from it) for those who prefer a terminal."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from knowledge.config import Settings
from knowledge.errors import KnowledgeError

state_option = click.option("--state-db", type=click.Path(path_type=Path), help="The SQLite state DB [env KB_STATE_DB; default state.db; DATABASE_URL overrides it].")


def _state(ctx: click.Context, state_db: Path | None):
    from knowledge.state import open_state

    settings: Settings = ctx.find_root().obj.with_overrides(state_db=state_db)
    try:
        return open_state(settings)
    except KnowledgeError as exc:  # e.g. DATABASE_URL unreachable: one line, no traceback
        raise click.ClickException(str(exc)) from None


def _gaps(ctx: click.Context, state_db: Path | None, embedder=None):
    from knowledge.gaps import Gaps

    return Gaps(_state(ctx, state_db), embedder)


def _gap(gaps, gap_id: int):
    gap = gaps.get(gap_id)
    if gap is None:
        raise click.ClickException(f"no gap {gap_id} (see `kb gaps list`)")
    return gap


@click.group("gaps")
def gaps_command() -> None:
    """Questions the knowledge base could not answer, grouped by meaning, and the drafts written for them."""


@gaps_command.command("list")
@click.option("--status", type=click.Choice(["open", "answerable", "resolved", "ignored", "all"]), default="open", show_default=True)
@state_option
@click.pass_context
def list_command(ctx, status, state_db):
    """The gaps, most asked first, with the expert's reply where one came."""
    from knowledge.drafts import plain_line
    from knowledge.text import trim

    gaps = _gaps(ctx, state_db).list(None if status == "all" else status)
    if not gaps:
        click.echo(f"No {'' if status == 'all' else status + ' '}gaps.")
    for g in gaps:
        click.echo(click.style(f"#{g.id}", bold=True) + f"  {g.count}× by {g.askers} rep(s)  [{g.status}]  {g.first_seen[:10]} → {g.last_seen[:10]}"
                   + (f"  → {g.resolved_doc}" if g.resolved_doc else ""))
        for example in g.examples or ["(text deleted after the retention period)"]:
            click.echo(f"    “{example}”")
        if g.expert_answer:
            click.echo(f"    ↳ expert {g.expert_by or '?'} ({(g.expert_at or '')[:10]}): {trim(plain_line(g.expert_answer), 100)}")


@gaps_command.command("export")
@click.option("--csv", "as_csv", is_flag=True, required=True, help="CSV on stdout (the only format for now).")
@click.option("--status", type=click.Choice(["open", "answerable", "resolved", "ignored", "all"]), default="all", show_default=True)
@state_option
@click.pass_context
def export_command(ctx, as_csv, status, state_db):
    """Export the gaps as CSV (for a spreadsheet)."""
    sys.stdout.write(_gaps(ctx, state_db).export_csv(None if status == "all" else status))


@gaps_command.command("resolve")
@click.argument("gap_id", type=int)
@click.option("--doc", required=True, help="The document (path in the knowledge base, or URL) that now answers it.")
@state_option
@click.pass_context
def resolve_command(ctx, gap_id, doc, state_db):
    """Mark a gap resolved; the running bot DMs everyone who asked."""
    gaps = _gaps(ctx, state_db)
    _gap(gaps, gap_id)
    owed = gaps.resolve(gap_id, doc, by="cli")
    click.echo(f"Gap #{gap_id} resolved by {doc}; {owed} rep(s) will get a DM from the bot.")


@gaps_command.command("draft")
@click.argument("gap_id", type=int)
@click.option("--source", type=click.Path(path_type=Path), help="The knowledge base folder [env KB_SOURCE].")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory, for the nearest docs [env KB_INDEX_DIR].")
@state_option
@click.pass_context
def draft_command(ctx, gap_id, source, index_dir, state_db):
    """Write a Markdown draft for a gap (the expert's reply as its answer) into drafts/, for a writer to finish."""
    from kb.cli import _knowledge_base
    from knowledge.drafts import DraftError, Drafts, gap_draft, nearest_sections

    settings: Settings = ctx.find_root().obj.with_overrides(source=source, index_dir=index_dir)
    gaps = _gaps(ctx, state_db)
    gap = _gap(gaps, gap_id)
    try:
        nearest = nearest_sections(_knowledge_base(settings), gap.question or next(iter(gap.examples), None))
    except KnowledgeError:  # no index yet: a draft without the nearest sections
        nearest = []
    try:
        saved = Drafts(gaps.state, settings.source).save(gap_draft(gap, nearest), by="cli")
    except DraftError as exc:
        raise click.ClickException(str(exc)) from None
    if saved.problem:
        raise click.ClickException(f"could not write {saved.file}: {saved.problem} (the draft is kept in the state DB)")
    if not saved.written:
        raise click.ClickException(f"{saved.file} already exists; finish or delete it first")
    click.echo(f"Wrote {saved.file}. It stays out of the index until you remove `draft: true`.")


@gaps_command.command("drafts")
@click.option("--status", "wanted", type=click.Choice(["waiting", "published", "discarded", "all"]), default="all", show_default=True)
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory, to tell what is published [env KB_INDEX_DIR].")
@state_option
@click.pass_context
def drafts_command(ctx, wanted, index_dir, state_db):
    """The saved drafts with their ids: waiting (to publish), published, or discarded."""
    from knowledge.drafts import reviewed
    from knowledge.index import Index

    settings: Settings = ctx.find_root().obj.with_overrides(index_dir=index_dir)
    state = _state(ctx, state_db)
    try:
        index = Index.open(settings.index_dir)
        documents, history = index.documents(), index.changes()
    except KnowledgeError as exc:  # no index yet: nothing is published
        click.echo(f"{exc}: every draft not discarded shows as waiting", err=True)
        documents, history = [], []
    shown = [(d, s) for d, s in reviewed(state, documents, history) if wanted in ("all", s.split()[0])]
    if not shown:
        click.echo(f"No {'' if wanted == 'all' else wanted + ' '}drafts.")
    for draft, draft_status in shown:
        gone = f" by {draft.discarded_by or '?'} {(draft.discarded_at or '')[:10]}" if draft_status == "discarded" else ""
        click.echo(click.style(f"#{draft.id}", bold=True) + f"  [{draft_status}{gone}]  {draft.created_at[:10]}  {draft.path}")
        click.echo(f"    {draft.title}")


@gaps_command.command("discard-draft")
@click.argument("draft_id", type=int)
@state_option
@click.pass_context
def discard_draft_command(ctx, draft_id, state_db):
    """Take a draft nobody will publish off the waiting list (the digest's, App Home's); its file and row stay."""
    from knowledge.drafts import UnknownDraft, discard

    try:
        draft, discarded = discard(_state(ctx, state_db), draft_id, by="cli")
    except UnknownDraft:
        raise click.ClickException(f"no draft {draft_id} (see `kb gaps drafts`)") from None
    if not discarded:
        click.echo(f"Draft #{draft.id} ({draft.path}) was already discarded by {draft.discarded_by or '?'} on {(draft.discarded_at or '')[:10]}.")
        return
    click.echo(f"Draft #{draft.id} ({draft.path}) is off the waiting list; its file and its copy in the state DB are kept.")
