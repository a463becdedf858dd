"""Answers: a question in, the best sections out, with links and a confident/gap verdict."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge import battlecards
from knowledge.embedder import Embedder
from knowledge.followup import in_context
from knowledge.index import HEADING_SEP, Chunk, Document, Index, LiveIndex
from knowledge.late import Tokens
from knowledge.rank import Ranker
from knowledge.search import RRF_K, Hit, Mode, Results, search
from knowledge.vocabulary import READ_CHARS

# Without the ranker's verdict (the single-leg and plain-fusion peers in bench/), a question is
# answered when both retrievers put one section in their top AGREE, or the meaning match is strong.
AGREE = 3
AGREE_FLOOR = 0.3  # agreement on a section that barely relates to the question is a coincidence of words
CONFIDENCE = 0.55
# A follow-up searched with its earlier question (knowledge/followup.py says when): the earlier topic gathers
# the right sections, but the earlier question's own answer tends to come first. Measured on the fit half
# of bench/questions/followups.jsonl:
# - the dense leg searches halfway between the conversation's vector and the follow-up's own, since the
#   conversation's meaning is mostly the earlier question's (R@3 0.805 -> 0.854, R@1 0.66 -> 0.71; a
#   weight of 0.3 gained less, 0.7 lost R@1); the lexical leg reads every word of both;
# - the first FOLLOW_RERANK hits are reordered by reciprocal rank fusion with the follow-up's own ranking
#   (R@1 0.60 -> 0.70 on the first 30 pairs; reordering deeper let sections off the topic in, R@3 0.90 -> 0.80).
FOLLOW_OWN_MEANING = 0.5
FOLLOW_RERANK = 3
FOLLOW_ALONE = 50  # how deep the follow-up alone is ranked for that (deeper counts as twice as deep)


@dataclass(frozen=True)
class Answer:
    query: str
    answered: bool
    hits: list[Hit]
    confidence: float | None = None  # the verdict's probability that the first hit answers
    follows: str | None = None  # the earlier question, when it was used as context for this one
    read_as: str | None = None  # the question as searched, when words were spelled out ('cust' -> 'customer')


def section(hit: Hit) -> tuple[str, tuple[str, ...]]:
    """One section, whichever of its chunks a search picked."""
    return hit.chunk.path, hit.chunk.heading_path


@dataclass(frozen=True)
class Prepared:
    index: Index
    question: str  # normalised and respelled: what the ranker's whole-section BM25 and word pieces read
    expanded: str  # with the vocabulary's expansions: what the lexical leg and the vector read
    vector: np.ndarray
    tokens: Tokens
    named: frozenset[str]  # paths of the battlecards the question names


@dataclass(frozen=True)
class Battlecard:
    document: Document
    sections: list[Chunk]


class KnowledgeBase:
    """What the CLI and the bot ask: questions, battlecards, competitors, links."""

    def __init__(
        self,
        index: LiveIndex,
        embedder: Embedder,
        base_url: str | None = None,
        ranker: Ranker | None = None,
    ):
        self.index = index
        self.embedder = embedder
        self.base_url = base_url.rstrip("/") if base_url else None
        self.ranker = ranker or Ranker.load()

    def ask(self, question: str, k: int = 3, mode: Mode = "hybrid", earlier: str | None = None) -> Answer:
        """The `k` best sections for `question`, and whether the best is good enough to call answered.

        `earlier` is the conversation's previous question: it is searched with this one only when this
        one cannot stand alone ("and for enterprise?"), and then `Answer.follows` names it.
        """
        asked = _read(question)
        if not asked:
            return Answer(asked, False, [])
        index = self.index.get()
        question = self.respell(index, asked)
        named = self.named(index, question)
        if earlier:  # read as the search would: "vs umbrela" names umbrella, so "and hooli?" must drop it
            read_earlier = self.respell(index, _read(earlier))
            searched = in_context(question, read_earlier, self.replaced(index, named, read_earlier))
        else:
            searched = None
        if searched:
            # "what about globex" after an acme question is about globex only; "and the landmines?" keeps acme.
            found, hits = self.follow_up(index, question, searched, k, mode, named or self.named(index, searched))
        else:
            [(expanded, vector, tokens)] = self.encode(index, question)
            found = search(index, vector, expanded, k=k, mode=mode, named=named, ranker=self.ranker, asked=question, tokens=tokens)
            hits = found.hits
        follows = _read(earlier) if searched and earlier else None
        read_as = question if question != asked else None
        if found.confidence is None:
            return Answer(asked, self.agreement(hits), hits, follows=follows, read_as=read_as)
        return Answer(asked, found.confidence >= self.ranker.threshold, hits, found.confidence, follows, read_as)

    def follow_up(self, index: Index, question: str, searched: str, k: int, mode: Mode,
                  named: frozenset[str]) -> tuple[Results, list[Hit]]:
        """A follow-up searched in context: the lexical leg reads both questions, the dense leg searches
        halfway to the follow-up's own meaning, and the follow-up's own ranking reorders the first hits."""
        (expanded, context, tokens), (own_expanded, own, own_tokens) = self.encode(index, searched, question)  # one model call
        vector = (1 - FOLLOW_OWN_MEANING) * context + FOLLOW_OWN_MEANING * own
        vector /= np.linalg.norm(vector) or 1.0
        found = search(index, vector, expanded, k=max(k, FOLLOW_RERANK), mode=mode, named=named, ranker=self.ranker,
                       asked=searched, tokens=tokens)
        alone = search(index, own, own_expanded, k=FOLLOW_ALONE, mode=mode, named=named, ranker=self.ranker, asked=question,
                       tokens=own_tokens).hits
        rank = {section(h): n for n, h in enumerate(alone, 1)}
        head = found.hits[:FOLLOW_RERANK]
        fused = {section(h): 1 / (RRF_K + n) + 1 / (RRF_K + rank.get(section(h), 2 * FOLLOW_ALONE)) for n, h in enumerate(head, 1)}
        return found, (sorted(head, key=lambda h: -fused[section(h)]) + found.hits[FOLLOW_RERANK:])[:k]

    def prepare(self, question: str) -> Prepared:
        """A stand-alone question as ask() searches it (bench/fit_ranker.py reads the pool it gathers)."""
        index = self.index.get()
        question = self.respell(index, _read(question))
        [(expanded, vector, tokens)] = self.encode(index, question)
        return Prepared(index, question, expanded, vector, tokens, self.named(index, question))

    def respell(self, index: Index, question: str) -> str:
        """The question with the shortened and misspelt words spelled out ('cust' -> 'customer')."""
        return index.structure.vocabulary.respell(question, index.document_frequencies, self.embedder.whole_words)

    def encode(self, index: Index, *texts: str) -> list[tuple[str, np.ndarray, Tokens]]:
        """Each text with its vocabulary expansions, its vector and word pieces (one model call for all)."""
        expanded = [index.structure.vocabulary.expand(t) for t in texts]  # "CI" also finds "continuous integration"
        vectors, tokens = self.embedder.embed_tokens(expanded, own=texts)
        return list(zip(expanded, vectors, tokens))

    @staticmethod
    def replaced(index: Index, named: frozenset[str], earlier: str) -> set[str]:
        """Names of the competitors `earlier` names that the follow-up swaps for its own (`named`)."""
        if not named:
            return set()
        gone = [c for c in battlecards.mentioned(earlier, index.documents("battlecard")) if c.path not in named]
        return {word for card in gone for name in battlecards.names(card) for word in name.split()}

    @staticmethod
    def named(index: Index, text: str) -> frozenset[str]:
        """Paths of the battlecards whose competitor `text` names."""
        return frozenset(c.path for c in battlecards.mentioned(text, index.documents("battlecard")))

    @staticmethod
    def agreement(hits: list[Hit]) -> bool:
        """The verdict without the ranker: both legs agree on a section, or the meaning match is strong."""
        agree = any(
            h.dense_rank and h.lexical_rank and max(h.dense_rank, h.lexical_rank) <= AGREE and h.score >= AGREE_FLOOR
            for h in hits
        )
        return agree or any(h.score >= CONFIDENCE for h in hits)

    def competitors(self) -> list[Document]:
        return self.index.get().documents("battlecard")

    def battlecard(self, name: str) -> Battlecard | None:
        """The battlecard `name` points at (aliases, case and small typos forgiven), or None."""
        index = self.index.get()
        card = battlecards.match(name, index.documents("battlecard"))
        return Battlecard(card, index.document_chunks(card.path)) if card else None

    def battlecard_at(self, path: str) -> Battlecard | None:
        """The battlecard stored at `path` (as a button remembers it), or None if it is gone."""
        index = self.index.get()
        card = next((d for d in index.documents("battlecard") if d.path == path), None)
        return Battlecard(card, index.document_chunks(path)) if card else None

    def document_link(self, path: str) -> str:
        """Where a person reads a whole document: its front-matter url, else base URL + path, else the path."""
        doc = next((d for d in self.index.get().documents() if d.path == path), None)
        if doc and doc.url:
            return doc.url
        return f"{self.base_url}/{path}" if self.base_url else path

    def link(self, chunk: Chunk) -> str:
        """Where a person reads this section: front-matter url, else base URL + path, plus the anchor."""
        if chunk.doc_url:
            base = chunk.doc_url
        elif self.base_url:
            base = f"{self.base_url}/{chunk.path}"
        else:
            base = chunk.path
        return f"{base}#{chunk.anchor}" if chunk.anchor else base

    def hit_dict(self, hit: Hit) -> dict:
        """The JSON shape of one hit, as `kb ask --json` prints it."""
        c = hit.chunk
        return {
            "path": c.path,
            "anchor": c.anchor,
            "title": c.title,
            "heading_path": HEADING_SEP.join(c.heading_path),
            "snippet": hit.passage,
            "url": self.link(c),
            "score": round(hit.score, 4),
            "features": hit.features,
        }

    def answer_dict(self, answer: Answer) -> dict:
        confidence = None if answer.confidence is None else round(answer.confidence, 4)
        return {"query": answer.query, "read_as": answer.read_as, "follows": answer.follows, "answered": answer.answered,
                "confidence": confidence, "hits": [self.hit_dict(h) for h in answer.hits]}


def _read(question: str) -> str:
    """What is read of a question: its first READ_CHARS characters (what the search reads), spaces folded.
    A 40,000-character DM must not cost every competitor name a pass over all of it."""
    return " ".join(question[:READ_CHARS].split())
