"""`judge methods`: the methods paragraph of a run, in Markdown or LaTeX, with every number
traced to the file and the command that produced it, and the TRIPOD-LLM items it covers.

The paragraph is plain, past tense and states only what is on record (judge.report.methods
gathers it): a missing calibration, qualification or key is said to be missing. Names that
come from the data (judges, served models, criteria, reasons, paths) are untrusted text and
escaped for the format; numbers are written once, here, and each one becomes a row of the
trace table.
"""

from __future__ import annotations

from pathlib import Path

from judge.contracts import Rubric
from judge.report.methods import Methods, Verdict, gather_methods
from judge.report.methods_findings import table_sentences
from judge.report.methods_words import MARKS, Name, Num, Paragraph, Part, listed, render
from judge.report.tripod import checklist

__all__ = ["compose", "is_methods", "methods_text", "write_methods"]

_SCORE = "judge score"


def compose(m: Methods) -> Paragraph:
    """The paragraph of `m`, sentence by sentence."""
    p = Paragraph()
    _run(p, m)
    _judges(p, m)
    _items(p, m)
    _means(p, m)
    _calibration(p, m)
    if m.tables is not None:
        _tables(p, m)
    _qualification(p, m)
    if m.keys is None:
        p.say("No case keys were used")
    else:
        k, src = m.keys, m.results
        p.say(
            p.n("keys.reviewed", k.reviewed, "case keys reviewed", src, _SCORE), " of ",
            p.n("keys.total", k.total, "case keys used", src, _SCORE),
            " case keys were reviewed, ",
            p.n("keys.clinician", k.by_clinician, "keys reviewed by a clinician", src, _SCORE),
            " by a clinician and ",
            p.n("keys.author", k.by_author, "keys reviewed by their author", src, _SCORE),
            " by their author; ",
            p.n("keys.drafts", k.drafts, "keys left as drafts", src, _SCORE),
            " were drafts",
        )  # fmt: skip
    return p


def _run(p: Paragraph, m: Methods) -> None:
    src = m.results
    versions = [
        [p.n(f"version.{i}", v, "judge package version (records' judge_version)", src, _SCORE)]
        for i, v in enumerate(m.versions)
    ]
    p.say(
        f"Predictions were scored with the judge package, version{'s' * (len(versions) > 1)} ",
        *listed(versions), ", between ",
        p.n("first", m.first[:10], "date of the earliest record (created_at)", src, _SCORE),
        " and ", p.n("last", m.last[:10], "date of the latest record (created_at)", src, _SCORE),
    )  # fmt: skip
    p.say(
        "The rubric was ", Name(m.rubric.id), ", version ",
        p.n("rubric.version", m.rubric.version, "rubric version", src, _SCORE),
        " (content hash ", p.n("rubric.hash", m.rubric.hash, "rubric hash", src, _SCORE),
        "), and the prompt-template hash was ",
        p.n("prompt.hash", m.prompt_hash, "prompt-template hash", src, _SCORE),
    )  # fmt: skip


def _judges(p: Paragraph, m: Methods) -> None:
    src, s = m.results, m.summary
    if not m.llm_judges:
        p.say("No LLM judge was used: only the criteria computed without a judge were scored")
        return
    for j in (j for j in s.judges if j.judge in m.llm_judges):
        served: list[list[Part]] = [
            [Name(model), " (", p.n(f"served.{j.judge}.{model}", n, f"calls {model} served",
                                    src, _SCORE), " calls)"]
            for model, n in sorted(j.served.items())
        ]  # fmt: skip
        parts: list[Part] = [
            "The judge ", Name(j.judge), " made ",
            p.n(f"calls.{j.judge}", j.calls, f"calls of {j.judge}", src, _SCORE), " calls (",
            p.n(f"cached.{j.judge}", j.cached, f"calls of {j.judge} answered by the cache",
                src, _SCORE), " answered from the call cache)",
        ]  # fmt: skip
        if served:
            parts += ["; the provider reported that ", *listed(served), " served them"]
            prints = [[Name(f)] for f in sorted(j.fingerprints)]
            if prints:
                parts += [", with system fingerprint ", *listed(prints)]
        else:
            parts.append("; the provider did not report which model served them")
        p.say(*parts)
        _sampling(p, m, j.judge)
    samples = sorted(set(m.samples.values()))
    p.say(
        "Each judge gave ",
        *listed([[p.n(f"samples.{k}", k, "judgments per judge, item and criterion", src,
                       _SCORE)] for k in samples]),
        " judgment" + "s" * (samples != [1]) + " per item and criterion",
    )  # fmt: skip


# Each sampling parameter a call records (judge.options.RunOptions.params): the words before
# and after its value, and its name where the provider's default was used.
_PARAMS = (
    ("temperature", "temperature ", "", "sampling temperature"),
    ("max_tokens", "at most ", " output tokens", "maximum output tokens"),
    ("seed", "seed ", "", "seed"),
)


def _sampling(p: Paragraph, m: Methods, judge: str) -> None:
    """The sampling parameters `judge`'s calls were sent with: one sentence when all its
    calls had the same, else one per set with its calls (and the calls that do not say)."""
    src, sets = m.results, m.params.get(judge, {})
    for i, (sent, n) in enumerate(sets.items()):
        counted = f"calls of {judge} " + ("without recorded parameters" if sent is None else
                                          "with these parameters")  # fmt: skip
        calls: list[Part] = []
        if len(sets) > 1:
            calls = [p.n(f"params.{judge}.{i}.calls", n, counted, src, _SCORE)]
            calls.append(" call" + "s" * (n != 1))
        if sent is None:
            which: list[Part] = ["For ", *calls, " of "] if calls else ["For the calls of "]
            p.say(*which, Name(judge), ", recorded by an earlier version, the sampling "
                  "parameters were not recorded")  # fmt: skip
            continue
        given = dict(sent)
        said: list[list[Part]] = [
            [before, p.n(f"params.{judge}.{i}.{key}", given[key], f"{judge}: {what} sent",
                         src, _SCORE, digits=_decimals(given[key])), after]
            for key, before, after, what in _PARAMS if key in given
        ]  # fmt: skip
        left: list[list[Part]] = [[what] for key, _, _, what in _PARAMS if key not in given]
        parts: list[Part] = [*listed(said), ", and " * bool(said and left)]
        parts += ["the provider's default ", *listed(left)] if left else []
        if calls:
            p.say("In ", *calls, ", the judge ", Name(judge), " was called with ", *parts)
        else:
            p.say("The judge ", Name(judge), " was called with ", *parts)


def _decimals(value: float) -> int:
    """As many decimals as the value was given with (a temperature of 0.25 is not 0.2)."""
    if not isinstance(value, float):
        return 0
    return len(f"{value:.10f}".rstrip("0").partition(".")[2]) or 1


def _items(p: Paragraph, m: Methods) -> None:
    src, s = m.results, m.summary
    status = {k: s.status.get(k, 0) for k in ("scored", "partial", "unscored")}
    p.say(
        "Of ", p.n("items", s.n_records, "result records (items)", src, _SCORE), " items, ",
        p.n("status.scored", status["scored"], "items scored on every criterion", src, _SCORE),
        " were scored on every criterion, ",
        p.n("status.partial", status["partial"], "items scored in part", src, _SCORE),
        " in part and ",
        p.n("status.unscored", status["unscored"], "items not scored", src, _SCORE),
        " not at all; for ",
        p.n("missing", m.panel_missing, "items with a judge's score missing", src, _SCORE),
        " items, at least one judge gave no score on a criterion",
    )  # fmt: skip
    if m.reasons:
        reasons: list[list[Part]] = [
            ["“", Name(reason), "” (", p.n(f"reason.{i}", n, f"unscored judgments: {reason}",
                                           src, _SCORE), ")"]
            for i, (reason, n) in enumerate(m.reasons)
        ]  # fmt: skip
        p.say("The most frequent reasons for an unscored judgment were ", *listed(reasons))
    paid: list[Part] = [
        "The judge calls used ",
        p.n("tokens.in", s.tokens_in, "input tokens", src, _SCORE), " input and ",
        p.n("tokens.out", s.tokens_out, "output tokens", src, _SCORE), " output tokens",
    ]  # fmt: skip
    if s.cost_usd is None:
        p.say(*paid, "; no cost was recorded")
    else:
        what = "cost in USD of the calls not answered by the cache"
        cost = p.n("cost", s.cost_usd, what, src, _SCORE, digits=4)
        p.say(*paid, " and cost ", cost, " USD")


def _means(p: Paragraph, m: Methods) -> None:
    src, s = m.results, m.summary
    rows: list[list[Part]] = []
    methods: set[str] = set()
    for c in s.criteria:
        if c.mean is None or c.interval is None or c.interval.low != c.interval.low:
            continue
        methods.add(c.interval.method)
        what = f"{c.id}: "
        rows.append([
            Name(c.id), " ", p.n(f"mean.{c.id}", c.mean, what + "mean", src, _SCORE), " [",
            p.n(f"low.{c.id}", c.interval.low, what + "interval low", src, _SCORE), ", ",
            p.n(f"high.{c.id}", c.interval.high, what + "interval high", src, _SCORE),
            "], n = ", p.n(f"n.{c.id}", c.interval.n, what + "scores", src, _SCORE),
        ])  # fmt: skip
    if not rows:
        p.say("No criterion had a numeric mean with an interval")
        return
    level = p.n("ci", round(s.ci * 100), "interval level, %", src, _SCORE)
    how = " and ".join(sorted(methods))
    p.say("The means, with ", level, "% intervals (", how, "), were ", *listed(rows))


def _record(p: Paragraph, m: Methods, v: Verdict, key: str, column: str, what: str) -> Num:
    assert v.row is not None
    command = "judge qualify" if key.startswith("q.") else "judge calibrate --alt-test --save"
    value = v.row[column][:10] if column == "created_at" else v.row[column]
    where = f"{v.criterion} / {v.judge}: "
    return p.n(f"{key}.{v.criterion}.{v.judge}", value, where + what, m.db or "", command)


def _calibration(p: Paragraph, m: Methods) -> None:
    if not m.calibrated and "agreement" not in (m.tables.rows if m.tables else {}):
        p.say(
            "The judges were not calibrated against clinicians: no alternative annotator test "
            "for this rubric and prompt is on record, and no agreement tables were given"
        )
    other = sorted({v.criterion for v in m.calibration if v.kind == "other"})
    if other:
        p.say(
            "Alternative annotator test verdicts on record for ", *listed([[Name(c)] for c in
            other]), " were for another rubric or prompt version and were not used",
        )  # fmt: skip
    for judge in m.llm_judges:
        mine = [v for v in m.calibrated if v.judge == judge]
        if not mine:
            continue
        said = []
        # An alt-test in which no clinician could be tested has no verdict: never "did not pass".
        for verdict, words in _ALT_VERDICTS:
            chosen = [v for v in mine if v.row and v.row["verdict"] == verdict]
            if chosen:
                said.append([words, " on ", *listed([_alt_row(p, m, v) for v in chosen])])
            if chosen and verdict == "not tested":  # why, once per distinct reason
                why = sorted({str(v.row["reason"]) for v in chosen if v.row})
                said[-1] += [", as ", *listed([[Name(reason)] for reason in why])]
        p.say(
            "On the calibration record, in the alternative annotator test (ε = ",
            _record(p, m, mine[0], "c.epsilon", "epsilon", "alt-test ε"), ", saved ",
            _record(p, m, mine[0], "c.date", "created_at", "date saved"), "), ", Name(judge),
            *listed(said),
        )  # fmt: skip


_ALT_VERDICTS = (("passed", " passed"), ("failed", " did not pass"),
                 ("not tested", " was not tested"))  # fmt: skip


def _alt_row(p: Paragraph, m: Methods, v: Verdict) -> list[Part]:
    assert v.row is not None
    omega: list[Part] = (
        ["ω = ", _record(p, m, v, "c.omega", "omega", "alt-test ω"), "; "]
        if v.row["omega"] is not None
        else [] if v.row["verdict"] == "not tested"  # no ω to speak of: the reason follows
        else ["ω undefined; "]
    )  # fmt: skip
    return [
        Name(v.criterion), " (", *omega,
        _record(p, m, v, "c.items", "n_items", "items with human scores"), " items, ",
        _record(p, m, v, "c.humans", "n_humans", "clinicians"), " clinicians)",
    ]  # fmt: skip


def _tables(p: Paragraph, m: Methods) -> None:
    t = m.tables
    assert t is not None
    if not t.same_results:
        p.say(
            "The calibration tables were computed from ", Name(t.judged or "an unnamed file"),
            ", whose content differs from the results file described here",
        )  # fmt: skip
    table_sentences(p, t)


def _qualification(p: Paragraph, m: Methods) -> None:
    if not m.qualified:
        p.say("No qualification of the judges on this rubric and prompt is on record")
        return
    for judge in m.llm_judges:
        mine = [v for v in m.qualified if v.judge == judge and v.row is not None]
        if not mine:
            continue
        said = []
        for verdict in sorted({str(v.row["verdict"]) for v in mine if v.row}):
            rows = [_qualify_row(p, m, v) for v in mine if v.row and v.row["verdict"] == verdict]
            said.append([" ", Name(verdict), " on ", *listed(rows)])
        row = mine[0].row
        assert row is not None
        p.say(
            # The bank's file name: the record keeps the path on the machine that ran it.
            "On the qualification record, the test bank ", Name(Path(row["bank"]).name),
            " (version ",
            _record(p, m, mine[0], "q.bank", "bank_version", "bank version"), ") found ",
            Name(judge), *listed(said),
        )  # fmt: skip


def _qualify_row(p: Paragraph, m: Methods, v: Verdict) -> list[Part]:
    return [
        Name(v.criterion), " (",
        _record(p, m, v, "q.detected", "detected", "defects detected"), " of ",
        _record(p, m, v, "q.pairs", "pairs", "single-defect pairs"), " defects detected; ",
        _record(p, m, v, "q.false", "false_moves", "moves on changes to ignore"), " of ",
        _record(p, m, v, "q.false_total", "false_total", "changes to ignore"),
        " changes it should ignore moved its score)",
    ]  # fmt: skip


def is_methods(head: bytes) -> bool:
    """A file `judge methods --out` wrote (a later run may replace it)."""
    return any(head.startswith(mark.encode()) for mark in MARKS.values())


def methods_text(m: Methods, *, latex: bool = False) -> str:
    """The whole document: the paragraph, its trace table and the TRIPOD-LLM checklist."""
    return render(compose(m), checklist(m), m.results, latex=latex)


def write_methods(
    results: str | Path,
    out: str | Path | None = None,
    *,
    tables: str | Path | None = None,
    db: Path | None = None,
    rubric: str | Path | Rubric | None = None,
    latex: bool = False,
) -> str:
    """The methods document of `results` (see `gather_methods` for the sources), written to
    `out` when given: an earlier `judge methods` file, or a new one, never another file nor
    one of the inputs (judge.store.outputs). Returns the text."""
    from judge.store.outputs import claim, write_atomic

    target = None if out is None else Path(out)
    if target is not None:  # refused before anything is read, as every --out of judge
        folder = Path(tables) if tables is not None else None
        inputs = [results, db, *(sorted(folder.iterdir()) if folder and folder.is_dir() else [])]
        claim(target, is_methods, inputs=inputs)
    found = gather_methods(results, tables=tables, db=db, rubric=rubric)
    text = methods_text(found, latex=latex)
    if target is not None:
        write_atomic(target, text)
    return text
