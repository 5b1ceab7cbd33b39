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
    reformatted.write_text("# a comment\n" + text.replace('version: "1.1"', "version: '1.1'"))
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


def test_an_error_in_a_labels_scale_names_its_path_once(tmp_path: Path) -> None:
    text = (DDX.parent / "ddx-steps.yaml").read_text()
    old = "          type: labels\n          labels:\n"
    assert old in text
    bad = text.replace(old, "          type: labels\n          labels: 3\n          former:\n", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert caught.value.field is not None
    assert caught.value.field.endswith(".scale.labels"), caught.value.field
    assert caught.value.line == _line_of(bad, "labels: 3")


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"id: r\ndescription: caf\xe9\n", 2, "not UTF-8 text (byte 0xe9)"),
        (b"\xff\xfei\x00d\x00", 1, "holds NUL bytes: a binary file"),  # UTF-16
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "holds NUL bytes: a binary file"),
        (b"", 1, "must be a YAML mapping, got an empty file"),
        (b"# only a comment\n", 1, "must be a YAML mapping, got an empty file"),
        (b"- a\n- b\n", 1, "must be a YAML mapping, got a YAML list"),
        (b"just text\n", 1, "must be a YAML mapping, got a YAML str"),
        (b"id: r\n\x07x: 1\n", 2, "invalid YAML: special characters are not allowed"),
        (b"[" * 10_000 + b"]" * 10_000, None, "invalid YAML: nested too deeply"),
    ],
    ids=["latin-1", "utf-16", "png", "empty", "comment", "list", "scalar", "control", "deep"],
)
def test_a_file_that_is_no_rubric_is_a_one_line_error(
    tmp_path: Path, content: bytes, line: int | None, words: str
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert words in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_utf8_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + DDX.read_bytes())
    assert load_rubric(path) == load_rubric("ddx")
