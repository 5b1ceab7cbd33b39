"""The parts a methods paragraph is made of (prose, traced numbers, names from the data) and
their rendering as Markdown or LaTeX, with the trace table and the TRIPOD-LLM checklist.

Prose is ours; a Name is untrusted text (a judge, a served model, a criterion, a reason, a
path) and is escaped for the format, so `50%_off#1 & $x` stays text in both. LaTeX gets
its special characters escaped (\\ { } % $ & # _ ^ ~) and the Greek letters as math.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from judge.report.tripod import Item

__all__ = [
    "MARKS",
    "Name",
    "Num",
    "Paragraph",
    "Part",
    "Trace",
    "latex_escape",
    "listed",
    "markdown_escape",
    "render",
]

# The first line of every file `judge methods --out` writes: how a later run recognises it.
MARKS = {"markdown": "<!-- judge methods -->", "latex": "% judge methods"}


@dataclass(frozen=True)
class Num:
    """A number as the text shows it; its row in the trace table says where it came from."""

    text: str


@dataclass(frozen=True)
class Name:
    """Text from the data, shown as it is (escaped)."""

    text: str


Part = str | Num | Name


@dataclass(frozen=True)
class Trace:
    """One number of the paragraph: its text, its value, what it is, where it came from."""

    key: str
    number: str
    value: float | str
    what: str
    source: str
    command: str


@dataclass
class Paragraph:
    """The sentences (parts) and the trace of their numbers."""

    sentences: list[list[Part]] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    def n(
        self,
        key: str,
        value: float | str,
        what: str,
        source: Path | str,
        command: str,
        digits: int = 2,
    ) -> Num:
        """`value` as the text shows it, traced."""
        if isinstance(value, str):
            text = value
        elif isinstance(value, int) or digits == 0:
            text = str(round(value))
        else:
            text = f"{value:.{digits}f}"
        self.traces.append(Trace(key, text, value, what, str(source), command))
        return Num(text)

    def say(self, *parts: Part) -> None:
        self.sentences.append(list(parts))


def listed(items: Sequence[Sequence[Part]]) -> list[Part]:
    """Parts joined as "a", "a and b", "a, b and c"."""
    out: list[Part] = []
    for i, item in enumerate(items):
        if i:
            out.append(" and " if i == len(items) - 1 else ", ")
        out.extend(item)
    return out


_LATEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "$": r"\$", "&": r"\&",
    "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "α": r"$\alpha$", "ε": r"$\varepsilon$", "ω": r"$\omega$", "×": r"$\times$",
    "“": "``", "”": "''", "—": "---", "–": "--", "<": r"\textless{}", ">": r"\textgreater{}",
}  # fmt: skip
_SPACE = re.compile(r"\s+")  # a newline in a name must not end a line, a comment or a row
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))
# CommonMark's backslash escapes: punctuation that could start markup or HTML.
_MARKDOWN_RE = re.compile(r"([\\`*_\[\]<>#|~&$])")


def latex_escape(text: str) -> str:
    """`text` as LaTeX source that prints it."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], _SPACE.sub(" ", text))


def markdown_escape(text: str) -> str:
    """`text` as Markdown that prints it (no markup, no HTML, one line)."""
    return _MARKDOWN_RE.sub(r"\\\1", _SPACE.sub(" ", text))


def _sentence(parts: list[Part], latex: bool) -> str:
    out = []
    for part in parts:
        if isinstance(part, Name | Num):  # text from the data: escaped in both formats
            out.append(latex_escape(part.text) if latex else markdown_escape(part.text))
        else:
            out.append(latex_escape(part) if latex else part)
    text = "".join(out)
    return text[:1].upper() + text[1:] + "."


def _table(headers: list[str], rows: list[list[str]], latex: bool) -> list[str]:
    if latex:
        spec = "".join(f"p{{{0.9 / len(headers):.2f}\\linewidth}}" for _ in headers)
        # longtable: the trace of a large run runs over pages (a tabular would not break).
        lines = [f"\\begin{{longtable}}{{{spec}}}", "\\hline"]
        lines.append(" & ".join(latex_escape(h) for h in headers) + r" \\ \hline")
        lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
        return [*lines, "\\hline", "\\end{longtable}"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(markdown_escape(c) for c in row) + " |" for row in rows]


def render(p: Paragraph, items: list[Item], results: Path, *, latex: bool = False) -> str:
    """The document: a mark, the paragraph, the trace table and the checklist."""
    body = " ".join(_sentence(s, latex) for s in p.sentences)
    traces = [[t.number, t.what, t.source, t.command] for t in p.traces]
    checks = [[i.topic, i.asks, f"{i.status}: {i.why}"] for i in items]
    source = f"generated by judge methods from {results}; a later run may replace this file"
    if latex:
        lines = [MARKS["latex"], f"% {' '.join(source.split())}", r"% needs \usepackage{longtable}"]
        lines += ["", r"\paragraph{Methods}"]
        heading = r"\paragraph{{{}}}"
    else:
        lines = [MARKS["markdown"], f"<!-- {markdown_escape(source)} -->", "", "## Methods"]
        heading = "### {}"
    lines += ["", body, "", heading.format("Where each number comes from"), ""]
    lines += _table(["number", "what it is", "file", "command"], traces, latex)
    title = "TRIPOD-LLM (Gallifant et al., Nat Med 2025) items this paragraph covers"
    lines += ["", heading.format(latex_escape(title) if latex else title), ""]
    lines += _table(["section / topic", "item", "covered"], checks, latex)
    return "\n".join(lines) + "\n"
