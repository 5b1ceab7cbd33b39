"""`judge report`: one self-contained HTML file describing a results file.

Everything is in the file: CSS inline, plots as inline SVG, no script, no font, image or link
fetched from anywhere. Rationales, reasons, ids and metadata come from models and users and are
untrusted: the template escapes them (jinja2 autoescape); only the SVG our own plots produce is
marked safe.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from judge.contracts import ResultRecord, Rubric
from judge.errors import InputError
from judge.report import data, plots
from judge.report.latent import latent_section
from judge.store.outputs import claim, is_report, write_atomic

__all__ = ["build_report", "write_report"]

TEMPLATES = Path(__file__).parent / "templates"
# Columns of the human agreement table worth a page's width, as `judge calibrate` shows them.
_HUMAN_COLUMNS = (
    ("criterion", "criterion"),
    ("judge", "judge"),
    ("n_items", "n"),
    ("alpha_humans", "α humans"),
    ("alpha_with_judge", "α humans + judge"),
    ("spearman", "Spearman"),
    ("kappa_quadratic", "κ quadratic"),
    ("kappa", "κ"),
    ("bias", "bias"),
    ("exact", "exact"),
)


def write_report(
    results: str | Path,
    out: str | Path,
    human: str | Path | None = None,
    *,
    rubric: str | Path | Rubric | None = None,
    lowest: int = 10,
    ci: float = 0.95,
    cluster: str | None = None,
    latent: str | None = None,
) -> Path:
    """Write the report of `results` (and of `human` scores against it) to `out`, which may
    be an earlier report but no other file (judge.store.outputs)."""
    out = Path(out)
    claim(out, is_report)
    page = build_report(
        results, human, rubric=rubric, lowest=lowest, ci=ci, cluster=cluster, latent=latent
    )
    write_atomic(out, page)
    return out


def build_report(
    results: str | Path,
    human: str | Path | None = None,
    *,
    rubric: str | Path | Rubric | None = None,
    lowest: int = 10,
    ci: float = 0.95,
    cluster: str | None = None,
    latent: str | None = None,
) -> str:
    """The HTML report of a results file: distributions, slices by case metadata, judges
    compared, unscored reasons, agreement with `human` scores, and the `lowest` items. Each
    mean has its interval at level `ci`, resampling whole clusters of the case field
    `cluster` if given (as `judge score --ci --cluster`). With `latent` ("dawid-skene" or
    "mace"): the latent-truth panel (judge.report.latent)."""
    from judge.frame import records_frame
    from judge.load.lines import regular
    from judge.load.rubric import rubric_of_records
    from judge.store.results import iter_records

    regular(Path(results), str(results))  # a FIFO would block the read until a writer came
    records = list(iter_records(results))
    if not records:
        raise InputError(str(results), None, "holds no results record")
    the_rubric = rubric_of_records((r.rubric.id for r in records), rubric, str(results))
    criteria = data.criteria_of(records, the_rubric)
    scores, meta = data.score_table(records), data.meta_table(records)
    clusters = _clusters(records, meta, cluster, str(results))
    tidy = records_frame(records)
    context = {
        "title": f"judge report — {Path(results).name}",
        "source": str(results),
        "rubric": records[0].rubric,
        "judges": sorted({j for r in records for j in r.judges}),
        "n_items": len(records),
        "status": pd.Series([r.status for r in records]).value_counts().to_dict(),
        "criteria": _criteria_section(scores, criteria, clusters, ci),
        "slices": _slice_sections(scores, meta, criteria, cluster, ci),
        "ci_label": f"{ci * 100:g}% CI" + (f" (clusters: {cluster})" if cluster else ""),
        "panel": _panel_section(tidy, criteria, clusters, ci),
        "unscored": data.unscored_table(tidy).to_dict("records"),
        "human": _human_section(results, human, the_rubric) if human else None,
        "latent": latent_section(results, human, the_rubric, latent) if latent else None,
        "calibration": _calibration_lines(results),
        "qualification": _calibration_lines(results, qualification=True),
        "lowest": _lowest_section(records, scores, criteria, the_rubric, lowest),
        "accuracy": [c.id for c in criteria if c.is_accuracy],
        "answers": _answers(the_rubric, records),
        "serving": _serving_changes(records),
        "keys": _keys_lines(records),
    }
    return _environment().get_template("report.html.j2").render(**context)


def _serving_changes(records: list[ResultRecord]) -> list[str]:
    """The summary's warnings of judges served by more than one model or fingerprint."""
    from judge.aggregate.summary_models import JudgeSummary, add_calls

    judges: dict[str, JudgeSummary] = {}
    for record in records:
        add_calls(judges, record.calls)
    return [w for name in sorted(judges) if (w := judges[name].serving_change) is not None]


def _keys_lines(records: list[ResultRecord]) -> tuple[str | None, str | None]:
    """How many of the case keys the records were judged with are reviewed, and by whom,
    and the flag of results that rest on draft keys (None, None without keys)."""
    from judge.aggregate.key_counts import draft_warning, keys_block, keys_sentence

    block = keys_block(records)
    drafts = sum(r.key_review == "draft" for r in records)
    return (keys_sentence(block) if block else None), draft_warning(drafts)


def _environment() -> Any:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.globals["interval"] = _interval
    env.globals["svg"] = Markup  # our own plots only: see plots.to_svg
    return env


def _num(value: Any, digits: int = 2) -> str:
    """A number as shown on the page: fixed decimals, `—` when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, list):  # a labels criterion: the labels given
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, int) or (float(value).is_integer() and digits == 0):
        return str(int(value))
    return f"{float(value):.{digits}f}"


def _interval(low: Any, high: Any) -> str:
    """`[0.31, 0.81]`, or `—` when there is none."""
    if _num(low) == "—" or _num(high) == "—":
        return "—"
    return f"[{_num(low)}, {_num(high)}]"


def _clusters(
    records: list[ResultRecord], meta: pd.DataFrame, cluster: str | None, path: str
) -> pd.Series | None:
    """Each item's cluster; a record without the field is a one-line error naming it."""
    if cluster is None:
        return None
    column = meta[cluster] if cluster in meta else pd.Series(index=meta.index, dtype=object)
    for n, record in enumerate(records, start=1):
        if pd.isna(column.get(record.id)):
            message = f"missing in record {n} ({record.id!r}): --cluster groups items by it"
            raise InputError(path, None, message, f"meta.{cluster}")
    return column


def _criteria_section(
    scores: pd.DataFrame,
    criteria: list[data.CriterionInfo],
    clusters: pd.Series | None,
    ci: float,
) -> dict:
    table = data.criterion_summary(scores, criteria, clusters, ci)
    summary = table.reset_index().to_dict("records")
    counts = [data.distribution(scores, c) for c in criteria]
    notes = [
        f"mean {_num(r['mean'])} {_interval(r['low'], r['high'])}" if _num(r["mean"]) != "—" else ""
        for r in summary
    ]
    plot = plots.distribution_plot(counts, notes) if counts else ""
    return {"summary": summary, "plot": plot}


def _slice_sections(
    scores: pd.DataFrame,
    meta: pd.DataFrame,
    criteria: list[data.CriterionInfo],
    cluster: str | None,
    ci: float,
) -> list[dict]:
    sections = []
    numeric = [c.id for c in criteria if c.numeric]
    spans = [(c.id, c.low, c.high) for c in criteria if c.numeric]
    for field in data.slice_fields(meta):
        table = data.slice_table(scores, meta, field, criteria, True, cluster, ci)
        sections.append(
            {
                "field": field,
                "columns": numeric,
                "rows": [{"value": v, **row} for v, row in table.to_dict("index").items()],
                "plot": plots.slice_plot(table, field, spans),
            }
        )
    return sections


def _panel_section(
    tidy: pd.DataFrame,
    criteria: list[data.CriterionInfo],
    clusters: pd.Series | None,
    ci: float,
) -> dict | None:
    means = data.judge_means(tidy)
    if means.empty:
        return None
    alpha = data.judge_alpha(tidy, criteria) if len(means.columns) > 1 else pd.DataFrame()
    low, high = data.judge_intervals(tidy, clusters, ci)
    rows = [
        {
            "criterion": c,
            **row,
            "intervals": {j: _interval(low.at[c, j], high.at[c, j]) for j in row},
        }
        for c, row in means.to_dict("index").items()
    ]
    return {
        "judges": list(means.columns),
        "means": rows,
        "plot": plots.judge_plot(means, low, high) if len(means.columns) > 1 else "",
        "alpha": alpha.to_dict("records"),
    }


def _human_section(results: str | Path, human: str | Path, rubric: Rubric | None) -> dict:
    from calibration.calibrate import calibrate_files, scales_from_rubric

    levels, domains = scales_from_rubric(rubric) if rubric is not None else ({}, {})
    table = calibrate_files(results, human, levels=levels, domains=domains, n_boot=500)
    # A criterion nobody scored by hand has no comparison; the notes already name it.
    table = table[table["judge"].notna()]
    shown = [(c, h) for c, h in _HUMAN_COLUMNS if c in table.columns]
    rows = []
    for row in table.to_dict("records"):
        cells = []
        for column, _ in shown:
            value, low, high = row.get(column), row.get(f"{column}_low"), row.get(f"{column}_high")
            if column == "n_items" and isinstance(value, float) and value.is_integer():
                value = int(value)
            cells.append({"value": value, "low": low, "high": high})
        rows.append({"cells": cells, "notes": row.get("notes") or ""})
    return {
        "headers": [h for _, h in shown],
        "rows": rows,
        "notes": table.attrs.get("notes", []),
        "ceiling": _ceiling_rows(results, human, levels, domains),
    }


def _ceiling_rows(results: str | Path, human: str | Path, levels: Any, domains: Any) -> list:
    """Each judge's human-ceiling value, its rank among the clinicians and their range."""
    from calibration.loaders import load_human_scores, load_judge_results
    from calibration.validity import ceiling_table

    long = pd.concat([load_judge_results(results), load_human_scores(human, judge_results=results)])
    return ceiling_table(long, levels, domains).to_dict("records")


def _calibration_lines(results: str | Path, qualification: bool = False) -> list[str]:
    """The latest saved alt-test verdict per criterion and judge (`judge calibrate --save`), or
    with `qualification` the latest `judge qualify` verdict."""
    from calibration.errors import CalibrationError
    from calibration.record import DB_NAME, results_qualification, results_status
    from judge.store.cache import judge_home

    lines = results_qualification if qualification else results_status
    try:
        return lines(Path(results), judge_home() / DB_NAME)
    except CalibrationError as err:  # a results file the calibration reader refuses: say so
        return [str(err)]


def _answers(rubric: Rubric | None, records: list[ResultRecord]) -> str | None:
    """Accuracy beside the share answered, and the harm of the misses, as `judge score`
    prints them (judge.aggregate.answers)."""
    from judge.aggregate.answers import answer_line, summarise_answers

    found = summarise_answers(rubric, records) if rubric is not None else None
    return answer_line(found) if found is not None else None


def _lowest_section(
    records: list[ResultRecord],
    scores: pd.DataFrame,
    criteria: list[data.CriterionInfo],
    rubric: Rubric | None,
    k: int,
) -> dict:
    from judge.aggregate.normalise import composite

    ranked = data.lowest_items(scores, criteria, k, rubric)
    by_id = {r.id: r for r in records}
    items = []
    for item, rank in ranked.items():
        record = by_id[str(item)]
        items.append(
            {
                "id": record.id,
                "rank": rank,
                "gates": composite(rubric, record.scores).gates if rubric else [],
                "meta": record.meta,
                "scores": record.scores,
                "judged_field": record.judged_field,
                "judgments": [j.model_dump() for j in record.judgments],
            }
        )
    ranked_on = [c.id for c in criteria if c.ranked]
    gates = [f"{g.reason} ({g.describe()})" for g in rubric.gates] if rubric else []
    return {"entries": items, "ranked_on": ranked_on, "composite": rubric is not None,
            "gates": gates}  # fmt: skip
