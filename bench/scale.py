"""Scale: synthetic knowledge bases of 1k, 10k and 100k chunks; exact (IndexFlatIP) vs HNSW search.

    PYTHONPATH=. .venv/bin/python -m bench.scale                      # 1k, 10k, 100k (4-9 minutes on 2 shared cores)
    PYTHONPATH=. .venv/bin/python -m bench.scale --sizes 1000,10000 --queries 100

The real model would need about an hour to embed 100k chunks on this CPU, so the chunks are embedded by
a deterministic stand-in (StandInEmbedder): each word gets a fixed random unit vector (seeded by a hash
of the word), a text is the normalised sum of its words' vectors plus a small per-text random part (seeded
by a hash of the text), dim 384. Like real sentence embeddings, texts that share words end up close, so
the neighbourhood structure HNSW relies on exists (vectors from a per-text RNG alone would be uniformly
spread, HNSW's worst case). Its word pieces (knowledge.late) are one a word plus the model's two markers,
capped at the model's 256, each the word's vector cut to late.DIM: the build writes and search() scores
as many pieces as the model's would give, give or take word-piece splits. Build times are reported with
and without the stand-in's own embedding time.

Each build runs in its own subprocess (exact and HNSW alternated) so peak RSS figures do not mix:
  build child:   build(..., force=True) into a fresh dir; time and peak RSS (ru_maxrss).
  serve child:   opens one index and answers 20 searches: the memory of serving it (no model).
  compare child: opens the exact and the HNSW index side by side and interleaves, query by query,
                 knowledge.search.search(index, vector, text, k=3, tokens=...) with a random unit
                 vector and a generated question (and its word pieces), the dense and lexical parts alone, and dense with FAISS on one
                 OpenMP thread; then recall@10 (and @50, the pool search() takes) of HNSW against exact,
                 and an efSearch sweep.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.timing import clock, current_rss_mb, header, median, ms, peak_rss_mb, percentile, secs, table

REPO = Path(__file__).resolve().parent.parent
DIM = 384
SECTIONS_PER_FILE = 20
SEED = 20261127
MAX_PIECES = 256  # the model's max_seq_length: it reads no further, so it gives no more word pieces
EXACT = 10**12  # approximate_above for "always exact"

# --- a deterministic synthetic enablement corpus -------------------------------------------------

ROLES = [
    "the rep", "the account executive", "the buyer", "procurement", "the CFO", "the CISO", "the security team",
    "our champion", "the economic buyer", "the solutions engineer", "legal", "the admin", "IT", "the VP of sales",
    "the customer success manager", "the partner", "finance", "the platform team", "the evaluator", "the sponsor",
]
VERBS = [  # (third person, base form)
    ("asks about", "ask about"), ("pushes back on", "push back on"), ("wants a discount on", "want a discount on"),
    ("needs proof of", "need proof of"), ("compares", "compare"), ("evaluates", "evaluate"), ("escalates", "escalate"),
    ("approves", "approve"), ("blocks", "block"), ("questions", "question"), ("renews", "renew"), ("expands", "expand"),
    ("negotiates", "negotiate"), ("signs off on", "sign off on"), ("worries about", "worry about"),
    ("requests a trial of", "request a trial of"), ("reviews", "review"), ("benchmarks", "benchmark"),
    ("cancels", "cancel"), ("upgrades", "upgrade"), ("documents", "document"), ("rolls out", "roll out"), ("audits", "audit"),
]
ADJECTIVES = [
    "annual", "multi-year", "enterprise", "self-hosted", "cloud", "regional", "tiered", "usage-based", "premium",
    "standard", "legacy", "hybrid", "on-premises", "discounted", "monthly", "custom", "shared", "dedicated",
    "secure", "global", "free", "extended", "partner", "volume", "early", "quarterly",
]
NOUNS = [
    "pricing", "contract", "SSO integration", "SOC 2 report", "data residency", "seat count", "renewal",
    "onboarding plan", "pilot", "discount", "uptime SLA", "API limit", "audit log", "support plan", "invoice",
    "order form", "security questionnaire", "reference call", "proof of concept", "migration", "roadmap",
    "license", "procurement process", "deployment", "integration", "dashboard", "retention policy",
    "encryption", "SAML setup", "usage report", "quote", "payment terms", "ramp deal", "marketplace listing",
    "reseller margin", "referral fee", "champion plan", "business case", "ROI model", "exit clause",
    "mutual action plan", "win plan", "kickoff deck", "handoff", "escalation path", "compliance review",
    "penetration test", "DPA", "MSA", "redline", "true-up", "overage", "credit", "refund", "forecast",
    "pipeline", "territory", "quota", "commission", "lead routing", "MQL", "demo script", "talk track",
    "discovery questions", "qualification", "MEDDPICC", "budget", "timeline", "stakeholder map", "org chart",
    "pain points", "success criteria", "evaluation plan", "sandbox", "staging environment", "webhook",
    "rate limit", "backup", "disaster recovery", "failover", "latency", "throughput", "accessibility",
    "localization", "invoice schedule", "purchase order", "vendor form", "tax exemption", "W-9", "NDA",
    "case study", "analyst report", "G2 review", "win story", "loss review", "price book", "SKU", "bundle",
    "add-on", "tier", "entitlement", "admin console", "role mapping", "SCIM provisioning", "IP allowlist",
]
WHEN = [
    "before the quarter closes", "during the security review", "after the pilot", "in the second call",
    "when the renewal is near", "at the executive briefing", "in the first discovery call", "after legal review",
    "once procurement is involved", "before the board meeting", "while the trial is running", "at contract signature",
]
ADVICE = [
    "Lead with", "Always confirm", "Never promise", "Share", "Ask for", "Offer", "Escalate", "Document",
    "Position", "Anchor on", "Avoid discounting", "Bring up", "Send the customer", "Loop in deal desk on",
]
SYLLABLES = "ac me glo bex ini tech um brel la vand ray stark ind hoo li cyber dyne tyr ell wonka soy lent nova zen ora kis py".split()


_CUM: dict[tuple[int, float], list[float]] = {}


def _zipf(rng: random.Random, items: list, s: float = 1.1):
    """One of `items`, the first ones far more often (Zipf-like), as words are in real text."""
    key = (len(items), s)
    if key not in _CUM:
        total, cum = 0.0, []
        for i in range(len(items)):
            total += 1 / (i + 1) ** s
            cum.append(total)
        _CUM[key] = cum
    return rng.choices(items, cum_weights=_CUM[key])[0]


FEATURE_ENDS = "sync hub guard flow desk kit lens vault graph pulse scope bridge board link base".split()


class Vocabulary:
    """Competitor names and product feature names: the long tail of rare words real enablement text has."""

    def __init__(self, seed: int = SEED):
        rng = random.Random(seed)
        self.names = self._unique(rng, 2000, lambda: "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
                                  + rng.choice(["", "", "", "", " Cloud", "Flow", " Analytics", "Hub", " Systems"]))
        self.features = self._unique(rng, 3000, lambda: "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 2))) + rng.choice(FEATURE_ENDS))

    @staticmethod
    def _unique(rng, n, make) -> list[str]:
        out, seen = [], set()
        while len(out) < n:
            x = make()
            if x.lower() not in seen:
                seen.add(x.lower())
                out.append(x)
        return out

    def competitor(self, rng: random.Random) -> str:
        return _zipf(rng, self.names, 0.7)

    def noun_phrase(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.35:
            return f"{_zipf(rng, self.features, 0.8)} {_zipf(rng, NOUNS, 0.5)}"
        if roll < 0.7:
            return f"{_zipf(rng, ADJECTIVES, 0.5)} {_zipf(rng, NOUNS, 0.5)}"
        return _zipf(rng, NOUNS, 0.5)


def sentence(rng: random.Random, vocab: Vocabulary, home: str) -> str:
    """One sentence; `home` is the document's own competitor, which most of its sentences name."""
    comp = home if rng.random() < 0.6 else vocab.competitor(rng)
    np = lambda: vocab.noun_phrase(rng)  # noqa: E731
    kind = rng.randrange(7)
    if kind == 0:
        s = f"When {_zipf(rng, ROLES, 0.6)} {_zipf(rng, VERBS, 0.6)[0]} the {np()}, {rng.choice(ADVICE).lower()} the {np()}."
    elif kind == 1:
        s = f"{comp} usually {rng.choice(['undercuts', 'matches', 'bundles', 'hides', 'drops', 'limits'])} the {np()} {rng.choice(WHEN)}."
    elif kind == 2:
        s = f"{rng.choice(ADVICE)} the {np()} {rng.choice(WHEN)}, because {_zipf(rng, ROLES, 0.6)} {_zipf(rng, VERBS, 0.6)[0]} it."
    elif kind == 3:
        s = f"Our {np()} costs about ${rng.randint(5, 120)} per user per month, {rng.randint(5, 40)}% less than {comp} on {np()}."
    elif kind == 4:
        s = f"Expect {_zipf(rng, ROLES, 0.6)} to {_zipf(rng, VERBS, 0.6)[1]} the {np()} within {rng.randint(2, 90)} days."
    elif kind == 5:
        s = f"If {comp} is in the deal, {rng.choice(ADVICE).lower()} the {np()} and the {np()}."
    else:
        s = f"The {np()} {rng.choice(['requires', 'includes', 'excludes', 'depends on', 'replaces'])} the {np()} for {_zipf(rng, ROLES, 0.6)}."
    return s[0].upper() + s[1:]


def question(rng: random.Random, vocab: Vocabulary) -> str:
    forms = [
        "how do we handle the {np} objection vs {c}",
        "what is our {np} compared to {c}",
        "{role} {verb} the {np}, what do i say",
        "do we have a {np} for {c} customers",
        "when should i offer the {np}",
    ]
    return rng.choice(forms).format(
        np=vocab.noun_phrase(rng), c=vocab.competitor(rng).lower(), role=_zipf(rng, ROLES, 0.6), verb=_zipf(rng, VERBS, 0.6)[0]
    )


def generate(dest: Path, chunks: int, seed: int = SEED) -> int:
    """Write Markdown files holding exactly `chunks` sections (one chunk each); returns the file count."""
    rng = random.Random(seed)
    vocab = Vocabulary(seed)
    files = -(-chunks // SECTIONS_PER_FILE)
    left = chunks
    for f in range(files):
        comp = vocab.names[f % len(vocab.names)]
        kind = ["battlecard", "playbook", "product"][f % 3]
        title = {
            "battlecard": f"{comp} battlecard",
            "playbook": f"{vocab.noun_phrase(rng).capitalize()} playbook",
            "product": f"{vocab.features[f % len(vocab.features)].capitalize()} product sheet",
        }[kind]
        lines = [
            "---", f"title: {title}", f"type: {kind}", f"owner: Team {f % 17}", f"last_reviewed: 2026-{f % 12 + 1:02d}-15",
            "---", "", f"# {title}", "",
        ]
        for s in range(min(SECTIONS_PER_FILE, left)):
            phrase = vocab.noun_phrase(rng)
            heading = f"{rng.choice(ADVICE)} the {phrase}" if s % 2 else f"{phrase[0].upper() + phrase[1:]} ({s})"
            body = " ".join(sentence(rng, vocab, comp) for _ in range(rng.randint(3, 7)))
            lines += [f"## {heading}", "", body, ""]
        left -= min(SECTIONS_PER_FILE, left)
        folder = dest / kind / f"{f // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc-{f:06d}.md").write_text("\n".join(lines))
    return files


# --- the stand-in embedder ----------------------------------------------------------------------

class StandInEmbedder:
    """Deterministic, fast, 384-d unit vectors: normalised bag of seeded word vectors plus a per-text part."""

    name = "stand-in-bow-384"
    dim = DIM
    whole_words: frozenset[str] = frozenset()
    NOISE = 0.5  # weight of the per-text random part against the unit bag-of-words part
    TABLE = 8192  # per-text part: the sum of 3 rows of a seeded table, picked by a hash of the text

    def __init__(self):
        import numpy as np
        from scipy.sparse import csr_matrix

        from knowledge.index import STOPWORDS
        from knowledge.text import words

        self._np, self._csr, self._words, self._stop = np, csr_matrix, words, STOPWORDS
        self._ids: dict[str, int] = {}
        self._rows: list = []
        self._table = np.random.default_rng(SEED).standard_normal((self.TABLE, DIM)).astype("float32")
        self.seconds = 0.0

    def _word(self, word: str) -> int:
        i = self._ids.get(word)
        if i is None:
            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v = self._np.random.default_rng(seed).standard_normal(DIM).astype("float32")
            self._rows.append(v / self._np.linalg.norm(v))
            i = self._ids[word] = len(self._rows) - 1
        return i

    def embed(self, texts):
        np = self._np
        start = clock()
        ids, indptr, picks = [], [0], []
        for text in texts:
            ids.extend(self._word(w) for w in self._words(text) if w not in self._stop)
            indptr.append(len(ids))
            digest = hashlib.blake2b(text.encode(), digest_size=6).digest()
            picks.append([int.from_bytes(digest[j : j + 2], "little") % self.TABLE for j in (0, 2, 4)])
        counts = self._csr((np.ones(len(ids), dtype="float32"), ids, indptr), shape=(len(texts), max(len(self._rows), 1)))
        vectors = np.asarray(counts @ np.vstack(self._rows)) if ids else np.zeros((len(texts), DIM), "float32")
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        noise = self._table[np.array(picks)].sum(axis=1)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        vectors = vectors + self.NOISE * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        self.seconds += clock() - start
        return vectors.astype("float32")

    def embed_tokens(self, texts, own=None):
        """The vectors of embed, and per text its word pieces: [CLS], a piece a word, [SEP], as the model cuts them
        (with `own`, a prefix of each text, [CLS] and the prefix's words only, as the model's)."""
        from knowledge import late

        np = self._np
        vectors = self.embed(texts)
        start = clock()
        rows, ids, lengths = [], [], []
        for text in texts:
            pieces = ["[CLS]", *self._words(text)[: MAX_PIECES - 2], "[SEP]"]
            rows.extend(self._word(p) for p in pieces)
            ids.extend(self._piece_id(p) for p in pieces)
            lengths.append(len(pieces))
        whole = late.compress(np.array(ids), np.vstack([self._rows[r] for r in rows]), np.eye(DIM, late.DIM, dtype="float32"))
        ends = np.cumsum(lengths)
        tokens = [late.Tokens(whole.pieces[e - n:e], whole.codes[e - n:e], whole.scales[e - n:e]) for n, e in zip(lengths, ends)]
        if own is not None:
            tokens = [t.head(1 + len(self._words(o))) for t, o in zip(tokens, own)]
        self.seconds += clock() - start
        return vectors, tokens

    @staticmethod
    def _piece_id(piece: str) -> int:
        """Stable across processes (the question's pieces meet the build's by id), in the model's id range."""
        return {"[CLS]": 101, "[SEP]": 102}.get(piece) or 1000 + int.from_bytes(hashlib.blake2b(piece.encode(), digest_size=4).digest(), "little") % 29000


# --- children -----------------------------------------------------------------------------------

def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def child_build(source: str, root: str, variant: str, repeat: int) -> dict:
    import scipy.sparse  # noqa: F401  (the stand-in's import, so it is not counted as build memory)

    from indexer.build import build

    base = current_rss_mb()
    times, embeds = [], []
    for r in range(repeat):
        dest = Path(f"{root}.tmp{r}") if r < repeat - 1 else Path(root)
        shutil.rmtree(dest, ignore_errors=True)
        embedder = StandInEmbedder()
        start = clock()
        report = build(Path(source), dest, embedder, approximate_above=0 if variant == "hnsw" else EXACT, force=True)
        times.append(clock() - start)
        embeds.append(embedder.seconds)
        if dest != Path(root):
            shutil.rmtree(dest, ignore_errors=True)
        print(f"    build {variant} #{r + 1}: {times[-1]:.1f}s (stand-in embed {embeds[-1]:.1f}s)", file=sys.stderr, flush=True)
    manifest = json.loads((Path(root) / "current" / "manifest.json").read_text())
    return {
        "times": times, "embed": embeds, "peak_rss": peak_rss_mb(), "base_rss": base, "chunks": report.chunks,
        "faiss": manifest["faiss"], "disk": du_mb(Path(root) / "current"),
        "vectors_mb": (Path(root) / "current" / "vectors.faiss").stat().st_size / 2**20,
    }


def _queries(n: int):
    """`n` generated questions, their stand-in vectors and word pieces, and `n` random unit vectors (all seeded)."""
    import numpy as np

    rng = random.Random(SEED + 1)
    vocab = Vocabulary()
    texts = [question(rng, vocab) for _ in range(n)]
    random_vectors = np.random.default_rng(SEED + 2).standard_normal((n, DIM)).astype("float32")
    random_vectors /= np.linalg.norm(random_vectors, axis=1, keepdims=True)
    return texts, *StandInEmbedder().embed_tokens(texts), random_vectors


def child_serve(root: str, queries: int) -> dict:
    """Memory of serving one index (no model): open it, answer some searches, report RSS."""
    from knowledge.index import Index
    from knowledge.search import search

    texts, _, tokens, random_vectors = _queries(queries)
    base = current_rss_mb()
    start = clock()
    index = Index.open(Path(root))
    open_s = clock() - start
    for i in range(queries):
        search(index, random_vectors[i], texts[i], k=3, tokens=tokens[i])
    return {"open": open_s, "base_rss": base, "peak_rss": peak_rss_mb()}


def child_compare(exact_root: str, hnsw_root: str, queries: int, repeat: int) -> dict:
    """Exact and HNSW opened side by side, every timing interleaved query by query (fair under noise)."""
    import faiss

    from knowledge.index import Index, fts_query
    from knowledge.search import POOL, search

    texts, text_vectors, tokens, random_vectors = _queries(queries)
    indexes = {"exact": Index.open(Path(exact_root)), "hnsw": Index.open(Path(hnsw_root))}
    threads = faiss.omp_get_max_threads()

    def run(kind: str, variant: str, i: int) -> float:
        index = indexes[variant]
        start = clock()
        if kind == "search":
            search(index, random_vectors[i], texts[i], k=3, tokens=tokens[i])
        elif kind == "dense":
            index.dense(random_vectors[i], POOL)
        elif kind == "dense1":
            faiss.omp_set_num_threads(1)
            start = clock()
            index.dense(random_vectors[i], POOL)
            took = clock() - start
            faiss.omp_set_num_threads(threads)
            return took
        else:
            index.lexical(texts[i], POOL)
        return clock() - start

    cells = [(k, v) for k in ("search", "dense", "dense1") for v in ("exact", "hnsw")] + [("lexical", "exact")]
    for i in range(min(10, queries)):
        for cell in cells:
            run(*cell, i)
    timings = {cell: [[] for _ in range(queries)] for cell in cells}
    for r in range(repeat):
        for i in range(queries):
            order = cells if (r + i) % 2 == 0 else cells[::-1]
            for cell in order:
                timings[cell][i].append(run(*cell, i))
    out: dict = {"threads": threads}
    for (kind, variant), per in timings.items():
        med = [median(x) for x in per]
        out[f"{kind}_{variant}"] = (percentile(med, 50), percentile(med, 95))
        out[f"{kind}_{variant}_all"] = med
    exact, hnsw = indexes["exact"], indexes["hnsw"]
    out["matched"] = median(
        [exact._rows("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (fts_query(t),))[0][0] / exact.size for t in texts[:50]]
    )

    def recall(vectors, at: int) -> float:
        hits = []
        for v in vectors:
            truth = [c for c, _ in exact.dense(v, POOL)][:at]
            found = [c for c, _ in hnsw.dense(v, POOL)][:at]
            hits.append(len(set(truth) & set(found)) / len(truth))
        return sum(hits) / len(hits)

    out["recall10_text"], out["recall10_random"] = recall(text_vectors, 10), recall(random_vectors, 10)
    out["recall50_text"] = recall(text_vectors, POOL)
    # What another efSearch would buy, against the one the product stores in the index file.
    graph = hnsw._vectors.hnsw
    stored = graph.efSearch
    out["ef"] = []
    for ef in sorted({stored, 128, 256, 512}):
        graph.efSearch = ef
        took = [[] for _ in range(queries)]
        for r in range(repeat):
            for i in range(queries):
                start = clock()
                hnsw.dense(text_vectors[i], POOL)
                took[i].append(clock() - start)
        med = [median(x) for x in took]
        out["ef"].append((ef, recall(text_vectors, 10), percentile(med, 50), percentile(med, 95)))
    graph.efSearch = stored
    return out


# --- parent -------------------------------------------------------------------------------------

def run_child(*args: str) -> dict:
    cmd = [sys.executable, "-m", "bench.scale", "--child", *args]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares y = a + b x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def pair(p: tuple[float, float]) -> str:
    return f"{ms(p[0])} / {ms(p[1])}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=100, help="queries per size (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the queries (default 3)")
    parser.add_argument("--build-repeat", default="3,3,2", help="builds per size and variant, matching --sizes (default 3,3,2)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "build":
            result = child_build(rest[0], rest[1], rest[2], int(rest[3]))
        elif kind == "serve":
            result = child_serve(rest[0], int(rest[1]))
        else:
            result = child_compare(rest[0], rest[1], int(rest[2]), int(rest[3]))
        print(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    build_repeat = [int(x) for x in args.build_repeat.split(",")]
    build_repeat += [build_repeat[-1]] * (len(sizes) - len(build_repeat))
    print(header("Scale (bench/scale.py)"))
    print(
        "Vectors come from a deterministic stand-in embedder (seeded word vectors, bag of words, plus a per-text "
        "random part; dim 384), not all-MiniLM-L6-v2: the real model would need about an hour for 100k chunks "
        "on this CPU. Build times include the stand-in's embedding time; the column after excludes it.\n",
        flush=True,
    )
    t_start = clock()
    builds, serve, compare = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        work = Path(tmp)
        for size, reps in zip(sizes, build_repeat):
            src = work / f"src-{size}"
            start = clock()
            files = generate(src, size)
            print(f"  generated {size} chunks in {files} files ({du_mb(src):.0f} MB) in {clock() - start:.0f}s", file=sys.stderr, flush=True)
            roots = {v: work / f"index-{size}-{v}" for v in ("exact", "hnsw")}
            for n in range(reps):  # alternate the variants so load drifts hit both alike
                for variant in (("exact", "hnsw") if n % 2 == 0 else ("hnsw", "exact")):
                    got = run_child("build", str(src), str(roots[variant]), variant, "1")
                    if (size, variant) in builds:
                        old = builds[size, variant]
                        got = {**got, "times": old["times"] + got["times"], "embed": old["embed"] + got["embed"],
                               "peak_rss": max(old["peak_rss"], got["peak_rss"]), "base_rss": min(old["base_rss"], got["base_rss"])}
                    builds[size, variant] = got
                    assert got["chunks"] == size, (size, got["chunks"])
            for variant in ("exact", "hnsw"):
                serve[size, variant] = run_child("serve", str(roots[variant]), "20")
            compare[size] = run_child("compare", str(roots["exact"]), str(roots["hnsw"]), str(args.queries), str(args.repeat))
            c = compare[size]
            print(f"  {size}: search p50 exact {ms(c['search_exact'][0])} ms, hnsw {ms(c['search_hnsw'][0])} ms", file=sys.stderr, flush=True)
            shutil.rmtree(src, ignore_errors=True)
            for root in roots.values():
                shutil.rmtree(root, ignore_errors=True)

    build_rows = []
    for size in sizes:
        exact_t = median(builds[size, "exact"]["times"])
        for variant in ("exact", "hnsw"):
            b = builds[size, variant]
            t, e = median(b["times"]), median(b["embed"])
            build_rows.append([
                f"{size:,}", variant, b["faiss"], len(b["times"]), secs(t), f"{t / exact_t:.2f}×", secs(t - e),
                f"{(t - e) / size * 1000:.2f}", f"{b['peak_rss']:.0f}", f"{b['peak_rss'] - b['base_rss']:.0f}",
                f"{b['disk']:.0f} ({b['vectors_mb']:.0f})", f"{serve[size, variant]['peak_rss']:.0f}",
                ms(serve[size, variant]["open"]),
            ])
    print("**Build and memory** (median of the builds, exact and HNSW alternated, each build in its own "
          "subprocess; peak RSS = ru_maxrss of that subprocess; serving = a fresh subprocess that opens the "
          "index and answers 20 searches, no model loaded)\n")
    print(table(
        ["chunks", "search", "FAISS index", "builds", "build s", "vs exact", "build s without stand-in embedding",
         "ms per chunk (without)", "build peak RSS MB", "of which above imports MB", "index on disk MB (vectors)",
         "serving peak RSS MB", "open index ms"],
        build_rows,
    ) + "\n")

    query_rows = []
    for size in sizes:
        c = compare[size]
        for variant in ("exact", "hnsw"):
            s50 = c[f"search_{variant}"][0] / c["search_exact"][0]
            d50 = c[f"dense_{variant}"][0] / c["dense_exact"][0]
            recall = (
                f"{c['recall10_text']:.3f} / {c['recall10_random']:.3f} / {c['recall50_text']:.3f}" if variant == "hnsw" else "1 (reference)"
            )
            query_rows.append([
                f"{size:,}", variant, pair(c[f"search_{variant}"]), f"{s50:.2f}×", pair(c[f"dense_{variant}"]), f"{d50:.2f}×",
                pair(c[f"dense1_{variant}"]), pair(c["lexical_exact"]) if variant == "exact" else "(same DB)",
                f"{c['matched']:.0%}" if variant == "exact" else "", recall,
            ])
    print(f"**Query** ({args.queries} queries × {args.repeat} passes, exact and HNSW interleaved query by query in one "
          "process; per-query median, then p50 / p95 over queries; search() = hybrid, k=3, pools of 50; FAISS "
          f"default = {compare[sizes[0]]['threads']} OpenMP threads)\n")
    print(table(
        ["chunks", "search", "search() ms p50 / p95", "search p50 vs exact", "dense only ms p50 / p95", "dense p50 vs exact",
         "dense, FAISS on 1 thread ms p50 / p95", "lexical only ms p50 / p95", "chunks the FTS query matches (median)",
         "HNSW recall@10 question q / random q; recall@50 question q"],
        query_rows,
    ) + "\n")

    ef_rows = [
        [f"{size:,}", ef, f"{rec:.3f}", f"{ms(p50)} / {ms(p95)}"]
        for size in sizes
        for ef, rec, p50, p95 in compare[size]["ef"]
    ]
    print("**HNSW efSearch** (M=32, efConstruction=40 as the product builds it; generated-question vectors; "
          "dense search of the pool of 50, so the effective ef is at least 50)\n")
    print(table(["chunks", "efSearch", "recall@10 vs exact", "dense ms p50 / p95"], ef_rows) + "\n")

    if len(sizes) >= 2:
        xs = [float(s) for s in sizes]
        lines = []
        for key, label in (("dense_exact", "FAISS default threads"), ("dense1_exact", "FAISS on 1 OpenMP thread")):
            a, b = fit_line(xs, [compare[s][key][1] * 1000 for s in sizes])
            if b > 0:
                where = ", ".join(f"{budget} ms at ~{(budget - a) / b:,.0f}" for budget in (5, 10, 20))
                lines.append(f"Exact dense p95, {label}: +{b * 100_000:.1f} ms per 100k vectors (intercept {a:.2f} ms); reaches {where} vectors.")
            else:
                lines.append(f"Exact dense p95, {label}: no measurable growth over these sizes.")
        top = sizes[-1]
        c = compare[top]
        lines.append(
            f"At {top:,}: exact dense p95 {ms(c['dense_exact'][1])} ms ({ms(c['dense1_exact'][1])} ms on 1 thread), HNSW {ms(c['dense_hnsw'][1])} ms, "
            f"lexical (FTS5) p95 {ms(c['lexical_exact'][1])} ms."
        )
        print("**Fit**\n\n" + "\n".join(f"- {l}" for l in lines) + "\n")
    print(f"_bench/scale.py ran in {clock() - t_start:.0f} s._")


if __name__ == "__main__":
    main()
