"""`kb`: index the knowledge base, ask it questions, show battlecards, serve the Slack bot."""
from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from knowledge.config import Settings
from knowledge.errors import KnowledgeError
from knowledge.index import HEADING_SEP


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj


def _clear_errors(fn):
    """Turn the core's named exceptions into one line and exit 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KnowledgeError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


class _Progress:
    """A progress bar on stderr that appears only once there is work to show."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory [env KB_INDEX_DIR; default index/].")
model_option = click.option("--model", help="sentence-transformers model name or path [env KB_MODEL; default the bundled all-MiniLM-L6-v2].")


@click.group()
@click.version_option(package_name="kb-answer-bot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Answers for sales reps from the enablement team's Markdown knowledge base."""
    try:
        ctx.obj = Settings.from_env()
    except KnowledgeError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("index")
@click.option("--source", type=click.Path(path_type=Path), help="Folder of Markdown to index [env KB_SOURCE; default knowledge_base/].")
@index_option
@model_option
@click.option("--force", is_flag=True, help="Rebuild even when no file changed.")
@click.pass_context
@_clear_errors
def index_command(ctx, source, index_dir, model, force):
    """Index the Markdown knowledge base (incremental: only changed sections are embedded)."""
    from indexer.build import build
    from knowledge.embedder import SentenceTransformerEmbedder

    settings = _settings(ctx).with_overrides(source=source, index_dir=index_dir, model=model)
    shared = _shared_vectors(settings)  # before the model loads: a wrong DATABASE_URL fails in seconds
    embedder = SentenceTransformerEmbedder(settings.model)
    if shared is not None:
        from knowledge.vector_cache import CachedEmbedder

        embedder = CachedEmbedder(embedder, shared)
    progress = _Progress("Embedding chunks")
    try:
        report = build(settings.source, settings.index_dir, embedder, progress=progress, force=force, max_file_mb=settings.max_file_mb)
    finally:
        progress.close()
    for problem in report.problems:
        click.echo(f"{settings.source / problem.path}:{problem.line}: {problem.reason} (skipped)", err=True)
    for skipped in report.skipped:
        click.echo(f"{settings.source / skipped.path}: {skipped.reason} (skipped)", err=True)
    for warning in report.warnings:
        click.echo(f"{settings.source / warning.path}:{warning.line}: {warning.reason}", err=True)
    if report.up_to_date:
        click.echo(f"Index at {settings.index_dir} is up to date ({report.unchanged} files, {report.chunks} chunks).")
        return
    click.echo(f"Indexed {settings.source} into {report.build_dir}")
    click.echo(
        f"  files:  {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged, {len(report.problems) + len(report.skipped)} skipped"
        + (f", {len(report.drafts)} drafts left out" if report.drafts else "")
    )
    click.echo(f"  chunks: {report.chunks} in all, {report.embedded} embedded, {report.reused} reused")


def _shared_vectors(settings: Settings):
    """With DATABASE_URL, the state database: its vector cache is shared by every machine that indexes."""
    if not settings.database_url:
        return None
    from knowledge.state import open_state

    return open_state(settings)


def _knowledge_base(settings: Settings):
    from knowledge.answer import KnowledgeBase
    from knowledge.embedder import SentenceTransformerEmbedder
    from knowledge.index import LiveIndex

    index = LiveIndex(settings.index_dir)  # fails fast, before the model loads, if there is no index
    embedder = SentenceTransformerEmbedder(settings.model)
    index.model_name = embedder.name
    index.get().check_model(embedder.name)
    return KnowledgeBase(index, embedder, base_url=settings.base_url)


@main.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (one per line when reading stdin).")
@click.option("-k", "--top", default=3, show_default=True, help="How many sections to return.")
@click.option("--explain", is_flag=True, help="Show each hit's ranking features and the verdict's confidence.")
@click.option("--after", "earlier", metavar="EARLIER", help="Ask as a follow-up to the question EARLIER, as the bot does in a thread.")
@index_option
@model_option
@click.option("--base-url", help="Where documents live for people, for links [env KB_BASE_URL].")
@click.pass_context
@_clear_errors
def ask_command(ctx, question, as_json, top, explain, earlier, index_dir, model, base_url):
    """Answer QUESTION from the index; with QUESTION '-', answer one question per stdin line."""
    settings = _settings(ctx).with_overrides(index_dir=index_dir, model=model, base_url=base_url)
    kb = _knowledge_base(settings)
    questions = (line.rstrip("\n") for line in sys.stdin) if question == "-" else [question]
    for q in questions:
        if question == "-" and not q.strip():
            continue
        answer = kb.ask(q, k=top, earlier=earlier)
        if as_json:
            click.echo(json.dumps(kb.answer_dict(answer), ensure_ascii=False))
            sys.stdout.flush()
        else:
            _print_answer(kb, answer, explain)


def _print_answer(kb, answer, explain: bool = False) -> None:
    verdict = (
        click.style("Answered", fg="green")
        if answer.answered
        else click.style("No confident answer: this would be logged as a content gap", fg="yellow")
    )
    if explain and answer.confidence is not None:
        verdict += f" (confidence {answer.confidence:.2f}, threshold {kb.ranker.threshold:.2f})"
    context = f"  (following up on: {answer.follows})" if answer.follows else ""
    context += f"  (read as: {answer.read_as})" if explain and answer.read_as else ""
    click.echo(f"Q: {answer.query}{context}\n{verdict}\n")
    for n, hit in enumerate(answer.hits, 1):
        d = kb.hit_dict(hit)
        click.echo(click.style(f"{n}. {d['title']}", bold=True) + f"  ({d['heading_path'] or 'top'})  score {d['score']:.2f}")
        for line in d["snippet"].splitlines():
            click.echo(f"   {line}")
        click.echo(click.style(f"   {d['url']}", fg="blue"))
        if explain:
            click.echo(f"   ranking score {hit.fused:.3f}: " + ", ".join(f"{k} {v:.2f}" for k, v in hit.features.items()))
        click.echo()


@main.command("battlecard")
@click.argument("competitor", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@index_option
@click.option("--base-url", help="Where documents live for people, for links [env KB_BASE_URL].")
@click.pass_context
@_clear_errors
def battlecard_command(ctx, competitor, as_json, index_dir, base_url):
    """Show one competitor's battlecard (aliases and small typos are fine); none: list them."""
    from knowledge.answer import KnowledgeBase
    from knowledge.index import LiveIndex

    settings = _settings(ctx).with_overrides(index_dir=index_dir, base_url=base_url)
    kb = KnowledgeBase(LiveIndex(settings.index_dir), embedder=None, base_url=settings.base_url)
    card = kb.battlecard(competitor)
    names = [c.competitor or c.title for c in kb.competitors()]
    if as_json:
        body = {"query": competitor, "found": card is not None, "competitors": names}
        if card:
            body["competitor"] = card.document.competitor
            body["title"] = card.document.title
            body["path"] = card.document.path
            body["sections"] = [
                {"heading_path": HEADING_SEP.join(s.heading_path), "anchor": s.anchor, "text": s.text, "url": kb.link(s)}
                for s in card.sections
            ]
        click.echo(json.dumps(body, ensure_ascii=False))
        return
    if card is None:
        what = f"No battlecard matches {competitor!r}." if competitor.strip() else "Which competitor?"
        click.echo(f"{what} Battlecards: {', '.join(names) or 'none yet'}")
        return
    doc = card.document
    click.echo(click.style(doc.title, bold=True) + f"  (owner {doc.owner or 'unknown'}, last reviewed {doc.last_reviewed or 'never'})\n")
    for section in card.sections:
        click.echo(click.style(HEADING_SEP.join(section.heading_path[1:]) or doc.title, bold=True, fg="cyan"))
        click.echo(section.text)
        click.echo(click.style(kb.link(section), fg="blue") + "\n")


@main.command("serve")
@click.option("--http", "http_mode", is_flag=True, help="Serve Slack's HTTP requests at /slack/events (else Socket Mode).")
@click.option("--port", type=int, help="HTTP port [env PORT; default 3000].")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP address to listen on.")
@index_option
@model_option
@click.option("--state-db", type=click.Path(path_type=Path), help="The SQLite state DB [env KB_STATE_DB; default state.db; DATABASE_URL overrides it].")
@click.pass_context
@_clear_errors
def serve_command(ctx, http_mode, port, host, index_dir, model, state_db):
    """Start the Slack bot: Socket Mode with SLACK_APP_TOKEN, or HTTP with --http (or PORT)."""
    import logging

    from bot.app import create_app
    from bot.server import SlackConfigError, check_credentials, http_server, run_socket_mode
    from bot.watcher import GapWatcher
    from knowledge.gaps import Gaps
    from knowledge.state import open_state

    settings = _settings(ctx).with_overrides(index_dir=index_dir, model=model, state_db=state_db, port=port)
    socket_mode = not http_mode and bool(settings.slack_app_token)
    if not http_mode and not socket_mode and settings.port is None:
        raise click.ClickException("set SLACK_APP_TOKEN to run in Socket Mode, or pass --http (or set PORT) to serve HTTP")
    try:
        check_credentials(settings, socket_mode)
    except SlackConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = open_state(settings)  # before the model loads: a wrong DATABASE_URL stops it in seconds
    kb = _knowledge_base(settings)
    app = create_app(settings, kb, state)
    # Closes gaps after each re-index, sends owed DMs, relays the experts' answers a failed relay left owed,
    # sends the weekly verification nudges (KB_NUDGES), and applies KB_RETENTION_DAYS.
    GapWatcher(kb, Gaps(state, kb.embedder), state, app.client, retention_days=settings.retention_days,
               nudges=settings.nudges, stale_days=settings.stale_days).start()
    if socket_mode:
        click.echo("Answer bot running in Socket Mode", err=True)
        run_socket_mode(app, settings.slack_app_token)
        return
    server = http_server(app, settings.slack_signing_secret, host, settings.port or 3000)
    click.echo(f"Answer bot listening on http://{host}:{server.effective_port}/slack/events", err=True)
    server.run()


@main.command("check")
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), help="Golden questions YAML [default: golden_questions.yml in the source folder].")
@click.option("--source", type=click.Path(path_type=Path), help="The knowledge base folder, to find its golden questions [env KB_SOURCE].")
@index_option
@model_option
@click.option("-k", "--top", default=3, show_default=True, help="The expected section must rank in the top K.")
@click.pass_context
@_clear_errors
def check_command(ctx, questions_file, source, index_dir, model, top):
    """Run the golden questions against the index; exit 1 if an edit made an answer disappear."""
    from knowledge import golden

    settings = _settings(ctx).with_overrides(source=source, index_dir=index_dir, model=model)
    goldens = golden.load(questions_file or settings.source / golden.DEFAULT_FILE)
    kb = _knowledge_base(settings)
    results = golden.check(kb, goldens, k=top)
    lost = [r for r in results if r.rank is None]
    for r in results:
        mark = click.style("✓", fg="green") if r.rank else click.style("✗", fg="red")
        click.echo(f"{mark} {r.golden.question}" + (f"  (#{r.rank})" if r.rank else ""))
        if r.rank is None:
            click.echo(f"    expected {r.golden.expect}")
            click.echo("    found    " + ("\n             ".join(r.found) or "nothing"))
    click.echo(f"\n{len(results) - len(lost)} of {len(results)} golden questions still find their section.")
    if lost:
        raise SystemExit(1)


from kb.gaps_cli import gaps_command  # noqa: E402  (registered last: it imports helpers from this module)

main.add_command(gaps_command)

from kb.digest_cli import digest_command  # noqa: E402
main.add_command(digest_command)

from kb.state_cli import state_command  # noqa: E402
main.add_command(state_command)
