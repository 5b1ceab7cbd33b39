"""The case images the rating page shows, served by number, never by path.

A URL names an item of the rater's queue and an image number (`/r/<token>/items/3/images/2`),
never a file: the file is the one that image's `image_NN_path` resolves to under `--images`
(judge.load.images: nothing outside that folder, symlinks included). Formats a browser shows
are sent as they are, with their own content type (read from the file, not its name); any
other format Pillow reads (TIFF, say) is sent as PNG.
"""

from __future__ import annotations

import io
from pathlib import Path

from judge.contracts import Prediction
from judge.load.images import ImageRoot, decode_errors

__all__ = ["image_bytes", "image_file"]

# Pillow's format names of what browsers display, and their content types.
_SHOWN = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


def image_file(root: ImageRoot | None, prediction: Prediction, index: int) -> Path | None:
    """The file of image `index` of the case, or None (no --images, no such image, no file)."""
    if root is None:
        return None
    return next(
        (found.file for found in root.images(prediction) if found.info.index == index), None
    )


def image_bytes(file: Path) -> tuple[bytes, str] | None:
    """The bytes to send for an image file and their content type; None when Pillow cannot
    read it."""
    from PIL import Image

    try:
        with Image.open(file) as opened:
            kind = _SHOWN.get(opened.format or "")
            if kind is not None:
                return file.read_bytes(), kind
            buffer = io.BytesIO()
            opened.save(buffer, format="PNG")
            return buffer.getvalue(), "image/png"
    except decode_errors():
        return None
