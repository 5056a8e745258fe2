"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates fused by weighted reciprocal rank,
then ranked with what the question says about years, reports and definitions.

Why not LangChain's `EnsembleRetriever`: it fuses the same way but returns no scores and no way to
weigh a candidate by its report year or glossary term, which is where these reports need help (a
growth rate "in 2024" reads almost the same in five reports). The result is still a LangChain
`BaseRetriever` (`HybridRetriever`), so the answer chain is a plain retrieval chain.

Leaves out: choosing the sentences that answer (`qa.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.dictionary import Dictionary, of_vocabulary
from qa.matching import Vocabulary, best_sentence, question_words
from qa.question import Query, understand
from qa.types import NEWS, Passage, Source
from vectorstore.chunking import Chunk
from vectorstore.errors import ZgqaError
from vectorstore.figures import part_of, years_about
from vectorstore.records import chunk_from_record, lexical_text
from vectorstore.sentences import split
from vectorstore.store import Store

DEFAULT_K = 5
# Candidates taken from each index before fusion; beyond 40 nothing relevant was ever found on the
# development questions, and a dense query costs the same for 10 or 40.
CANDIDATES = 40
# The usual reciprocal-rank constant: rank 1 and rank 5 differ by 6%, so fusion rewards agreement.
RRF_K = 5
# BM25 found the evidence of 31 of 33 development questions in its top 5, the model alone 19:
# the lexical ranking counts for more, the model breaks its ties and carries English questions.
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 0.2
# The third ranking: passages by their best sentence's similarity to the question (the model at
# sentence grain finds paraphrased questions' passages that it misses at chunk grain). Fit on the
# tuning questions: 0, 0.2, 0.5, 1 gave MRR 0.890, 0.896, 0.908, 0.891 (hit@5 0.942 throughout).
# Separate weights for English questions were tried (lexical 0.5-1, dense 0.2-1, sentences 0-2) and
# none beat these on the 20 English tuning questions' hit@5.
SENTENCE_DENSE_WEIGHT = 0.5
# A question naming no year, period or report is about the latest figures: the reports, newest
# first, get the year prior in that order.
LATEST_FIRST = True
# Priors, as multipliers of the fused score. A report that reviews or plans the year asked about,
# a section whose heading names that year, and the glossary entry of the term asked about.
REPORT_YEAR_BOOST = 0.5  # the most likely report; the second most likely gets half
SECTION_YEAR_BOOST = 0.3
GLOSSARY_BOOST = 2.0
# A passage in a plan part (a target) for a question about a target, in a review part for one about
# what happened: "2025年目标" is in the 2025 report's plan part, "2024年增长" in its review.
TENSE_BOOST = 0.3
# How much a passage whose best sentence holds all of the question's weighed words gains.
SENTENCE_WEIGHT = 1.0
# Two passages whose character bigrams overlap this much say the same thing; keep the better one.
NEAR_DUPLICATE = 0.8


@dataclass(frozen=True)
class _Record:
    passage: Passage  # with score 0
    bigrams: frozenset[str]


class Index:
    """The opened store plus every record in memory (provenance and the corpus's token statistics)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        collection = store.collection()
        if collection is None:  # open_store() checked it; a collection dropped since is a user error
            raise ZgqaError(f"No index in {store.location}: run `zgqa build`.")
        got = collection.get(include=["documents", "metadatas"])
        self.records: dict[str, _Record] = {}
        searched: list[str] = []
        self.sentences = store.sentences
        rows: dict[str, list[int]] = {}
        for rid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True):
            passage = _passage(chunk_from_record(text, meta))
            self.records[rid] = _Record(passage, bigrams(text))
            searched.append(lexical_text(passage.section, text))
            if self.sentences is not None:
                rows[rid] = [self.sentences.row[t] for t in split(text) if t in self.sentences.row]
        self._rows = {rid: np.asarray(r, dtype=np.int64) for rid, r in rows.items() if r}
        # The lexical index has counted every token already; tokenizing again took half a second.
        self.vocabulary = Vocabulary(searched, store.lexical.document_frequencies())
        self.records_by_chunk = {r.passage.id: r for r in self.records.values()}
        # The years each passage's figures are about: what the year filter keeps (a report reviews
        # the year before it and plans its own).
        self._about = {
            rid: years_about(r.passage.kind, r.passage.section, r.passage.year, r.passage.text, r.passage.term)
            for rid, r in self.records.items()
        }
        # Glossary entries are records too, but no report: they carry a term.
        reports = {r.passage.source: r.passage for r in self.records.values() if r.passage.term is None}
        self.sources = tuple(
            Source(p.source, p.title, p.year, p.kind, p.label)
            for p in sorted(reports.values(), key=lambda p: (p.year or 0, p.source))
        )

    def search(
        self, query: Query, *, k: int = DEFAULT_K, year: int | None = None, source: str | None = None
    ) -> list[Passage]:
        """The k best passages; `year` (the year the figures are about) and `source` (seed file name)
        exclude all others.

        A comparison gets the best passages for each year it names in turn, so every year is
        represented among the k.
        """
        if k < 1:
            raise ZgqaError(f"k must be at least 1, not {k}.")
        allowed = self._allowed(year, source)
        query = self.hinted(query)
        fused = self._fused(query, allowed)
        if query.wants_result_too and not query.is_comparison:
            # The target is in the plan of its year, the result in the next year's review: both halves
            # get passages, alternately.
            result = query.as_result()
            halves = [self._top(self._ranked(q, fused, self.preferred(q)), k) for q in (query, result)]
            return _fill(_alternate(halves, k), halves[0], k)
        if not query.is_comparison:
            return self._top(self._ranked(query, fused, self.preferred(query)), k)
        merged = _alternate([self._top(self._for_year(query, fused, y), k) for y in query.years], k)
        return merged if len(merged) >= k else _fill(merged, self._top(self._ranked(query, fused, ()), k), k)

    def hinted(self, query: Query) -> Query:
        """An English question with the report words the dictionary gives for its words the glossary
        does not know (`qa.dictionary`), as more groups of alternatives; any other question as it is."""
        if query.lang != "en" or query.hinted:
            return query
        return replace(query, groups=(*query.groups, *self.dictionary.hints(query.normalized)), hinted=True)

    @cached_property
    def dictionary(self) -> Dictionary:
        """CC-CEDICT reversed over the reports' words: read on the first English question."""
        return of_vocabulary(self.vocabulary)

    def preferred(self, query: Query) -> tuple[int, ...]:
        """The reports likely to hold the answer, most likely first: for a question naming no year,
        period or report, the newest first (news articles last: they are no report)."""
        named = query.preferred_reports
        if named or not LATEST_FIRST:
            return named
        return tuple(dict.fromkeys(s.year for s in sorted(self.sources, key=lambda s: (s.kind == NEWS, -(s.year or 0)))
                                   if s.year is not None))

    def similarities(self, query: Query) -> dict[str, float]:
        """Every sentence of the reports -> its cosine similarity to the question (the model's)."""
        if self.sentences is None:
            return {}
        sims = self.sentences.similarities(self.store.query_vector(query.meaning_text))
        return dict(zip(self.sentences.texts, sims.tolist(), strict=True))

    def clause_similarities(self, query: Query) -> dict[str, float]:
        """Every clause of a sentence of the reports -> its cosine similarity to the question."""
        if self.sentences is None:
            return {}
        return self.sentences.clause_similarities(self.store.query_vector(query.meaning_text))

    def _sentence_ranked(self, query: Query, allowed: set[str] | None) -> list[str]:
        """Record ids by their best sentence's similarity to the question, best first."""
        if self.sentences is None or not self._rows:
            return []
        sims = self.sentences.similarities(self.store.query_vector(query.meaning_text))
        best = {rid: float(sims[r].max()) for rid, r in self._rows.items() if allowed is None or rid in allowed}
        return sorted(best, key=lambda rid: -best[rid])[:CANDIDATES]

    # -- the parts -----------------------------------------------------------------------------

    def check_filters(self, year: int | None, source: str | None) -> None:
        """Raise ZgqaError, saying what there is, when no report matches the filters."""
        self._allowed(year, source)

    def _allowed(self, year: int | None, source: str | None) -> set[str] | None:
        if year is None and source is None:
            return None
        allowed = {
            rid
            for rid, r in self.records.items()
            if (year is None or self._about[rid][0] <= year <= self._about[rid][1])
            and (source is None or r.passage.source == source)
        }
        if not allowed:
            sources = sorted({r.passage.source for r in self.records.values()})
            wanted = " and ".join(
                part for part in (f"about {year}" if year is not None else "",
                                  f"in the file {source[:80]!r}" if source is not None else "") if part
            )
            raise ZgqaError(
                f"No report passage {wanted}: the reports speak of {self.years_covered()[0]}–"
                f"{self.years_covered()[-1]}, in the files {', '.join(sources)}."
            )
        return allowed

    def years_covered(self) -> list[int]:
        """Every year some passage's figures are about (what a year filter offers), in order."""
        return sorted({y for first, last in self._about.values() if first for y in range(first, last + 1)})

    def _fused(self, query: Query, allowed: set[str] | None) -> dict[str, float]:
        text = query.search_text
        meaning = query.meaning_text
        where: dict[str, Any] | None = None
        if allowed is not None:
            where = {"chunk_id": {"$in": sorted({self.records[r].passage.id for r in allowed})}}
        fused: dict[str, float] = {}
        for rank, (rid, _) in enumerate(self.store.nearest(meaning, k=CANDIDATES, where=where), 1):
            if rid in self.records:
                fused[rid] = fused.get(rid, 0.0) + DENSE_WEIGHT / (RRF_K + rank)
        # BM25 cannot filter, so it looks further when a filter will discard some of its hits.
        hits = self.store.lexical.search(text, k=CANDIDATES if allowed is None else len(self.records))
        rank = 0
        for hit in hits:
            if allowed is not None and hit.id not in allowed:
                continue
            rank += 1
            fused[hit.id] = fused.get(hit.id, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank)
            if rank >= CANDIDATES:
                break
        for rank, rid in enumerate(self._sentence_ranked(query, allowed), 1):
            fused[rid] = fused.get(rid, 0.0) + SENTENCE_DENSE_WEIGHT / (RRF_K + rank)
        return fused

    def _ranked(self, query: Query, fused: dict[str, float], report_years: tuple[int, ...]) -> list[Passage]:
        years = [str(y) for y in (query.years or ())]
        question = question_words(query, self.vocabulary)
        scored: list[Passage] = []
        for rid, score in fused.items():
            p = self.records[rid].passage
            # One sentence holding most of the question's words beats words scattered over a passage.
            boost = 1.0 + SENTENCE_WEIGHT * best_sentence(p.text, question)
            if p.year is not None and p.year in report_years:
                boost += REPORT_YEAR_BOOST / (1 + report_years.index(p.year))
            own = tense(p)
            heading = p.section.split(" › ", 1)[-1]
            # "2025年工作安排建议" names 2025 as the year it plans: no help to a question on 2025's results.
            if any(f"{y}年" in heading for y in years) and (query.tense is None or own in (None, query.tense)):
                boost += SECTION_YEAR_BOOST
            if query.tense is not None and own == query.tense:
                boost += TENSE_BOOST
            if query.wants_definition and p.term and defines(p.term, query):
                boost += GLOSSARY_BOOST
            scored.append(replace(p, score=score * boost))
        scored.sort(key=lambda p: -p.score)
        return scored

    def _for_year(self, query: Query, fused: dict[str, float], year: int) -> list[Passage]:
        """For one year of a comparison: the passages of the reports holding that year's figures (or
        whose section names it), falling back to all when none of them was a candidate."""
        reports = query.report_years(year)
        ranked = self._ranked(query, fused, reports)
        tiers = [[p for p in ranked if p.year == r] for r in reports]
        tiers.append([p for p in ranked if p.year not in reports and f"{year}年" in p.section])
        own = [p for tier in tiers for p in tier]
        return own or ranked

    def _top(self, ranked: list[Passage], k: int) -> list[Passage]:
        kept: list[Passage] = []
        for p in ranked:
            grams = self.records_by_chunk[p.id].bigrams
            if any(_overlap(grams, self.records_by_chunk[q.id].bigrams) >= NEAR_DUPLICATE for q in kept):
                continue
            kept.append(p)
            if len(kept) == k:
                break
        return kept


class HybridRetriever(BaseRetriever):
    """`Index.search` as a LangChain retriever: the question in, passages as Documents out."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any  # Index; Any keeps pydantic from inspecting it
    k: int = DEFAULT_K
    year: int | None = None
    source: str | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = self.index.search(understand(query), k=self.k, year=self.year, source=self.source)
        return [to_document(p) for p in passages]


def tense(p: Passage) -> str | None:
    """"plan" for a passage setting targets, "review" for one reporting results, None for neither."""
    return part_of(p.kind, p.section, p.term)


def to_document(p: Passage) -> Document:
    return Document(page_content=p.text, metadata={"passage": p})


def from_document(doc: Document) -> Passage:
    passage = doc.metadata["passage"]
    assert isinstance(passage, Passage)
    return passage


def _passage(chunk: Chunk) -> Passage:
    return Passage(
        id=chunk.id,
        source=chunk.source,
        title=chunk.title,
        year=chunk.year,
        kind=chunk.kind,
        section=chunk.section,
        text=chunk.text,
        line_start=chunk.line_start,
        line_end=chunk.line_end,
        score=0.0,
        term=chunk.term,
        locus=chunk.locus,
    )


def defines(term: str, query: Query) -> bool:
    """Whether the glossary `term` is the one asked about: it is in the question, or a quoted part of
    the question is in it (`“4+3”` in `“4+3”产业`)."""
    bare = term.strip("“”\"")
    core = re.sub(r"[“”\"]", "", term)
    question = re.sub(r"[“”\"]", "", query.normalized)
    return core in question or bare in query.normalized or any(q in core for q in query.quoted if len(q) >= 2)


def bigrams(text: str) -> frozenset[str]:
    chars = re.sub(r"\s+", "", text)
    return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _alternate(rankings: list[list[Passage]], k: int) -> list[Passage]:
    """The first of each ranking, then the second of each, …, each passage once, at most k."""
    merged: list[Passage] = []
    for rank in range(k):
        for ranked in rankings:
            if rank < len(ranked) and all(p.id != ranked[rank].id for p in merged):
                merged.append(ranked[rank])
    return merged[:k]


def _fill(first: list[Passage], rest: Iterable[Passage], k: int) -> list[Passage]:
    out = list(first)
    for p in rest:
        if len(out) == k:
            break
        if all(p.id != q.id for q in out):
            out.append(p)
    return out
