"""What a run writes: judgments, call usage and one result record per prediction."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

__all__ = ["CallUsage", "Judgment", "ResultRecord", "RubricRef", "Score", "Segments"]

Score = int | float | str


class Judgment(BaseModel):
    """One score on one criterion by one judge (or the deterministic scorer)."""

    criterion: str
    judge: str
    sample: int = 0
    # The unit (1-based) of a per-unit verdict (a reasoning step); None for the whole item.
    step: int | None = None
    status: Literal["scored", "unscored"]
    # A labels criterion's score is the list of labels given (sorted).
    score: Score | list[str] | None = None
    rationale: str | None = None
    reason: str | None = None
    # True when the failure was the judge's transport (timeout, 429, 5xx, no key), so a
    # rerun tries again; False for a final outcome such as a reply that never validated.
    retryable: bool = False
    # Structured detail of a computed score (ROUGE's per-image values, the counts behind a
    # mismatch), or the judge's own key list (`{"key_items": [...]}`, judge.contracts.KeyItems)
    # when the rubric asks for one; carried into the results file for analysis.
    details: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _score_or_reason(self) -> Judgment:
        if self.status == "scored" and self.score is None:
            raise ValueError("a scored judgment needs a score")
        # The one place every score passes: a NaN or an infinity would be written as null, a
        # "scored" line that a resume and `report` refuse. A computation that makes one is a
        # bug, and shows as one.
        score = self.score
        if self.status == "scored" and isinstance(score, float) and not math.isfinite(score):
            raise ValueError(f"a scored judgment needs a finite score, not {score!r}")
        if self.status == "unscored" and not self.reason:
            raise ValueError("an unscored judgment needs a reason")
        return self


class CallUsage(BaseModel):
    """What one judge call cost: tokens, money, time; whether the cache answered it."""

    judge: str
    sample: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    # What the provider says served the call (the reply's `model`, which can name a dated
    # snapshot behind an alias) and its `system_fingerprint` (the backend configuration, where
    # the provider gives one): the last reply's. None in records of earlier versions.
    served_model: str | None = None
    system_fingerprint: str | None = None
    # The sampling parameters the request carried (`judge.options.RunOptions.params`:
    # temperature, max_tokens, seed where given; one absent was left to the provider's
    # default). None in records of earlier versions.
    params: dict[str, int | float] | None = None


class Segments(BaseModel):
    """The units a segment stage made of the judged text, and who made them."""

    units: list[str]
    # The judge that split the text, or "sentences" when the fallback split it.
    source: str
    # Why the fallback was used (the splitter's failure), else None.
    reason: str | None = None


class RubricRef(BaseModel):
    id: str
    version: str
    hash: str


class ResultRecord(BaseModel):
    """One line of a results file: everything known about one prediction's scoring."""

    id: str
    line: int
    status: Literal["scored", "partial", "unscored"]
    scores: dict[str, Score | None]
    judgments: list[Judgment]
    calls: list[CallUsage] = Field(default_factory=list)
    judges: list[str] = Field(default_factory=list)
    # Which prediction field was judged (the rubric's first target that held text).
    judged_field: str | None = None
    # Per LLM criterion, the judges of the panel that gave no score (the panel shrank).
    missing: dict[str, list[str]] = Field(default_factory=dict)
    # The case's metadata for slicing (modality, ICD chapter, image count, …): see
    # `Case.metadata`.
    meta: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    # Per segment stage of a multi-stage rubric, the units its judges rated.
    segments: dict[str, Segments] = Field(default_factory=dict)
    # The judges that were sent the case's images (a rubric whose context names `images`,
    # run with --images, and a judge litellm reports as supporting vision); the others saw
    # the captions only. Empty in records of earlier versions.
    saw_images: list[str] = Field(default_factory=list)
    rubric: RubricRef
    prompt_hash: str
    judge_version: str
    created_at: str
    # The case key the judges were shown (`--keys`, judge.contracts.case_keys): its
    # `key_hash()` (a resume re-judges a record whose case's key has changed since) and its
    # review then (a reviewer's role, or "draft"). None without a key.
    key_hash: str | None = None
    key_review: Literal["clinician", "author", "draft"] | None = None
    # The predictions field the id was read from (`--id-field`), stamped by the results file's
    # writer so a resume with another id field is refused; None in records of earlier versions.
    id_field: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether a rerun should judge this item again (a transport failure left a gap)."""
        return any(j.retryable for j in self.judgments)
