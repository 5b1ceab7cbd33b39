"""Chat-format instruction data (MM-NeuroOnco-style rows) as the one `Prediction` model.

A row is `{"messages": [{"role": "user", "content": "<image>\\nQuestion…\\nOptions:\\nA. …\\n
B. …\\n\\nAnswer with the option letter only."}, {"role": "assistant", "content": "Final: D\\n
Explanation: …"}], "images": [...]}`, with the model's reply either in a `prediction` field or
as one more assistant turn after the dataset's.

- The question is the last user turn; the assistant turn after it is the dataset's reference;
  one more assistant turn, if any, is the model's reply (a `prediction` field as well is an
  error: which one is the candidate?). System turns and earlier turns are context.
- Options are the lettered lines ("A. …", "(B) …", "C) …") after an `Options:` line (blank
  lines between are skipped), or a run of lettered lines from "A" without one, ending at a
  blank or unlettered line. They must run
  from A without a gap or a repeat; a user turn without them is an open-ended question.
- Closed-ended: `correct_answer` is the letter the reference answers with, read as a model's
  reply is ("D", "(D)", "Final: D", "final: d"); a reference with no letter, or with a hedge,
  is an error. Open-ended: the reference text is `reference_answer` (closed rows keep it too).
- The reply lands in `prediction` (where answer accuracy reads the letter, and `reference`
  judges it). On a closed-ended row, its explanation (the reply without its answer line and an
  `Explanation:` label, when it has either) lands in `prediction_rationale`, so that ddx, or
  any rubric whose target is the rationale, judges it.
- Content is text, or OpenAI content parts: the text parts are joined, image parts are
  counted as the row's images, any other part is an error. `<image>` placeholders are dropped
  from the question.
- Id: the row's `id` when it has no `--id-field` value (default `title`), else `line-N`, its
  line number: stable while the file is only appended to, so a rerun resumes.

Every problem is an InputError naming the row's field (`messages.1.content`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from judge.contracts.cases import LETTERS, lettered, letters_problem
from judge.load.letters import letter_in

__all__ = ["ChatProblem", "from_chat", "is_chat"]

_HEADER = re.compile(r"^\s*(?:answer\s+)?(?:options|choices)\s*:\s*$", re.IGNORECASE)
_OPTION = re.compile(r"^\s*(?:\(([A-Za-z])\)|([A-Za-z])[.):])\s+(\S.*)$")
_PLACEHOLDER = re.compile(r"<image>", re.IGNORECASE)
# A line that is only an answer: "D", "(D)", "Final: D", "final answer: d".
_ANSWER_LINE = re.compile(
    rf"^\s*(?:(?:final(?:\s+answer)?|answer)\s*:\s*)?\(?([{''.join(LETTERS)}])\)?[.\s]*$",
    re.IGNORECASE,
)
_EXPLANATION = re.compile(r"^\s*explanation\s*:\s*", re.IGNORECASE)
_ROLES = ("system", "user", "assistant")


@dataclass
class ChatProblem(Exception):
    """A chat row that cannot be read: the field, and why (the loader adds file and line)."""

    field: str
    message: str


def is_chat(row: Any) -> bool:
    """Whether a row is in chat format (detected by its `messages`)."""
    return isinstance(row, dict) and "messages" in row


def from_chat(row: dict[str, Any], line: int, id_field: str = "title") -> dict[str, Any]:
    """The row in the predictions-file shape; raises ChatProblem naming the field."""
    turns = _turns(row.get("messages"))
    user = max((i for i, t in enumerate(turns) if t.role == "user"), default=None)
    if user is None:
        raise ChatProblem("messages", "no user turn: the question is missing")
    after = turns[user + 1 :]
    if not after:
        raise ChatProblem("messages", f"no assistant turn after the question (messages.{user})")
    if len(after) > 2 or any(t.role != "assistant" for t in after):
        bad = next((t for t in after if t.role != "assistant"), after[-1])
        raise ChatProblem(
            f"messages.{bad.index}.role",
            "after the last user turn come the reference answer and at most one model reply "
            "(assistant turns)",
        )
    reference = after[0]
    if not reference.text.strip():
        raise ChatProblem(f"messages.{reference.index}.content", "empty: the reference answer")
    reply = after[1].text if len(after) == 2 else None
    if reply is not None and row.get("prediction") is not None:
        raise ChatProblem(
            "prediction",
            f"given, and so is a model reply (messages.{after[1].index}): give only one",
        )
    if reply is None:
        reply = row.get("prediction")
    question, options = _question(turns[user])
    out = {k: v for k, v in row.items() if k not in ("messages", "images")}
    out.update(question=question, reference_answer=reference.text.strip())
    listed = row.get("images") or []
    if not isinstance(listed, list):
        raise ChatProblem("images", f"must be a list, got {type(listed).__name__}")
    images = [*listed, *(p for t in turns for p in t.images)]
    if images:
        out["chat_images"] = images
    if options is not None:
        out["options"] = options
        out["correct_answer"] = _reference_letter(reference, options)
    elif answer := _ANSWER_LINE.match(reference.text.strip().splitlines()[0]):
        raise ChatProblem(
            f"messages.{turns[user].index}.content",
            f'no options block ("Options:" then "A. …" lines), yet the reference '
            f"(messages.{reference.index}) answers with a letter ({answer.group(1).upper()})",
        )
    if isinstance(reply, str):
        out["prediction"] = reply
        explanation = _explanation(reply) if options is not None else None
        if explanation and "prediction_rationale" not in row:
            out["prediction_rationale"] = explanation
    if out.get(id_field) in (None, ""):
        given = row.get("id")
        out[id_field] = f"line-{line}" if given in (None, "") else str(given)
    return out


@dataclass(frozen=True)
class _Turn:
    index: int
    role: str
    text: str
    images: tuple[Any, ...]


def _turns(messages: Any) -> list[_Turn]:
    if messages is None:
        raise ChatProblem("messages", "required in a chat row (--format chat)")
    if not isinstance(messages, list):
        raise ChatProblem("messages", f"must be a list of turns, got {type(messages).__name__}")
    turns = []
    for i, turn in enumerate(messages):
        if not isinstance(turn, dict):
            raise ChatProblem(f"messages.{i}", f"must be an object, got {type(turn).__name__}")
        role = turn.get("role")
        if role not in _ROLES:
            raise ChatProblem(f"messages.{i}.role", f"must be one of {_ROLES}, got {role!r}")
        text, images = _content(turn.get("content"), f"messages.{i}.content")
        turns.append(_Turn(i, role, text, images))
    return turns


def _content(content: Any, where: str) -> tuple[str, tuple[Any, ...]]:
    """A turn's text and image parts: a string, or OpenAI content parts."""
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        got = "nothing" if content is None else type(content).__name__
        raise ChatProblem(where, f"must be text or a list of content parts, got {got}")
    texts, images = [], []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("image_url", "image"):
            images.append(part.get(kind) or part)
        else:
            raise ChatProblem(
                f"{where}.{i}", "must be a text part ({type: text, text}) or an image part"
            )
    return "\n".join(texts), tuple(images)


def _question(turn: _Turn) -> tuple[str, dict[str, str] | None]:
    """The question's text (without its options block) and its options (None: open-ended)."""
    lines = _PLACEHOLDER.sub("", turn.text).splitlines()
    header = next((i for i, text in enumerate(lines) if _HEADER.match(text)), None)
    start = header + 1 if header is not None else _first_a(lines)
    if start is None:
        return "\n".join(lines).strip(), None
    while header is not None and start < len(lines) and not lines[start].strip():
        start += 1  # "Options:", a blank line, then the options
    block: list[str] = []
    for text in lines[start:]:
        if not _OPTION.match(text):
            break
        block.append(text.strip())
    where = f"messages.{turn.index}.content"
    if not block:
        raise ChatProblem(where, 'an "Options:" line with no lettered option ("A. …") after it')
    try:
        options = lettered(block)
    except ValueError as exc:  # a letter given twice, more options than letters
        raise ChatProblem(where, str(exc)) from exc
    problem = letters_problem(list(options))
    if problem:
        raise ChatProblem(where, problem)
    stem = lines[: header if header is not None else start]
    return "\n".join(stem).strip(), options


def _first_a(lines: list[str]) -> int | None:
    """Where a run of two or more lettered lines starting at "A" begins, without a header."""
    for i, text in enumerate(lines[:-1]):
        match = _OPTION.match(text)
        if (
            match
            and (match.group(1) or match.group(2)).upper() == "A"
            and _OPTION.match(lines[i + 1])
        ):
            return i
    return None


def _reference_letter(reference: _Turn, options: dict[str, str]) -> str:
    where = f"messages.{reference.index}.content"
    letter, why = letter_in(reference.text, "".join(options), "the reference answer")
    if letter is None:
        raise ChatProblem(where, why)
    return letter


def _explanation(reply: str) -> str | None:
    """The reply's explanation: the reply without its answer line ("Final: D") and an
    "Explanation:" label, when it has one of them (a bare "C or D" explains nothing)."""
    lines = reply.splitlines()
    kept = [line for line in lines if not _ANSWER_LINE.match(line)]
    text = "\n".join(kept).strip()
    labelled = _EXPLANATION.match(text)
    if len(kept) == len(lines) and not labelled:
        return None
    return _EXPLANATION.sub("", text, count=1).strip() or None
