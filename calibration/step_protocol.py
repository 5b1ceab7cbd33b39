"""The MedThinkVQA step-3 agreement, as its authors compute it, beside Krippendorff's α.

benluwang/MedThinkVQA `data_processing/step3_agreement.py` pools every matched (human, judge)
step pair on `is_factual` and reports the observed agreement, phi (= MCC on two classes) and
Cohen's κ, with the confusion counts. Here each judge is one "pred" column and the humans'
majority per step is "gold" (the protocol has one human table; a tie among humans leaves the
step out). Cohen's κ and MCC come from `sklearn.metrics`; where the protocol's own formula is
undefined (a zero denominator) it reports NaN, and so does this module, although sklearn's
`matthews_corrcoef` would say 0.0 there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from calibration.data import unit_ids

__all__ = ["protocol_agreement", "step_protocol_table"]

NAN = float("nan")


def protocol_agreement(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, Any]:
    """step3_agreement.py's `agreement`, `phi_mcc`, `cohens_kappa` and `confusion` of paired
    booleans (gold = human, pred = judge)."""
    from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

    y, x = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    tp, tn = int(np.sum(y & x)), int(np.sum(~y & ~x))
    fp, fn = int(np.sum(~y & x)), int(np.sum(y & ~x))
    out: dict[str, Any] = {"n_pairs": len(y), "agreement": NAN, "phi_mcc": NAN}
    out |= {"cohens_kappa": NAN, "tp": tp, "tn": tn, "fp": fp, "fn": fn}
    if not len(y):
        return out
    out["agreement"] = float(np.mean(y == x))
    # The protocol's phi is NaN when a margin is empty; sklearn's MCC would return 0.0.
    if (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn):
        out["phi_mcc"] = float(matthews_corrcoef(y, x))
    # The protocol's κ is NaN when chance agreement is 1 (both raters constant and equal).
    p_y, p_x = float(np.mean(y)), float(np.mean(x))
    if p_y * p_x + (1 - p_y) * (1 - p_x) < 1:
        out["cohens_kappa"] = float(cohen_kappa_score(y, x, labels=[False, True]))
    return out


def _truth(value: Any) -> bool | None:
    # Scores arrive as 0.0/1.0, or as text when a human file says "true" / "false".
    if isinstance(value, str):
        return {"true": True, "false": False, "yes": True, "no": False}.get(value.lower())
    return None if value is None or np.isnan(value) else bool(value)


def _majority(values: list[Any]) -> Any:
    ranked = Counter(values).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def step_protocol_table(long: pd.DataFrame, criterion: str = "is_factual") -> pd.DataFrame:
    """One row per judge: the protocol's statistics on `criterion` over the steps that both
    the judge and the humans rated (a judge's samples and the humans each by majority)."""
    rows = long[long["criterion"] == criterion].copy()
    columns = ["criterion", "judge", "n_pairs", "agreement", "phi_mcc", "cohens_kappa"]
    columns += ["tp", "tn", "fp", "fn"]
    if rows.empty or "step" not in rows.columns:
        return pd.DataFrame(columns=columns)
    rows["unit"] = unit_ids(rows)
    rows = rows[rows["step"].notna()]
    rows["score"] = rows["score"].map(_truth)
    rows = rows[rows["score"].notna()]
    human = rows[rows["rater_kind"] == "human"].groupby("unit")["score"].agg(list)
    gold = {u: _majority(v) for u, v in human.items()}
    out = []
    judged = rows[rows["rater_kind"] == "judge"]
    for judge, mine in judged.groupby("rater"):
        votes = mine.groupby("unit")["score"].agg(list)
        pairs = [
            (bool(gold[u]), bool(p))
            for u, v in votes.items()
            if gold.get(u) is not None and (p := _majority(v)) is not None
        ]
        stats = protocol_agreement([g for g, _ in pairs], [p for _, p in pairs])
        out.append({"criterion": criterion, "judge": judge, **stats})
    return pd.DataFrame(out, columns=columns)
