"""The report's plots, drawn with matplotlib (Agg) and returned as inline SVG markup.

The SVG is made fit to paste into an HTML page that loads nothing: no XML prolog or DOCTYPE
(whose DTD is a URL), no namespace URLs (an HTML parser needs none), text kept as text, and
ids prefixed per figure so several plots on one page cannot clash. Matplotlib escapes the text
it writes; labels are also stripped of `$` so a metadata value cannot switch on mathtext.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["distribution_plot", "judge_plot", "slice_plot", "to_svg"]

_PALETTE = ("#3b6ea5", "#d17a22", "#4a9a5b", "#b34a4a", "#7c5fa8", "#8c6d3f")
_counter = itertools.count(1)
_ID = re.compile(r'\bid="([^"]+)"')


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    # Figure() rather than pyplot: no global state, nothing to close, thread-safe.
    return Figure(figsize=(width, height), layout="constrained")


def _label(text: object, limit: int = 28) -> str:
    value = str(text).replace("$", "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def to_svg(fig: Figure) -> str:
    """The figure as an `<svg>` element that refers to nothing outside itself."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "judge-report"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    prefix = f"f{next(_counter)}-"
    for name in set(_ID.findall(svg)):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"')
        svg = svg.replace(f"#{name})", f"#{prefix}{name})").replace(
            f'href="#{name}"', f'href="#{prefix}{name}"'
        )
    return svg.replace("<svg ", '<svg role="img" ', 1)


def distribution_plot(counts: Sequence[pd.Series], notes: Sequence[str] = ()) -> str:
    """Small multiples: one bar chart of items per level for each criterion, its title
    followed by its note (the mean with its interval) when given."""
    n = len(counts)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig = _figure(3.0 * cols, 2.3 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, series, note in itertools.zip_longest(axes.flat, counts, notes[:n]):
        if series is None:
            ax.set_axis_off()
            continue
        ax.bar([_label(i, 12) for i in series.index], series.to_numpy(), color=_PALETTE[0])
        title = _label(series.name, 32) + (f"\n{_label(note, 40)}" if note else "")
        ax.set_title(title, fontsize=10 if not note else 9)
        ax.set_ylabel("items", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(series) > 5:
            ax.tick_params(axis="x", labelrotation=45)
    return to_svg(fig)


def slice_plot(
    table: pd.DataFrame, field: str, spans: Sequence[tuple[str, float | None, float | None]]
) -> str:
    """A heatmap of the mean per slice (rows of `table`) and criterion (columns), each shade
    placed on its criterion's scale `(id, low, high)`, the value written in the cell with its
    interval below it when `table` has `<id>_low` and `<id>_high` columns."""
    import numpy as np

    shown = [(c, lo, hi) for c, lo, hi in spans if c in table]
    labels = [f"{_label(v)} (n={n})" for v, n in zip(table.index, table["n"], strict=True)]
    values = np.array([table[c].to_numpy(dtype=float) for c, _, _ in shown]).T
    lows, highs = (
        np.array([_column(table, f"{c}_{end}") for c, _, _ in shown]).T for end in ("low", "high")
    )
    shade = np.array(
        [(table[c].to_numpy(dtype=float) - (lo or 0.0)) / ((hi or 1.0) - (lo or 0.0) or 1.0)
         for c, lo, hi in shown]
    ).T  # fmt: skip
    fig = _figure(1.6 + 0.95 * len(shown), 0.9 + 0.4 * len(labels))
    ax = fig.subplots()
    # pcolormesh draws vector cells; imshow would embed a raster image in the SVG.
    edges_x, edges_y = np.arange(len(shown) + 1) - 0.5, np.arange(len(labels) + 1) - 0.5
    ax.pcolormesh(edges_x, edges_y, np.ma.masked_invalid(shade), cmap="Blues", vmin=0, vmax=1.25)
    ax.invert_yaxis()
    for (row, col), value in np.ndenumerate(values):
        text = "—" if np.isnan(value) else f"{value:.2f}"
        low, high = lows[row, col], highs[row, col]
        if not (np.isnan(low) or np.isnan(high)):
            text += f"\n[{low:.2f}, {high:.2f}]"
        ax.text(col, row, text, ha="center", va="center", fontsize=6.5, color="#1d2430")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks(range(len(shown)), [_label(c, 18) for c, _, _ in shown], fontsize=7)
    ax.tick_params(axis="x", labelrotation=30, top=True, bottom=False, labeltop=True)
    ax.tick_params(axis="x", labelbottom=False)
    ax.set_title(f"mean by {_label(field)}", fontsize=9)
    return to_svg(fig)


def _column(table: pd.DataFrame, name: str) -> object:
    """A float column of `table`, NaN throughout when it has none of that name."""
    import numpy as np

    if name in table:
        return table[name].to_numpy(dtype=float)
    return np.full(len(table), np.nan)


def judge_plot(
    means: pd.DataFrame, low: pd.DataFrame | None = None, high: pd.DataFrame | None = None
) -> str:
    """Each LLM judge's mean per criterion, as grouped bars, each with its interval as an
    error bar when `low` and `high` (shaped like `means`) are given."""
    judges = list(means.columns)
    fig = _figure(7.5, 2.8)
    ax = fig.subplots()
    width = 0.8 / max(len(judges), 1)
    for k, judge in enumerate(judges):
        positions = [i + k * width for i in range(len(means))]
        ax.bar(
            positions,
            means[judge].to_numpy(dtype=float),
            width=width,
            label=_label(judge, 32),
            color=_PALETTE[k % len(_PALETTE)],
        )
        if low is not None and high is not None and judge in low:
            mean = means[judge].to_numpy(dtype=float)
            below = mean - low[judge].to_numpy(dtype=float)
            above = high[judge].to_numpy(dtype=float) - mean
            ax.errorbar(positions, mean, yerr=[below, above], fmt="none", ecolor="#1d2430", lw=0.8)
    ax.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(means))],
        [_label(c, 18) for c in means.index],
        fontsize=7,
        rotation=20,
    )
    ax.set_ylabel("mean score", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)
