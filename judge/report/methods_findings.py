"""The sentences of a methods paragraph that come from `judge calibrate --out-dir`'s tables:
agreement with clinicians (α with its interval), the alternative annotator test with its ε,
the human ceiling and the PPI-corrected means. A row whose figure is undefined (NaN in the
table) is named as such, never given a number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from judge.report.methods_tables import COMMANDS, Tables
from judge.report.methods_words import Name, Num, Paragraph, Part, listed

__all__ = ["table_sentences"]

Cite = Callable[[dict[str, Any], str, str], Num]


def table_sentences(p: Paragraph, t: Tables) -> None:
    """Add a sentence per table present in `t` (in the order `judge calibrate` computes)."""
    for name, write in (
        ("agreement", _agreement),
        ("alt_test", _alt_test),
        ("ceiling", _ceiling),
        ("estimate", _estimate),
    ):
        rows = t.rows.get(name)
        if rows:
            write(p, t, rows, _citer(p, t, name))


def _level(p: Paragraph, t: Tables, table: str) -> Num:
    what = "interval level, % (run.json settings.ci)"
    return p.n(f"{table}.ci", round(t.ci * 100), what, t.path("run"), COMMANDS["run"])


def _citer(p: Paragraph, t: Tables, table: str) -> Cite:
    def cite(row: dict[str, Any], column: str, what: str) -> Num:
        where = f"{row['criterion']} / {row['judge']}"
        value = row[column]
        if column in ("n_items", "n_humans", "n", "N", "rank", "tested") and value is not None:
            value = int(value)
        key = f"{table}.{column}.{where}"
        return p.n(key, value, f"{where}: {what}", t.path(table), COMMANDS[table])

    return cite


def _agreement(p: Paragraph, t: Tables, rows: list[dict[str, Any]], cite: Cite) -> None:
    shown: list[list[Part]] = []
    undefined: list[list[Part]] = []
    for r in rows:
        where: list[Part] = [Name(r["criterion"]), " (", Name(r["judge"]), ")"]
        if r["alpha_with_judge"] is None or r["alpha_with_judge_low"] is None:
            undefined.append(where)
            continue
        shown.append([
            *where, " ", cite(r, "alpha_with_judge", "α, clinicians with the judge"), " [",
            cite(r, "alpha_with_judge_low", "α interval low"), ", ",
            cite(r, "alpha_with_judge_high", "α interval high"), "], ",
            cite(r, "n_items", "items"), " items, ",
            cite(r, "n_humans", "clinicians"), " clinicians",
        ])  # fmt: skip
    if shown:
        p.say(
            "Agreement with clinicians, as Krippendorff's α of the clinicians' scores with the "
            "judge's added (", _level(p, t, "agreement"), "% intervals), was ", *listed(shown),
        )  # fmt: skip
    if undefined:
        p.say("This α was undefined for ", *listed(undefined))


def _alt_test(p: Paragraph, t: Tables, rows: list[dict[str, Any]], cite: Cite) -> None:
    passed: list[list[Part]] = []
    failed: list[list[Part]] = []
    untested: list[list[Part]] = []
    for r in rows:
        where: list[Part] = [Name(r["criterion"]), " (", Name(r["judge"])]
        if not r["tested"]:
            untested.append([*where, ")"])
            continue
        omega: list[Part] = (
            [", ω = ", cite(r, "omega", "alt-test ω")] if r["omega"] is not None else []
        )
        (passed if r["passed"] == "True" else failed).append([*where, *omega, ")"])
    epsilon = "not recorded" if t.epsilon is None else None
    parts: list[Part] = ["In the alternative annotator test (ε = "]
    if epsilon is None:
        assert t.epsilon is not None
        parts.append(p.n("alt_test.epsilon", t.epsilon, "alt-test margin ε (run.json)",
                         t.path("run"), COMMANDS["run"]))  # fmt: skip
    else:
        parts.append(epsilon)
    parts.append("), the judge")
    said = []
    if passed:
        said.append([" passed on ", *listed(passed)])
    if failed:
        said.append([" did not pass on ", *listed(failed)])
    if untested:
        said.append([" was not tested on ", *listed(untested),
                     ", where no clinician had rated enough items"])  # fmt: skip
    p.say(*parts, *listed(said))


def _ceiling(p: Paragraph, t: Tables, rows: list[dict[str, Any]], cite: Cite) -> None:
    shown: list[list[Part]] = []
    for r in rows:
        if r["value"] is None or r["rank"] is None or r["n_humans"] is None:
            continue
        shown.append([
            Name(r["metric"] or "statistic"), " ", cite(r, "value", "the judge's statistic"),
            " on ", Name(r["criterion"]), " (", Name(r["judge"]), "; rank ",
            cite(r, "rank", "the judge's rank"), " among ",
            p.n(f"ceiling.raters.{r['criterion']} / {r['judge']}", int(r["n_humans"]) + 1,
                "raters ranked: the clinicians and the judge", t.path("ceiling"),
                COMMANDS["ceiling"]),
            " raters; clinicians ", cite(r, "humans_min", "lowest clinician"), " to ",
            cite(r, "humans_max", "highest clinician"), ")",
        ])  # fmt: skip
    if shown:
        p.say(
            "Against the human ceiling (each clinician scored against the others, the judge "
            "against all), the judge had ", *listed(shown),
        )  # fmt: skip


def _estimate(p: Paragraph, t: Tables, rows: list[dict[str, Any]], cite: Cite) -> None:
    shown: list[list[Part]] = []
    others = " items judged (inverse-probability weighted)" if t.routed else " judged only"
    for r in rows:
        if r["estimate"] is None or r["low"] is None:
            continue
        where: list[Part] = [Name(r["criterion"]), " (", Name(r["judge"])]
        if r.get("slice") and r["slice"] != "(all)":  # calibrate's slice without --by
            where += [", ", Name(str(r["slice"]))]
        shown.append([
            *where, ") ", cite(r, "estimate", "PPI++ mean"), " [", cite(r, "low", "low"),
            ", ", cite(r, "high", "high"), "], ", cite(r, "n", "items rated by clinicians"),
            " items rated by clinicians and ", cite(r, "N", others.strip()), others,
        ])  # fmt: skip
    if shown:
        p.say(
            "The prediction-powered (PPI++) means, corrected with the clinicians' scores (",
            _level(p, t, "estimate"),
            "% intervals), were ", *listed(shown),
        )  # fmt: skip
