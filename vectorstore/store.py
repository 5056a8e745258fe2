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

Leaves out: the steps of a build (`building.py`); ranking and fusion (that is retrieval, in `qa/`);
what a record holds (`records.py`); opening Chroma and telling what is damaged (`opening.py`); the
embedding cache itself (`embedding_cache.py`).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectorstore import encoders, materialized, opening
from vectorstore import figures as figure_table
from vectorstore.building import BATCH, BuildReport
from vectorstore.config import DEFAULT_MODEL, Settings
from vectorstore.embedding_cache import cached_embeddings
from vectorstore.embeddings import ModelEmbeddings
from vectorstore.errors import StoreError, ZgqaError
from vectorstore.generations import current_root, damaged, link_damage, read
from vectorstore.ingest import Corpus
from vectorstore.lexical import LexicalIndex
from vectorstore.records import (
    META_PREFIX,
    Identity,
)
from vectorstore.sentences import SentenceVectors

if TYPE_CHECKING:
    from langchain_core.documents import Document

# Questions whose vectors are remembered: retrieval and the answer step each need the same one.
QUERY_MEMORY = 64
# How many neighbours Chroma's HNSW explores per query (its default is 100). Below the collection's
# size the search is approximate, and Chroma rebuilds the graph of an unflushed log (under 1,000
# vectors, as here) in a different shape in every process: the same question got other passages
# in 5 runs of 12. Above it, the search reaches every passage and is the same in every process.
SEARCH_EF = 1000


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

    # -- writing (vectorstore.building) ------------------------------------------------------------

    def build(self, corpus: Corpus, *, rebuild: bool = False, prune: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus; afterwards this store reads the new index
        (`vectorstore.building.build`)."""
        from vectorstore import building

        return building.build(self, corpus, rebuild=rebuild, prune=prune)

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
