"""`kb gaps`: the content-gap log for those who prefer a terminal."""
from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import click
import yaml

from knowledge.config import Settings
from knowledge.errors import KnowledgeError

state_option = click.option("--state-db", type=click.Path(path_type=Path), help="The SQLite state DB [env KB_STATE_DB; default state.db; DATABASE_URL overrides it].")


def _gaps(ctx: click.Context, state_db: Path | None, embedder=None):
    from knowledge.gaps import Gaps
    from knowledge.state import open_state

    settings: Settings = ctx.find_root().obj.with_overrides(state_db=state_db)
    try:
        return Gaps(open_state(settings), embedder)
    except KnowledgeError as exc:  # e.g. DATABASE_URL unreachable: one line, no traceback
        raise click.ClickException(str(exc)) from None


def _gap(gaps, gap_id: int):
    gap = gaps.get(gap_id)
    if gap is None:
        raise click.ClickException(f"no gap {gap_id} (see `kb gaps list`)")
    return gap


@click.group("gaps")
def gaps_command() -> None:
    """Questions the knowledge base could not answer, grouped by meaning."""


@gaps_command.command("list")
@click.option("--status", type=click.Choice(["open", "answerable", "resolved", "ignored", "all"]), default="open", show_default=True)
@state_option
@click.pass_context
def list_command(ctx, status, state_db):
    """The gaps, most asked first."""
    gaps = _gaps(ctx, state_db).list(None if status == "all" else status)
    if not gaps:
        click.echo(f"No {'' if status == 'all' else status + ' '}gaps.")
    for g in gaps:
        click.echo(click.style(f"#{g.id}", bold=True) + f"  {g.count}× by {g.askers} rep(s)  [{g.status}]  {g.first_seen[:10]} → {g.last_seen[:10]}"
                   + (f"  → {g.resolved_doc}" if g.resolved_doc else ""))
        for example in g.examples or ["(text deleted after the retention period)"]:
            click.echo(f"    “{example}”")


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
    """Write a Markdown stub for a gap into the knowledge base (drafts/), for a writer to finish."""
    from kb.cli import _knowledge_base

    settings: Settings = ctx.find_root().obj.with_overrides(source=source, index_dir=index_dir)
    gaps = _gaps(ctx, state_db)
    gap = _gap(gaps, gap_id)
    try:
        kb = _knowledge_base(settings)
        nearest = kb.ask(gap.question or gap.examples[0], k=3).hits if (gap.question or gap.examples) else []
    except KnowledgeError:
        kb, nearest = None, []
    path = settings.source / "drafts" / f"gap-{gap.id}-{_slug(gap.question or 'question')}.md"
    if path.exists():
        raise click.ClickException(f"{path} already exists; finish or delete it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft_markdown(gap, [(kb.link(h.chunk), h.chunk) for h in nearest] if kb else []), encoding="utf-8")
    click.echo(f"Wrote {path}. It stays out of the index until you remove `draft: true`.")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "question"


def draft_markdown(gap, nearest) -> str:
    """Front matter filled in, the phrasings reps used, and the nearest existing sections."""
    meta = {"title": (gap.question or "Untitled question").strip().rstrip("?").capitalize(), "type": "faq", "owner": "TODO",
            "last_reviewed": date.today().isoformat(), "draft": True}
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).strip(), "---", "", f"# {meta['title']}", "",
             f"<!-- Content gap #{gap.id}: asked {gap.count} time(s) by {gap.askers} rep(s), {gap.first_seen[:10]} to {gap.last_seen[:10]}. -->", "",
             "## Answer", "", "TODO: the answer, in a few sentences a rep can paste into a reply.", "",
             "## How reps asked", ""]
    lines += [f"- {e}" for e in gap.examples] or ["- (question texts deleted after the retention period)"]
    lines += ["", "## Nearest existing sections", ""]
    lines += [f"- [{' › '.join(c.heading_path)}]({url})" for url, c in nearest] or ["- none found"]
    return "\n".join(lines) + "\n"
