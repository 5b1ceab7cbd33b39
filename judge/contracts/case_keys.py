"""A case key: one reviewed checklist per case, built once from the case material alone, that
every judge and every rater ticks (issue #25).

A keys file is JSONL, one `CaseKey` per line. Its items have HealthBench's shape (a criterion
text and its points, openai/simple-evals `healthbench_eval.py`'s `RubricItem`), so the `keys`
rubric judges them through the case-items path HealthBench rows use (`CaseKey.rubric_items`).
Positive items are the content a good answer has; negative items (−1 to −10) are the unsafe
actions the case invites.

Two hashes, two purposes:
- `case_hash` (`case_material_hash`): the case material the key was built from. A case whose
  material changed since is refused: the key may no longer fit it.
- `CaseKey.key_hash()`: the case id and the items. Results carry it per record, so a key
  edited later re-judges only its own case on resume. Provenance and review are left out:
  accepting a draft unchanged does not change what a judge is asked.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from judge.contracts.cases import Case, RubricItem, not_blank_criterion

__all__ = [
    "KEY_FORMAT",
    "KEY_ITEMS_LIMIT",
    "KEY_POINTS_MAX",
    "CaseKey",
    "KeyCheck",
    "KeyDraft",
    "KeyEdit",
    "KeyKind",
    "KeyReview",
    "case_material",
    "case_material_hash",
]

# The format's name and version, on every line: a later format is refused, not misread.
KEY_FORMAT: Literal["judge-case-key/1"] = "judge-case-key/1"
# HealthBench's items carry −10 to 10 points; a key's items do too.
KEY_POINTS_MAX = 10
# Five options' discriminators, the must-not-miss, the action, 3-8 teaching points and the
# unsafe actions fit well within this; a longer list is no checklist a clinician reviews.
KEY_ITEMS_LIMIT = 40

# discriminator: a finding of this case that argues for or against `option` (`stance`);
# must_not_miss: the alternative whose miss would harm the patient most (`option`), with why;
# urgent_action: what the correct diagnosis requires now, or that none is needed;
# teaching_point: a point of the expert discussion; finding: other expected content;
# unsafe_action: an action the case invites that would harm the patient (negative points).
KeyKind = Literal[
    "discriminator", "must_not_miss", "urgent_action", "teaching_point", "finding", "unsafe_action"
]
# judge.contracts.cases.LETTERS, as a type (tests/judge/test_case_keys.py checks they agree).
Letter = Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
_Name = Annotated[str, Field(min_length=1, max_length=200)]


class KeyCheck(BaseModel):
    """One checklist item of a case key: HealthBench's criterion and points, with its kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    criterion: str = Field(min_length=1, max_length=1000)
    # Whole points, as HealthBench's: "5" or 2.5 is a mistake to report, not a number to guess.
    points: int = Field(ge=-KEY_POINTS_MAX, le=KEY_POINTS_MAX, strict=True)
    kind: KeyKind
    # The option the item concerns: a discriminator's, the must-not-miss alternative's.
    option: Letter | None = None
    # A discriminator argues for or against its option.
    stance: Literal["for", "against"] | None = None

    _not_blank = field_validator("criterion")(classmethod(lambda cls, v: not_blank_criterion(v)))

    @model_validator(mode="after")
    def _consistent(self) -> KeyCheck:
        if self.points == 0:
            raise ValueError("points must not be 0: an item worth nothing is not on a checklist")
        if (self.kind == "unsafe_action") != (self.points < 0):
            raise ValueError(
                "an unsafe_action item takes negative points, every other kind positive points"
                f" (kind {self.kind}, points {self.points})"
            )
        if self.kind in ("discriminator", "must_not_miss") and self.option is None:
            raise ValueError(f"a {self.kind} item names its option")
        if (self.kind == "discriminator") != (self.stance is not None):
            raise ValueError("a discriminator item, and only one, has a stance (for or against)")
        return self

    def rubric_item(self) -> RubricItem:
        """The item as a HealthBench checklist item, tagged with its kind (and option)."""
        tags = [f"kind:{self.kind}"] + ([f"option:{self.option}"] if self.option else [])
        return RubricItem(criterion=self.criterion, points=self.points, tags=tags)


class KeyDraft(BaseModel):
    """Who drafted a key: a model (with the prompt's hash), or a person by hand."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A model id as `--judge` takes it, or "hand:<name>" for a key written by a person.
    by: _Name
    prompt_hash: str | None = None
    at: AwareDatetime


class KeyReview(BaseModel):
    """Who reviewed a key, in which role, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reviewer: _Name
    # A clinician's review is the standard; a key's own author reviewing it is recorded as such.
    role: Literal["clinician", "author"]
    at: AwareDatetime


class KeyEdit(BaseModel):
    """One change made in review: who, when, which item, before and after."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: _Name
    at: AwareDatetime
    action: Literal["accept", "edit", "delete", "add"]
    # The item's position in the key before the change (for add: where it was inserted).
    item: int = Field(ge=0)
    before: KeyCheck | None = None
    after: KeyCheck | None = None


class CaseKey(BaseModel):
    """One case's key: its checklist, where it came from, and whether it is reviewed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["judge-case-key/1"] = KEY_FORMAT
    # The case id, as the run's `--id-field` reads it.
    case: str = Field(min_length=1, max_length=1000)
    # `case_material_hash` of the case the key was built from.
    case_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    items: list[KeyCheck] = Field(min_length=1, max_length=KEY_ITEMS_LIMIT)
    drafted: KeyDraft
    status: Literal["draft", "reviewed"]
    review: KeyReview | None = None
    edits: list[KeyEdit] = Field(default_factory=list)
    # `key_hash()` as judge wrote it; a file edited by hand outside review no longer matches.
    content_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _reviewed_by_someone(self) -> CaseKey:
        if (self.status == "reviewed") != (self.review is not None):
            raise ValueError("a reviewed key, and only one, has a review (reviewer, role, at)")
        if self.content_hash is not None and self.content_hash != self.key_hash():
            raise ValueError(
                "content_hash does not match the items: the key was edited outside `judge keys "
                "review`; review it there, or delete content_hash to accept the edit"
            )
        return self

    def key_hash(self) -> str:
        """sha256 of the case id and the items: what a judge is asked, so what results carry."""
        return _sha256({"case": self.case, "items": [i.model_dump() for i in self.items]})

    def rubric_items(self) -> list[RubricItem]:
        """The items as HealthBench checklist items, for the case-items path."""
        return [item.rubric_item() for item in self.items]

    def stamped(self) -> CaseKey:
        """The key with its content hash written, as judge saves it."""
        return self.model_copy(update={"content_hash": self.key_hash()})


def case_material(case: Case) -> dict[str, Any]:
    """What a key is built from, and all a key writer sees: the history, findings, image
    captions, options, correct answer and expert discussion. Never a candidate's text."""
    return {
        "title": case.title,
        "clinical_history": case.CLINICAL_HISTORY,
        "imaging_findings": case.IMAGING_FINDINGS,
        "image_captions": [image.caption for image in case.images],
        "options": case.options,
        "correct_answer": case.correct_answer,
        "discussion": case.discussion,
    }


def case_material_hash(case: Case) -> str:
    """sha256 of `case_material`: a key is refused for a case whose material changed since."""
    return _sha256(case_material(case))


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
