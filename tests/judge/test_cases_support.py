"""Synthetic cases files for the `--cases` tests, in every format a cases file takes.

The rows are written here, in MedThinkVQA's shape (its column names, spaces included, and its
types: `options` as a JSON string, int64 counts, booleans, nulls, up to 49 image columns), but
none is a dataset row: the dataset is CC BY-NC-SA and is never copied into the tests.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CHAPTERS",
    "case_rows",
    "predictions_for",
    "write_csv",
    "write_jsonl",
    "write_parquet",
    "write_saved_dataset",
]

# Two chapters, one longer than 80 characters (ICD-10 chapter III's title is 99).
CHAPTERS = (
    "Diseases of the digestive system",
    "Diseases of the blood and blood-forming organs and certain disorders involving the "
    "immune mechanism",
)
_DIAGNOSES = ("Acute appendicitis", "Splenic infarct", "Small bowel obstruction", "Lymphoma")


def case_rows(n: int = 4) -> list[dict[str, Any]]:
    """n synthetic cases with MedThinkVQA's columns; case i has i % 3 + 1 images, and the
    last one all 49."""
    rows = []
    for i in range(n):
        options = {letter: f"{letter} option of case {i}" for letter in "ABCDE"}
        options["B"] = _DIAGNOSES[i % len(_DIAGNOSES)]
        row: dict[str, Any] = {
            "title": f"synthetic case {i}",
            "CLINICAL_HISTORY": f"A patient aged {30 + i} with abdominal pain for {i + 1} days.",
            "IMAGING_FINDINGS": f"Finding number {i} seen on the study.",
            "discussion": f"The findings of case {i} support option B.",
            "options": json.dumps(options),
            "correct_answer": "B",
            "correct_answer_text": options["B"],
            "ICD Chapter": CHAPTERS[i % 2],
            "ICD Block": f"K{35 + i}-K{38 + i}",
            "ICD Category": f"K{35 + i}",
            "is_longitudinal": i % 2 == 1,
            "timepoint_count": 1 + i % 2,
            "interval_text": "3 months later" if i % 2 else None,
        }
        images = 49 if i == n - 1 else i % 3 + 1
        for k in range(1, 50):
            shown = k <= images
            row[f"image_{k:02d}_path"] = f"images/case{i:05d}/{k}.jpg" if shown else None
            row[f"image_{k:02d}_caption"] = f"Image {k} of case {i}." if shown else None
            row[f"image_{k:02d}_modality"] = "CT" if shown else None
        rows.append(row)
    return rows


def predictions_for(rows: list[dict[str, Any]], letter: str = "B") -> list[dict[str, Any]]:
    """Prediction lines that carry only the id and the model's outputs."""
    return [
        {
            "title": row["title"],
            "prediction": letter,
            "prediction_rationale": f"The imaging favours option {letter}. Final answer: {letter}",
        }
        for row in rows
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def write_saved_dataset(root: Path, rows: list[dict[str, Any]], shards: int = 2) -> Path:
    """A directory in the layout `datasets.Dataset.save_to_disk` writes (huggingface/datasets,
    src/datasets/arrow_dataset.py): `data-{i:05d}-of-{n:05d}.arrow` shards, each an Arrow IPC
    *stream* whose schema carries the `huggingface` metadata; `state.json` listing them under
    `_data_files`; `dataset_info.json` with the features."""
    root.mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    features = {
        name: {"dtype": str(table.schema.field(name).type), "_type": "Value"}
        for name in table.column_names
    }
    schema = table.schema.with_metadata(
        {"huggingface": json.dumps({"info": {"features": features}})}
    )
    size = -(-len(rows) // shards)
    names = [f"data-{i:05d}-of-{shards:05d}.arrow" for i in range(shards)]
    for i, name in enumerate(names):
        shard = pa.Table.from_pylist(rows[i * size : (i + 1) * size], schema=schema)
        with pa.OSFile(str(root / name), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            writer.write_table(shard)
    state = {
        "_data_files": [{"filename": name} for name in names],
        "_fingerprint": "0123456789abcdef",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": "test",
    }
    (root / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
    info = {"citation": "", "description": "", "features": features, "homepage": "", "license": ""}
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2))
    return root
