"""The materialized model exported to ONNX, and a query encoder that runs it without torch.

Answering a question needs one short text embedded, and importing torch, transformers and
sentence-transformers for that took 3.7 s of every one-shot `zgqa ask` and most of the app's memory.
So `zgqa model` also exports the model's transformer to ONNX (`onnx/model.onnx`, float32, vectors
equal to sentence-transformers'; and `onnx/model_int8.onnx`, dynamically quantized), and questions
are embedded by onnxruntime with the model's own `tokenizer.json`, its prompts, mean pooling and L2
normalization: what sentence-transformers does for this model, with neither torch nor transformers.
Passages are still embedded by sentence-transformers at build time.

Leaves out: building the folder the export is read from (`model.py`).
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FOLDER = "onnx"
FLOAT32 = f"{FOLDER}/model.onnx"
INT8 = f"{FOLDER}/model_int8.onnx"
# The encoders a setting can name (`ZGQA_QUERY_ENCODER`): which file each runs.
FILES = {"onnx": FLOAT32, "onnx-int8": INT8}
OPSET = 17


def export(folder: Path) -> None:
    """Write `onnx/model.onnx` and `onnx/model_int8.onnx` beside the sentence-transformers files of
    `folder` (the materialized model). Needs torch, transformers and onnx: build time only."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state: pooling and normalization stay in numpy."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    (folder / FOLDER).mkdir(exist_ok=True)
    ids = torch.tensor([[0, 100, 200, 2]])
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on indexing ops this model does not use
        torch.onnx.export(
            Hidden(model),
            (ids, torch.ones_like(ids)),
            str(folder / FLOAT32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
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


class OnnxEncoder:
    """One ONNX export of the model, run by onnxruntime on the model's own tokenizer and prompts."""

    def __init__(self, folder: Path, file: str = FLOAT32, *, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder, self.file = folder, file
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.tokenizer.enable_truncation(int(config.get("max_seq_length") or 512))
        st = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = dict(st.get("prompts") or {})
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's choice (the cores there are)
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
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        vectors: npt.NDArray[np.float32] = (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
        return vectors


class OnnxQueryEmbeddings(Embeddings):
    """LangChain embeddings for questions (the `query` prompt) from an ONNX export; passages too, with
    the `passage` prompt, though the index embeds those with sentence-transformers."""

    def __init__(self, folder: Path, file: str = FLOAT32) -> None:
        self.encoder = OnnxEncoder(folder, file)

    def embed_query(self, text: str) -> list[float]:
        rows: list[list[float]] = self.encoder.encode([text], "query").tolist()
        return rows[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        rows: list[list[float]] = self.encoder.encode(texts, "passage").tolist() if texts else []
        return rows
