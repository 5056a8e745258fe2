"""Questions about the Zigong reports -> short answers with numbered citations.

`ask(question, history=...)` answers (or refuses, listing the closest passages), rewriting a
follow-up with the conversation; `retrieve(question)` returns the ranked passages alone; `sources()`
lists the reports indexed. Each opens the index on first use and reuses it. Importing `qa` loads no
model.

Leaves out: building the index (`vectorstore`, `zgqa build`) and the chat UI (`app.py`).
"""

from qa.api import QuestionError, ask, close, figures, retrieve, sources, years
from qa.types import Answer, Citation, Passage, Source
from vectorstore.errors import ZgqaError

__all__ = [
    "Answer",
    "Citation",
    "Passage",
    "QuestionError",
    "Source",
    "ZgqaError",
    "ask",
    "close",
    "figures",
    "retrieve",
    "sources",
    "years",
]
