"""Sections to chunks: one chunk a section, long ones split between blocks or list items, never inside."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from indexer.markdown import Document, Section
from knowledge.index import HEADING_SEP

MAX_CHARS = 1200  # about the 256 word pieces all-MiniLM-L6-v2 reads; the rest would be cut off unseen


@dataclass(frozen=True)
class Chunk:
    path: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    line: int

    def embed_text(self) -> str:
        """What the model sees: the heading path gives a short section its context."""
        return f"{HEADING_SEP.join(self.heading_path)}\n{self.text}"

    def content_hash(self, model: str) -> str:
        """Same text under the same headings with the same model: the vector can be reused."""
        return hashlib.sha256(f"{model}\0{self.embed_text()}".encode()).hexdigest()


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    return [chunk for section in doc.sections for chunk in chunk_section(doc.path, section, max_chars)]


def chunk_section(path: str, section: Section, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Pack a section's units greedily into chunks of at most `max_chars` (a bigger unit stays whole)."""
    units: list[tuple[str, int]] = []
    for block in section.blocks:
        if block.items and len(block.text) > max_chars:
            units.extend((item, block.line) for item in block.items)
        else:
            units.append((block.text, block.line))
    chunks: list[Chunk] = []
    parts: list[str] = []
    start = section.line
    for text, line in units:
        if parts and len("\n\n".join(parts)) + 2 + len(text) > max_chars:
            chunks.append(Chunk(path, section.heading_path, section.anchor, "\n\n".join(parts), start))
            parts, start = [], line
        parts.append(text)
    if parts:
        chunks.append(Chunk(path, section.heading_path, section.anchor, "\n\n".join(parts), start))
    return chunks
