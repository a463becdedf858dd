"""Build an index from a folder of Markdown: parse, chunk, embed what changed, write, swap in atomically."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import faiss
import numpy as np
import sqlite_utils

from indexer.chunking import MAX_CHARS, Chunk, chunk_document
from indexer.markdown import Document, MarkdownError, parse_bytes
from indexer.sources import Skipped, Unreadable, read_bytes, scan
from indexer.structure import previous_vectors, write_structure
from knowledge import bm25, late
from knowledge.embedder import Embedder
from knowledge.config import MAX_FILE_MB
from knowledge.errors import IndexNotFound, KnowledgeError
from knowledge.index import (
    BUILDS, CURRENT, DB_FILE, FIELD_WEIGHTS, HEADING_SEP, MANIFEST_FILE, VECTORS_FILE, current_build, read_manifest,
)
from knowledge.text import terms

# Vectors above which HNSW replaces exact search. bench/scale.py: exact p95 grows ~14 ms per 100k vectors
# and reaches 20 ms near 145k, while HNSW loses a fifth of the top 10 at 100k; below this exact wins.
APPROXIMATE_ABOVE = 150_000
HNSW_EF_SEARCH = 512  # recall@10 0.91 at 2.3 ms on 100k (bench/scale.py); the default 16 gave 0.78
KEEP_BUILDS = 2  # the current build and the one before it, for a reader that still holds it
EMBED_BATCH = 256
FORMAT = 10  # bump when chunking, the documents table or the ranker's build-time structure changes: the next build redoes it

Progress = Callable[[int, int], None]


class NothingToIndex(KnowledgeError):
    """No file in the source folder could be indexed."""


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    problems: list[MarkdownError] = field(default_factory=list)
    warnings: list[MarkdownError] = field(default_factory=list)  # values ignored (a bad owner_slack); the file indexed
    skipped: list[Skipped] = field(default_factory=list)  # not read at all: a symlink out, a FIFO, too big
    drafts: list[str] = field(default_factory=list)
    build_dir: Path | None = None  # None when the index was already up to date

    @property
    def up_to_date(self) -> bool:
        return self.build_dir is None


@dataclass(frozen=True)
class _Previous:
    doc_hashes: dict[str, str]
    vectors: dict[str, np.ndarray]  # chunk content hash -> vector
    manifest: dict
    changes: list[tuple[str, str, str]] = ()  # (path, added|changed|removed, when): the digest reads it
    structure: dict[str, np.ndarray] = field(default_factory=dict)  # heading/title vectors by text hash
    tokens: dict[str, late.Tokens] = field(default_factory=dict)  # chunk content hash -> its word pieces


def markdown_files(source: Path) -> list[Path]:
    """Every Markdown file below `source` that may be read (see indexer.sources), skipping hidden folders."""
    return [source / f.path for f in scan(source)[0]]


def build(
    source: Path,
    root: Path,
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    max_chars: int = MAX_CHARS,
    approximate_above: int = APPROXIMATE_ABOVE,
    force: bool = False,
    max_file_mb: float = MAX_FILE_MB,
) -> Report:
    """Index `source` into `root`, reusing the vectors of unchanged chunks from the current build."""
    source, root = Path(source), Path(root)
    if not source.is_dir():
        raise NothingToIndex(f"{source} is not a folder of Markdown files")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        report = Report()
        docs, hashes = _read_all(source, report, max_file_mb)
        previous = _previous(root, embedder.name)
        _compare(hashes, previous.doc_hashes, report)
        settings = {"model": embedder.name, "max_chars": max_chars, "format": FORMAT}
        same_settings = all(previous.manifest.get(k) == v for k, v in settings.items())
        if same_settings and not (report.added or report.changed or report.removed) and not force:
            report.chunks = previous.manifest.get("chunks", 0)
            return report
        chunks = [c for doc in docs for c in chunk_document(doc, max_chars)]
        vectors, tokens = _vectors(chunks, embedder, previous, report, progress)
        report.chunks = len(chunks)
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        changes = list(previous.changes) + [
            (path, kind, when) for kind, paths in (("added", report.added), ("changed", report.changed), ("removed", report.removed)) for path in paths
        ]
        report.build_dir = _write(root, docs, hashes, chunks, vectors, tokens, embedder, settings, source, approximate_above, changes,
                                  previous.structure)
        return report


def _read_all(source: Path, report: Report, max_file_mb: float) -> tuple[list[Document], dict[str, str]]:
    docs, hashes = [], {}
    files, report.skipped = scan(source)
    for file in files:
        try:
            raw = read_bytes(file, max_file_mb)  # once: what is hashed is what was parsed
            doc = parse_bytes(raw, file.path)
        except Unreadable as exc:
            report.skipped.append(exc.skipped)
            continue
        except MarkdownError as exc:
            report.problems.append(exc)
            continue
        except (RecursionError, MemoryError, ValueError) as exc:  # a file no parser foresaw: it alone is lost
            report.problems.append(MarkdownError(file.path, 1, f"could not be read ({type(exc).__name__}: {exc})"[:300]))
            continue
        if doc.meta.get("draft") is True:
            report.drafts.append(file.path)  # a stub a writer has not finished must not answer reps
            continue
        report.warnings.extend(doc.warnings)
        docs.append(doc)
        hashes[file.path] = hashlib.sha256(raw).hexdigest()
    report.skipped.sort(key=lambda s: s.path.split("/"))
    if not docs:
        failed = len(report.problems) + len(report.skipped)
        detail = f" ({failed} files had problems)" if failed else ""
        raise NothingToIndex(f"nothing could be indexed in {source}{detail}")
    return docs, hashes


def _compare(now: dict[str, str], before: dict[str, str], report: Report) -> None:
    for path, digest in now.items():
        if path not in before:
            report.added.append(path)
        elif before[path] != digest:
            report.changed.append(path)
        else:
            report.unchanged += 1
    report.removed = sorted(set(before) - set(now))


def _previous(root: Path, model: str) -> _Previous:
    """What the current build knows: document hashes and reusable vectors (none if the model differs)."""
    try:
        build_dir = current_build(root)
        manifest = read_manifest(build_dir)
    except (IndexNotFound, FileNotFoundError, json.JSONDecodeError):
        return _Previous({}, {}, {})
    db = sqlite3.connect(f"file:{build_dir / DB_FILE}?mode=ro", uri=True)
    try:
        doc_hashes = dict(db.execute("SELECT path, hash FROM documents"))
        chunk_hashes = db.execute("SELECT id, hash FROM chunks ORDER BY id").fetchall()
        has_log = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'changes'").fetchone()
        changes = db.execute("SELECT path, change, at FROM changes ORDER BY rowid").fetchall() if has_log else []
        structure = previous_vectors(build_dir, db) if manifest.get("model") == model else {}
    finally:
        db.close()
    if manifest.get("model") != model or not chunk_hashes:
        return _Previous(doc_hashes, {}, manifest, changes, structure)
    index = faiss.read_index(str(build_dir / VECTORS_FILE))
    matrix = index.reconstruct_n(0, index.ntotal)
    # Pieces depend on the model and late.DIM only: a FORMAT change keeps them (builds before FORMAT 8 have none).
    pieces = late.Pieces(build_dir) if (build_dir / late.FILES[0]).exists() else None
    tokens = {h: pieces.of(i) for i, h in chunk_hashes} if pieces and pieces.codes.shape[1] == late.DIM else {}
    return _Previous(doc_hashes, {h: matrix[i] for i, h in chunk_hashes}, manifest, changes, structure, tokens)


def _vectors(chunks: list[Chunk], embedder: Embedder, previous: _Previous, report: Report,
             progress: Progress | None) -> tuple[np.ndarray, list[late.Tokens]]:
    """Each chunk's vector and word pieces: the previous build's where the chunk is unchanged, else the model's."""
    hashes = [c.content_hash(embedder.name) for c in chunks]
    known = {h: v for h, v in previous.vectors.items() if h in previous.tokens}
    todo = {h: c.embed_text() for h, c in zip(hashes, chunks) if h not in known}
    fresh, pieces = dict(known), dict(previous.tokens)
    items = list(todo.items())
    # An embedder behind a shared vector cache (knowledge.vector_cache) counts what its model really embedded.
    before = getattr(embedder, "embedded", None)
    for start in range(0, len(items), EMBED_BATCH):
        batch = items[start : start + EMBED_BATCH]
        vectors, tokens = embedder.embed_tokens([text for _, text in batch])
        for (digest, _), vector, token in zip(batch, vectors, tokens):
            fresh[digest], pieces[digest] = vector, token
        if progress:
            progress(min(start + EMBED_BATCH, len(items)), len(items))
    cached = 0 if before is None else len(todo) - (embedder.embedded - before)
    report.embedded = len(todo) - cached
    report.reused = len(chunks) - sum(1 for h in hashes if h in todo) + cached
    if not chunks:
        return np.zeros((0, embedder.dim), dtype=np.float32), []
    return np.vstack([fresh[h] for h in hashes]).astype(np.float32, copy=False), [pieces[h] for h in hashes]


def _faiss_index(vectors: np.ndarray, approximate_above: int) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) > approximate_above:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _write(root, docs, hashes, chunks, vectors, tokens, embedder, settings, source, approximate_above, changes, known) -> Path:
    build_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
    builds = root / BUILDS
    partial = builds / f"{build_id}.partial"
    partial.mkdir(parents=True)
    try:
        _write_db(partial / DB_FILE, docs, hashes, chunks, embedder.name, changes)
        db = sqlite_utils.Database(partial / DB_FILE)
        write_structure(db, partial, docs, chunks, embedder, known)
        db.conn.commit()
        bm25.write(partial, db.conn, list(FIELD_WEIGHTS))
        db.conn.close()
        faiss_index = _faiss_index(vectors, approximate_above)
        faiss.write_index(faiss_index, str(partial / VECTORS_FILE))
        late.write(partial, tokens)
        manifest = {
            **settings,
            "dim": int(embedder.dim),
            "documents": len(docs),
            "chunks": len(chunks),
            "faiss": type(faiss_index).__name__,
            "source": str(source.resolve()),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        final = builds / build_id
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _swap(root, final)
    _prune(builds, keep=final)
    return final


def _write_db(path: Path, docs: list[Document], hashes: dict[str, str], chunks: list[Chunk], model: str,
              changes: list[tuple[str, str, str]]) -> None:
    db = sqlite_utils.Database(path)
    db["changes"].insert_all(
        ({"path": p, "change": c, "at": at} for p, c, at in changes),
        columns={"path": str, "change": str, "at": str},
    )
    db["changes"].create(columns={"path": str, "change": str, "at": str}, if_not_exists=True)
    db["documents"].insert_all(
        (
            {
                "path": d.path,
                "title": d.title,
                "type": d.doc_type,
                "owner": d.meta.get("owner"),
                "owner_slack": d.meta.get("owner_slack"),
                "last_reviewed": d.meta.get("last_reviewed"),
                "url": d.meta.get("url"),
                "competitor": d.meta.get("competitor"),
                "aliases": json.dumps(d.meta.get("aliases", [])),
                "hash": hashes[d.path],
            }
            for d in docs
        ),
        pk="path",
    )
    titles = {d.path: d.title for d in docs}
    db["chunks"].insert_all(
        (
            {
                "id": i,
                "path": c.path,
                "title": titles[c.path],
                "heading_path": HEADING_SEP.join(c.heading_path[1:]),
                "headings": json.dumps(c.heading_path),
                "anchor": c.anchor,
                "text": c.text,
                "terms": " ".join(terms(c.text)),  # what the ranker counts, read at query time without re-tokenising
                "line": c.line,
                "hash": c.content_hash(model),
            }
            for i, c in enumerate(chunks)
        ),
        pk="id",
        foreign_keys=[("path", "documents", "path")],
    )
    db["chunks"].create_index(["path"])
    db["chunks"].enable_fts(["title", "heading_path", "text"], tokenize="porter")
    db.conn.commit()
    db.conn.close()


def _swap(root: Path, build_dir: Path) -> None:
    """Point `root/current` at `build_dir` in one rename: readers see the old build or the new one."""
    tmp = root / f".{CURRENT}-{build_dir.name}"
    os.symlink(os.path.relpath(build_dir, root), tmp)
    os.replace(tmp, root / CURRENT)


def _prune(builds: Path, keep: Path) -> None:
    done = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.endswith(".partial")), key=lambda p: p.name)
    for old in done[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in builds.glob("*.partial"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a crashed build; we hold the lock


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One build at a time per index root; a second waits instead of interleaving."""
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
