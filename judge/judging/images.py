"""A case's images as a vision judge receives them: JPEG data URIs in OpenAI-style image
content parts (litellm passes that shape on to every vision provider), downscaled with Pillow.

Two bounds, both constants because they follow the providers' limits rather than a user's
taste (and both are part of what a call sends, so of its cache key):

- `MAX_SIDE`: an image's longest side, in pixels. 1024 keeps detail a radiograph needs while
  staying under what providers resize to anyway (OpenAI's high detail tiles at 768 on the
  short side, Anthropic downsizes past 1568 on the long side).
- `CALL_BUDGET`: the JPEG bytes of all of one call's images together. 3 MB (4 MB once base64
  encoded) is below every provider's request limit (Anthropic: 5 MB per image, 32 MB per
  request; OpenAI: 20 MB per image) and leaves room for a case of 49 images: each gets an
  equal share, and is re-encoded at lower quality, then smaller, until it fits.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from judge.load.images import CaseImage, decode_errors, why_unreadable

__all__ = ["CALL_BUDGET", "MAX_SIDE", "EncodedImage", "Sight", "encode_images", "with_images"]

MAX_SIDE = 1024
CALL_BUDGET = 3_000_000
# JPEG qualities tried at each size before the size is made smaller; JPEG bytes grow about
# with the pixel count, so a side shrinks by the square root of how far it missed (at least
# by `_SHRINK`), which reaches a fitting size in a few tries.
_QUALITIES = (85, 70, 50)
_SHRINK = 0.9
_MIN_SIDE = 32


@dataclass(frozen=True)
class EncodedImage:
    """One image as sent: its label (`Image 2 (CT)`), data URI, pixel size and JPEG bytes."""

    label: str
    url: str
    width: int
    height: int
    nbytes: int


def encode_images(
    images: list[CaseImage], max_side: int = MAX_SIDE, budget: int = CALL_BUDGET
) -> list[EncodedImage]:
    """The case's images downscaled to `max_side` and, together, within `budget` bytes.

    An image that does not fit its share even at the smallest size is left out (its caption
    still reaches the judge). A file Pillow cannot read is an InputError naming it.
    """
    if not images:
        return []
    share = budget // len(images)
    encoded = []
    for image in images:
        found = _encode(image, max_side, share)
        if found is not None:
            encoded.append(found)
    return encoded


def _encode(image: CaseImage, max_side: int, share: int) -> EncodedImage | None:
    from PIL import Image

    from judge.errors import InputError

    try:
        with Image.open(image.file) as opened:
            opened.load()
            picture = opened.convert("RGB")
    except decode_errors() as exc:  # the file changed since the line was validated
        field = image.info.path_field or f"image_{image.info.index:02d}"
        raise InputError(str(image.file), None, why_unreadable(exc), field) from exc
    side = max_side
    while side >= _MIN_SIDE:
        scaled = picture.copy()
        scaled.thumbnail((side, side))  # keeps the aspect ratio, never enlarges
        for quality in _QUALITIES:
            buffer = io.BytesIO()
            scaled.save(buffer, format="JPEG", quality=quality)
            data = buffer.getvalue()
            if len(data) <= share:
                url = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
                label = f"Image {image.info.index}" + (
                    f" ({image.info.modality})" if image.info.modality else ""
                )
                return EncodedImage(label, url, scaled.width, scaled.height, len(data))
        side = min(int(max(scaled.size) * min(_SHRINK, (share / len(data)) ** 0.5)), side - 1)
    return None


def with_images(messages: list[dict[str, Any]], images: list[EncodedImage]) -> list[dict[str, Any]]:
    """`messages` with the images appended to the last user message, each after its label,
    as OpenAI-style content parts (the text comes first, unchanged)."""
    if not images:
        return messages
    parts: list[dict[str, Any]] = []
    for image in images:
        parts.append({"type": "text", "text": image.label})
        parts.append({"type": "image_url", "image_url": {"url": image.url}})
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    user = messages[last]
    content = [{"type": "text", "text": user["content"]}, *parts]
    return [*messages[:last], {**user, "content": content}, *messages[last + 1 :]]


@dataclass
class Sight:
    """One item's images and the judges that are sent them (`vision`: the judges litellm
    reports as supporting vision); `saw` collects the judges a call sent them to, for the
    record. Without images every judge gets the messages as they are (captions)."""

    images: list[EncodedImage] = field(default_factory=list)
    vision: frozenset[str] = frozenset()
    saw: set[str] = field(default_factory=set)

    def messages(self, messages: list[dict[str, Any]], judge: str) -> list[dict[str, Any]]:
        """What `judge` is sent: `messages`, with the images when it sees them."""
        if not self.images or judge not in self.vision:
            return messages
        self.saw.add(judge)
        return with_images(messages, self.images)
