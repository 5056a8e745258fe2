"""Whether to answer: one decision fit on data, not a cascade of rules.

Before it, two things are settled in code: there must be clauses to quote, and they must give what
is asked (`qa.asked.checks`: a figure, in the unit asked, an aim for a target, …): measured on the
tuning questions, keeping those checks as a gate and fitting the rest beat folding them into the
regression (cross-validated false refusals + 1.5 x false answers: 0.47 against 0.55).

The answer step describes its best answer by a few features (how much of the question's weighed
words it holds, how close its sentence is to the question in the model's space, whether it gives
the kind of figure asked for, whether a name in the question is absent from the reports, …). A
logistic regression, fit by `zgqa bench calibrate` with scikit-learn on the tuning questions
(answerable and unanswerable, balanced by class weight), turns them into the probability that the
reports answer the question; below `threshold` the answer is a refusal. The coefficients ship in
`qa/data/refusal.json`, so answering needs no scikit-learn, only this dot product.

What it does not decide: whether a figure may be shown. That check stays in code and is absolute
(`qa.answer.verified`): no number reaches a user unless it occurs in the passage cited.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# The features, in the order of the coefficients.
FEATURES = (
    "coverage",  # share of the question's weighed words the chosen clauses hold whole (0-1)
    # The model's cosine similarity of the best chosen sentence to the question, minus the best one of
    # any sentence. (The similarity itself, a tenth feature, took a negative coefficient beside
    # `passage_score`, whose ranking holds it too, and cross-validated no better without it.)
    "dense_margin",
    "unknown_name",  # 1 when a name in the question (place, organisation, person) is not in the reports
    "unknown_share",  # share of the question's weight in words the reports never use
    "missing",  # the weightiest question word the reports use but the clauses lack, as a share of all
    "english",  # 1 for a question in English (its words reach the reports through the glossary)
    "tense_mismatch",  # 1 when a result is asked and the clauses state an aim, or the reverse
    "passage_score",  # the retriever's score of the best passage quoted (its fused ranks times its priors)
)


@dataclass(frozen=True)
class Calibration:
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    fitted_on: str = ""

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * features[name] for c, name in zip(self.coefficients, FEATURES, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, features: dict[str, float]) -> bool:
        return self.probability(features) >= self.threshold

    def as_json(self) -> str:
        return json.dumps(
            {"features": list(FEATURES), "coefficients": list(self.coefficients), "intercept": self.intercept,
             "threshold": self.threshold, "fitted_on": self.fitted_on},
            indent=2, ensure_ascii=False,
        )


def parse(text: str) -> Calibration:
    data = json.loads(text)
    if tuple(data["features"]) != FEATURES:
        raise ValueError(
            f"refusal.json was fit on {data['features']}, not {list(FEATURES)}: run `zgqa bench calibrate --write`."
        )
    return Calibration(tuple(float(c) for c in data["coefficients"]), float(data["intercept"]),
                       float(data["threshold"]), str(data.get("fitted_on", "")))


@lru_cache(maxsize=1)
def load() -> Calibration:
    return parse(resources.files("qa").joinpath("data/refusal.json").read_text(encoding="utf-8"))
