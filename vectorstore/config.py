"""The project's settings, read from environment variables in this one place.

Leaves out: command-line flags, which the CLI lays over these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SEEDS = Path("seeds")


@dataclass(frozen=True)
class Settings:
    """Where things are. `ZGQA_SEEDS`: the folder of report files (default `seeds/`)."""

    seeds: Path = DEFAULT_SEEDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(seeds=Path(env.get("ZGQA_SEEDS") or DEFAULT_SEEDS))
