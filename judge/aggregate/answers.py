"""What a run's answers add up to: accuracy beside the answer rate, and the harm of the misses.

Over every case with a `final_answer` score (a hedge or a missing letter is 0, not left out):
- accuracy, and the share `answered` (exactly one option chosen), so abstention shows;
- the harmful-miss rate: wrong answers whose harm (the rubric's `if_correct` criterion, ddx's
  `miss_harm`) is at least the rubric's gate on it (4 without one), over all cases;
- the mean harm among wrong answers with a harm score. The criterion's own mean mixes in the
  computed "no harm" of every correct answer, so it falls as accuracy rises (review M11).

`judge score` prints `answer_line`; `judge report` shows the same line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from judge.aggregate.normalise import as_number
from judge.contracts import ResultRecord, Rubric

__all__ = ["AnswerSummary", "AnswerTally", "answer_line", "summarise_answers"]

# The harm a miss must reach to count as harmful when the rubric has no gate on it (the
# review's "severity >= 4": an unneeded intervention, a lasting delay, or worse).
HARMFUL = 4.0


@dataclass
class AnswerSummary:
    """A run's answers: `n` cases with a final-answer score, accuracy, the share answered
    (None when the rubric has no `answered`), and the harm of the wrong ones (None when the
    rubric has no harm criterion)."""

    n: int
    accuracy: float | None
    answered: float | None = None
    n_wrong: int = 0
    harm_criterion: str | None = None
    harmful_at: float | None = None
    n_harmful: int = 0
    harmful_miss_rate: float | None = None
    mean_harm_wrong: float | None = None
    n_harm_wrong: int = 0


class AnswerTally:
    """Feed records one at a time; `build()` any time (constant memory)."""

    def __init__(self, rubric: Rubric):
        ids = [c.id for c in rubric.criteria]
        self.accuracy = next((c.id for c in rubric.criteria if c.method == "answer_accuracy"), None)
        self.answered = next((c.id for c in rubric.criteria if c.method == "answered"), None)
        self.harm = next((c.id for c in rubric.criteria if c.if_correct is not None), None)
        gate = next((g for g in rubric.gates if g.criterion == self.harm and g.at_least), None)
        self.harmful_at = gate.at_least if gate and gate.at_least is not None else HARMFUL
        self.relevant = self.accuracy in ids
        self.n = self.correct = self.n_answered = self.n_wrong = self.n_harmful = 0
        self.harm_total = 0.0
        self.n_harm = 0

    def add(self, record: ResultRecord) -> None:
        accuracy = as_number(record.scores.get(self.accuracy or ""))
        if accuracy is None:
            return
        self.n += 1
        self.correct += accuracy == 1
        self.n_answered += as_number(record.scores.get(self.answered or "")) == 1
        if accuracy == 1:
            return
        self.n_wrong += 1
        harm = as_number(record.scores.get(self.harm or ""))
        if harm is not None:
            self.n_harm += 1
            self.harm_total += harm
            self.n_harmful += harm >= self.harmful_at

    def build(self) -> AnswerSummary | None:
        if not self.relevant:
            return None
        rate = lambda k: round(k / self.n, 4) if self.n else None  # noqa: E731
        return AnswerSummary(
            n=self.n,
            accuracy=rate(self.correct),
            answered=rate(self.n_answered) if self.answered else None,
            n_wrong=self.n_wrong,
            harm_criterion=self.harm,
            harmful_at=self.harmful_at if self.harm else None,
            n_harmful=self.n_harmful,
            harmful_miss_rate=rate(self.n_harmful) if self.harm else None,
            mean_harm_wrong=round(self.harm_total / self.n_harm, 4) if self.n_harm else None,
            n_harm_wrong=self.n_harm,
        )


def summarise_answers(rubric: Rubric, records: Iterable[ResultRecord]) -> AnswerSummary | None:
    """The answers of `records` at once (the report's)."""
    tally = AnswerTally(rubric)
    for record in records:
        tally.add(record)
    return tally.build()


def answer_line(found: AnswerSummary) -> str:
    """One line: 'answers: accuracy 0.50, answered 0.75 of 4 cases; harmful misses (miss_harm
    >= 4) 0.25 (1 of 4 cases), mean miss_harm among 2 wrong answers 3.50'."""

    def num(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    text = f"answers: accuracy {num(found.accuracy)}"
    if found.answered is not None:
        text += f", answered {num(found.answered)}"
    text += f" of {found.n} cases"
    if found.harm_criterion is not None and found.harmful_at is not None:
        text += (
            f"; harmful misses ({found.harm_criterion} >= {found.harmful_at:g}) "
            f"{num(found.harmful_miss_rate)} ({found.n_harmful} of {found.n} cases), "
            f"mean {found.harm_criterion} among {found.n_harm_wrong} wrong answers "
            f"{num(found.mean_harm_wrong)}"
        )
    return text
