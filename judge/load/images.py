"""A case's image files under `--images DIR`: where each `image_NN_path` resolves, never
outside DIR.

MedThinkVQA names its images relative to the dataset root (`images/case00001/3.jpg`). DIR may
be that root or its `images/` folder, and a path may be spelled with or without the leading
`images/`: a path is looked up as DIR/path first, then as DIR/<path without `images/`> (or
DIR/images/path, for a path without it); the first regular file found is the image. A path is
refused when it is absolute or resolves (`..`, symlinks followed) outside DIR: a case file
cannot make `judge` read, send or serve any other file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from judge.contracts import ImageInfo, Prediction
from judge.errors import ConfigError

__all__ = ["CaseImage", "ImageRoot"]


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
        is not an image Pillow reads (its header is read, not the whole file), or None."""
        from PIL import Image, UnidentifiedImageError

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
            try:
                with Image.open(file):
                    pass
            except (UnidentifiedImageError, OSError) as exc:
                return field, f"image {info.path!r} is not an image Pillow reads ({exc})"
        return None
