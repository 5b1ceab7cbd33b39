"""Load rubrics: built-in ids from the packaged `rubrics/` folder, or a user's YAML file.

YAML is parsed to a node tree first so that a validation error can be reported at the
file:line of the offending key, not just as a pydantic path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from judge.contracts import Rubric
from judge.errors import RubricError

__all__ = ["builtin_rubrics", "load_rubric", "rubric_hash"]


def _builtin_dir() -> Path:
    # In a wheel the rubrics are packaged at judge/rubrics; in a source checkout (and an
    # editable install) they are the top-level rubrics/ folder beside the package.
    package = Path(__file__).resolve().parent.parent
    packaged = package / "rubrics"
    if packaged.is_dir():
        return packaged
    return package.parent / "rubrics"


def builtin_rubrics() -> dict[str, Path]:
    """Built-in rubric ids and their files."""
    return {p.stem: p for p in sorted(_builtin_dir().glob("*.yaml"))}


def load_rubric(id_or_path: str | Path) -> Rubric:
    """Load a rubric by built-in id (`ddx`) or from a YAML file path, validated."""
    text = str(id_or_path)
    builtins = builtin_rubrics()
    if text in builtins:
        path = builtins[text]
    else:
        path = Path(text)
        if not path.is_file():
            known = ", ".join(builtins) or "none"
            raise RubricError(text, None, f"no such rubric (built-in ids: {known})")
    return _load_file(path)


# Rubric fields added after results existed: left out of the hash while unset, so adding
# them did not change the hash of a rubric that does not use them (no needless re-judging).
_LATER_FIELDS = ("stages", "measure", "when")


def rubric_hash(rubric: Rubric) -> str:
    """A hash of the rubric's content (not its formatting), recorded in every result."""
    content = _without_unset_later(rubric.model_dump(mode="json"))
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _without_unset_later(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_unset_later(v)
            for k, v in node.items()
            if not (k in _LATER_FIELDS and v in (None, []))
        }
    if isinstance(node, list):
        return [_without_unset_later(v) for v in node]
    return node


def _load_file(path: Path) -> Rubric:
    source = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RubricError(str(path), line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise RubricError(str(path), 1, "a rubric must be a YAML mapping")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        loc = tuple(errors[0]["loc"])
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise RubricError(
            str(path), _line_of(node, loc), errors[0]["msg"] + more, field=_dotted(loc)
        ) from exc


def _dotted(loc: tuple[Any, ...]) -> str:
    # Drop pydantic's discriminator tags ('ordinal', 'binary') that are not YAML keys.
    parts = [str(p) for p in loc if p not in ("ordinal", "binary", "categorical", "continuous")]
    return ".".join(parts) if parts else "<root>"


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (deepest one found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = _child(node, part)
        if child is None:
            continue  # a discriminator tag or a missing key: stay at the parent
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return value if not isinstance(value, yaml.ScalarNode) else key
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None
