"""`judge methods`: the facts a paper's methods paragraph states, gathered from what is on
record and nowhere else.

The sources are the results file (its records, and the run summary built from them as `judge
score` builds it), the calibration record of this rubric, prompt and judges (alt-test verdicts
of `judge calibrate --save`, qualifications of `judge qualify`), the tables of a `judge
calibrate --out-dir` run (judge.report.methods_tables) and the case keys the records were
judged with (`keys_facts`). What is not found is kept as missing, so the text can
say so instead of guessing. judge.report.methods_text writes the paragraph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from judge.aggregate.summary import Summary, SummaryBuilder
from judge.contracts import ResultRecord, Rubric, RubricRef
from judge.errors import InputError
from judge.report.methods_tables import Tables, read_tables

__all__ = ["KeysFacts", "Methods", "Sent", "Verdict", "gather_methods", "keys_facts"]

# Judges that are not LLMs: computed criteria, and the placeholder of a run with no judge.
_NOT_LLM = frozenset({"deterministic", "none"})

# The sampling parameters one call was sent with (CallUsage.params), as sorted pairs.
Sent = tuple[tuple[str, int | float], ...]


@dataclass(frozen=True)
class Verdict:
    """One criterion and judge on the calibration record: `kind` "verdict" (for this rubric
    and prompt), "other" (only for another version), "none"; `row` as the record holds it."""

    criterion: str
    judge: str
    kind: str
    row: dict[str, Any] | None


@dataclass(frozen=True)
class KeysFacts:
    """How many case keys the run used and who reviewed them (issue #25's summary)."""

    total: int
    reviewed: int
    by_clinician: int
    by_author: int
    drafts: int


@dataclass
class Methods:
    """Everything `judge methods` states, each with where it came from."""

    results: Path
    rubric: RubricRef
    prompt_hash: str
    versions: list[str]
    first: str
    last: str
    summary: Summary
    llm_judges: list[str]
    samples: dict[str, int]
    # The criteria an LLM judge of the panel judged (the calibration record's criteria).
    judged: list[str]
    panel_missing: int
    reasons: list[tuple[str, int]]
    db: Path | None
    calibration: list[Verdict] = field(default_factory=list)
    qualification: list[Verdict] = field(default_factory=list)
    tables: Tables | None = None
    keys: KeysFacts | None = None
    # Per LLM judge, its calls per the sampling parameters they were sent with (None: calls
    # of records of earlier versions, which do not say).
    params: dict[str, dict[Sent | None, int]] = field(default_factory=dict)

    @property
    def calibrated(self) -> list[Verdict]:
        return [v for v in self.calibration if v.kind == "verdict"]

    @property
    def qualified(self) -> list[Verdict]:
        return [v for v in self.qualification if v.kind == "verdict"]


def keys_facts(block: Mapping[str, Any] | None) -> KeysFacts | None:
    """The keys part, from a keys block as a run's summary carries it and the records give
    it (judge.aggregate.key_counts.keys_block), or None when no case keys were used:

        {"file": …, "keys": 12, "reviewed_by_clinician": 0, "reviewed_by_author": 9,
         "draft": 3}
    """
    if not block or not block.get("keys"):
        return None
    clinician, author = int(block["reviewed_by_clinician"]), int(block["reviewed_by_author"])
    return KeysFacts(
        total=int(block["keys"]),
        reviewed=clinician + author,
        by_clinician=clinician,
        by_author=author,
        drafts=int(block["draft"]),
    )


def gather_methods(
    results: str | Path,
    *,
    tables: str | Path | None = None,
    db: Path | None = None,
    rubric: str | Path | Rubric | None = None,
    keys: Mapping[str, Any] | None = None,
) -> Methods:
    """The facts of `results` (a `judge score` results file), with the calibration record
    `db` (None: none consulted), the `judge calibrate --out-dir` folder `tables`, and a
    `keys` block (else the summary's own, when it has one). A bad file is an InputError
    naming its file, line and field."""
    from judge.aggregate.key_counts import keys_block
    from judge.load.lines import regular
    from judge.load.rubric import rubric_of_records
    from judge.store.results import iter_records

    path = Path(results)
    regular(path, str(path))  # a FIFO would block the read until a writer came
    records = iter_records(path)
    first = next(records, None)
    if first is None:
        raise InputError(str(path), None, "holds no results record")
    the_rubric = rubric_of_records([first.rubric.id], rubric, str(path))
    if the_rubric is None:
        message = f"rubric {first.rubric.id!r} is not built in: give its file with --rubric"
        raise InputError(str(path), 1, message, field="rubric.id")
    found = _read_run(path, chain([first], records), the_rubric)
    if db is not None:
        found.db = db
        found.calibration = _verdicts(found, db, qualification=False)
        found.qualification = _verdicts(found, db, qualification=True)
    if tables is not None:
        found.tables = read_tables(Path(tables), path)
    # The records say which key each was judged with, and its review then.
    found.keys = keys_facts(keys if keys is not None else keys_block(iter_records(path)))
    return found


def _read_run(path: Path, records: Iterator[ResultRecord], rubric: Rubric) -> Methods:
    """One pass over the records: the summary `judge score` prints, and what it leaves out."""
    builder = SummaryBuilder(rubric)
    refs: set[tuple[str, str, str]] = set()
    prompts: set[str] = set()
    versions: set[str] = set()
    first: str | None = None
    last: str | None = None
    samples: Counter[str] = Counter()
    sent: dict[str, Counter[Sent | None]] = {}
    judged: set[str] = set()
    missing = 0
    for number, record in enumerate(records, start=1):
        if record.rubric.id != rubric.id:
            message = f"rubric {record.rubric.id!r}, not {rubric.id!r} as line 1: use one"
            raise InputError(str(path), number, message, field="rubric.id")
        builder.add(record)
        refs.add((record.rubric.id, record.rubric.version, record.rubric.hash))
        prompts.add(record.prompt_hash)
        versions.add(record.judge_version)
        first = min(first or record.created_at, record.created_at)
        last = max(last or record.created_at, record.created_at)
        missing += bool(record.missing)
        for j in record.judgments:
            samples[j.judge] = max(samples[j.judge], j.sample + 1)
            if j.judge not in _NOT_LLM:
                judged.add(j.criterion)
        for call in record.calls:
            params = None if call.params is None else tuple(sorted(call.params.items()))
            sent.setdefault(call.judge, Counter())[params] += 1
    if len(refs) != 1 or len(prompts) != 1:
        message = "mixes rubric or prompt versions; a methods paragraph describes one of each"
        raise InputError(str(path), None, message)
    summary = builder.build()
    (ref,) = refs
    reasons: Counter[str] = Counter()
    for criterion in summary.criteria:
        reasons.update(criterion.reasons)
    llm = sorted({j.judge for j in summary.judges} - _NOT_LLM)
    return Methods(
        results=path,
        rubric=RubricRef(id=ref[0], version=ref[1], hash=ref[2]),
        prompt_hash=next(iter(prompts)),
        versions=sorted(versions),
        first=first or "",
        last=last or "",
        summary=summary,
        llm_judges=llm,
        samples={j: samples[j] for j in llm},
        judged=sorted(judged),
        panel_missing=missing,
        # Ties by name: the records' order (the order calls finished) must not choose.
        reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3],
        db=None,
        # The most calls first; ties by the parameters, not by the order calls finished.
        params={
            j: dict(sorted(sent[j].items(), key=lambda kv: (-kv[1], repr(kv[0]))))
            for j in llm
            if j in sent
        },
    )


def _verdicts(found: Methods, db: Path, *, qualification: bool) -> list[Verdict]:
    from calibration.record import verdicts

    pairs = verdicts(
        db, rubric_hash=found.rubric.hash, prompt_hash=found.prompt_hash, criteria=found.judged,
        judges=found.llm_judges, qualification=qualification,
    )  # fmt: skip
    return [Verdict(*pair) for pair in pairs]
