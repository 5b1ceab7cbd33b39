"""A case's image files under `--images DIR`: where each `image_NN_path` resolves, never
outside DIR.

MedThinkVQA names its images relative to the dataset root (`images/case00001/3.jpg`). DIR may
be that root or its `images/` folder, and a path may be spelled with or without the leading
`images/`: a path is looked up as DIR/path first, then as DIR/<path without `images/`> (or
DIR/images/path, for a path without it); the first regular file found is the image. A path is
refused when it is absolute or resolves (`..`, symlinks followed) outside DIR: a case file
cannot make `judge` read, send or serve any other file.

A file must also be a whole image Pillow decodes: one cut short, corrupt or over Pillow's
decompression-bomb limit is the line's problem when it is validated, not a failure at judge
time (which `--skip-invalid` could not skip).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from judge.contracts import ImageInfo, Prediction
from judge.errors import ConfigError

__all__ = ["CaseImage", "ImageRoot", "decode_errors", "unreadable", "why_unreadable"]


@dataclass(frozen=True)
class CaseImage:
    """One image of a case with its file, resolved under the image root."""

    info: ImageInfo
    file: Path


class ImageRoot:
    """The folder `--images` names; resolves case paths inside it and nowhere else."""

    def __init__(self, root: str | Path):
        given = Path(root).expanduser()
        if not given.is_dir():
            raise ConfigError(f"--images {root}: no such folder")
        self.root = given.resolve()

    @classmethod
    def of(cls, setting: str | Path | None) -> ImageRoot | None:
        """The root an `images` run option names, or None when it names none."""
        return None if setting is None else cls(setting)

    def __repr__(self) -> str:
        return f"ImageRoot({str(self.root)!r})"

    def find(self, relative: str) -> Path | None:
        """The regular file `relative` names inside the root, or None: absent, absolute,
        or outside the root once `..` and symlinks are resolved."""
        text = relative.strip().replace("\\", "/")
        if not text or PurePosixPath(text).is_absolute() or PureWindowsPath(text).drive:
            return None
        parts = PurePosixPath(text).parts
        inner = len(parts) > 1 and parts[0] == "images"
        candidates = [parts, parts[1:] if inner else ("images", *parts)]
        for candidate in candidates:
            path = self.root.joinpath(*candidate)
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError, ValueError):  # absent, a symlink loop, a NUL byte
                continue
            if resolved.is_relative_to(self.root) and resolved.is_file():
                return resolved
        return None

    def images(self, prediction: Prediction) -> list[CaseImage]:
        """The case's images that have a file here, in image order."""
        found = []
        for info in prediction.images:
            file = self.find(info.path) if info.path else None
            if file is not None:
                found.append(CaseImage(info, file))
        return found

    def problem(self, prediction: Prediction) -> tuple[str, str] | None:
        """(field, message) of the case's first image path with no file here, or whose file
        is not a whole image Pillow reads (decoded to its last byte), or None."""
        for info in prediction.images:
            if not info.path:
                continue
            field = info.path_field or f"image_{info.index:02d}_path"
            file = self.find(info.path)
            if file is None:
                return field, (
                    f"image {info.path!r} not found under --images {self.root} "
                    "(or it points outside that folder)"
                )
            why = unreadable(file)
            if why is not None:
                return field, f"image {info.path!r} is {why}"
        return None


def decode_errors() -> tuple[type[Exception], ...]:
    """What Pillow raises for a file that is not a whole image it reads: unidentified, cut
    short, corrupt, or over its decompression-bomb limit (a hostile file's errors included)."""
    from PIL import Image

    return (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


def why_unreadable(exc: Exception) -> str:
    """What is wrong with an image file, from the error Pillow raised for it."""
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError):
        return f"over Pillow's decompression-bomb limit ({exc})"
    return f"not an image Pillow reads ({exc})"


def unreadable(file: Path) -> str | None:
    """Why Pillow cannot decode the whole of `file`, or None. A file is decoded once per
    version (its mtime and size): a run's two passes over the cases decode it once."""
    try:
        stat = file.stat()
    except OSError as exc:
        return f"not readable ({exc.strerror or exc})"
    return _decode_problem(str(file), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=65536)
def _decode_problem(file: str, mtime_ns: int, size: int) -> str | None:
    # Reading the header only would pass a file cut short, which then fails at judge time.
    from PIL import Image

    try:
        with Image.open(file) as opened:
            opened.draft(None, (1, 1))  # a JPEG decodes at 1/8 scale, every byte still read
            opened.load()
    except decode_errors() as exc:
        return why_unreadable(exc)
    return None
