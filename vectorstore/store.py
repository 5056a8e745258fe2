"""The index: chunks in a Chroma collection plus a BM25 index over the same record ids, kept in step.

`build` writes the corpus through LangChain's indexing API: a SQL record manager remembers which
records are in the collection, so an unchanged chunk is skipped, a changed one is replaced and a
chunk whose report was edited away or deleted is removed (`cleanup="full"`). Embeddings go through
LangChain's CacheBackedEmbeddings keyed by text, so a text is embedded once per model, ever: a
duplicate passage, a chunk whose only change is its line numbers, and a rebuild from scratch all
reuse stored vectors. After Chroma, the lexical index is rebuilt from the collection's own records
and their fingerprint is written into the collection, which is how `open_store` proves the two agree.

The collection records the model, its dimension, the chunker and the passage format that built it;
a store built otherwise is refused with a message to rebuild.

Embedded, the index is a folder of generations: `current` links to the complete one, and a build
works on a copy that replaces it in one atomic rename (`Store.build`), so a killed build changes
nothing a reader sees.

Chroma runs embedded (a folder) by default, or as a server through HttpClient when
`ZGQA_CHROMA_HOST` is set; the record manager, embedding cache and lexical index live in the local
index folder in both cases, namespaced by where the collection is.

Leaves out: ranking and fusion (that is retrieval, in `qa/`); what a record holds (`records.py`); opening
Chroma and telling what is damaged (`opening.py`); the embedding cache itself (`embedding_cache.py`).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectorstore import encoders, materialized, opening
from vectorstore import figures as figure_table
from vectorstore.chunking import Chunk
from vectorstore.config import DEFAULT_MODEL, Settings
from vectorstore.embedding_cache import cached_embeddings
from vectorstore.embeddings import ModelEmbeddings
from vectorstore.errors import StoreError, ZgqaError
from vectorstore.generations import build_lock, current_root, damaged, link_damage, publish, read, stage
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

# Documents per indexing batch: how often the record manager commits and the progress bar moves.
# Larger batches let sentence-transformers sort more texts by length and pad less.
BATCH = 128
# Questions whose vectors are remembered: retrieval and the answer step each need the same one.
QUERY_MEMORY = 64
# How many neighbours Chroma's HNSW explores per query (its default is 100). Below the collection's
# size the search is approximate, and Chroma rebuilds the graph of an unflushed log (under 1,000
# vectors, as here) in a different shape in every process: the same question got other passages
# in 5 runs of 12. Above it, the search reaches every passage and is the same in every process.
SEARCH_EF = 1000


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


class Store:
    """An opened index: the LangChain Chroma vector store, its collection, and the lexical index."""

    def __init__(
        self,
        settings: Settings,
        *,
        progress: bool = False,
        embeddings: ModelEmbeddings | None = None,
        identity: Identity | None = None,
        root: Path | None = None,
        reading: bool = False,
    ) -> None:
        """`embeddings` and `identity` replace the configured model (tests use a fast fake); `root` is
        the generation to open (default: the current one, see `build`). A store opened for `reading`
        (`open_store`) writes nothing in the index folder: an index that is not there, or is damaged,
        is refused, and a read-only one is read as any other; it starts opening its query encoder
        first, which then opens while Chroma does. A store to build with is opened even on a damaged
        `current` link, which `build(rebuild=True)` then replaces."""
        self.settings = settings
        self.progress = progress
        self.embeddings = embeddings or ModelEmbeddings(settings.model, settings.cache, progress=progress)
        self._identity = identity
        self.reading = reading
        self.location = opening.location(settings)
        # What is wrong with the `current` link, for a build to refuse or replace (a reader is refused at once).
        self.link_damage = None if reading or root is not None else link_damage(settings)
        self._query_embeddings: Any = None
        root = root or (settings.index if self.link_damage else current_root(settings))  # a reader's bad link: refused
        if reading and not settings.chroma_host:
            opening.check_generation(settings, root, reading=True)  # before anything opens: one line, then the exit
        self._open(root)
        if reading and materialized.is_complete(materialized.materialized_path(settings.cache)):
            _ = self.query_embeddings  # never materializes here: an index that is missing says so first

    def _open(self, root: Path) -> None:
        self.root = root
        if not self.settings.chroma_host:
            read(root)  # a build keeps this generation on disk while this process reads it
        self._client: Any = None  # opened on first use: a build from scratch never opens the old generation
        self._private: Path | None = None  # a read-only index's Chroma folder, copied (see `_client`)
        self.folder = root / opening.local_name(self.settings) / self.settings.collection
        self._vectorstore: Any = None
        self._lexical: LexicalIndex | None = None
        self._sentences: SentenceVectors | None = None
        self._figures: tuple[str, list[figure_table.Figure]] | None = None
        self._queries: dict[str, list[float]] = {}
        self._dropped: list[str] = []  # embedding-cache entries found damaged, deleted and embedded again
        # the last build rewrote the lexical index, the sentence vectors, the figures or the search setting
        self.resynced = False

    @property
    def client(self) -> Any:
        """The Chroma client, opened on first use."""
        if self._client is None:
            if self.link_damage:
                raise StoreError(damaged(self.location, self.link_damage))
            self._client, self._private = opening.open_client(self.settings, self.root, reading=self.reading)
            if self._private is not None:  # removed by `close`, or when the process exits without it
                self._removal = weakref.finalize(self, shutil.rmtree, self._private, True)
        return self._client

    def close(self) -> None:
        """Release the Chroma client (its HTTP connections, or its hold on the folder)."""
        if self._client is not None:
            # subtle: chromadb 1.5's HTTP client never closes the httpx sessions of its client and of
            # its admin client, whose sockets would then leak.
            for owner in (self._client, getattr(self._client, "_admin_client", None)):
                session = getattr(getattr(owner, "_server", None), "_session", None)
                if session is not None:
                    session.close()
            self._client.close()
            self._client = None
        if self._private is not None:
            self._removal()
            self._private = None
        if isinstance(self._query_embeddings, encoders.OnnxQueryEmbeddings):
            # subtle: the encoder opens in a thread of its own; a process that exits while it is still
            # opening (an index refused at once) aborts in onnxruntime ("terminate called without an
            # active exception", exit 134), so it is waited for. Its own error is not this one's.
            with contextlib.suppress(Exception):
                _ = self._query_embeddings.encoder
        if not self.settings.chroma_host:
            read(self.root, done=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the parts -----------------------------------------------------------------------------

    def collection(self) -> Any | None:
        from chromadb.errors import NotFoundError

        try:
            # None, not Chroma's default: that one would download a model the first time it is used.
            return self.client.get_collection(self.settings.collection, embedding_function=None)
        except (NotFoundError, ValueError):
            return None

    def identity(self) -> Identity:
        """What this process would build: the configured model (materialized if needed) and chunker."""
        if self._identity is None:
            info = encoders.describe(self.settings.model, self.settings.cache)
            self._identity = Identity(model=f"{info.name} [{info.source}]", dim=info.dim)
        return self._identity

    def vectorstore(self) -> Any:
        if self._vectorstore is None:
            from langchain_chroma import Chroma

            identity = self.identity()
            self._vectorstore = Chroma(
                collection_name=self.settings.collection,
                embedding_function=self._cached_embeddings(),
                client=self.client,
                collection_metadata=identity.as_metadata(),
                # Vectors are unit length, so cosine is the model's own similarity.
                collection_configuration={"hnsw": {"space": "cosine", "ef_search": SEARCH_EF}},
            )
            # A collection built before SEARCH_EF was set gets it at the next build (it is mutable).
            hnsw = (self._vectorstore._collection.configuration_json or {}).get("hnsw") or {}
            if hnsw.get("ef_search", SEARCH_EF) < SEARCH_EF:
                self._vectorstore._collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
                self.resynced = True
        return self._vectorstore

    def _cached_embeddings(self) -> Any:
        """The model behind the embedding cache (`vectorstore.embedding_cache`); damaged entries it
        finds are named in `_dropped`."""
        # One cache for every collection in this folder: a vector depends only on the model and the text.
        return cached_embeddings(
            self.embeddings, self.settings.index / "embedding-cache", self.identity(), self._dropped, batch_size=BATCH
        )

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            with self._damaged_if_unreadable(self.folder / "lexical"):
                self._lexical = LexicalIndex.load(self.folder / "lexical")
        return self._lexical

    @property
    def sentences(self) -> SentenceVectors | None:
        """Every sentence of the records with its vector, or None for an index built without them."""
        if self._sentences is None:
            with self._damaged_if_unreadable(self.folder / "sentences"):
                self._sentences = SentenceVectors.load(self.folder / "sentences")
        return self._sentences

    @contextlib.contextmanager
    def _damaged_if_unreadable(self, part: Path) -> Iterator[None]:
        """A part of the index whose files are there but cannot be loaded is damaged: one line, not a traceback."""
        try:
            yield
        except ZgqaError:
            raise
        except Exception as exc:
            said = " ".join(str(exc).split())[:200]
            raise StoreError(
                damaged(
                    self.location,
                    f"{opening.shown(part, self.settings)} cannot be loaded: {type(exc).__name__}: {said}",
                )
            ) from exc

    # -- reading -------------------------------------------------------------------------------

    @property
    def query_embeddings(self) -> Any:
        """What embeds questions: the ONNX export of the default model (no torch) as the setting
        `ZGQA_QUERY_ENCODER` says, else the model itself (another model, or embeddings given)."""
        if self._query_embeddings is None:
            self._query_embeddings = self.embeddings
            choice = self.settings.query_encoder
            # Only the model itself has an export; embeddings given in its place (a test's) are used as given.
            if (
                choice in encoders.FILES
                and type(self.embeddings) is ModelEmbeddings
                and self.settings.model == DEFAULT_MODEL
            ):
                folder = Path(materialized.resolve(self.settings.model, self.settings.cache, progress=self.progress))
                if (folder / encoders.FILES[choice]).is_file():
                    self._query_embeddings = encoders.OnnxQueryEmbeddings(folder, encoders.FILES[choice])
        return self._query_embeddings

    def query_vector(self, text: str) -> list[float]:
        """The question's unit vector (the model's `query` prompt), remembered for the last questions:
        passages and sentences are ranked with one embedding."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self.query_embeddings.embed_query(text)
            if len(self._queries) >= QUERY_MEMORY:
                # The oldest goes; another thread of the app may have taken it already.
                self._queries.pop(next(iter(self._queries), ""), None)
            self._queries[text] = vector
        return vector

    def check(self) -> Identity:
        """Refuse an index that is missing, built differently, or out of step with its lexical half."""
        collection = self.collection()
        if collection is None:
            raise StoreError(f"No index in {self.location}: run `zgqa build`.")
        built = Identity.from_metadata(collection.metadata)
        if built is None:
            raise StoreError(f"The collection in {self.location} was not built by zgqa: run `zgqa build --rebuild`.")
        differences = built.differences(self.identity())
        if differences:
            raise StoreError(
                f"The index in {self.location} was built with {'; '.join(differences)}: run `zgqa build --rebuild`."
            )
        stamp = (collection.metadata or {}).get(f"{META_PREFIX}lexical")
        if stamp != self.lexical.fingerprint:
            raise StoreError(f"The lexical index is out of step with {self.location}: run `zgqa build`.")
        sentences = self.sentences
        if sentences is None or sentences.fingerprint != stamp or sentences.clauses is None:
            raise StoreError(f"The sentence vectors are missing or out of step in {self.location}: run `zgqa build`.")
        if self.figures is None:
            raise StoreError(f"The figures table is missing or out of step in {self.location}: run `zgqa build`.")
        return built

    def nearest(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ids of the k nearest records with their cosine similarity (1 is identical), without the
        records' texts and metadata, which retrieval already holds in memory (`get` fetches them).
        Fetching them through LangChain's Chroma took 2-4 ms of a warm question's 5."""
        vector = self.query_vector(query)
        with self._served():  # finding the collection asks the server too
            collection = self.collection()
            if collection is None:  # open_store checked it; a collection dropped since is a user error
                raise StoreError(f"No index in {self.location}: run `zgqa build`.")
            got = collection.query(query_embeddings=[vector], n_results=k, where=where, include=["distances"])
        distances = (got["distances"] or [[]])[0]
        return [(rid, 1.0 - float(d)) for rid, d in zip(got["ids"][0], distances, strict=True)]

    def get(self, ids: Sequence[str]) -> list[Document]:
        """Records by id, in the order asked; ids not in the collection are left out."""
        with self._served():
            return list(self.vectorstore().get_by_ids(list(ids)))

    @contextlib.contextmanager
    def _served(self) -> Iterator[None]:
        """A Chroma server that stops answering mid-run is a clear error, not a traceback; the client
        connects again by itself once the server is back."""
        try:
            yield
        except ZgqaError:
            raise
        except Exception as exc:
            if not self.settings.chroma_host:
                raise
            raise StoreError(opening.unreachable(self.settings, exc)) from exc

    # -- writing -------------------------------------------------------------------------------

    def build(self, corpus: Corpus, *, rebuild: bool = False, prune: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus; afterwards this store reads the new index.

        Embedded, the build works on a copy of the current generation and switches to it in one
        atomic rename only once it is complete: a build killed at any point (SIGKILL included)
        leaves the previous index answering exactly as before, and its copy is swept by the next
        build. A Chroma server's collection is updated in place (and refused until a build completes).
        Builds of one index take turns (a file lock), so none is lost to another. A build that would
        remove more than half of the indexed reports stops unless `prune` says to.
        """
        with build_lock(self.settings, self._say):
            return self._build_locked(corpus, rebuild=rebuild, prune=prune)

    def _build_locked(self, corpus: Corpus, *, rebuild: bool, prune: bool) -> BuildReport:
        if self.settings.chroma_host:
            return self._build(corpus, rebuild=rebuild, prune=prune)
        found = opening.generation_damage(self.settings, self.root) if not self.link_damage else None
        if not rebuild:
            if self.link_damage:
                raise StoreError(damaged(self.location, self.link_damage))
            if found is not None:
                where = opening.shown(self.root / found[0], self.settings)
                raise StoreError(damaged(self.location, f"{where}: {found[1]}"))
        discarded = []
        if rebuild:  # from scratch: nothing of the current generation is read, damaged or not
            if self.link_damage:
                discarded.append(f"the `current` link ({self.link_damage.removeprefix('its `current` link ')})")
            elif found is not None:
                discarded.append(f"the index generation {self.root.name}: {found[0]} is damaged")
            elif not prune:
                self._refuse_mass_removal({c.source for c in corpus.chunks()})
            for thing in discarded:
                self._say(f"Discarding {thing}.")
            self._say("Rebuilding the index from scratch: asked to.")
        staging = stage(self.settings, None if rebuild else self.root)
        try:
            with Store(
                self.settings, progress=self.progress, embeddings=self.embeddings, identity=self._identity, root=staging
            ) as building:
                building._say = self._say  # type: ignore[method-assign]  # one voice, whatever this store's is
                report = building._build(corpus, rebuild=rebuild, prune=prune)
            if rebuild:
                report.rebuilt_because = ["asked to"]
                report.discarded[:0] = discarded
            changed = report.added or report.updated or report.deleted or report.rebuilt_because or building.resynced
            if changed or self.root == self.settings.index:
                new = publish(self.settings, staging)
            else:  # nothing to switch to: the copy is the same index
                shutil.rmtree(staging, ignore_errors=True)
                return report
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.close()
        self.link_damage = None  # the link is the one just published
        self._open(new)
        return report

    def _build(self, corpus: Corpus, *, rebuild: bool = False, prune: bool = False) -> BuildReport:
        from langchain_core.indexing import index

        start = time.perf_counter()
        chunks = corpus.chunks()
        if not prune:
            self._refuse_mass_removal({c.source for c in chunks})
        report = BuildReport(location=self.location, chunks=len(chunks))
        identity = self.identity()
        existing = self.collection()
        if existing is not None:
            built = Identity.from_metadata(existing.metadata)
            reasons = ["asked to"] if rebuild else []
            if built is None:
                reasons.append("the collection was not built by zgqa")
            elif differences := built.differences(identity):
                reasons.extend(f"it was built with {d}" for d in differences)
            elif not rebuild and existing.count() != len(self._record_manager().list_keys()):
                reasons.append("the collection and the record of what it holds disagree")
        else:
            # Records of a collection that is gone would make the indexing API skip every chunk.
            reasons = ["there is no collection yet"]
        if reasons:
            if existing is not None:
                self._say(f"Rebuilding the index from scratch: {'; '.join(reasons)}.")
                report.rebuilt_because = reasons
            self._drop()
        manager = self._record_manager()
        before = {chunk_of_record(rid): rid for rid in manager.list_keys()}
        store = self.vectorstore()
        places = self._places(list(before.values()))
        counted = self._show_model_work([c for c in chunks if c.id not in before])
        docs = self._documents(chunks, bar=not counted)
        embedded_before = self.embeddings.embedded
        try:
            index(
                docs,
                manager,
                store,
                cleanup="full",
                key_encoder=record_id,
                batch_size=BATCH,
            )
        except ZgqaError:
            raise
        except Exception as exc:  # a server that went away, a full disk: say where and how to finish
            raise StoreError(
                f"Indexing into {self.location} failed: {exc}. The index may be partly updated and is refused "
                "until a build completes: run `zgqa build` again."
            ) from exc
        after = {chunk_of_record(rid): rid for rid in manager.list_keys()}
        report.embedded = self.embeddings.embedded - embedded_before
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
            self._sync_lexical()
        finally:
            self.embeddings.close_bar()
        report.sentences_embedded = self.embeddings.embedded - embedded_before - report.embedded
        self._sync_figures(corpus)
        for name in dict.fromkeys(self._dropped):
            report.discarded.append(f"the corrupt embedding-cache entry {name}")
            self._say(f"Dropped the corrupt embedding-cache entry {name}: its text was embedded again.")
        report.seconds = time.perf_counter() - start
        return report

    def _show_model_work(self, new: list[Chunk]) -> bool:
        """Say how many texts this build will run through the model (the new chunks' passages and every
        sentence, less what the embedding cache holds), and count them on one bar: its first estimate is
        for the whole build, where the chunk bar's had covered the passages alone (a 50 MB report's
        sentences then took hours after an estimate of two minutes)."""
        if not self.progress:
            return False
        passages = list(dict.fromkeys(passage_text(c) for c in new))
        whole = set(passages)  # a one-sentence passage is embedded once
        said = list(dict.fromkeys(s for c in new for s in split(c.text)))
        sentences = [s for s in dict.fromkeys([*said, *(p for s in said for p in clauses(s))]) if s not in whole]
        if not passages and not sentences:
            return False
        store = self._cached_embeddings().document_embedding_store
        missing = [sum(v is None for v in store.mget(part)) for part in (passages, sentences)]
        todo = sum(missing)
        if todo:
            self._say(f"{todo} new texts to embed: {missing[0]} passages, then {missing[1]} of their sentences "
                      f"and clauses ({len(passages) + len(sentences) - todo} cached).")
            self.embeddings.open_bar(todo)
        return bool(todo)

    def _places(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """Each record's report and section, as the collection holds them."""
        collection = self.collection()
        if collection is None or not ids:
            return {}
        got = collection.get(ids=ids, include=["metadatas"])
        return {
            rid: (str(meta.get("source")), str(meta.get("section")))
            for rid, meta in zip(got["ids"], got["metadatas"] or [], strict=False)
            if meta
        }

    def _documents(self, chunks: list[Chunk], *, bar: bool = True) -> Iterator[Document]:
        from langchain_core.documents import Document

        docs = (Document(page_content=passage_text(c), metadata=chunk_metadata(c)) for c in chunks)
        if not (self.progress and bar):
            yield from docs
            return
        from tqdm import tqdm

        yield from tqdm(docs, total=len(chunks), desc="indexing chunks", unit="chunk", file=sys.stderr)

    def _sync_lexical(self) -> None:
        """Rebuild BM25 from the collection's own records and stamp the collection with their fingerprint."""
        collection = self.collection()
        assert collection is not None
        got = collection.get(include=["documents", "metadatas"])
        records = [
            (rid, lexical_text(str(meta["section"]), text))
            for rid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        ]
        fingerprint = fingerprint_of([rid for rid, _ in records])
        stamp = (collection.metadata or {}).get(f"{META_PREFIX}lexical")
        folder = self.folder / "lexical"
        self._sync_sentences(got["documents"] or [], fingerprint)
        if stamp == fingerprint and LexicalIndex.is_current(folder):
            return
        lexical = LexicalIndex.build(records)
        lexical.save(folder)
        self.resynced = True
        self._lexical = lexical
        meta = dict(collection.metadata or {})
        meta[f"{META_PREFIX}lexical"] = fingerprint
        collection.modify(metadata=meta)

    def _sync_sentences(self, texts: list[str], fingerprint: str) -> None:
        """Embed every sentence of the records (through the embedding cache) unless the saved vectors
        already come from these records."""
        saved = self.sentences
        if saved is not None and saved.fingerprint == fingerprint and saved.clauses is not None:
            return
        cached = self._cached_embeddings()
        self._say("Embedding the sentences of the passages and their clauses (cached: only new ones cost model "
                  "time) ...")
        self._sentences = SentenceVectors.build(texts, cached.embed_documents, fingerprint)
        self._sentences.save(self.folder / "sentences")
        self.resynced = True

    def _refuse_mass_removal(self, kept: set[str]) -> None:
        """Stop a build that would remove more than half of the indexed reports: most likely the
        reports folder is the wrong one (`zgqa build --seeds elsewhere`)."""
        collection = self.collection()
        if collection is None:
            return
        indexed = {str(m["source"]) for m in collection.get(include=["metadatas"])["metadatas"] or []}
        gone = sorted(indexed - kept)
        if len(gone) * 2 > len(indexed):
            raise StoreError(
                f"This build would remove {len(gone)} of the {len(indexed)} indexed reports "
                f"({', '.join(gone[:4])}{' …' if len(gone) > 4 else ''}): they are not in {self.settings.seeds}. "
                "Check the reports folder (--seeds, ZGQA_SEEDS), or run `zgqa build --prune` to remove them."
            )

    def _sync_figures(self, corpus: Corpus) -> None:
        """Rewrite the figures table from the reports just indexed (milliseconds: no model involved),
        stamped like the sentence vectors, so a corrected figure or a removed report shows at once."""
        rows = figure_table.of_corpus(corpus)
        path = self.folder / "records.sqlite"
        if figure_table.load(path) == (self._figures_stamp(), rows):
            return
        figure_table.save(path, rows, self._figures_stamp())
        self._figures = None
        self.resynced = True

    def _figures_stamp(self) -> str:
        return f"{figure_table.VERSION}:{self.lexical.fingerprint}"

    @property
    def figures(self) -> list[figure_table.Figure] | None:
        """The figures table (`vectorstore.figures`), or None for an index built before it existed."""
        if self._figures is None:
            loaded = figure_table.load(self.folder / "records.sqlite")
            self._figures = (loaded[0], loaded[1]) if loaded else ("", [])
        stamp, rows = self._figures
        return rows if stamp == self._figures_stamp() else None

    def _drop(self) -> None:
        with contextlib.suppress(Exception):  # already gone is what we want
            self.client.delete_collection(self.settings.collection)
        shutil.rmtree(self.folder / "lexical", ignore_errors=True)
        shutil.rmtree(self.folder / "sentences", ignore_errors=True)
        (self.folder / "records.sqlite").unlink(missing_ok=True)
        self._vectorstore = None
        self._lexical = None
        self._sentences = None
        self._figures = None

    def _record_manager(self) -> Any:
        from langchain_classic.indexes import SQLRecordManager

        self.folder.mkdir(parents=True, exist_ok=True)
        import sqlalchemy
        from sqlalchemy.engine import URL

        # A URL built from parts: a folder named `a?b` or `x%20y` stays that folder.
        url = URL.create("sqlite", database=str(self.folder / "records.sqlite"))
        # The database is this collection's alone, so its records are named by the collection, not by
        # where the index sits: a copied or moved index, or one reached by another path, is the same
        # index. Records named by the folder's path (before) are renamed once.
        manager = SQLRecordManager(f"{opening.local_name(self.settings)}/{self.settings.collection}", db_url=url)
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

    def _say(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr)


def open_store(settings: Settings | None = None, *, progress: bool = False) -> Store:
    """The index for reading, checked: same model, chunker and passage format, lexical half in step.
    Nothing is written in the index folder (see `Store`): a read-only index answers as any other."""
    store = Store(settings or Settings.from_env(), progress=progress, reading=True)
    try:
        store.check()
    except BaseException:
        store.close()
        raise
    return store


def build(
    settings: Settings | None = None,
    corpus: Corpus | None = None,
    *,
    rebuild: bool = False,
    prune: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Ingest the seeds (unless a corpus is given) and bring the index up to date with them."""
    from vectorstore.ingest import load

    settings = settings or Settings.from_env()
    corpus = corpus if corpus is not None else load(settings.seeds)
    with Store(settings, progress=progress) as store:
        return store.build(corpus, rebuild=rebuild, prune=prune)
