"""The lexical index: BM25 (bm25s) over jieba tokens, keyed by the same record ids as the Chroma collection.

Chinese has no spaces, so jieba cuts words; its search mode also emits the shorter words inside a
long one (地区生产总值 -> 地区, 生产, 总值, 生产总值, 地区生产总值), so a question using part of a
compound still matches. jieba keeps numbers whole (`6.3%`, `2025`), which matters because a
figure is often the point of the question. The index is rebuilt whole from the current records
after every build: bm25s has no in-place update, and rebuilding thousands of chunks takes a second.

Leaves out: fusing these hits with dense ones (that is retrieval, in `qa/`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from vectorstore.errors import StoreError

# Bump when tokens change, so an index built by another tokenizer is rebuilt, not misread.
TOKENIZER_VERSION = "1"
_IDS = "ids.json"
_META = "lexical.json"
# A token is a run of CJK, of letters/digits (with a decimal point or %), or nothing.
_KEEP = re.compile(r"[\u3400-\u9fff]|[A-Za-z0-9]")
# Words that carry no topic in these reports; removing them keeps BM25 from rewarding filler.
_STOP = frozenset(
    "的 了 和 与 及 在 是 为 对 把 被 等 中 上 以 并 也 将 有 个 之 其 或 而 要 着 这 那 吗 呢 啊 "  # noqa: SIM905
    "多少 什么 哪些 怎么 如何".split()
)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary load on stderr otherwise
    tokenizer = jieba.dt
    path = _frequencies_path(jieba)
    loaded = _load_frequencies(path)
    if loaded is None:
        jieba.initialize()
        _save_frequencies(path, tokenizer.FREQ, tokenizer.total)
    else:
        # jieba's state after `initialize` is exactly these two and the flag (jieba 0.42).
        tokenizer.FREQ, tokenizer.total = loaded
        tokenizer.initialized = True
    return jieba


# jieba's dictionary is 498,113 words and prefixes with their frequencies. jieba caches it with
# marshal (`jieba.cache` in the temporary folder), which takes 0.5-0.7 s to load on every start; the
# same dict read back from one string of words and an array of counts takes 0.17 s. The file is
# derived from jieba's own dictionary the first time, beside jieba's cache, and named by jieba's
# version and its dictionary file, so another jieba or dictionary is never misread; holding only text
# and numbers, a file tampered with could change tokens, as jieba's own cache could, but run nothing.
_FREQUENCIES = "zgqa-jieba-{}.npz"


def _frequencies_path(jieba: Any) -> Path:
    import tempfile

    # The dictionary jieba reads (`jieba.dt.dictionary`; None: its own `dict.txt`).
    dictionary = Path(jieba.dt.dictionary or Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME))
    stat = dictionary.stat()
    key = f"{jieba.__version__}|{dictionary}|{stat.st_size}|{stat.st_mtime_ns}"
    folder = Path(jieba.dt.tmp_dir or tempfile.gettempdir())
    return folder / _FREQUENCIES.format(hashlib.sha256(key.encode()).hexdigest()[:16])


def _load_frequencies(path: Path) -> tuple[dict[str, int], int] | None:
    import numpy as np

    try:
        # Opened here: np.load leaves a file it opened itself open when it is no zip.
        with path.open("rb") as f, np.load(f, allow_pickle=False) as data:
            words = data["words"].tobytes().decode("utf-8").split("\n")
            counts = data["counts"].tolist()
            total = int(data["total"])
    except Exception:  # missing, cut short or garbled: jieba loads its own, and the file is rewritten
        return None
    if len(words) != len(counts):
        return None
    return dict(zip(words, counts, strict=True)), total


def _save_frequencies(path: Path, frequencies: dict[str, int], total: int) -> None:
    import os
    import tempfile

    import numpy as np

    if any("\n" in w for w in frequencies):  # the separator; jieba's words hold none
        return
    words = np.frombuffer("\n".join(frequencies).encode("utf-8"), dtype=np.uint8)
    counts = np.fromiter(frequencies.values(), dtype=np.int64, count=len(frequencies))
    try:
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, words=words, counts=counts, total=np.array(total, dtype=np.int64))
        os.replace(partial, path)
    except OSError:  # a read-only temporary folder: jieba's own cache still serves
        with contextlib.suppress(OSError):
            os.unlink(partial)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba words, lower-cased, without punctuation or filler words."""
    tokens = []
    for word in _jieba().cut_for_search(text):
        word = word.strip().lower()
        if word and word not in _STOP and _KEEP.search(word):
            tokens.append(word)
    return tokens


def cut(text: str) -> list[str]:
    """Precise-mode jieba words, nothing dropped: joined, they are `text`."""
    return list(_jieba().cut(text))


def words(text: str) -> list[str]:
    """Precise-mode jieba words (each word once, not also the words inside it), filtered like `tokenize`."""
    cut = (word.strip().lower() for word in _jieba().cut(text))
    return [w for w in cut if w and w not in _STOP and _KEEP.search(w)]


def tagged_words(text: str) -> list[tuple[str, str]]:
    """Precise-mode words with jieba's part-of-speech tags (`n` noun, `v` verb, …), punctuation left out."""
    import jieba.posseg

    _jieba()
    return [(p.word, p.flag) for p in jieba.posseg.cut(text) if p.flag != "x" and p.word.strip()]


def dictionary_frequency(word: str) -> int:
    """How often jieba's dictionary says `word` occurs in general Chinese text (0: not a dictionary word)."""
    return int(_jieba().dt.FREQ.get(word) or 0)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float


class LexicalIndex:
    """BM25 over `(id, text)` records; `search` returns record ids with their BM25 scores."""

    def __init__(self, ids: Sequence[str], retriever: Any, fingerprint: str) -> None:
        self.ids = list(ids)
        self._retriever = retriever
        self.fingerprint = fingerprint

    @classmethod
    def build(cls, records: Sequence[tuple[str, str]], *, progress: bool = False) -> LexicalIndex:
        import bm25s

        ids = [record_id for record_id, _ in records]
        retriever = bm25s.BM25()
        if records:
            retriever.index([tokenize(text) for _, text in records], show_progress=progress)
        return cls(ids, retriever if records else None, fingerprint_of(ids))

    def search(self, query: str, k: int = 10) -> list[Hit]:
        tokens = tokenize(query)
        if self._retriever is None or not tokens:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [Hit(self.ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def document_frequencies(self) -> dict[str, int]:
        """How many records hold each token, read off the BM25 matrix (a column of scores per token,
        one entry per record holding it) instead of tokenizing every record again."""
        if self._retriever is None:
            return {}
        indptr = self._retriever.scores["indptr"]
        # bm25s keeps an empty token last in its vocabulary, with no column of its own.
        return {
            token: int(indptr[i + 1] - indptr[i])
            for token, i in self._retriever.vocab_dict.items()
            if i + 1 < len(indptr) and token
        }

    def save(self, folder: Path) -> None:
        """Write next to the old index and swap, so a reader never sees half of each."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp))
        (tmp / _IDS).write_text(json.dumps(self.ids), encoding="utf-8")
        meta = {"tokenizer": TOKENIZER_VERSION, "fingerprint": self.fingerprint, "count": len(self.ids)}
        (tmp / _META).write_text(json.dumps(meta), encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def is_current(folder: Path) -> bool:
        """Whether `folder` holds a lexical index cut by this tokenizer (a build rebuilds one that is not)."""
        try:
            return bool(json.loads((folder / _META).read_text(encoding="utf-8")).get("tokenizer") == TOKENIZER_VERSION)
        except (OSError, ValueError, AttributeError):
            return False

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        try:
            meta = json.loads((folder / _META).read_text(encoding="utf-8"))
            ids = json.loads((folder / _IDS).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:  # damaged files raise as they are, for the store to name
            raise StoreError(f"No lexical index at {folder}: run `zgqa build`.") from exc
        if meta.get("tokenizer") != TOKENIZER_VERSION:
            raise StoreError(f"The lexical index at {folder} was built by another tokenizer: run `zgqa build`.")
        retriever = None
        if ids:
            import bm25s

            retriever = bm25s.BM25.load(str(folder))
        return cls(ids, retriever, meta["fingerprint"])


def fingerprint_of(ids: Sequence[str]) -> str:
    """Same set of record ids, same fingerprint: how the two indexes prove they are in step."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
