"""Rubrics load only through the model, and a mistake is reported at its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge.errors import RubricError
from judge.load.rubric import builtin_rubrics, load_rubric, rubric_hash

DDX = builtin_rubrics()["ddx"]


def test_builtin_ddx_loads_with_anchors_for_every_level() -> None:
    rubric = load_rubric("ddx")
    assert rubric.id == "ddx"
    ordinal = [c for c in rubric.criteria if c.scale.type == "ordinal"]
    assert ordinal and all(len(c.scale.anchors) == 5 for c in ordinal)  # type: ignore[union-attr]
    assert [c.id for c in rubric.criteria if c.method == "answer_accuracy"] == ["final_answer"]


def test_hash_follows_content_not_formatting(tmp_path: Path) -> None:
    text = DDX.read_text()
    reformatted = tmp_path / "ddx.yaml"
    reformatted.write_text("# a comment\n" + text.replace('version: "1.0"', "version: '1.0'"))
    assert rubric_hash(load_rubric(reformatted)) == rubric_hash(load_rubric("ddx"))
    changed = tmp_path / "ddx2.yaml"
    changed.write_text(text.replace("Did the prediction choose", "Did it choose"))
    assert rubric_hash(load_rubric(changed)) != rubric_hash(load_rubric("ddx"))


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "at"),
    [
        ("        5: Cites every", "        6: Cites every", "criteria.2.scale", "6: Cites every"),
        ("  - id: coherence", "  - id: Coherence", "criteria.6.id", "id: Coherence"),
        (
            "    question: Does the conclusion",
            "    qestion: Does the conclusion",
            "criteria.6",
            "qestion",
        ),
        (
            "      type: binary\n      anchors:\n        0: No material",
            "      type: likert\n      anchors:\n        0: No material",
            "criteria.7.scale",
            "type: likert",
        ),
    ],
)
def test_mistakes_are_reported_at_their_line(
    tmp_path: Path, old: str, new: str, field: str, at: str
) -> None:
    text = DDX.read_text()
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    error = caught.value
    assert error.path == str(path)
    assert error.field is not None and error.field.startswith(field)
    assert error.line is not None
    # The reported line lies inside the offending criterion, at or before the mistake itself
    # (a whole-scale error is reported where that scale starts).
    criterion_line = max(
        i
        for i, line in enumerate(bad.splitlines(), 1)
        if line.startswith("  - id:") and i <= _line_of(bad, at)
    )
    assert criterion_line <= error.line <= _line_of(bad, at)


def test_invalid_yaml_and_unknown_rubric(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\ncriteria: [\n  - a: b\n")
    with pytest.raises(RubricError, match="invalid YAML") as caught:
        load_rubric(path)
    assert caught.value.line is not None and caught.value.line >= 2
    with pytest.raises(RubricError, match=r"built-in ids: .*ddx"):
        load_rubric("no-such-rubric")
