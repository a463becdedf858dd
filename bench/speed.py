"""Speed of the real pipeline, as ratios against a floor measured in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.speed                  # everything (6-10 minutes on 2 shared cores)
    PYTHONPATH=. .venv/bin/python -m bench.speed --steps query,cold --repeat 5

1. build:       full build (fresh index dir) of knowledge_base/ and of the Sourcegraph handbook,
                against the floor = the model encoding the same chunk texts in one call.
2. incremental: on a temp copy of the Sourcegraph handbook, one section of one file edited and
                re-indexed, against a full rebuild (fresh dir) of the same corpus.
3. query:       KnowledgeBase.ask + answer_dict per question (p50/p95), against embedder.embed([q]), on
                both and on the GitLab handbook (the largest: its index is bench.evaluate's, bench/out/).
4. cold:        fresh process: model load + index open + first answer, against model load alone.

The machine is shared and noisy: every timing is repeated (--repeat) with the measured and the floor
interleaved, and medians are reported. Markdown tables go to stdout.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import clock, header, median, ms, percentile, ratio, secs, table

REPO = Path(__file__).resolve().parent.parent
CORPORA = {
    "knowledge_base": REPO / "knowledge_base",
    "sourcegraph": REPO.parent / "shared" / "corpora" / "sourcegraph-handbook-sales" / "docs",
}
QUESTIONS = {
    "knowledge_base": REPO / "bench" / "questions" / "sample.jsonl",
    "sourcegraph": REPO / "bench" / "questions" / "sourcegraph.jsonl",
    "gitlab": REPO / "bench" / "questions" / "gitlab.jsonl",
}
STEPS = ("build", "incremental", "query", "cold")


# --- shared -------------------------------------------------------------------------------------

class TimingEmbedder:
    """The real embedder, timing its calls (to split a build into model time and the rest)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.whole_words = inner, inner.name, inner.dim, inner.whole_words
        self.seconds = 0.0
        self.texts = 0

    def embed(self, texts):
        return self._timed(self.inner.embed, texts)

    def embed_tokens(self, texts, own=None):
        return self._timed(lambda t: self.inner.embed_tokens(t, own), texts)

    def _timed(self, call, texts):
        start = clock()
        try:
            return call(texts)
        finally:
            self.seconds += clock() - start
            self.texts += len(texts)


def chunk_texts(source: Path) -> list[str]:
    """The embed_text() of every chunk build() makes of `source`, in build order."""
    from indexer.build import markdown_files
    from indexer.chunking import chunk_document
    from indexer.markdown import MarkdownError, read

    texts = []
    for file in markdown_files(source):
        try:
            doc = read(file, file.relative_to(source).as_posix())
        except MarkdownError:
            continue
        texts.extend(c.embed_text() for c in chunk_document(doc))
    return texts


def questions(name: str) -> list[str]:
    lines = QUESTIONS[name].read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


# --- 1. full build ------------------------------------------------------------------------------

def bench_build(embedder, work: Path, repeat: int, large_repeat: int) -> tuple[str, dict]:
    from indexer.build import build

    rows, keep = [], {}
    for name, source in CORPORA.items():
        texts = list(dict.fromkeys(chunk_texts(source)))  # build embeds a repeated chunk text once
        builds, floors, in_build, parse, cpu_builds, cpu_floors = [], [], [], [], [], []
        report = None
        for r in range(repeat if name == "knowledge_base" else large_repeat):
            def one_build():
                nonlocal report
                root = work / f"build-{name}-{r}"
                timing = TimingEmbedder(embedder)
                start, cpu = clock(), time.process_time()
                report = build(source, root, timing, force=True)
                builds.append(clock() - start)
                cpu_builds.append(time.process_time() - cpu)
                in_build.append(timing.seconds)
                keep[name] = root

            def one_floor():
                start, cpu = clock(), time.process_time()
                embedder.embed(texts)
                floors.append(clock() - start)
                cpu_floors.append(time.process_time() - cpu)

            for step in ((one_build, one_floor) if r % 2 == 0 else (one_floor, one_build)):
                step()
            start = clock()
            chunk_texts(source)
            parse.append(clock() - start)
            print(f"  build {name} #{r + 1}: build {builds[-1]:.1f}s, floor {floors[-1]:.1f}s", file=sys.stderr, flush=True)
        assert report is not None and report.embedded == len(texts), (report, len(texts))
        b, f, e = median(builds), median(floors), median(in_build)
        rows.append(
            [
                name, f"{report.chunks} ({len(texts)} distinct)", len(builds), secs(b), secs(f), ratio(b, f),
                f"{median([x / y for x, y in zip(builds, floors)]):.2f}×",
                f"{median([x / y for x, y in zip(cpu_builds, cpu_floors)]):.2f}×",
                secs(e), f"{median([x / y for x, y in zip(builds, in_build)]):.3f}×",
                secs(median(parse)), secs(max(0.0, median([x - y - z for x, y, z in zip(builds, in_build, parse)]))),
            ]
        )
        keep[f"{name}-builds"] = builds
    text = table(
        [
            "corpus", "chunks", "runs", "full build s (median)", "floor: model encode s", "build / floor",
            "median of paired ratios", "same in CPU seconds", "model time inside build s", "build / its own model time",
            "parse + chunk s", "rest (hash, SQLite+FTS, FAISS, swap) s",
        ],
        rows,
    )
    note = (
        "\n\nWall-clock ratios of minute-long runs swing with the other jobs on this shared machine; the CPU-seconds "
        "ratio and the build's own split (model time measured inside build() by a timing wrapper around the "
        "embedder) are the steadier reading of what the indexer adds on top of the model."
    )
    return text + note, keep


# --- 2. incremental -----------------------------------------------------------------------------

def _edit_target(source: Path) -> tuple[str, int, str]:
    """(file, 1-based line, heading) of the last line of a paragraph in a middle section of the file with most sections."""
    from indexer.build import markdown_files
    from indexer.markdown import MarkdownError, read

    best = None
    for file in markdown_files(source):
        rel = file.relative_to(source).as_posix()
        try:
            doc = read(file, rel)
        except MarkdownError:
            continue
        paragraphs = [
            (s, b) for s in doc.sections for b in s.blocks if b.kind == "paragraph" and len(s.blocks) == 1 and len(b.text) < 800
        ]
        if paragraphs and (best is None or len(doc.sections) > best[0]):
            section, block = paragraphs[len(paragraphs) // 2]
            best = (len(doc.sections), rel, block.line + block.text.count("\n"), " › ".join(section.heading_path))
    assert best is not None
    return best[1], best[2], best[3]


def bench_incremental(embedder, work: Path, repeat: int, full_builds: list[float], built: Path | None) -> str:
    from indexer.build import build

    copy = work / "sourcegraph-copy"
    shutil.copytree(CORPORA["sourcegraph"], copy)
    root = work / "incremental-index"
    full = list(full_builds)
    distinct = len(set(chunk_texts(copy)))
    if built is not None:
        # Step 1 already built this corpus from scratch (those runs are the full-rebuild baseline): start
        # the copy's index from that build rather than spend another full build on it.
        shutil.copytree(built, root, symlinks=True)
        start = clock()
        first = build(copy, root, embedder, force=True)  # same files: reuses every vector
        assert first.embedded == 0, first
    else:
        start = clock()
        first = build(copy, root, embedder)
        full.append(clock() - start)
    rel, line, heading = _edit_target(copy)
    file = copy / rel
    original = file.read_text().split("\n")
    edits, noop, force = [], [], []
    reports = []
    for r in range(repeat):
        lines = list(original)
        lines[line - 1] = lines[line - 1].rstrip() + f" Check the current terms with deal desk first (edit {r + 1})."
        file.write_text("\n".join(lines))
        start = clock()
        reports.append(build(copy, root, embedder))
        edits.append(clock() - start)
        start = clock()
        assert build(copy, root, embedder).up_to_date
        noop.append(clock() - start)
        start = clock()
        build(copy, root, embedder, force=True)
        force.append(clock() - start)
        print(f"  incremental #{r + 1}: edit {edits[-1]:.2f}s, no-op {noop[-1]:.2f}s, --force {force[-1]:.2f}s", file=sys.stderr, flush=True)
    f = median(full)
    last = reports[-1]

    def vs(x: float) -> str:
        return f"{x / f:.3f}× ({f / x:.0f}× faster)"

    rows = [
        [
            "full rebuild, fresh dir" + (" (step 1's runs of this corpus)" if built is not None else ""),
            len(full), secs(f), "1.00×", str(distinct), "0", "all files added",
        ],
        [
            "one section of one file edited", repeat, secs(median(edits)), vs(median(edits)),
            "/".join(str(x.embedded) for x in reports), "/".join(str(x.reused) for x in reports),
            f"{len(last.changed)} changed, {last.unchanged} unchanged",
        ],
        ["nothing changed (up-to-date check)", repeat, secs(median(noop)), vs(median(noop)), "0", "-", "returns early"],
        ["`--force` on the existing index", repeat, secs(median(force)), vs(median(force)), "0", f"{first.chunks}", "every vector reused, files rewritten"],
    ]
    note = f"Edited: `{rel}` line {line} (section “{heading}”), a sentence appended to one paragraph.\n\n"
    return note + table(["re-index of the Sourcegraph copy", "runs", "seconds (median)", "vs full rebuild", "chunks embedded", "chunks reused", "files"], rows)


# --- 3. query -----------------------------------------------------------------------------------

def bench_query(embedder, roots: dict, repeat: int) -> str:
    from knowledge import battlecards
    from knowledge.answer import Answer, KnowledgeBase
    from knowledge.index import LiveIndex
    from knowledge.search import search
    import torch

    rows = []
    for name in QUESTIONS:
        kb = KnowledgeBase(LiveIndex(roots[name], embedder.name), embedder)
        qs = questions(name)
        for q in qs[:5]:
            kb.answer_dict(kb.ask(q))  # warm up caches and the model's first-call costs
        per_q = {k: [[] for _ in qs] for k in ("ask", "floor", "floor1", "search", "cold", "mentioned", "render")}
        encoded = {q: kb.prepare(q) for q in qs}
        threads = torch.get_num_threads()
        for r in range(repeat):
            for n, q in enumerate(qs):
                def ask():
                    start = clock()
                    kb.answer_dict(kb.ask(q))
                    per_q["ask"][n].append(clock() - start)

                def floor():
                    start = clock()
                    embedder.embed([q])
                    per_q["floor"][n].append(clock() - start)

                def floor1():  # what if torch used one thread for a one-question encode
                    torch.set_num_threads(1)
                    start = clock()
                    embedder.embed([q])
                    per_q["floor1"][n].append(clock() - start)
                    torch.set_num_threads(threads)

                for step in ((ask, floor, floor1) if (r + n) % 2 == 0 else (floor1, floor, ask)):
                    step()
                # The parts of ask() other than the model, each on its own.
                index = kb.index.get()
                vector, tokens = encoded[q].vector, encoded[q].tokens
                start = clock()
                question = kb.respell(index, " ".join(q.split()))
                named = frozenset(c.path for c in battlecards.mentioned(question, index.documents("battlecard")))
                expanded = index.structure.vocabulary.expand(question)
                per_q["mentioned"][n].append(clock() - start)
                start = clock()
                found = search(index, vector, expanded, k=3, named=named, ranker=kb.ranker, asked=question, tokens=tokens)
                per_q["search"][n].append(clock() - start)
                warm = dict(index._section_cache)
                index._section_cache.clear()  # as for the first questions a new build answers
                start = clock()
                search(index, vector, expanded, k=3, named=named, ranker=kb.ranker, asked=question, tokens=tokens)
                per_q["cold"][n].append(clock() - start)
                index._section_cache.update(warm)  # the next ask() finds what a serving process would have cached
                start = clock()
                kb.answer_dict(Answer(question, found.confidence >= kb.ranker.threshold, found.hits, found.confidence))
                per_q["render"][n].append(clock() - start)
        med = {k: [median(v) for v in lists] for k, lists in per_q.items()}
        ask50, ask95 = percentile(med["ask"], 50), percentile(med["ask"], 95)
        fl50, fl95 = percentile(med["floor"], 50), percentile(med["floor"], 95)
        paired = median([a / f for a, f in zip(med["ask"], med["floor"])])
        chunks = kb.index.get().size
        rows.append(
            [
                f"{name} ({chunks} chunks)", len(qs), f"{ms(ask50)} / {ms(ask95)}", f"{ms(fl50)} / {ms(fl95)}",
                f"{ratio(ask50, fl50)} / {ratio(ask95, fl95)}", f"{paired:.2f}×",
                f"{ms(percentile(med['floor1'], 50))} / {ms(percentile(med['floor1'], 95))}",
                f"{ms(percentile(med['search'], 50))} / {ms(percentile(med['search'], 95))}",
                f"{ms(percentile(med['cold'], 50))} / {ms(percentile(med['cold'], 95))}",
                f"{ms(percentile(med['mentioned'], 50))} / {ms(percentile(med['mentioned'], 95))}",
                f"{ms(percentile(med['render'], 50))} / {ms(percentile(med['render'], 95))}",
            ]
        )
        print(f"  query {name}: ask p50 {ms(ask50)} ms, floor p50 {ms(fl50)} ms", file=sys.stderr, flush=True)
    return table(
        [
            "index", "questions", "ask + answer_dict ms p50 / p95", "floor: embed([q]) ms p50 / p95", "ask / floor p50 / p95",
            "median per-question ratio", f"what-if: embed([q]) with torch on 1 thread (default {torch.get_num_threads()}) ms p50 / p95",
            "search() ms p50 / p95", "search() with no section cached ms p50 / p95",
            "battlecard mention + vocabulary ms p50 / p95", "answer_dict ms p50 / p95",
        ],
        rows,
    )


# --- 4. cold start ------------------------------------------------------------------------------

def cold_child(mode: str, root: str, question: str) -> None:
    """Run in a fresh interpreter: time loading (imports included) and, for 'full', the first answer."""
    t0 = clock()
    out = {}
    if mode == "model":
        from knowledge.embedder import SentenceTransformerEmbedder

        SentenceTransformerEmbedder()
        out["model"] = clock() - t0
    else:
        # The order `kb ask` uses: open the index (fails fast), load the model, check, answer.
        from knowledge.answer import KnowledgeBase
        from knowledge.index import LiveIndex

        index = LiveIndex(Path(root))
        t1 = clock()
        from knowledge.embedder import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        index.model_name = embedder.name
        index.get().check_model(embedder.name)
        kb = KnowledgeBase(index, embedder)
        t2 = clock()
        kb.answer_dict(kb.ask(question))
        t3 = clock()
        out = {"index": t1 - t0, "model": t2 - t1, "first": t3 - t2, "total": t3 - t0}
    print(json.dumps(out))


def bench_cold(roots: dict, repeat: int) -> str:
    question = questions("knowledge_base")[0]
    results = {"model": [], "full": []}
    walls = {"model": [], "full": []}

    def run(mode):
        cmd = [sys.executable, "-m", "bench.speed", "--cold-child", mode, str(roots["knowledge_base"]), question]
        start = clock()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True)
        walls[mode].append(clock() - start)
        results[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))

    for r in range(repeat):
        for mode in (("model", "full") if r % 2 == 0 else ("full", "model")):
            run(mode)
        print(f"  cold #{r + 1}: model {results['model'][-1]['model']:.2f}s, full {results['full'][-1]['total']:.2f}s", file=sys.stderr, flush=True)
    model = median([x["model"] for x in results["model"]])
    total = median([x["total"] for x in results["full"]])
    rows = [
        ["model load alone (imports torch + sentence-transformers, loads weights)", repeat, secs(model), "1.00×", secs(median(walls["model"]))],
        ["model + index open + first answer (`kb ask` order)", repeat, secs(total), ratio(total, model), secs(median(walls["full"]))],
        ["  of which: open index (imports faiss, SQLite)", repeat, secs(median([x["index"] for x in results["full"]])), "", ""],
        ["  of which: load model", repeat, secs(median([x["model"] for x in results["full"]])), "", ""],
        ["  of which: first ask + answer_dict", repeat, secs(median([x["first"] for x in results["full"]])), "", ""],
    ]
    return table(["cold start, fresh process, knowledge_base index", "runs", "seconds in-process (median)", "vs model load", "process wall incl. interpreter s"], rows)


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, from {','.join(STEPS)}")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each build/cold timing (default 3)")
    parser.add_argument("--large-repeat", type=int, default=2, help="full builds of the Sourcegraph handbook (about 1 min each; default 2)")
    parser.add_argument("--query-repeat", type=int, default=3, help="passes over the question sets (default 3)")
    parser.add_argument("--cold-child", nargs=3, metavar=("MODE", "ROOT", "QUESTION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        cold_child(*args.cold_child)
        return
    steps = args.steps.split(",")
    print(header("Speed (bench/speed.py)"))
    start = clock()
    from knowledge.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.embed(["warm up the model"] * 8)
    with tempfile.TemporaryDirectory(prefix="kb-speed-") as tmp:
        work = Path(tmp)
        roots: dict = {}
        full_builds: list[float] = []
        if "build" in steps:
            text, roots = bench_build(embedder, work, args.repeat, args.large_repeat)
            full_builds = roots["sourcegraph-builds"]
            print("**1. Full index build vs the model encoding the same chunks** (build and floor interleaved, "
                  "alternating which goes first; medians)\n\n" + text + "\n", flush=True)
        else:
            from indexer.build import build

            for name, source in CORPORA.items():
                roots[name] = work / f"build-{name}"
                build(source, roots[name], embedder)
        if "incremental" in steps:
            text = bench_incremental(embedder, work, args.repeat, full_builds, roots.get("sourcegraph") if full_builds else None)
            print(f"**2. Incremental re-index of a large knowledge base** (Sourcegraph handbook copy)\n\n{text}\n", flush=True)
        if "query" in steps:
            from bench.evaluate import OUT, SETS
            from indexer.build import build

            roots["gitlab"] = OUT / "index-gitlab"
            build(SETS["gitlab"][0], roots["gitlab"], embedder)  # incremental: bench.evaluate's index, brought up to date
            text = bench_query(embedder, roots, args.query_repeat)
            print(
                f"**3. Query in-process** (per-question median of {args.query_repeat} passes, then p50/p95 over the "
                f"questions; k=3, hybrid)\n\n{text}\n",
                flush=True,
            )
        if "cold" in steps:
            text = bench_cold(roots, args.repeat)
            print(f"**4. Cold start in a fresh process** (page cache warm)\n\n{text}\n", flush=True)
    print(f"_bench/speed.py ran in {clock() - start:.0f} s._")


if __name__ == "__main__":
    main()
