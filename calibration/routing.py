"""The inclusion probabilities of a routed queue, for `judge calibrate --estimate --weights`.

`judge route --out queue.txt` writes `queue.txt.weights.json` beside the queue: each queued
item with the probability it had of being picked (1 for the panel's disagreements and the
unscored items, n_picked / n_available of its stratum for the random rest). Read here without
the judge package, since calibration must not import the engine; the format's name is the
one judge/study/route.py writes (`WEIGHTS_FORMAT`), and a test round-trips the two.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from calibration.errors import InputFileError

__all__ = ["WEIGHTS_FORMAT", "load_route_weights"]

WEIGHTS_FORMAT = "judge route weights"


def load_route_weights(path: str | Path) -> pd.Series:
    """Item id → inverse inclusion probability 1/π, from a `judge route` weights sidecar.
    An InputFileError (one line, naming the file and the item) for anything else."""
    where = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(where, None, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InputFileError(where, None, f"not a JSON file ({err})") from None
    if not isinstance(document, dict) or document.get("format") != WEIGHTS_FORMAT:
        raise InputFileError(
            where, None, "not a weights file of `judge route` (the <queue>.weights.json sidecar)"
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise InputFileError(where, None, "no list of items", field="items")
    weights: dict[str, float] = {}
    for n, item in enumerate(items):
        at = f"items.{n}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InputFileError(where, None, "an item needs a string id", field=f"{at}.id")
        p = item.get("probability")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise InputFileError(
                where, None, f"item {item['id']!r}: the probability must be in (0, 1], got {p!r}",
                field=f"{at}.probability",
            )  # fmt: skip
        if item["id"] in weights:
            raise InputFileError(where, None, f"item {item['id']!r} is listed twice", field=at)
        weights[item["id"]] = 1.0 / p
    return pd.Series(weights, name="weight", dtype=float)
