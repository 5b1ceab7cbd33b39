"""`judge route --escalate`: the items a panel may not be trusted on, queued for clinicians (or
a stronger judge), under the threshold `judge calibrate --guarantee --save` recorded.

Trust or Escalate (Jung, Brahman & Choi, ICLR 2025; calibration/escalate.py): an item whose
panel confidence (the share of the judges giving the modal label, the confidence the guarantee
was calibrated with) is below the saved threshold on any guaranteed criterion is escalated
(inclusion probability 1). A random `audit` share of the kept items is queued too, with
inclusion probability `audit`, so that a later `judge calibrate --estimate --weights` can
weigh the rated items by 1/π and the estimate over every judged item stays unbiased (Zrnic &
Candès 2024), rather than resting on the escalated items alone.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from calibration.escalate import agreement_confidence
from calibration.record import latest_guarantees
from judge.contracts import ResultRecord
from judge.errors import ConfigError
from judge.study.route import Pick, Queue, _read

__all__ = ["escalate"]


def _confidence(record: ResultRecord, criterion: str) -> float | None:
    labels = [j.score for j in record.judgments
              if j.criterion == criterion and j.status == "scored" and j.step is None]  # fmt: skip
    if not labels:
        return None
    return float(agreement_confidence(np.array([labels], dtype=object))[0])


def escalate(results: str | Path, db: Path, *, audit: float = 0.05, seed: int = 0) -> Queue:
    """The queue of escalated items and the audit draw (see the module docstring)."""
    if not 0 <= audit < 1:
        raise ConfigError(f"--audit is a share of the kept items in [0, 1), got {audit}")
    results = Path(results)
    records = _read(results)
    hashes = {(r.rubric.hash, r.prompt_hash) for r in records}
    if len(hashes) != 1:
        raise ConfigError(f"{results} mixes rubric or prompt versions; --escalate needs one")
    rubric_hash, prompt_hash = next(iter(hashes))
    saved = latest_guarantees(db, rubric_hash=rubric_hash, prompt_hash=prompt_hash)
    if not saved:
        raise ConfigError(
            f"no guarantee on record for {results}'s rubric and prompt: run `judge calibrate "
            "--guarantee T --save` on its human-rated items first"
        )
    picks: list[Pick] = []
    kept: list[str] = []
    for record in records:
        low = None
        for criterion, row in sorted(saved.items()):
            confidence = _confidence(record, criterion)
            if record.status != "scored" or confidence is None or confidence < row["threshold"]:
                low = criterion
                break
        if low is not None:
            picks.append(Pick(record.id, "escalated", 1.0, criterion=low))
        else:
            kept.append(record.id)
    drawn = random.Random(seed).sample(kept, round(audit * len(kept)))
    picks.extend(Pick(i, "audit", len(drawn) / len(kept)) for i in drawn)
    return Queue(
        str(results), len(picks), seed, None, len(records), picks, reasons=("escalated", "audit")
    )
