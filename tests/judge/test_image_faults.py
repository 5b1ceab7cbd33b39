"""Image files that are not whole images (`--images DIR`): a truncated or corrupt file, and one
whose header claims more pixels than Pillow's decompression-bomb limit. Each is found when the
line is validated, before any call, as a one-line error naming file, line and field; with
`--skip-invalid` the run judges the other items (the judges over real HTTP,
tests/llm_server.py).

Every image is written by the tests with Pillow, then cut or forged (no dataset image)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

import judge
from judge.annotate.media import image_bytes
from judge.annotate.study import open_study
from judge.cli import cli
from judge.errors import InputError
from judge.judging.images import encode_images
from judge.load.images import ImageRoot
from judge.load.inputs import validate_items
from judge.store.results import iter_records
from tests.judge.test_images import VISION, case, noise, with_images, write_jsonl
from tests.llm_server import LLMServer


def truncated(path: Path, fmt: str) -> Path:
    """A valid image of `fmt` with its second half cut off: its header still reads."""
    noise(path, (200, 160))
    if fmt == "JPEG":
        Image.open(path).save(path, format="JPEG")  # noise() wrote a PNG; the name is kept
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb(path: Path, side: int = 30_000) -> Path:
    """A PNG of a few hundred bytes whose header says side × side pixels (900 million, over
    twice Pillow's default limit of 89,478,485: Pillow refuses to open it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grey
    pixels = zlib.compress(b"\x00" * 64)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels)
    path.write_bytes(data + _chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_image_is_refused_at_its_line(tmp_path: Path, fmt: str) -> None:
    noise(tmp_path / "images" / "c" / "1.png", (40, 40))
    truncated(tmp_path / "images" / "c" / "2.png", fmt)
    rows = [case(["images/c/1.png"], title="good"), case(["images/c/2.png"], title="cut")]
    preds = write_jsonl(tmp_path / "preds.jsonl", rows)
    report = validate_items(preds, images=ImageRoot(tmp_path))
    assert report.n_valid == 1
    (problem,) = report.problems
    assert (problem.line, problem.field) == (2, "image_01_path")
    assert "truncated" in str(problem) and "\n" not in str(problem)


def test_skip_invalid_judges_the_rest_when_an_image_is_cut(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    noise(tmp_path / "images" / "c" / "1.png", (40, 40))
    truncated(tmp_path / "images" / "c" / "2.png", "JPEG")
    rows = [case(["images/c/2.png"], title="cut"), case(["images/c/1.png"], title="good")]
    preds = write_jsonl(tmp_path / "preds.jsonl", rows)
    result = judge.score(
        preds,
        with_images(),
        judges=[VISION],
        api_base=llm_server.url,
        images=tmp_path,
        out=tmp_path / "out.jsonl",
        skip_invalid=True,
        timeout=10.0,
    )
    assert [r.id for r in iter_records(tmp_path / "out.jsonl")] == ["good"]
    assert [(p.line, p.field) for p in result.skipped] == [(1, "image_01_path")]


def test_an_image_over_the_bomb_limit_is_a_line_error_in_score(tmp_path: Path) -> None:
    bomb(tmp_path / "images" / "c" / "1.png")
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(["images/c/1.png"])])
    args = ["score", str(preds), "--rubric", "twi", "--images", str(tmp_path)]
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "r.jsonl")])
    assert done.exit_code == 2, done.output
    (line,) = done.output.strip().splitlines()
    assert f"{preds}:1: field 'image_01_path': " in line and "decompression-bomb" in line


def test_an_image_over_the_bomb_limit_stops_annotate_at_its_line(tmp_path: Path) -> None:
    bomb(tmp_path / "images" / "c" / "1.png")
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(["images/c/1.png"])])
    with pytest.raises(InputError) as caught:
        open_study(preds, "ddx", ["alice"], 1, db=tmp_path / "a.sqlite", images=tmp_path)
    assert str(caught.value).startswith(f"{preds}:1: field 'image_01_path': ")


def test_a_file_that_became_a_bomb_after_validation_is_no_traceback(tmp_path: Path) -> None:
    # Between the check and the use, the file is replaced: the rating page sends nothing, and
    # a judge's call names the file.
    file = bomb(tmp_path / "images" / "c" / "1.png")
    assert image_bytes(file) is None
    noise(tmp_path / "images" / "c" / "2.png", (8, 8))
    row = judge.Prediction.model_validate(case(["images/c/2.png"]))
    found = ImageRoot(tmp_path).images(row)
    bomb(tmp_path / "images" / "c" / "2.png")
    with pytest.raises(InputError, match=r"image_01_path.*decompression-bomb"):
        encode_images(found)
