"""`kb state`: the state DB itself (for now: moving a SQLite one into PostgreSQL)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from knowledge.config import Settings
from knowledge.errors import KnowledgeError


@click.group("state")
def state_command() -> None:
    """The state DB: questions, feedback, gaps, owed DMs (SQLite, or PostgreSQL with DATABASE_URL)."""


@state_command.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx, path):
    """Copy the SQLite state DB at PATH into the PostgreSQL database at DATABASE_URL; running it again copies nothing twice."""
    from knowledge.state import StateDB, open_state

    settings: Settings = ctx.find_root().obj
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL is not set: it names the PostgreSQL database to import into")
    try:
        target = open_state(settings)
        try:
            added = target.import_from(StateDB(path))
        finally:
            target.close()
    except KnowledgeError as exc:
        raise click.ClickException(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a state DB: {exc}") from None
    copied = ", ".join(f"{n} {table}" for table, n in added.items() if n) or "nothing new"
    click.echo(f"Imported {path} into {target.where}: {copied}.")
