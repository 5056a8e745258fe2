"""Writing the index, the half of `Store` that writes: `build` and the steps of one build.

A build writes the corpus through LangChain's indexing API with a SQL record manager (an unchanged
chunk is skipped, a changed one replaced, one whose report was edited away removed), then rebuilds
the lexical index, the sentence vectors and the figures table from the collection's own records and
stamps them, which is how `Store.check` proves the parts agree. Embedded, it works on a copy of the
current generation that replaces it in one atomic rename (`vectorstore.generations`).

Leaves out: opening and reading the index (`store.py`); what a record holds (`records.py`).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vectorstore import figures as figure_table
from vectorstore import opening
from vectorstore.chunking import Chunk
from vectorstore.errors import StoreError, ZgqaError
from vectorstore.generations import build_lock, damaged, publish, stage
from vectorstore.ingest import Corpus
from vectorstore.lexical import LexicalIndex, fingerprint_of
from vectorstore.records import (
    META_PREFIX,
    Identity,
    chunk_metadata,
    chunk_of_record,
    lexical_text,
    passage_text,
    record_id,
)
from vectorstore.sentences import SentenceVectors, clauses, split

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from vectorstore.store import Store

# Documents per indexing batch: how often the record manager commits and the progress bar moves.
# Larger batches let sentence-transformers sort more texts by length and pad less.
BATCH = 128


@dataclass
class BuildReport:
    """What one build did, in the user's terms: chunks added, updated, unchanged and deleted."""

    location: str
    chunks: int
    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    embedded: int = 0  # passages run through the model; the rest came from the embedding cache
    sentences_embedded: int = 0  # their sentences and clauses run through the model (the sentence vectors)
    rebuilt_because: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)  # a damaged generation or link, corrupt cache entries
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.chunks} chunks in {self.location}: {self.added} added, {self.updated} updated, "
            f"{self.skipped} unchanged, {self.deleted} deleted; {_counted(self.embedded, 'passage')} "
            f"and {_counted(self.sentences_embedded, 'sentence')} embedded ({self.seconds:.1f} s)"
        )


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def build(store: Store, corpus: Corpus, *, rebuild: bool = False, prune: bool = False) -> BuildReport:
    """Bring the index up to date with the corpus; afterwards this store reads the new index.

    Embedded, the build works on a copy of the current generation and switches to it in one
    atomic rename only once it is complete: a build killed at any point (SIGKILL included)
    leaves the previous index answering exactly as before, and its copy is swept by the next
    build. A Chroma server's collection is updated in place (and refused until a build completes).
    Builds of one index take turns (a file lock), so none is lost to another. A build that would
    remove more than half of the indexed reports stops unless `prune` says to.
    """
    with build_lock(store.settings, store._say):
        return _build_locked(store, corpus, rebuild=rebuild, prune=prune)


def _build_locked(store: Store, corpus: Corpus, *, rebuild: bool, prune: bool) -> BuildReport:
    if store.settings.chroma_host:
        return _build(store, corpus, rebuild=rebuild, prune=prune)
    found = opening.generation_damage(store.settings, store.root) if not store.link_damage else None
    if not rebuild:
        if store.link_damage:
            raise StoreError(damaged(store.location, store.link_damage))
        if found is not None:
            where = opening.shown(store.root / found[0], store.settings)
            raise StoreError(damaged(store.location, f"{where}: {found[1]}"))
    discarded = []
    if rebuild:  # from scratch: nothing of the current generation is read, damaged or not
        if store.link_damage:
            discarded.append(f"the `current` link ({store.link_damage.removeprefix('its `current` link ')})")
        elif found is not None:
            discarded.append(f"the index generation {store.root.name}: {found[0]} is damaged")
        elif not prune:
            _refuse_mass_removal(store, {c.source for c in corpus.chunks()})
        for thing in discarded:
            store._say(f"Discarding {thing}.")
        store._say("Rebuilding the index from scratch: asked to.")
    from vectorstore.store import Store

    staging = stage(store.settings, None if rebuild else store.root)
    try:
        with Store(
            store.settings, progress=store.progress, embeddings=store.embeddings, identity=store._identity, root=staging
        ) as building:
            building._say = store._say  # type: ignore[method-assign]  # one voice, whatever this store's is
            report = _build(building, corpus, rebuild=rebuild, prune=prune)
        if rebuild:
            report.rebuilt_because = ["asked to"]
            report.discarded[:0] = discarded
        changed = report.added or report.updated or report.deleted or report.rebuilt_because or building.resynced
        if changed or store.root == store.settings.index:
            new = publish(store.settings, staging)
        else:  # nothing to switch to: the copy is the same index
            shutil.rmtree(staging, ignore_errors=True)
            return report
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    store.close()
    store.link_damage = None  # the link is the one just published
    store._open(new)
    return report


def _build(store: Store, corpus: Corpus, *, rebuild: bool = False, prune: bool = False) -> BuildReport:
    from langchain_core.indexing import index

    start = time.perf_counter()
    chunks = corpus.chunks()
    if not prune:
        _refuse_mass_removal(store, {c.source for c in chunks})
    report = BuildReport(location=store.location, chunks=len(chunks))
    identity = store.identity()
    existing = store.collection()
    if existing is not None:
        built = Identity.from_metadata(existing.metadata)
        reasons = ["asked to"] if rebuild else []
        if built is None:
            reasons.append("the collection was not built by zgqa")
        elif differences := built.differences(identity):
            reasons.extend(f"it was built with {d}" for d in differences)
        elif not rebuild and existing.count() != len(_record_manager(store).list_keys()):
            reasons.append("the collection and the record of what it holds disagree")
    else:
        # Records of a collection that is gone would make the indexing API skip every chunk.
        reasons = ["there is no collection yet"]
    if reasons:
        if existing is not None:
            store._say(f"Rebuilding the index from scratch: {'; '.join(reasons)}.")
            report.rebuilt_because = reasons
        _drop(store)
    manager = _record_manager(store)
    before = {chunk_of_record(rid): rid for rid in manager.list_keys()}
    vectors = store.vectorstore()
    places = _places(store, list(before.values()))
    counted = _show_model_work(store, [c for c in chunks if c.id not in before])
    docs = _documents(store, chunks, bar=not counted)
    embedded_before = store.embeddings.embedded
    try:
        index(
            docs,
            manager,
            vectors,
            cleanup="full",
            key_encoder=record_id,
            batch_size=BATCH,
        )
    except ZgqaError:
        raise
    except Exception as exc:  # a server that went away, a full disk: say where and how to finish
        raise StoreError(
            f"Indexing into {store.location} failed: {exc}. The index may be partly updated and is refused "
            "until a build completes: run `zgqa build` again."
        ) from exc
    after = {chunk_of_record(rid): rid for rid in manager.list_keys()}
    report.embedded = store.embeddings.embedded - embedded_before
    report.added = sum(1 for c in after if c not in before)
    report.updated = sum(1 for c, rid in after.items() if c in before and before[c] != rid)
    report.deleted = sum(1 for c in before if c not in after)
    report.skipped = sum(1 for c, rid in after.items() if before.get(c) == rid)
    # A chunk's id holds its text, so an edited chunk is a new chunk and its old one is gone; in the
    # user's terms it was updated: as many as were both added and deleted in one report's section.
    gone = Counter(places.get(rid) for c, rid in before.items() if c not in after)
    new = Counter((ch.source, ch.section) for ch in chunks if ch.id not in before)
    edited = sum(min(n, gone[place]) for place, n in new.items())
    report.added, report.deleted, report.updated = (
        report.added - edited, report.deleted - edited, report.updated + edited
    )
    try:
        _sync_lexical(store)
    finally:
        store.embeddings.close_bar()
    report.sentences_embedded = store.embeddings.embedded - embedded_before - report.embedded
    _sync_figures(store, corpus)
    for name in dict.fromkeys(store._dropped):
        report.discarded.append(f"the corrupt embedding-cache entry {name}")
        store._say(f"Dropped the corrupt embedding-cache entry {name}: its text was embedded again.")
    report.seconds = time.perf_counter() - start
    return report


def _show_model_work(store: Store, new: list[Chunk]) -> bool:
    """Say how many texts this build will run through the model (the new chunks' passages and every
    sentence, less what the embedding cache holds), and count them on one bar: its first estimate is
    for the whole build, where the chunk bar's had covered the passages alone (a 50 MB report's
    sentences then took hours after an estimate of two minutes)."""
    if not store.progress:
        return False
    passages = list(dict.fromkeys(passage_text(c) for c in new))
    whole = set(passages)  # a one-sentence passage is embedded once
    said = list(dict.fromkeys(s for c in new for s in split(c.text)))
    sentences = [s for s in dict.fromkeys([*said, *(p for s in said for p in clauses(s))]) if s not in whole]
    if not passages and not sentences:
        return False
    cache = store._cached_embeddings().document_embedding_store
    missing = [sum(v is None for v in cache.mget(part)) for part in (passages, sentences)]
    todo = sum(missing)
    if todo:
        store._say(f"{todo} new texts to embed: {missing[0]} passages, then {missing[1]} of their sentences "
                  f"and clauses ({len(passages) + len(sentences) - todo} cached).")
        store.embeddings.open_bar(todo)
    return bool(todo)


def _places(store: Store, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each record's report and section, as the collection holds them."""
    collection = store.collection()
    if collection is None or not ids:
        return {}
    got = collection.get(ids=ids, include=["metadatas"])
    return {
        rid: (str(meta.get("source")), str(meta.get("section")))
        for rid, meta in zip(got["ids"], got["metadatas"] or [], strict=False)
        if meta
    }


def _documents(store: Store, chunks: list[Chunk], *, bar: bool = True) -> Iterator[Document]:
    from langchain_core.documents import Document

    docs = (Document(page_content=passage_text(c), metadata=chunk_metadata(c)) for c in chunks)
    if not (store.progress and bar):
        yield from docs
        return
    from tqdm import tqdm

    yield from tqdm(docs, total=len(chunks), desc="indexing chunks", unit="chunk", file=sys.stderr)


def _sync_lexical(store: Store) -> None:
    """Rebuild BM25 from the collection's own records and stamp the collection with their fingerprint."""
    collection = store.collection()
    assert collection is not None
    got = collection.get(include=["documents", "metadatas"])
    records = [
        (rid, lexical_text(str(meta["section"]), text))
        for rid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
    ]
    fingerprint = fingerprint_of([rid for rid, _ in records])
    stamp = (collection.metadata or {}).get(f"{META_PREFIX}lexical")
    folder = store.folder / "lexical"
    _sync_sentences(store, got["documents"] or [], fingerprint)
    if stamp == fingerprint and LexicalIndex.is_current(folder):
        return
    lexical = LexicalIndex.build(records)
    lexical.save(folder)
    store.resynced = True
    store._lexical = lexical
    meta = dict(collection.metadata or {})
    meta[f"{META_PREFIX}lexical"] = fingerprint
    collection.modify(metadata=meta)


def _sync_sentences(store: Store, texts: list[str], fingerprint: str) -> None:
    """Embed every sentence of the records (through the embedding cache) unless the saved vectors
    already come from these records."""
    saved = store.sentences
    if saved is not None and saved.fingerprint == fingerprint and saved.clauses is not None:
        return
    cached = store._cached_embeddings()
    store._say("Embedding the sentences of the passages and their clauses (cached: only new ones cost model "
              "time) ...")
    store._sentences = SentenceVectors.build(texts, cached.embed_documents, fingerprint)
    store._sentences.save(store.folder / "sentences")
    store.resynced = True


def _refuse_mass_removal(store: Store, kept: set[str]) -> None:
    """Stop a build that would remove more than half of the indexed reports: most likely the
    reports folder is the wrong one (`zgqa build --seeds elsewhere`)."""
    collection = store.collection()
    if collection is None:
        return
    indexed = {str(m["source"]) for m in collection.get(include=["metadatas"])["metadatas"] or []}
    gone = sorted(indexed - kept)
    if len(gone) * 2 > len(indexed):
        raise StoreError(
            f"This build would remove {len(gone)} of the {len(indexed)} indexed reports "
            f"({', '.join(gone[:4])}{' …' if len(gone) > 4 else ''}): they are not in {store.settings.seeds}. "
            "Check the reports folder (--seeds, ZGQA_SEEDS), or run `zgqa build --prune` to remove them."
        )


def _sync_figures(store: Store, corpus: Corpus) -> None:
    """Rewrite the figures table from the reports just indexed (milliseconds: no model involved),
    stamped like the sentence vectors, so a corrected figure or a removed report shows at once."""
    rows = figure_table.of_corpus(corpus)
    path = store.folder / "records.sqlite"
    if figure_table.load(path) == (store._figures_stamp(), rows):
        return
    figure_table.save(path, rows, store._figures_stamp())
    store._figures = None
    store.resynced = True


def _drop(store: Store) -> None:
    with contextlib.suppress(Exception):  # already gone is what we want
        store.client.delete_collection(store.settings.collection)
    shutil.rmtree(store.folder / "lexical", ignore_errors=True)
    shutil.rmtree(store.folder / "sentences", ignore_errors=True)
    (store.folder / "records.sqlite").unlink(missing_ok=True)
    store._vectorstore = None
    store._lexical = None
    store._sentences = None
    store._figures = None


def _record_manager(store: Store) -> Any:
    from langchain_classic.indexes import SQLRecordManager

    store.folder.mkdir(parents=True, exist_ok=True)
    import sqlalchemy
    from sqlalchemy.engine import URL

    # A URL built from parts: a folder named `a?b` or `x%20y` stays that folder.
    url = URL.create("sqlite", database=str(store.folder / "records.sqlite"))
    # The database is this collection's alone, so its records are named by the collection, not by
    # where the index sits: a copied or moved index, or one reached by another path, is the same
    # index. Records named by the folder's path (before) are renamed once.
    manager = SQLRecordManager(f"{opening.local_name(store.settings)}/{store.settings.collection}", db_url=url)
    manager.create_schema()
    engine = manager.engine
    assert isinstance(engine, sqlalchemy.engine.Engine)  # a sqlite URL makes a synchronous engine
    name = {"name": manager.namespace}
    with engine.connect() as connection:
        other = connection.execute(
            sqlalchemy.text("SELECT 1 FROM upsertion_record WHERE namespace != :name LIMIT 1"), name
        ).first()
    if other is not None:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text("UPDATE upsertion_record SET namespace = :name WHERE namespace != :name"), name
            )
    return manager
