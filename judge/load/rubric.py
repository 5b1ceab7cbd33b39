"""Load rubrics: built-in ids from the packaged `rubrics/` folder, or a user's YAML file.

YAML is parsed to a node tree first so that a validation error can be reported at the
file:line of the offending key, not just as a pydantic path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from judge.contracts import Rubric, Scale
from judge.errors import InputError, RubricError
from judge.load.lines import decoded, not_regular, wide_text

__all__ = [
    "builtin_dir",
    "builtin_rubrics",
    "line_of",
    "load_rubric",
    "load_yaml_model",
    "rubric_hash",
    "rubric_of_records",
]


M = TypeVar("M", bound=BaseModel)


def builtin_dir() -> Path:
    """The folder of the built-in rubrics (and their test banks in `bank/`)."""
    # In a wheel the rubrics are packaged at judge/rubrics; in a source checkout (and an
    # editable install) they are the top-level rubrics/ folder beside the package.
    package = Path(__file__).resolve().parent.parent
    packaged = package / "rubrics"
    if packaged.is_dir():
        return packaged
    return package.parent / "rubrics"


def builtin_rubrics() -> dict[str, Path]:
    """Built-in rubric ids and their files."""
    return {p.stem: p for p in sorted(builtin_dir().glob("*.yaml"))}


def load_rubric(id_or_path: str | Path) -> Rubric:
    """Load a rubric by built-in id (`ddx`) or from a YAML file path, validated."""
    text = str(id_or_path)
    builtins = builtin_rubrics()
    if text in builtins:
        path = builtins[text]
    else:
        path = Path(text)
        problem = not_regular(path)
        if problem is not None and path.exists():
            raise RubricError(text, None, problem)
        if problem is not None:
            known = ", ".join(builtins) or "none"
            raise RubricError(text, None, f"no such rubric (built-in ids: {known})")
    return _load_file(path)


def rubric_of_records(
    ids: Iterable[str], rubric: str | Path | Rubric | None, source: str
) -> Rubric | None:
    """The rubric a results file's records were judged with: the caller's (`--rubric`, an id or
    a file), else the built-in rubric the records name (`ids`, their `rubric.id`), else None.
    The records' id is data: it picks among the built-in ids only and is never opened as a path
    (a results file must not make `judge` read a file it names). InputError when `source`
    holds results of several rubrics."""
    found = sorted(set(ids))
    if len(found) > 1:
        raise InputError(source, None, f"holds results of several rubrics {found}: use one")
    if isinstance(rubric, Rubric):
        return rubric
    if rubric is not None:
        return load_rubric(rubric)
    if found and found[0] in builtin_rubrics():
        return load_rubric(found[0])
    return None


# Rubric fields added after results existed: left out of the hash while unset, so adding
# them did not change the hash of a rubric that does not use them (no needless re-judging).
_LATER_FIELDS = (
    *("stages", "measure", "when", "base", "examples", "items"),
    *("not_applicable", "key_items", "computed_if"),
)


# Rubric fields that only refuse some cases, or only act on the scores once made (`gates`,
# applied by the composite): what the judges are asked about the cases a rubric accepts does
# not change with them, so neither does the hash (no needless re-judging).
_GATES = ("option_count", "gates")


def rubric_hash(rubric: Rubric) -> str:
    """A hash of the rubric's content (not its formatting), recorded in every result."""
    dumped = rubric.model_dump(mode="json")
    content = _without_unset_later({k: v for k, v in dumped.items() if k not in _GATES})
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
    return load_yaml_model(path, Rubric, "a rubric")[0]


def load_yaml_model(path: Path, model: type[M], what: str) -> tuple[M, yaml.Node]:
    """A YAML file validated as `model`, with its node tree (for `line_of`): any mistake is a
    RubricError at the file:line of the offending key. `what` names the file in errors."""
    source = _read_text(path)
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        at = source.count("\n", 0, exc.position) + 1
        what_char = f" (character #x{exc.character:04x})" if isinstance(exc.character, int) else ""
        raise RubricError(str(path), at, f"invalid YAML: {exc.reason}{what_char}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        raise RubricError(str(path), line, f"invalid YAML: {problem}") from exc
    except RecursionError as exc:
        # PyYAML's composer recurses per nesting level ("[[[[…" 10,000 deep). Only this
        # parse is caught, so a bug elsewhere still shows as a traceback.
        raise RubricError(str(path), None, "invalid YAML: nested too deeply") from exc
    twice = _repeated_key(node)
    if twice is not None:
        loc, first, second = twice
        message = f"given twice (first at line {first}): keep one"
        raise RubricError(str(path), second, message, field=_dotted(loc))
    if not isinstance(data, dict) or node is None:
        got = "an empty file" if data is None else f"a YAML {type(data).__name__}"
        raise RubricError(str(path), 1, f"{what} must be a YAML mapping, got {got}")
    try:
        return model.model_validate(data), node
    except ValidationError as exc:
        errors = exc.errors()
        loc = _yaml_path(tuple(errors[0]["loc"]))
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise RubricError(
            str(path), line_of(node, loc), errors[0]["msg"] + more, field=_dotted(loc)
        ) from exc


def _read_text(path: Path) -> str:
    """The rubric file's text, or a one-line RubricError naming it: unreadable, binary, or
    not UTF-8 (a UTF-8 byte-order mark is allowed)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RubricError(str(path), None, f"cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in raw and wide_text(raw[:4]) is None:  # UTF-16's NULs: named as such below
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise RubricError(str(path), line, "holds NUL bytes: a binary file, not a YAML rubric")
    return decoded(raw, str(path), RubricError)


def _repeated_key(root: yaml.Node | None) -> tuple[tuple[Any, ...], int, int] | None:
    """The first key given twice in one mapping of the tree (YAML would keep the last value
    in silence): its path and the 1-based lines of both."""
    found: list[tuple[int, tuple[Any, ...], int]] = []
    stack: list[tuple[tuple[Any, ...], yaml.Node | None]] = [((), root)]
    seen: set[int] = set()  # an anchor's node is visited once (and a recursive one ends)
    while stack:
        loc, node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "<key>"
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and (key.tag, name) in keys:
                    found.append((line, (*loc, name), keys[(key.tag, name)]))
                keys.setdefault((key.tag, name), line)
                stack.append(((*loc, name), value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(((*loc, i), item) for i, item in enumerate(node.value))
    if not found:
        return None
    line, loc, first = min(found)
    return loc, first, line


# The tags pydantic puts in an error's path for the scale union ("scale.ordinal.max"): one
# per scale type, read off the contract so a new scale type is covered.
_SCALE_TAGS = frozenset(
    get_args(member.model_fields["type"].annotation)[0] for member in get_args(get_args(Scale)[0])
)


def _yaml_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error path as the YAML keys it names: the scale union's tag that follows
    `scale` is dropped, and only that one, so `scale.labels.labels` (the tag, then the
    `labels` field of a labels scale) becomes `scale.labels`."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i > 0 and loc[i - 1] == "scale" and part in _SCALE_TAGS)
    )


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "<root>"


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
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
