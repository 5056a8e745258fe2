"""Questions about the Zigong reports -> short answers with numbered citations.

`ask(question)` answers (or refuses, listing the closest passages); `retrieve(question)` returns the
ranked passages alone. Both open the index on first use and reuse it. Importing `qa` loads no model.

Leaves out: building the index (`vectorstore`, `zgqa build`) and the chat UI (`app.py`).
"""

from qa.api import QuestionError, ask, close, retrieve
from qa.types import Answer, Citation, Passage
from vectorstore.errors import ZgqaError

__all__ = ["Answer", "Citation", "Passage", "QuestionError", "ZgqaError", "ask", "close", "retrieve"]
