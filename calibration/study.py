"""An agreement study from files: every table `judge calibrate` computes, as pandas frames.

`load_study` reads the judge scores (a `judge score` results file, or any tool's long table)
and the human scores once; the table builders take what it returns, so a notebook gets the
same tables the command prints and `--out-dir` writes. The statistics live in their own
modules (agreement_table, human_agreement, validity, escalate, latent); this module joins them to
the study's design: case clusters and strata from the run's case metadata, levels from the
rubric or `--level`, text labels read as nominal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibration.data import COMPUTED, collapse_repeats, normalize_long, unit_ids
from calibration.errors import CalibrationError
from calibration.escalate import agreement_confidence, calibrate_guarantee
from calibration.latent import LatentResult, dawid_skene, error_correlation, mace
from calibration.levels import level_of
from calibration.loaders import load_human_scores, load_judge_scores

__all__ = [
    "LatentFit",
    "Study",
    "StudySettings",
    "case_field",
    "check_overlap",
    "guarantee_table",
    "latent_fits",
    "latent_tables",
    "load_study",
    "run_study",
    "study_levels",
    "undefined",
]


@dataclass
class Study:
    """What a study reads: the long scores of judges and humans together, whether the judge
    file is a `judge score` run (whose case metadata `meta` reads on first use), and
    file-level notes."""

    long: pd.DataFrame
    results_file: bool
    judge_path: str
    notes: list[str] = field(default_factory=list)
    _meta: pd.DataFrame | None = None

    @property
    def meta(self) -> pd.DataFrame | None:
        """The run's case metadata (None for another tool's table)."""
        if self._meta is None and self.results_file:
            from calibration.runs import load_meta

            self._meta = load_meta(self.judge_path)
        return self._meta


def _examples(ids: Sequence[str]) -> str:
    return ", ".join(repr(i) for i in sorted(ids)[:3])


def check_overlap(judged: pd.DataFrame, human: pd.DataFrame) -> list[str]:
    """Refuse files that share no (item, criterion); describe partial mismatches."""
    j_units, h_units = set(unit_ids(judged)), set(unit_ids(human))
    if not j_units & h_units:
        raise CalibrationError(
            "the judge and human files share no item id: judge ids look like "
            f"{_examples(list(j_units))}, human ids like {_examples(list(h_units))}"
        )
    j_crit, h_crit = set(judged["criterion"]), set(human["criterion"])
    if not j_crit & h_crit:
        raise CalibrationError(
            f"the judge and human files share no criterion: judge {sorted(j_crit)}, "
            f"human {sorted(h_crit)}"
        )
    notes = []
    if j_units - h_units:
        only = sorted(j_units - h_units)
        notes.append(f"{len(only)} judged item(s) have no human score (e.g. {_examples(only)})")
    if h_units - j_units:
        only = sorted(h_units - j_units)
        notes.append(f"{len(only)} human-scored item(s) were not judged (e.g. {_examples(only)})")
    for name in sorted(j_crit ^ h_crit):
        side = "judge" if name in j_crit else "human"
        notes.append(f"criterion {name!r} is only in the {side} file")
    return notes


def load_study(judge_path: str | Path, human_path: str | Path) -> Study:
    """Read both files; refuse files that share no item or criterion (with the reason)."""
    judged = load_judge_scores(judge_path)
    human = load_human_scores(human_path, judge_results=judge_path)
    if judged.empty:
        raise CalibrationError(f"{judge_path}: holds no scored judgment")
    notes = check_overlap(judged, human)
    if human.attrs.get("unmatched"):
        notes.append(f"{human.attrs['unmatched']} labelled rubric item(s) were not judged")
    if judged.attrs.get("unscored"):
        notes.insert(0, f"{judged.attrs['unscored']} unscored judgment(s) skipped")
    if judged.attrs.get("torn_line"):
        line = judged.attrs["torn_line"]
        notes.insert(0, f"{judge_path}:{line}: left out a torn last line (a killed run)")
    both = pd.concat([judged, human], ignore_index=True)
    return Study(both, bool(judged.attrs.get("results_file")), str(judge_path), notes)


def case_field(study: Study, name: str, option: str) -> pd.Series:
    """Item → the value of case-metadata field `name` (for --cluster, --strata, --by); every
    judged item must carry it."""
    meta = study.meta
    if meta is None:
        raise CalibrationError(
            f"{option} {name}: needs the case metadata of a `judge score` results file"
        )
    if name not in meta.columns:
        raise CalibrationError(f"{study.judge_path}: no case-metadata field {name!r} for {option}")
    values = meta[name]
    lacking = values.index[values.isna()]
    if len(lacking):
        raise CalibrationError(
            f"{study.judge_path}: {len(lacking)} item(s) have no {name!r} for {option} "
            f"(first: {lacking[0]!r})"
        )
    return values.astype(str)


def study_levels(
    study: Study,
    rubric_levels: Mapping[str, str] | None,
    default: str | None,
    per: Mapping[str, str],
) -> dict[str, str]:
    """Each criterion's level: `--level CRITERION=LEVEL`, else `--level LEVEL`, else the
    rubric's scale, else nominal for text labels ("yes", "Location") and ordinal for numbers.
    An explicit numeric level on text labels is refused."""
    out: dict[str, str] = {}
    unknown = sorted(set(per) - set(study.long["criterion"].astype(str)))
    if unknown:
        raise CalibrationError(f"--level names criteria that neither file holds: {unknown}")
    for criterion, sub in study.long.groupby("criterion"):
        name = str(criterion)
        text = [v for v in sub["score"] if isinstance(v, str)]
        given = per.get(name, default)
        if given is not None:
            if text and level_of(given) != "nominal":
                raise CalibrationError(
                    f"--level {name}={given}: its scores are text labels ({text[0]!r}, …), "
                    "which only the nominal level compares"
                )
            out[name] = given
        elif rubric_levels and name in rubric_levels:
            out[name] = rubric_levels[name]
        else:
            out[name] = "nominal" if text else "ordinal"
    return out


def _labels(sub: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, pd.Series]:
    """Items × judges labels (samples kept as columns judge#k), and the human majority."""
    units = sub.assign(unit=unit_ids(sub))
    # A computed score is certain by construction, not a judge's vote: it is no panel member.
    judged = units[(units["rater_kind"] == "judge") & (units["rater"] != COMPUTED)]
    if "sample" in judged.columns:
        samples = judged["sample"].fillna(0).astype(int)
        judged = judged.assign(rater=judged["rater"].where(samples == 0, judged["rater"] + "#" +
                                                           samples.astype(str)))  # fmt: skip
    table = judged.pivot_table(index="unit", columns="rater", values="score", aggfunc="first")
    humans = units[units["rater_kind"] == "human"]
    counts = humans.groupby(["unit", "score"]).size().unstack(fill_value=0)
    top = counts.max(axis=1)
    unique = counts.eq(top, axis=0).sum(axis=1) == 1
    majority = counts.idxmax(axis=1).where(unique)
    return table, majority


def _agree(a: Any, b: Any, kind: str, within: int, domain: Sequence[Any] | None) -> bool:
    if within and level_of(kind) != "nominal":
        order = list(domain) if domain else None
        if order is not None and a in order and b in order:
            return abs(order.index(a) - order.index(b)) <= within
        return abs(float(a) - float(b)) <= within
    return bool(a == b)


def guarantee_table(
    study: Study,
    levels: Mapping[str, str],
    domains: Mapping[str, Sequence[Any]] | None,
    *,
    target: float,
    delta: float,
    within: int = 0,
) -> pd.DataFrame:
    """Per criterion, Trust or Escalate's threshold on the judges' agreement: the panel's (or
    one judge's samples') modal label is the verdict, the share giving it the confidence (a
    declared divergence from the authors' simulated annotators: calibration/escalate.py), and
    agreement with the human majority (exact, or within `within` levels) is calibrated."""
    rows = []
    for criterion, sub in normalize_long(study.long).groupby("criterion", sort=True):
        name, kind = str(criterion), levels.get(str(criterion), "ordinal")
        base: dict[str, Any] = {"criterion": name, "agree_within": within}
        table, majority = _labels(sub, kind)
        common = table.index.intersection(majority.dropna().index)
        if table.shape[1] < 2:
            rows.append({**base, "notes": "one judge with one sample: its confidence is "
                         "constant; use a panel or --samples"})  # fmt: skip
            continue
        values = table.loc[common].to_numpy(dtype=object)
        confidence = agreement_confidence(values)
        verdict = [pd.Series(r).dropna().mode().iloc[0] for r in values]
        agrees = np.array(
            [
                _agree(v, h, kind, within, (domains or {}).get(name))
                for v, h in zip(verdict, majority.loc[common], strict=True)
            ]
        )
        result = calibrate_guarantee(confidence, agrees, target=target, delta=delta)
        source = f"agreement of {table.shape[1]} judges/samples (a divergence from the paper)"
        notes = "; ".join([*result.notes, f"confidence: {source}"])
        rows.append({**base, **result.as_row(), "notes": notes})
    return pd.DataFrame(rows)


@dataclass
class LatentFit:
    """One criterion's latent-truth fit: `result` (calibration.latent), `labels` the judges'
    long labels it was fitted to (item, rater, score), and `correlation` the judges' error
    correlation on the items with a human majority label (None without three of them)."""

    result: LatentResult
    labels: pd.DataFrame
    correlation: pd.DataFrame | None


def latent_fits(study: Study, levels: Mapping[str, str], method: str) -> dict[str, LatentFit]:
    """Dawid–Skene or MACE over the LLM judges' labels of each nominal (binary, categorical)
    criterion that two or more of them labelled, by criterion."""
    fits: dict[str, Callable[[pd.DataFrame], LatentResult]] = {
        "dawid-skene": dawid_skene,
        "mace": mace,
    }
    fit = fits.get(method)
    if fit is None:
        raise CalibrationError(f"--latent must be dawid-skene or mace, got {method!r}")
    found: dict[str, LatentFit] = {}
    for criterion, sub in normalize_long(study.long).groupby("criterion", sort=True):
        name, kind = str(criterion), levels.get(str(criterion), "ordinal")
        if level_of(kind) != "nominal":
            continue
        sub, _ = collapse_repeats(sub, "nominal")
        judges = sub[(sub["rater_kind"] == "judge") & (sub["rater"] != COMPUTED)]
        if judges["rater"].nunique() < 2:
            continue
        frame = judges.assign(item=unit_ids(judges))[["item", "rater", "score"]]
        wide, majority = _labels(sub, kind)
        try:
            corr: pd.DataFrame | None = error_correlation(wide, majority)
        except CalibrationError:
            corr = None
        found[name] = LatentFit(fit(frame), frame, corr)
    return found


def latent_tables(study: Study, levels: Mapping[str, str], method: str) -> dict[str, pd.DataFrame]:
    """`latent_fits` as tables: the latent labels, each judge's confusion matrix, and the
    correlation of the judges' errors on the items with a human majority label."""
    latent, confusion, correlation = [], [], []
    for name, found in latent_fits(study, levels, method).items():
        result = found.result
        best = result.probas.max(axis=1).to_dict()
        for item, label in result.labels.items():
            latent.append({"criterion": name, "item": item, "label": label,
                           "probability": float(best[item])})  # fmt: skip
        for judge, matrix in result.confusion.items():
            for answered, row in matrix.iterrows():
                for true, p in row.items():
                    confusion.append({"criterion": name, "judge": judge, "answered": answered,
                                      "true": true, "probability": float(p)})  # fmt: skip
        corr = found.correlation
        if corr is None:
            continue
        for a in corr.index:
            for b in corr.columns:
                if str(a) < str(b):
                    correlation.append({"criterion": name, "judge_a": a, "judge_b": b,
                                        "error_correlation": corr.loc[a, b]})  # fmt: skip
    return {
        "latent": pd.DataFrame(latent),
        "confusion": pd.DataFrame(confusion),
        "error_correlation": pd.DataFrame(correlation),
    }


@dataclass(frozen=True)
class StudySettings:
    """What `judge calibrate` was asked for; every table it computes follows from these."""

    levels: Mapping[str, str] | None = None  # criterion → level, from the rubric
    domains: Mapping[str, Sequence[Any]] | None = None
    level: tuple[str, ...] = ()  # --level values
    ci: float = 0.95
    n_boot: int = 1000
    seed: int = 0
    cluster: str | None = None
    strata: str | None = None
    alt_test: bool = False
    alt_test_pool: bool = False
    epsilon: float = 0.2
    ceiling: bool = False
    estimate: bool = False
    weights: pd.Series | None = None
    by: str | None = None
    plan_width: float | None = None
    guarantee: float | None = None
    delta: float = 0.1
    agree_within: int = 0
    latent: str | None = None
    # Items whose human labels tuned the judge (an aligned rubric's worked examples): the PPI
    # correction leaves them out (sample splitting), since reusing them would bias it.
    tuned_items: frozenset[str] = frozenset()


def _untuned(study: Study, tuned: frozenset[str]) -> tuple[pd.DataFrame, list[str]]:
    """The long scores without the human labels of the items the judge was tuned on."""
    if not tuned:
        return study.long, []
    humans = study.long["rater_kind"] == "human"
    reused = humans & study.long["item"].astype(str).isin(tuned)
    n = study.long.loc[reused, "item"].nunique()
    if not n:
        return study.long, []
    note = (
        f"{n} item(s) whose human labels tuned the judge (the rubric's worked examples) are "
        "left out of the PPI estimate (sample splitting; reusing them would bias it)"
    )
    return study.long[~reused], [note]


def run_study(study: Study, s: StudySettings) -> dict[str, pd.DataFrame]:
    """Every table the settings ask for, by name: agreement and human_human always; alt_test,
    ceiling, estimate, plan, guarantee, latent, confusion, error_correlation when asked."""
    from calibration.agreement_table import agreement
    from calibration.human_agreement import human_human
    from calibration.levels import parse_levels
    from calibration.step_protocol import step_protocol_table
    from calibration.validity import alt_test_table, ceiling_table, estimate_table, plan_table

    default, per = parse_levels(list(s.level))
    levels = study_levels(study, s.levels, default, per)
    clusters = None if s.cluster is None else case_field(study, s.cluster, "--cluster")
    strata = None if s.strata is None else case_field(study, s.strata, "--strata")
    units = study.long.assign(unit=unit_ids(study.long)).drop_duplicates("unit")
    unit_clusters = None
    if clusters is not None:
        unit_clusters = dict(zip(units["item"], units["item"].map(clusters), strict=False))
    tables: dict[str, pd.DataFrame] = {}
    table = agreement(study.long, levels=levels, domains=s.domains, ci=s.ci, n_boot=s.n_boot,
                      seed=s.seed, clusters=unit_clusters)  # fmt: skip
    table.attrs["notes"] = list(study.notes)
    table.attrs["protocol"] = step_protocol_table(study.long).to_dict("records")
    tables["agreement"] = table
    tables["human_human"] = human_human(study.long, levels=levels, domains=s.domains)
    if s.alt_test:
        humans = study.long[study.long["rater_kind"] == "human"].groupby("criterion")["rater"]
        if humans.nunique().max() < 2:
            raise CalibrationError(
                "--alt-test leaves one human out at a time and compares the judge with the "
                f"rest: it needs two or more human raters, and the human file has "
                f"{humans.nunique().max()} per criterion"
            )
        tables["alt_test"] = alt_test_table(study.long, levels, epsilon=s.epsilon,
                                            domains=s.domains, pool=s.alt_test_pool)  # fmt: skip
    if s.ceiling:
        tables["ceiling"] = ceiling_table(study.long, levels, s.domains)
    slices = None if s.by is None else case_field(study, s.by, "--by")
    untuned, tuned_notes = _untuned(study, s.tuned_items)
    if s.estimate:
        tables["estimate"] = estimate_table(
            untuned, levels, ci=s.ci, by=slices, weights=s.weights, clusters=clusters,
            strata=strata,
        )  # fmt: skip
        if tuned_notes:
            tables["estimate"]["notes"] = (
                tables["estimate"]["notes"]
                .fillna("")
                .map(lambda n: "; ".join(filter(None, [n, *tuned_notes])))
            )
    if s.plan_width is not None:
        tables["plan"] = plan_table(untuned, levels, width=s.plan_width, ci=s.ci, by=slices)
    if s.guarantee is not None:
        tables["guarantee"] = guarantee_table(study, levels, s.domains, target=s.guarantee,
                                              delta=s.delta, within=s.agree_within)  # fmt: skip
    if s.latent is not None:
        tables.update(latent_tables(study, levels, s.latent))
    return tables


# The figures that make each table worth reading (counts and rates of one item do not).
_STATISTICS = {
    "agreement": ("alpha_humans", "alpha_with_judge", "alpha_judges", "spearman", "pearson",
                  "kendall", "kappa", "kappa_quadratic", "mcc", "fleiss_kappa_humans",
                  "icc1_humans"),
    "human_human": ("kappa_pairwise", "pearson", "fleiss_kappa", "alpha"),
    "alt_test": ("omega",),
    "ceiling": ("value",),
    "estimate": ("estimate",),
    "plan": ("labels_needed",),
    "guarantee": ("threshold",),
    "latent": ("probability",),
}  # fmt: skip


def undefined(tables: Mapping[str, pd.DataFrame]) -> bool:
    """True when no table holds a single defined statistic (α, κ, a correlation, ω, an
    estimate…): the study measured nothing."""
    for name, table in tables.items():
        columns = [c for c in _STATISTICS.get(name, ()) if c in table.columns]
        values = pd.to_numeric(table[columns].stack(), errors="coerce") if columns else None
        if values is not None and values.notna().any():
            return False
    return True
