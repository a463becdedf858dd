"""Sections to chunks: one chunk a section, long ones split between blocks or list items, never inside.

A single block longer than a chunk (a megabyte paragraph, a long table or code fence) is cut into pieces
at line ends (so table rows stay whole, each piece of a table keeping its header), else sentence ends,
else spaces, else anywhere.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from indexer.markdown import Block, Document, Section
from knowledge.index import HEADING_SEP

# About the 256 word pieces all-MiniLM-L6-v2 reads. Not exactly: on sourcegraph 16% of chunks run past it and
# their ends go unembedded (the lexical leg still reads them). 600 or 800 characters cut that to 1-4% but
# cost 1.2-1.5x the encode for no ranking gain a paired bootstrap can tell from noise (bench/RESULTS.md).
MAX_CHARS = 1200
# What an embedding model is given at most. The model reads 256 word pieces (~1,200 characters) and cuts
# the rest, but its tokenizer first splits all it is given: 50 MB of text took 5.7 GB. Above any normal
# chunk plus heading path, so no normal chunk's vector (or hash) changes.
EMBED_CHARS = 4000
_SENTENCE_ENDS = (". ", "! ", "? ")


def model_input(text: str) -> str:
    """`text` cut to what an embedding model may be given (EMBED_CHARS)."""
    return text[:EMBED_CHARS]


@dataclass(frozen=True)
class Chunk:
    path: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    line: int

    def embed_text(self) -> str:
        """What the model sees: the heading path gives a short section its context."""
        return model_input(f"{HEADING_SEP.join(self.heading_path)}\n{self.text}")

    def content_hash(self, model: str) -> str:
        """Same model input with the same model: the vector can be reused (so it hashes exactly that)."""
        return hashlib.sha256(f"{model}\0{self.embed_text()}".encode()).hexdigest()


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    return [chunk for section in doc.sections for chunk in chunk_section(doc.path, section, max_chars)]


def chunk_section(path: str, section: Section, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Pack a section's units greedily into chunks of at most `max_chars`."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    size, start = 0, section.line
    for text, line in (unit for block in section.blocks for unit in _units(block, max_chars)):
        if parts and size + 2 + len(text) > max_chars:
            chunks.append(Chunk(path, section.heading_path, section.anchor, "\n\n".join(parts), start))
            parts, size, start = [], 0, line
        size += len(text) + (2 if parts else 0)
        parts.append(text)
    if parts:
        chunks.append(Chunk(path, section.heading_path, section.anchor, "\n\n".join(parts), start))
    return chunks


def _units(block: Block, max_chars: int) -> Iterator[tuple[str, int]]:
    """(text, line) pieces of a block, none longer than `max_chars`: whole if it fits, else its list items,
    else table rows under the table's header, else cut by split_text."""
    if len(block.text) <= max_chars:
        yield block.text, block.line
    elif block.items:
        for item in block.items:
            yield from _pieces(item, block.line, max_chars)
    elif block.kind == "table" and block.text.count("\n") >= 2:
        yield from _table_pieces(block, max_chars)
    else:
        yield from _pieces(block.text, block.line, max_chars)


def _pieces(text: str, line: int, max_chars: int, prefix: str = "") -> Iterator[tuple[str, int]]:
    """split_text's pieces of `text` (which starts at `line`), each after `prefix`, with their own lines."""
    seen = 0
    for offset, piece in split_text(text, max_chars - len(prefix)):
        line += text.count("\n", seen, offset)
        seen = offset
        yield prefix + piece, line


def _table_pieces(block: Block, max_chars: int) -> Iterator[tuple[str, int]]:
    """A long table's rows in pieces, each under the header and delimiter rows: a bare row means little."""
    end = block.text.index("\n", block.text.index("\n") + 1) + 1
    head = block.text[:end]
    if len(head) > max_chars // 2:
        return _pieces(block.text, block.line, max_chars)
    return _pieces(block.text[end:], block.line + 2, max_chars, prefix=head)


def split_text(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(offset, piece) of `text` in pieces of at most `limit` characters, cut where _cut says."""
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= limit else _cut(text, start, start + limit)
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip("\n"))
        if piece.strip():
            yield start + lead, piece.strip("\n").rstrip()
        start = end


def _cut(text: str, start: int, stop: int) -> int:
    """Where a piece of text[start:stop] ends: just after its last line end, else sentence end, else space
    (in the piece's second half if there is one there, so no slivers; else anywhere); else at `stop`."""
    for floor in (start + (stop - start) // 2, start + 1):
        for seps in (("\n",), _SENTENCE_ENDS, (" ",)):
            at = max(text.rfind(sep, floor, stop) for sep in seps)
            if at >= floor:
                return at + len(seps[0])
    return stop
