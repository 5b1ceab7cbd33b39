"""`judge annotate --images DIR`: each case's images beside their captions, served under the
rater's token only and never from outside DIR, over real HTTP (httpx, and http.client for
paths no client would normalise); and in chromium, a thumbnail opens the viewer and the arrow
keys step through the images.

The images are drawn by the tests with Pillow (no dataset image is copied).
"""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import Study, open_study
from judge.errors import InputError
from tests.browser import ARGS, CHROMIUM

PAYLOAD = '<img src=x onerror="window.__pwned=1" id="pwn">'
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


def _row(title: str, n_images: int, case_dir: str) -> dict[str, object]:
    row: dict[str, object] = {
        "title": title,
        "CLINICAL_HISTORY": "A 50-year-old with cough.",
        "options": {k: f"diagnosis {k}" for k in "ABCDE"},
        "correct_answer": "A",
        "prediction": "A",
        "prediction_rationale": "A mass in the right upper lobe: A.",
    }
    for i in range(1, n_images + 1):
        # Both spellings a dataset uses: with and without the leading images/.
        prefix = "images/" if i % 2 else ""
        row[f"image_{i:02d}_path"] = f"{prefix}{case_dir}/{i}.png"
        row[f"image_{i:02d}_caption"] = f"Caption {i} {PAYLOAD}"
        row[f"image_{i:02d}_modality"] = ["CT", "MRI", "X-ray"][i - 1]
    return row


@dataclass
class ImageLive:
    server: AnnotationServer
    study: Study
    links: dict[str, str]
    root: Path
    secret: Path

    def get(self, rater: str, rest: str) -> httpx.Response:
        return httpx.get(self.links[rater] + rest)

    def raw(self, path: str) -> int:
        """The status of a GET of `path` sent exactly as written (no dot-segment removal)."""
        url = httpx.URL(self.server.url)
        conn = http.client.HTTPConnection(url.host, url.port, timeout=120)
        try:
            conn.request("GET", path, headers={"Host": f"{url.host}:{url.port}"})
            return conn.getresponse().status
        finally:
            conn.close()


@pytest.fixture
def image_live(tmp_path: Path) -> Iterator[ImageLive]:
    """Two items, one rater each (alice: item 1 with 3 images; bob: item 2 with 1)."""
    root = tmp_path / "dataset"
    for case_dir, count in (("case00001", 3), ("case00002", 1)):
        (root / "images" / case_dir).mkdir(parents=True)
        for i in range(1, count + 1):
            picture = Image.new("RGB", (320 + 40 * i, 200), COLOURS[i - 1])
            picture.save(root / "images" / case_dir / f"{i}.png")
    secret = tmp_path / "secret.png"
    Image.new("RGB", (10, 10)).save(secret)
    preds = tmp_path / "preds.jsonl"
    rows = [_row("first", 3, "case00001"), _row("second", 1, "case00002")]
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    study = open_study(
        preds, "ddx", ["alice", "bob"], 1, db=tmp_path / "a.sqlite", images=root / "images"
    )
    server = AnnotationServer(study).start()
    try:
        yield ImageLive(server, study, rater_links(study, server.url), root, secret)
    finally:
        server.stop()
        study.store.close()


def test_the_page_shows_each_image_beside_its_caption_escaped(image_live: ImageLive) -> None:
    page = image_live.get("alice", "items/1")
    assert page.status_code == 200
    html = page.text
    assert html.count('class="thumb"') == 3
    assert "Caption 2 &lt;img src=x" in html and PAYLOAD not in html
    assert "MRI 2" in html and "X-ray 3" in html


def test_images_are_served_with_their_content_type(image_live: ImageLive) -> None:
    for k in (1, 2, 3):
        got = image_live.get("alice", f"items/1/images/{k}")
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(got.content)).size == (320 + 40 * k, 200)
        assert got.headers["x-content-type-options"] == "nosniff"
    # A JPEG (whatever its name says) is sent as one; a TIFF, which browsers do not show, as PNG.
    case_dir = image_live.root / "images" / "case00001"
    Image.new("RGB", (8, 8)).save(case_dir / "1.png", format="JPEG")
    Image.new("RGB", (8, 8)).save(case_dir / "2.png", format="TIFF")
    assert image_live.get("alice", "items/1/images/1").headers["content-type"] == "image/jpeg"
    tiff = image_live.get("alice", "items/1/images/2")
    assert tiff.headers["content-type"] == "image/png" and tiff.content[:4] == b"\x89PNG"


def test_only_the_raters_own_items_and_a_token_reach_an_image(image_live: ImageLive) -> None:
    alice = httpx.URL(image_live.links["alice"]).path
    assert image_live.get("bob", "items/1/images/1").status_code == 200  # bob's item 1
    assert image_live.get("bob", "items/2/images/1").status_code == 404  # not in his queue
    assert image_live.get("alice", "items/1/images/4").status_code == 404  # no such image
    assert image_live.raw("/r/not-a-token/items/1/images/1") == 403
    assert image_live.raw(alice.replace("/r/", "/r/x") + "items/1/images/1") == 403
    assert image_live.raw(f"{alice}items/1/images/1") == 200


def test_no_path_reaches_a_file_outside_the_image_root(image_live: ImageLive) -> None:
    alice = httpx.URL(image_live.links["alice"]).path
    secret = str(image_live.secret)
    for path in (
        f"{alice}items/1/images/../../../../secret.png",
        f"{alice}items/1/images/..%2F..%2F..%2Fsecret.png",
        f"{alice}items/1/images/%2e%2e%2fsecret.png",
        f"{alice}items/1/images/{secret}",
        f"{alice}items/1/images/%2F{secret.lstrip('/')}",
        f"{alice}items/1/images/1%2F..%2F..%2Fsecret.png",
        f"{alice}items/../../../secret.png",
        f"{alice}static/..%2F..%2F..%2Fsecret.png",
        f"{alice}items/1/images/-1",
        f"{alice}items/0/images/1",
    ):
        assert image_live.raw(path) in (403, 404), path
    # An image file swapped for a symlink out of the root after the study started.
    target = image_live.root / "images" / "case00001" / "3.png"
    target.unlink()
    target.symlink_to(image_live.secret)
    assert image_live.get("alice", "items/1/images/3").status_code == 404
    assert image_live.get("alice", "items/1/images/1").status_code == 200


def test_a_study_whose_image_is_missing_does_not_start(tmp_path: Path) -> None:
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps(_row("first", 1, "case00009")) + "\n")
    (tmp_path / "images").mkdir()
    with pytest.raises(InputError) as caught:
        open_study(preds, "ddx", ["alice"], 1, db=tmp_path / "a.sqlite", images=tmp_path)
    assert str(caught.value).startswith(f"{preds}:1: field 'image_01_path': ")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_a_thumbnail_opens_the_viewer_and_arrows_step_through(image_live: ImageLive) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(image_live.links["alice"] + "items/1")
            page.wait_for_load_state("load")
            # Thumbnails are lazy (loading="lazy"): the load event does not wait for them, so
            # wait until each has loaded or failed (on a busy machine they came after it).
            page.wait_for_function(
                "[...document.querySelectorAll('a.thumb img')].every(i => i.complete)"
            )
            # Every thumbnail loaded (CSP img-src 'self' lets them in).
            widths = page.eval_on_selector_all("a.thumb img", "els => els.map(e => e.naturalWidth)")
            assert widths == [360, 400, 440]
            viewer = page.locator("#viewer")
            assert not viewer.is_visible()
            page.locator("a.thumb").nth(1).click()
            assert viewer.is_visible()

            def shown() -> tuple[str, int, str]:
                page.wait_for_function(
                    "document.getElementById('viewer-image').complete && "
                    "document.getElementById('viewer-image').naturalWidth > 0"
                )
                src = page.locator("#viewer-image").get_attribute("src") or ""
                width = page.evaluate("document.getElementById('viewer-image').naturalWidth")
                return src.rsplit("/", 1)[1], width, page.locator("#viewer-caption").inner_text()

            assert shown()[:2] == ("2", 400)
            assert shown()[2].startswith("2 of 3 · MRI 2 Caption 2 <img")  # text, not markup
            page.keyboard.press("ArrowRight")
            assert shown()[:2] == ("3", 440)
            page.keyboard.press("ArrowRight")  # wraps around
            assert shown()[:2] == ("1", 360)
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            assert shown()[:2] == ("2", 400)
            # Rating keys do nothing while the viewer is open; Esc closes it.
            page.keyboard.press("4")
            assert page.locator("input:checked").count() == 0
            page.keyboard.press("Escape")
            assert not viewer.is_visible()
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator("#pwn").count() == 0
            assert errors == []
        finally:
            browser.close()
