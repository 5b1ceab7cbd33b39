"""A `judge score` results file as a run: panel scores per item, case metadata, and what the
run was measured with (rubric hashes, prompt hashes, judges)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from calibration.data import coerce_score, join_labels
from calibration.errors import InputFileError
from calibration.loaders import _read_jsonl

__all__ = ["Run", "load_meta", "load_run"]


@dataclass(frozen=True)
class Run:
    """`scores`: item, criterion, score (the panel's score; unscored items left out).
    `meta`: one row per item (index = item), one column per case-metadata field."""

    path: str
    scores: pd.DataFrame
    meta: pd.DataFrame
    rubric_hashes: frozenset[str]
    rubrics: frozenset[str]
    prompt_hashes: frozenset[str]
    judges: frozenset[str]
    # The criteria some panel judge scored (computed criteria have no judge to calibrate).
    judged_criteria: frozenset[str] = frozenset()
    # Per judge, what its provider said served its calls: "model" or "model (fingerprint)",
    # from the calls' `served_model` and `system_fingerprint` (empty in records of earlier
    # versions, which did not keep them).
    served: tuple[tuple[str, frozenset[str]], ...] = ()

    def served_by(self, judge: str) -> frozenset[str]:
        """What served `judge`'s calls in this run (empty when its records do not say)."""
        return dict(self.served).get(judge, frozenset())


def _field(path: Path, number: int, record: dict[str, Any], name: str, kind: type) -> object:
    value = record.get(name)
    if not isinstance(value, kind):
        raise InputFileError(str(path), number, f"must be a {kind.__name__}", field=name)
    return value


def load_run(path: str | Path) -> Run:
    """Read a results JSONL written by `judge score` (one record per prediction)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(str(path), None, "no such file")
    scores, meta = [], []
    hashes: set[str] = set()
    rubrics: set[str] = set()
    prompts: set[str] = set()
    judges: set[str] = set()
    judged: set[str] = set()
    served: dict[str, set[str]] = {}
    for number, record in _read_jsonl(path):
        item = str(_field(path, number, record, "id", str))
        panel = cast("dict[str, Any]", _field(path, number, record, "scores", dict))
        rubric = cast("dict[str, Any]", _field(path, number, record, "rubric", dict))
        if "hash" not in rubric:
            raise InputFileError(str(path), number, "missing", field="rubric.hash")
        hashes.add(str(rubric["hash"]))
        rubrics.add(f"{rubric.get('id')} v{rubric.get('version')}")
        prompts.add(str(record.get("prompt_hash")))
        panel_judges = set(map(str, record.get("judges") or []))
        judges.update(panel_judges)
        judged.update(
            str(j.get("criterion"))
            for j in record.get("judgments") or []
            if isinstance(j, dict) and str(j.get("judge")) in panel_judges
        )
        _add_served(served, record)
        meta.append({"item": item, **(record.get("meta") or {})})
        for criterion, score in panel.items():
            if score is not None:
                value = coerce_score(join_labels(score))
                scores.append({"item": item, "criterion": criterion, "score": value})
    if not meta:
        raise InputFileError(str(path), None, "holds no result records")
    frame = pd.DataFrame(scores, columns=["item", "criterion", "score"])
    if frame.duplicated(["item", "criterion"]).any():
        first = frame[frame.duplicated(["item", "criterion"])].iloc[0]
        raise InputFileError(str(path), None, f"item id {first['item']!r} appears more than once")
    return Run(
        path=str(path),
        scores=frame,
        meta=pd.DataFrame(meta).drop_duplicates("item").set_index("item"),
        rubric_hashes=frozenset(hashes),
        rubrics=frozenset(rubrics),
        prompt_hashes=frozenset(prompts),
        judges=frozenset(judges),
        judged_criteria=frozenset(judged),
        served=tuple((judge, frozenset(found)) for judge, found in sorted(served.items())),
    )


def _add_served(served: dict[str, set[str]], record: dict[str, Any]) -> None:
    """Note what served each call of `record` that says (read from the JSON: calibration does
    not import judge's contracts)."""
    for call in record.get("calls") or []:
        if not isinstance(call, dict) or not isinstance(call.get("judge"), str):
            continue
        model, fingerprint = call.get("served_model"), call.get("system_fingerprint")
        if not model and not fingerprint:
            continue
        label = f"{model or '?'} ({fingerprint})" if fingerprint else str(model)
        served.setdefault(call["judge"], set()).add(label)


def load_meta(path: str | Path) -> pd.DataFrame:
    """The case metadata of a results file: index = item id, one column per field."""
    return load_run(path).meta
