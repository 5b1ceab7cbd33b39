"""The alt-test paper's Table 1 human figures beside ours, on the authors' released annotations.

Calderon, Reichart & Dror (ACL 2025), "The Alternative Annotator Test for LLM-as-a-Judge",
Table 1 (also figures/datasets.png in nitaytech/AltTest). The data is not bundled (its folder has
no licence file): clone nitaytech/AltTest (18428b1) and pass its `data` folder:

    python examples/alttest_table1.py --data path/to/AltTest/data

Each dataset is one pool of instances (SummEval's four aspects together), as the paper counts
them; discrete tasks at the nominal level, continuous ones at the interval level.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from calibration.human_agreement import human_human

# Table 1: annotators m, instances n, items per annotator, annotators per item, then
# Agree and Fleiss' κ (discrete) or MAE and Pearson (continuous).
DISCRETE = {
    "wax": ("WAX", 8, 246, 172, 5.61, 0.33, 0.26),
    "lgbteen": ("LGBTeen", 4, 880, 640, 2.91, 0.69, 0.53),
    "mtbench": ("MT-Bench", 3, 120, 82, 2.05, 0.66, 0.49),
    "framing": ("Framing", 4, 2552, 1914, 3.00, 0.79, 0.57),
    "cebab_aspects": ("CEBaB-A", 10, 1008, 403, 4.00, 0.86, 0.74),
}
CONTINUOUS = {
    "summeval": ("SummEval", 3, 6400, 6400, 3.00, 0.51, 0.74),
    "10k_prompts": ("10k Prompts", 13, 1698, 296, 2.26, 0.84, 0.41),
    "cebab_stars": ("CEBaB-S", 10, 711, 219, 3.08, 0.67, 0.67),
    "lesion": ("Lesion", 6, 500, 497, 5.96, 0.44, 0.77),
}


def _long(path: Path) -> pd.DataFrame:
    humans = json.loads((path / "human_annotations.json").read_text(encoding="utf-8"))
    rows = [
        (item, "all", rater, "human", label)
        for rater, labels in humans.items()
        for item, label in labels.items()
    ]
    return pd.DataFrame(rows, columns=["item", "criterion", "rater", "rater_kind", "score"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="AltTest's data folder")
    data = parser.parse_args().data
    lines = []
    for table, level, (s1, s2) in (
        (DISCRETE, "nominal", ("agree", "fleiss_kappa")),
        (CONTINUOUS, "interval", ("mae", "pearson")),
    ):
        lines.append(f"{'dataset':12} {'m':>7} {'n':>11} {'I.p.A':>11} {'A.p.I':>11} "
                     f"{s1:>13} {s2:>13}   (paper / ours)")  # fmt: skip
        for folder, (name, m, n, ipa, api, v1, v2) in table.items():
            if not (data / folder).is_dir():
                lines.append(f"{name:12} (no {folder}/ under {data})")
                continue
            row = human_human(_long(data / folder), default_level=level).iloc[0]
            ours = (row["n_humans"], row["n_items"], row["items_per_human"])
            lines.append(
                f"{name:12} {m:>3}/{ours[0]:<3} {n:>5}/{ours[1]:<5} {ipa:>5}/{ours[2]:<5.0f} "
                f"{api:>5.2f}/{row['humans_per_item']:<5.2f} "
                f"{v1:>6.2f}/{row[s1]:<6.2f} {v2:>6.2f}/{row[s2]:<6.2f}"
            )
        lines.append("")
    print("\n".join(lines).rstrip())


if __name__ == "__main__":
    main()
