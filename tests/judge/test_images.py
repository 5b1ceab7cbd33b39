"""A case's images (`--images DIR`): where `image_NN_path` resolves and what is refused, the
error for a missing file, and what judges are sent over real HTTP (tests/llm_server.py):
image content parts for a vision model, captions for the others, the record saying which.

Every image is drawn by the tests with Pillow (no dataset image is copied).
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import judge
from judge.contracts import Prediction, Rubric
from judge.errors import ConfigError, InputError
from judge.judging.images import CALL_BUDGET, MAX_SIDE, encode_images
from judge.load.images import ImageRoot
from judge.load.rubric import load_rubric
from judge.store.cache import cache_key
from tests.llm_server import LLMServer

# litellm's local model map marks the first as vision-capable and the second as not.
VISION = "openai/gpt-4o"
TEXT_ONLY = "openai/gpt-3.5-turbo"
CASE_DIR = "case00042"


def noise(path: Path, size: tuple[int, int]) -> Path:
    """A synthetic image of random pixels (it compresses badly: the byte budget is tested)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    small = Image.effect_noise((max(size[0] // 4, 1), max(size[1] // 4, 1)), 100)
    small.resize(size, Image.Resampling.NEAREST).convert("RGB").save(path, compress_level=1)
    return path


def dataset(root: Path, n: int = 2, size: tuple[int, int] = (1800, 1200)) -> list[str]:
    """A dataset root laid out as MedThinkVQA's: images/caseXXXXX/<id>.png; the paths."""
    paths = []
    for i in range(1, n + 1):
        relative = f"images/{CASE_DIR}/{i}.png"
        noise(root / relative, size)
        paths.append(relative)
    return paths


def case(paths: list[str], **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": "case with images",
        "CLINICAL_HISTORY": "A 40-year-old with cough.",
        "options": {k: f"diagnosis {k}" for k in "ABCDE"},
        "correct_answer": "A",
        "prediction": "A",
        "prediction_rationale": "The images show a right upper lobe mass, so A (diagnosis A).",
    }
    for i, path in enumerate(paths, start=1):
        row[f"image_{i:02d}_path"] = path
        row[f"image_{i:02d}_caption"] = f"Caption of image {i}"
        row[f"image_{i:02d}_modality"] = "CT"
    return row | extra


def with_images(rubric: str = "ddx") -> Rubric:
    base = load_rubric(rubric)
    return Rubric.model_validate(base.model_dump() | {"context": [*base.context, "images"]})


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- resolving paths


def test_a_path_resolves_from_the_dataset_root_or_its_images_folder(tmp_path: Path) -> None:
    (first,) = dataset(tmp_path, n=1, size=(8, 8))
    inner = first.removeprefix("images/")  # case00042/1.png
    for root in (tmp_path, tmp_path / "images"):
        images = ImageRoot(root)
        assert images.find(first) == (tmp_path / first).resolve()
        assert images.find(inner) == (tmp_path / first).resolve()
    assert ImageRoot(tmp_path).find("images/case00042/absent.png") is None


def test_paths_outside_the_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    dataset(root, n=1, size=(8, 8))
    secret = noise(tmp_path / "secret.png", (8, 8))
    (root / "images" / "link.png").symlink_to(secret)
    (root / "images" / "outside").symlink_to(tmp_path)
    images = ImageRoot(root)
    for path in (
        "../secret.png",
        "images/../../secret.png",
        "images/case00042/../../../secret.png",
        str(secret),  # absolute
        "/etc/passwd",
        "C:\\secret.png",
        "images/link.png",  # a symlink out of the root
        "images/outside/secret.png",  # a symlinked folder out of the root
        "images/case00042",  # a folder, not a file
        "images/case00042/1.png\0",
        "",
    ):
        assert images.find(path) is None, path
    # A `..` that stays inside the root is only a longer spelling.
    assert images.find("images/case00042/../case00042/1.png") is not None


def test_an_images_option_naming_no_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        judge.score([case([])], "twi", images=tmp_path / "absent")


def test_image_info_carries_the_path_and_its_field() -> None:
    p = Prediction.model_validate(case(["images/case1/1.jpg", ""]))
    first, second = p.images
    assert (first.path, first.path_field, first.caption) == (
        "images/case1/1.jpg",
        "image_01_path",
        "Caption of image 1",
    )
    assert second.path is None  # an empty path names no file
    assert "image_01_path" not in p.metadata() and p.metadata()["image_count"] == 2


# ---------------------------------------------------------------- a missing file


def test_a_missing_image_stops_the_run_before_any_call(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    paths = dataset(tmp_path / "data", n=2, size=(16, 16))
    rows = [case(paths, title="one"), case([paths[0], "images/case00042/9.png"], title="two")]
    preds = write_jsonl(tmp_path / "preds.jsonl", rows)
    with pytest.raises(InputError) as caught:
        judge.score(
            preds,
            with_images(),
            judges=[VISION],
            api_base=llm_server.url,
            images=tmp_path / "data",
            out=tmp_path / "out.jsonl",
        )
    assert str(caught.value).startswith(f"{preds}:2: field 'image_02_path': ")
    assert "images/case00042/9.png" in str(caught.value) and "\n" not in str(caught.value)
    assert llm_server.requests == []


def test_an_escaping_path_is_reported_like_a_missing_file(tmp_path: Path) -> None:
    dataset(tmp_path / "data", n=1, size=(8, 8))
    noise(tmp_path / "secret.png", (8, 8))
    report = judge.load.inputs.validate_items(
        [case(["../secret.png"])], images=ImageRoot(tmp_path / "data")
    )
    assert [(p.line, p.field) for p in report.problems] == [(1, "image_01_path")]


# ---------------------------------------------------------------- what the judges are sent


def _decoded(part: dict[str, Any]) -> tuple[Image.Image, int]:
    url = part["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    return Image.open(io.BytesIO(data)), len(data)


def _requests_of(server: LLMServer, model: str) -> list[dict[str, Any]]:
    return [
        r.body
        for r in server.requests
        if r.path.endswith("/chat/completions") and r.body["model"] == model.split("/", 1)[1]
    ]


def test_a_vision_judge_gets_the_images_and_a_text_judge_the_captions(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    paths = dataset(tmp_path / "data", n=3)
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(paths)])
    result = judge.score(
        preds,
        with_images(),
        judges=[VISION, TEXT_ONLY],
        api_base=llm_server.url,
        images=tmp_path / "data",
        timeout=60.0,
    )
    (record,) = result.records
    # (two judges may tie on a binary criterion: not every score is set; and the test server
    # may answer ddx 1.1's "N/A" where a criterion allows it, which is unscored by design)
    unscored = [
        (j.criterion, j.judge, j.reason)
        for j in record.judgments
        if j.status != "scored" and not (j.reason or "").startswith("not applicable")
    ]
    assert unscored == []
    assert record.saw_images == [VISION]
    (vision,) = _requests_of(llm_server, VISION)
    (text,) = _requests_of(llm_server, TEXT_ONLY)
    # The text-only judge: one text message, the captions in it.
    user = text["messages"][-1]
    assert isinstance(user["content"], str) and "Caption of image 2" in user["content"]
    # The vision judge: the same text first, then each image after its label.
    parts = vision["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": user["content"]}
    labels = [p["text"] for p in parts[1:] if p["type"] == "text"]
    images = [p for p in parts if p["type"] == "image_url"]
    assert labels == ["Image 1 (CT)", "Image 2 (CT)", "Image 3 (CT)"] and len(images) == 3
    total = 0
    for part in images:
        picture, nbytes = _decoded(part)
        assert max(picture.size) <= MAX_SIDE and picture.size[0] > picture.size[1]
        total += nbytes
    assert total <= CALL_BUDGET


def test_without_a_vision_judge_or_images_context_no_image_is_sent(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    paths = dataset(tmp_path / "data", n=1, size=(64, 64))
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(paths)])
    common = {"api_base": llm_server.url, "images": tmp_path / "data", "cache": False}
    plain = judge.score(preds, "ddx", judges=[VISION], **common)  # ddx shows captions only
    texts = judge.score(preds, with_images(), judges=[TEXT_ONLY], **common)
    assert plain.records[0].saw_images == [] and texts.records[0].saw_images == []
    assert any("supporting vision" in n for n in texts.notices)
    assert not any("vision" in n or "--images" in n for n in plain.notices)
    del common["images"]
    unfound = judge.score(preds, with_images(), judges=[VISION], **common)
    assert unfound.records[0].saw_images == []
    assert any("no --images DIR was given" in n for n in unfound.notices)
    for body in _requests_of(llm_server, VISION) + _requests_of(llm_server, TEXT_ONLY):
        assert all(isinstance(m["content"], str) for m in body["messages"])


def test_old_records_without_the_field_still_read() -> None:
    result = judge.score([case([])], "twi")
    old = result.records[0].model_dump(mode="json")
    del old["saw_images"]
    assert judge.contracts.ResultRecord.model_validate(old).saw_images == []


def test_many_large_images_fit_the_budget_and_the_side() -> None:
    root = Path(os.environ["JUDGE_HOME"]).parent / "many"
    paths = dataset(root, n=12, size=(1200, 1200))
    images = ImageRoot(root).images(Prediction.model_validate(case(paths)))
    budget = 400_000
    encoded = encode_images(images, max_side=800, budget=budget)
    assert len(encoded) == 12
    assert sum(e.nbytes for e in encoded) <= budget
    assert all(max(e.width, e.height) <= 800 for e in encoded)
    # Noise does not fit 33 kB at 800 px even at the lowest quality: the images were made
    # smaller, not dropped.
    assert max(e.width for e in encoded) < 800


def test_an_unreadable_image_names_its_field(tmp_path: Path) -> None:
    (tmp_path / "images" / CASE_DIR).mkdir(parents=True)
    (tmp_path / "images" / CASE_DIR / "1.png").write_bytes(b"not an image")
    row = Prediction.model_validate(case([f"images/{CASE_DIR}/1.png"]))
    root = ImageRoot(tmp_path)
    # Found before anything is judged, as a missing file is.
    field, message = root.problem(row) or ("", "")
    assert field == "image_01_path" and "not an image Pillow reads" in message
    with pytest.raises(InputError, match=r"image_01_path.*not an image Pillow reads"):
        encode_images(root.images(row))


# ---------------------------------------------------------------- the cache key


def test_the_cache_key_changes_with_one_pixel_of_one_image(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    paths = dataset(tmp_path / "data", n=2, size=(200, 120))
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(paths)])
    options = {
        "judges": [VISION, TEXT_ONLY],
        "api_base": llm_server.url,
        "images": tmp_path / "data",
    }
    judge.score(preds, with_images(), **options)
    assert judge.run.plan(preds, with_images(), **options).estimate.cached == 2
    # One pixel of the second image changes: the vision judge's call is new, the text
    # judge's (captions only) is still answered by the cache.
    file = tmp_path / "data" / paths[1]
    picture = Image.open(file).convert("RGB")
    r, g, b = picture.getpixel((100, 60))  # type: ignore[misc]
    picture.putpixel((100, 60), (255 - r, 255 - g, 255 - b))
    picture.save(file)
    again = judge.run.plan(preds, with_images(), **options).estimate
    assert (again.calls, again.cached) == (2, 1)


def test_a_key_hashes_an_image_part_by_its_bytes_and_text_as_before() -> None:
    def message(url: str) -> list[dict[str, Any]]:
        parts = [{"type": "text", "text": "t"}, {"type": "image_url", "image_url": {"url": url}}]
        return [{"role": "user", "content": parts}]

    one, other = "data:image/jpeg;base64,AAAA", "data:image/jpeg;base64,AAAB"
    assert cache_key("m", {}, message(one), {}) != cache_key("m", {}, message(other), {})
    assert cache_key("m", {}, message(one), {}) == cache_key("m", {}, message(one), {})
    text = [{"role": "user", "content": "t"}]
    assert cache_key("m", {}, text, {}) != cache_key("m", {}, message(one), {})


# ---------------------------------------------------------------- staged rubrics and the CLI


def test_a_staged_rubric_sends_images_only_in_stages_that_show_them(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    from test_stages import FACTUAL, scripted

    llm_server.script = scripted([FACTUAL, FACTUAL, FACTUAL])
    paths = dataset(tmp_path / "data", n=1, size=(300, 200))
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(paths)])
    result = judge.score(
        preds,
        with_images("ddx-steps"),  # the splitter's own context has no images; the judges' has
        judges=[VISION],
        api_base=llm_server.url,
        images=tmp_path / "data",
    )
    assert result.records[0].saw_images == [VISION]
    splitter, step_judge = _requests_of(llm_server, VISION)
    assert isinstance(splitter["messages"][-1]["content"], str)
    parts = step_judge["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "text", "image_url"]


def test_the_cli_takes_images_and_says_a_missing_one_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from judge.cli import cli

    (tmp_path / "images").mkdir()
    preds = write_jsonl(tmp_path / "preds.jsonl", [case(["images/case1/1.png"])])
    args = ["score", str(preds), "--rubric", "twi", "--images", str(tmp_path)]
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "r.jsonl")])
    assert done.exit_code == 2
    (line,) = done.output.strip().splitlines()  # one line
    assert f"{preds}:1: field 'image_01_path': image 'images/case1/1.png' not found" in line
    assert not (tmp_path / "r.jsonl").exists()
    noise(tmp_path / "images" / "case1" / "1.png", (8, 8))
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "r.jsonl")])
    assert done.exit_code == 0, done.output
