"""The HTTP API's request and response bodies.

Requests forbid unknown keys, so a misspelt option is a 422 naming it rather than silently
ignored; the prediction inside keeps unknown fields, as a predictions-file line does. The
promptfoo payload is the exception: it is promptfoo's shape, not ours, and a newer promptfoo
adding a key must not break grading.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.contracts import Prediction

__all__ = [
    "EXAMPLE_PREDICTION",
    "BatchItem",
    "BatchRequest",
    "ErrorLine",
    "Health",
    "PromptfooContext",
    "PromptfooRequest",
    "PromptfooResult",
    "RubricSummary",
    "ScoreRequest",
]

# A rubric id as rubric files spell it; anything else cannot name a served rubric.
_RUBRIC_ID = Field(min_length=1, max_length=100, description="A served rubric id (`ddx`).")
_ITEM_ID = Field(
    default=None,
    min_length=1,
    max_length=1000,
    description="The record's id; default: the prediction's `title`.",
)


# A synthetic case for the OpenAPI examples (shown at /docs, and sent by schemathesis).
EXAMPLE_PREDICTION: dict[str, Any] = {
    "title": "Fever and right lower quadrant pain",
    "CLINICAL_HISTORY": "A 19-year-old with migrating abdominal pain, fever and leukocytosis.",
    "IMAGING_FINDINGS": "A non-compressible 9 mm appendix with periappendiceal fat stranding.",
    "options": {
        "A": "Acute appendicitis",
        "B": "Ovarian torsion",
        "C": "Mesenteric adenitis",
        "D": "Crohn ileitis",
        "E": "Ectopic pregnancy",
    },
    "correct_answer": "A",
    "prediction": "A",
    "prediction_rationale": "A dilated non-compressible appendix with fat stranding. Final: A",
}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRequest(_Request):
    """One prediction (a predictions-file line: case fields and model output) to score."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"rubric": "ddx", "prediction": EXAMPLE_PREDICTION}]},
    )

    rubric: str = _RUBRIC_ID
    id: str | None = _ITEM_ID
    # A server started with --cases joins a line of only the id and the outputs to its case,
    # so a partial line is taken as it is and validated once joined (a 422 naming the field).
    prediction: Prediction | dict[str, Any] = Field(
        union_mode="left_to_right",
        description="A predictions-file line; with `--cases`, only the id and the outputs.",
    )


class BatchItem(_Request):
    """One prediction of a batch. It is validated on its own, so one bad item is one error
    line in the stream rather than a rejected batch."""

    id: str | None = _ITEM_ID
    prediction: dict[str, Any] = Field(
        description="A predictions-file line (see ScoreRequest.prediction for its fields)."
    )


class BatchRequest(_Request):
    """Many predictions against one rubric; answered as JSON lines as each one finishes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rubric": "ddx",
                    "items": [
                        {"prediction": EXAMPLE_PREDICTION},
                        {"id": "case-2", "prediction": {**EXAMPLE_PREDICTION, "prediction": "B"}},
                    ],
                }
            ]
        },
    )

    rubric: str = _RUBRIC_ID
    items: list[BatchItem] = Field(min_length=1, max_length=1000)


class ErrorLine(BaseModel):
    """A batch line for an item that could not be scored (the others go on)."""

    index: int = Field(description="0-based position of the item in `items`.")
    line: int = Field(description="index + 1, the `line` its record would have had.")
    field: str | None = Field(description="The item's field at fault, as a dotted path.")
    error: str


class RubricSummary(BaseModel):
    """A served rubric at a glance; `GET /v1/rubrics/{id}` gives all of it."""

    id: str
    version: str
    description: str
    target: list[str]
    criteria: list[str]


class Health(BaseModel):
    status: str
    version: str
    judges: list[str]


class PromptfooContext(BaseModel):
    """What promptfoo sends beside the output: the rendered prompt and the test's vars."""

    model_config = ConfigDict(extra="ignore")

    prompt: Any = None
    vars: dict[str, Any] = Field(default_factory=dict)


class PromptfooRequest(BaseModel):
    """promptfoo's `webhook` assertion request: `{"output": ..., "context": {...}}`.

    `output` is the model's text, or an object when promptfoo parsed the output as JSON (its
    keys are then prediction fields).
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "output": EXAMPLE_PREDICTION["prediction_rationale"],
                    "context": {
                        "prompt": "Which diagnosis fits this case best?",
                        "vars": {
                            k: v for k, v in EXAMPLE_PREDICTION.items() if "prediction" not in k
                        },
                    },
                }
            ]
        },
    )

    output: str | dict[str, Any]
    context: PromptfooContext = Field(default_factory=PromptfooContext)


class PromptfooResult(BaseModel):
    """The grading result promptfoo reads back: `pass`, `score` in [0, 1], `reason`."""

    # FastAPI writes responses by alias, so the key on the wire is `pass`.
    model_config = ConfigDict(populate_by_name=True)

    passed: bool = Field(alias="pass")
    score: float = Field(ge=0, le=1)
    reason: str
